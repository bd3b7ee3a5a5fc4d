"""Compound baselines: Combo (Eq. 9), Exp-Log (Eq. 10-11), Hybrid Focal
(Eq. 12): ``θ · mean(distribution term) + (1 − θ) · region term``, each the
function of the same name in :mod:`..functional.compound`.

With θ = 1 a compound loss is its per-pixel term alone and supports mmseg's
``reduction_override`` / ``avg_factor`` / ``weight`` like the per-pixel
losses; otherwise only ``'mean'``.
"""
import math
from typing import Optional

from mmseg.registry import MODELS

from ..functional.compound import combo_loss, exp_log_loss, hybrid_focal_loss
from ..functional.pixel import PixelTerm
from .base import AlphaBetaMixin, BaseSegLoss, check_range


def _theta_lam_eps(loss, theta, lam, eps):
    owner = type(loss).__name__
    loss.theta = check_range(owner, 'theta', theta, 0, 1)
    loss.lam = check_range(owner, 'lam', lam, 0, 1, True, True)
    loss.eps = check_range(owner, 'eps', eps, 0, math.inf, True)


class _CompoundLoss(BaseSegLoss):
    """``θ`` of the per-pixel term, ``1 − θ`` of the region term."""

    @property
    def region_share(self) -> float:
        return 1.0 - self.theta

    def pixel_term(self):
        return self._pixel_term() if self.theta > 0 else None

    def _pixel_term(self) -> PixelTerm:
        raise NotImplementedError


@MODELS.register_module()
class ComboLoss(_CompoundLoss):
    """Combo loss, Eq. 9: ``θ · mean(WBCE) + (1 − θ) · (1 − Dc)``.

    Args:
        theta (float): θ ∈ [0, 1]. Default 0.5.
        lam (float): λ ∈ (0, 1) of WBCE. Default 0.75.
        eps (float): ε > 0 of Dice. Default 1.
        **kwargs: :class:`BaseSegLoss` options.
    """

    def __init__(self, theta: float = 0.5, lam: float = 0.75,
                 eps: float = 1.0, **kwargs):
        super().__init__(**kwargs)
        _theta_lam_eps(self, theta, lam, eps)

    def _pixel_term(self):
        return PixelTerm('wbce', self.lam)

    def combine(self, dis, tp, fp, fn, present):
        return combo_loss(dis, tp, fp, fn, theta=self.theta, eps=self.eps,
                          present=present)


@MODELS.register_module()
class ExpLogLoss(_CompoundLoss):
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

    def __init__(self, theta: float = 0.5, lam: float = 0.75,
                 gamma_ce: float = 1.0, gamma_dice: float = 1.0,
                 eps: float = 1.0, **kwargs):
        super().__init__(**kwargs)
        _theta_lam_eps(self, theta, lam, eps)
        owner = type(self).__name__
        self.gamma_ce = check_range(owner, 'gamma_ce', gamma_ce, 0, math.inf)
        self.gamma_dice = check_range(owner, 'gamma_dice', gamma_dice, 0,
                                      math.inf)

    def _pixel_term(self):
        return PixelTerm('explog_ce', self.lam, self.gamma_ce)

    def combine(self, dis, tp, fp, fn, present):
        return exp_log_loss(dis, tp, fp, fn, theta=self.theta,
                            gamma_dice=self.gamma_dice, eps=self.eps,
                            present=present)

    def _repr_keys(self):
        return ('theta', 'lam', 'gamma_ce', 'gamma_dice', 'eps',
                'loss_weight', 'loss_name', 'aggregation')


@MODELS.register_module()
class HybridFocalLoss(AlphaBetaMixin, _CompoundLoss):
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

    def _pixel_term(self):
        return PixelTerm('focal', self.lam, self.gamma_focal)

    def combine(self, dis, tp, fp, fn, present):
        return hybrid_focal_loss(dis, tp, fp, fn, theta=self.theta,
                                 alpha=self.alpha, beta=self.beta,
                                 gamma_ft=self.gamma_ft, eps=self.eps,
                                 present=present)

    def _repr_keys(self):
        return ('theta', 'lam', 'alpha', 'beta', 'gamma_focal', 'gamma_ft',
                'eps', 'loss_weight', 'loss_name', 'aggregation')
