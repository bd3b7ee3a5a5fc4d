"""Region-based baselines: Dice (Eq. 4-5), Tversky (Eq. 6-7), Focal Tversky
(Eq. 8). α weights missed target pixels (FN), β false alarms (FP).

Functions of the soft TP, FP and FN only: on binary inputs the fused kernels
compute just those sums. They have no per-pixel value, so they accept only
``reduction='mean'`` (no ``avg_factor``, no per-pixel ``weight``).
"""
import math
from typing import Optional

from mmseg.registry import MODELS

from ..functional.region import (dice_loss, focal_tversky_loss, region_mean,
                                 tversky_loss)
from .base import AlphaBetaMixin, BaseSegLoss, check_range


@MODELS.register_module()
class BinaryDiceLoss(BaseSegLoss):
    """Dice loss ``1 − Dc``, ``Dc = (2TP + ε) / (2TP + FP + FN + ε)``
    (Eq. 4-5, :func:`..functional.region.dice_loss`), soft counts over
    valid pixels.

    Args:
        eps (float): ε > 0. Default 1.
        **kwargs: :class:`BaseSegLoss` options (``aggregation`` chooses
            batch-level or per-image counts).
    """

    def __init__(self, eps: float = 1.0, **kwargs):
        super().__init__(**kwargs)
        self.eps = check_range(type(self).__name__, 'eps', eps, 0, math.inf,
                               True)

    def combine(self, dis, tp, fp, fn, present):
        return region_mean(dice_loss(tp, fp, fn, self.eps), present)


@MODELS.register_module()
class BinaryTverskyLoss(AlphaBetaMixin, BaseSegLoss):
    """Tversky loss ``1 − Tv``, ``Tv = (TP + ε)/(TP + α·FN + β·FP + ε)``
    (Eq. 6-7 with the spec's roles: α on FN, β on FP;
    :func:`..functional.region.tversky_loss`).

    ``α = β = 0.5`` is Dice with ``2ε``.

    Args:
        alpha (float): α ∈ [0, 1], weight of missed target pixels (FN).
            Default 0.3.
        beta (float, optional): β ∈ [0, 1], weight of false alarms (FP);
            ``None`` (default) means ``1 − α``, following α when it changes.
        eps (float): ε > 0. Default 1.
        **kwargs: :class:`BaseSegLoss` options.
    """

    def __init__(self, alpha: float = 0.3, beta: Optional[float] = None,
                 eps: float = 1.0, **kwargs):
        super().__init__(**kwargs)
        self._init_alpha_beta(alpha, beta)
        self.eps = check_range(type(self).__name__, 'eps', eps, 0, math.inf,
                               True)

    def combine(self, dis, tp, fp, fn, present):
        return region_mean(
            tversky_loss(tp, fp, fn, self.alpha, self.beta, self.eps),
            present)


@MODELS.register_module()
class FocalTverskyLoss(AlphaBetaMixin, BaseSegLoss):
    """Focal Tversky loss ``(1 − Tv)^(1/γ)``, Eq. 8
    (:func:`..functional.region.focal_tversky_loss`). γ = 1 is Tversky.

    Args:
        alpha (float): α ∈ [0, 1], weight of FN. Default 0.3.
        beta (float, optional): β, weight of FP; ``None`` = ``1 − α``.
        gamma (float): γ > 0 (the exponent is ``1/γ``). Default 0.75.
        eps (float): ε > 0. Default 1.
        **kwargs: :class:`BaseSegLoss` options.
    """

    def __init__(self, alpha: float = 0.3, beta: Optional[float] = None,
                 gamma: float = 0.75, eps: float = 1.0, **kwargs):
        super().__init__(**kwargs)
        owner = type(self).__name__
        self._init_alpha_beta(alpha, beta)
        self.gamma = check_range(owner, 'gamma', gamma, 0, math.inf, True)
        self.eps = check_range(owner, 'eps', eps, 0, math.inf, True)

    def combine(self, dis, tp, fp, fn, present):
        return region_mean(
            focal_tversky_loss(tp, fp, fn, self.alpha, self.beta, self.gamma,
                               self.eps), present)
