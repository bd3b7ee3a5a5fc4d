"""The DIBE losses of the paper: DIBE_Dis (Eq. 16), DIBE_Reg (Eq. 18) and
their combination DIBE (Eq. 19).

Spec convention: α weights missed target pixels (FN: y = 1, ŷ = 0), β false
alarms (FP: y = 0, ŷ = 1). OII above its target interval → raise α.

Each is one function of :mod:`mmseg_dibe.functional`: Eq. 16 per pixel
(:func:`~mmseg_dibe.functional.pixel.dibe_dis_terms`), Eq. 18
(:func:`~mmseg_dibe.functional.region.dibe_reg_loss`), Eq. 19
(:func:`~mmseg_dibe.functional.compound.dibe_loss`). Like every loss here,
binary inputs take the fused path (``fused=True``, default); DIBE_Dis, a
per-pixel loss, supports mmseg's ``reduction_override``, ``avg_factor`` and
per-pixel ``weight`` (OHEM).
"""
import math
from typing import Optional

from mmseg.registry import MODELS

from ..functional.compound import dibe_loss
from ..functional.pixel import PixelTerm
from ..functional.region import dibe_reg_loss, region_mean
from .base import AlphaBetaMixin, BaseSegLoss, check_range


@MODELS.register_module()
class DIBEDisLoss(AlphaBetaMixin, BaseSegLoss):
    """DIBE_Dis, Eq. 16, averaged over valid pixels.

    Per pixel (``p`` = σ(logit), ``ŷ = 1[p > threshold]``):

    * y=1, ŷ=1: ``−λ (1 − p)^γ log p``
    * y=1, ŷ=0 (FN): ``−λ (1 − p^(1+α))^γ (1 + α) log p``
    * y=0, ŷ=0: ``−(1 − λ) p^γ log(1 − p)``
    * y=0, ŷ=1 (FP): ``−(1 − λ)(1 − (1 − p)^(1+β))^γ (1 + β) log(1 − p)``

    α = β = 0 is Focal (Eq. 3); with γ = 0 too, WBCE (Eq. 2).

    Args:
        alpha (float): α ∈ [0, 1], regulator of missed targets (FN).
            Default 0.3.
        beta (float, optional): β ∈ [0, 1], regulator of false alarms (FP);
            ``None`` (default) = ``1 − α``, following α.
        lam (float): λ ∈ (0, 1), target-class weight. Default 0.75.
        gamma (float): γ ≥ 0. Default 2.
        **kwargs: :class:`BaseSegLoss` options (``threshold`` must match the
            decode head's).
    """

    def __init__(self, alpha: float = 0.3, beta: Optional[float] = None,
                 lam: float = 0.75, gamma: float = 2.0, **kwargs):
        super().__init__(**kwargs)
        owner = type(self).__name__
        self._init_alpha_beta(alpha, beta)
        self.lam = check_range(owner, 'lam', lam, 0, 1, True, True)
        self.gamma = check_range(owner, 'gamma', gamma, 0, math.inf)

    @property
    def region_share(self) -> float:
        return 0.0

    def pixel_term(self):
        return PixelTerm('dibe_dis', self.lam, self.gamma, self.alpha,
                         self.beta)

    def combine(self, dis, tp, fp, fn, present):
        return dis


@MODELS.register_module()
class DIBERegLoss(AlphaBetaMixin, BaseSegLoss):
    """DIBE_Reg, Eq. 18: ``(−log Tv)^(1/γ)``,
    ``Tv = (TP + ε)/(TP + α·FN + β·FP + ε)``.

    Args:
        alpha (float): α ∈ [0, 1], weight of FN. Default 0.3.
        beta (float, optional): β, weight of FP; ``None`` = ``1 − α``.
        gamma (float): γ > 0 (exponent ``1/γ``). Default 1.5.
        eps (float): ε > 0. Default 1.
        **kwargs: :class:`BaseSegLoss` options.
    """

    def __init__(self, alpha: float = 0.3, beta: Optional[float] = None,
                 gamma: float = 1.5, eps: float = 1.0, **kwargs):
        super().__init__(**kwargs)
        owner = type(self).__name__
        self._init_alpha_beta(alpha, beta)
        self.gamma = check_range(owner, 'gamma', gamma, 0, math.inf, True)
        self.eps = check_range(owner, 'eps', eps, 0, math.inf, True)

    def combine(self, dis, tp, fp, fn, present):
        return region_mean(
            dibe_reg_loss(tp, fp, fn, self.alpha, self.beta, self.gamma,
                          self.eps), present)


@MODELS.register_module()
class DIBELoss(AlphaBetaMixin, BaseSegLoss):
    """DIBE, Eq. 19: ``θ · mean(DIBE_Dis) + (1 − θ) · DIBE_Reg`` with one α,
    ``β = 1 − α``, one λ and one γ (``γ`` focuses DIBE_Dis and DIBE_Reg's
    exponent is ``1/γ``).

    ``beta`` is read-only here: it is always ``1 − alpha``, so a hook that
    sets ``alpha`` moves both.

    Args:
        alpha (float): α ∈ [0, 1], regulator of missed targets (FN).
            Default 0.3.
        lam (float): λ ∈ (0, 1), target-class weight. Default 0.75.
        gamma (float): γ > 0. Default 2.
        theta (float): θ ∈ [0, 1]. Default 0.5.
        eps (float): ε > 0 of the Tversky index. Default 1.
        **kwargs: :class:`BaseSegLoss` options.
    """

    def __init__(self, alpha: float = 0.3, lam: float = 0.75,
                 gamma: float = 2.0, theta: float = 0.5, eps: float = 1.0,
                 **kwargs):
        if 'beta' in kwargs:
            raise ValueError('DIBELoss: beta is always 1 - alpha (Eq. 19); '
                             'use DIBEDisLoss + DIBERegLoss for a free beta')
        super().__init__(**kwargs)
        owner = type(self).__name__
        self._init_alpha_beta(alpha, None)
        self.lam = check_range(owner, 'lam', lam, 0, 1, True, True)
        self.gamma = check_range(owner, 'gamma', gamma, 0, math.inf, True)
        self.theta = check_range(owner, 'theta', theta, 0, 1)
        self.eps = check_range(owner, 'eps', eps, 0, math.inf, True)

    @property
    def beta(self) -> float:
        """β = 1 − α (read-only)."""
        return 1.0 - self.alpha

    @beta.setter
    def beta(self, value) -> None:
        if value is not None:
            raise AttributeError('DIBELoss: beta is always 1 - alpha '
                                 '(Eq. 19); set alpha instead')
        self._beta = None

    @property
    def region_share(self) -> float:
        return 1.0 - self.theta

    def pixel_term(self):
        if self.theta == 0:
            return None
        return PixelTerm('dibe_dis', self.lam, self.gamma, self.alpha,
                         self.beta)

    def combine(self, dis, tp, fp, fn, present):
        return dibe_loss(dis, tp, fp, fn, theta=self.theta, alpha=self.alpha,
                         gamma=self.gamma, eps=self.eps, present=present)
