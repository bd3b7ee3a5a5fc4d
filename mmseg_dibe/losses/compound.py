"""Compound baselines: Combo (Eq. 9), Exp-Log (Eq. 10-11), Hybrid Focal
(Eq. 12): ``θ · mean(distribution term) + (1 − θ) · region term``."""
import math
from typing import Optional

from mmseg.registry import MODELS

from ..functional.pixel import explog_ce_terms, focal_terms, wbce_terms
from ..functional.region import region_loss
from .base import AlphaBetaMixin, BaseSegLoss, check_range


def _theta_lam_eps(loss, theta, lam, eps):
    owner = type(loss).__name__
    loss.theta = check_range(owner, 'theta', theta, 0, 1)
    loss.lam = check_range(owner, 'lam', lam, 0, 1, True, True)
    loss.eps = check_range(owner, 'eps', eps, 0, math.inf, True)


@MODELS.register_module()
class ComboLoss(BaseSegLoss):
    """Combo loss, Eq. 9: ``θ · mean(WBCE) + (1 − θ) · (1 − Dc)``.

    Args:
        theta (float): θ ∈ [0, 1]. Default 0.5.
        lam (float): λ ∈ (0, 1) of WBCE. Default 0.75.
        eps (float): ε > 0 of Dice. Default 1.
        **kwargs: :class:`BaseSegLoss` options.
    """

    short_name = 'combo'

    def __init__(self, theta: float = 0.5, lam: float = 0.75,
                 eps: float = 1.0, **kwargs):
        super().__init__(**kwargs)
        _theta_lam_eps(self, theta, lam, eps)

    def compute_terms(self, inputs):
        log_p, log_q = inputs.log_probs
        dis = inputs.mean(wbce_terms(log_p, log_q, inputs.target, self.lam))
        dice = region_loss(*inputs.counts(), alpha=0.5, beta=0.5,
                           eps=self.eps / 2, aggregation=self.aggregation,
                           present=inputs.present)
        return self.theta * dis + (1 - self.theta) * dice


@MODELS.register_module()
class ExpLogLoss(BaseSegLoss):
    """Exponential-logarithmic loss, Eq. 10-11:
    ``θ · mean(λ_t (−log p_t)^γCE) + (1 − θ) · (−log Dc)^γDc``.

    Args:
        theta (float): θ ∈ [0, 1]. Default 0.5.
        lam (float): λ ∈ (0, 1). Default 0.75.
        gamma_ce (float): γCE ≥ 0. Default 1.
        gamma_dice (float): γDc ≥ 0. Default 1.
        eps (float): ε > 0 of Dice. Default 1.
        **kwargs: :class:`BaseSegLoss` options.
    """

    short_name = 'el'

    def __init__(self, theta: float = 0.5, lam: float = 0.75,
                 gamma_ce: float = 1.0, gamma_dice: float = 1.0,
                 eps: float = 1.0, **kwargs):
        super().__init__(**kwargs)
        _theta_lam_eps(self, theta, lam, eps)
        owner = type(self).__name__
        self.gamma_ce = check_range(owner, 'gamma_ce', gamma_ce, 0, math.inf)
        self.gamma_dice = check_range(owner, 'gamma_dice', gamma_dice, 0,
                                      math.inf)

    def compute_terms(self, inputs):
        log_p, log_q = inputs.log_probs
        dis = inputs.mean(
            explog_ce_terms(log_p, log_q, inputs.target, self.lam,
                            self.gamma_ce))
        reg = region_loss(*inputs.counts(), alpha=0.5, beta=0.5,
                          eps=self.eps / 2, base='log',
                          exponent=self.gamma_dice,
                          aggregation=self.aggregation,
                          present=inputs.present)
        return self.theta * dis + (1 - self.theta) * reg

    def _repr_keys(self):
        return ('theta', 'lam', 'gamma_ce', 'gamma_dice', 'eps',
                'loss_weight', 'loss_name', 'aggregation')


@MODELS.register_module()
class HybridFocalLoss(AlphaBetaMixin, BaseSegLoss):
    """Hybrid Focal loss, Eq. 12: ``θ · mean(Focal) + (1 − θ) · FT``.

    Args:
        theta (float): θ ∈ [0, 1]. Default 0.5.
        lam (float): λ ∈ (0, 1) of Focal. Default 0.75.
        alpha (float): α ∈ [0, 1], FT's weight of FN. Default 0.3.
        beta (float, optional): FT's weight of FP; ``None`` = ``1 − α``.
        gamma_focal (float): Focal's γ ≥ 0. Default 2.
        gamma_ft (float): FT's γ > 0 (exponent ``1/γ``). Default 0.75.
        eps (float): ε > 0. Default 1.
        **kwargs: :class:`BaseSegLoss` options.
    """

    short_name = 'hf'

    def __init__(self, theta: float = 0.5, lam: float = 0.75,
                 alpha: float = 0.3, beta: Optional[float] = None,
                 gamma_focal: float = 2.0, gamma_ft: float = 0.75,
                 eps: float = 1.0, **kwargs):
        super().__init__(**kwargs)
        _theta_lam_eps(self, theta, lam, eps)
        owner = type(self).__name__
        self._init_alpha_beta(alpha, beta)
        self.gamma_focal = check_range(owner, 'gamma_focal', gamma_focal, 0,
                                       math.inf)
        self.gamma_ft = check_range(owner, 'gamma_ft', gamma_ft, 0,
                                    math.inf, True)

    def compute_terms(self, inputs):
        log_p, log_q = inputs.log_probs
        dis = inputs.mean(
            focal_terms(log_p, log_q, inputs.target, self.lam,
                        self.gamma_focal))
        reg = region_loss(*inputs.counts(), alpha=self.alpha, beta=self.beta,
                          eps=self.eps, base='linear',
                          exponent=1 / self.gamma_ft,
                          aggregation=self.aggregation,
                          present=inputs.present)
        return self.theta * dis + (1 - self.theta) * reg

    def _repr_keys(self):
        return ('theta', 'lam', 'alpha', 'beta', 'gamma_focal', 'gamma_ft',
                'eps', 'loss_weight', 'loss_name', 'aggregation')
