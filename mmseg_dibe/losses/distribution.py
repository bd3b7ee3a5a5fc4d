"""Distribution-based baselines: WBCE (Eq. 2) and Focal (Eq. 3).

Per-pixel losses: they support mmseg's ``reduction_override`` (``'none'``,
``'mean'``, ``'sum'``), ``avg_factor`` and per-pixel ``weight``, hence
``OHEMPixelSampler``.
"""
import math

from mmseg.registry import MODELS

from ..functional.pixel import PixelTerm
from .base import BaseSegLoss, check_range


class _PixelLoss(BaseSegLoss):
    """A loss that is the reduced per-pixel term alone."""

    @property
    def region_share(self) -> float:
        return 0.0

    def combine(self, dis, tp, fp, fn, present):
        return dis


@MODELS.register_module()
class WBCELoss(_PixelLoss):
    """Weighted binary cross-entropy, Eq. 2, averaged over valid pixels.

    ``−λ log p`` on target pixels, ``−(1 − λ) log(1 − p)`` on background
    (:func:`..functional.pixel.wbce_terms`).

    Args:
        lam (float): λ ∈ (0, 1), weight of the target class; closer to 1 the
            rarer the target. Default 0.75.
        **kwargs: :class:`BaseSegLoss` options (``loss_weight``,
            ``loss_name``, ``ignore_index``, ``reduction``, ...).
    """

    def __init__(self, lam: float = 0.75, **kwargs):
        super().__init__(**kwargs)
        self.lam = check_range(type(self).__name__, 'lam', lam, 0, 1, True,
                               True)

    def pixel_term(self):
        return PixelTerm('wbce', self.lam)


@MODELS.register_module()
class BinaryFocalLoss(_PixelLoss):
    """Focal loss, Eq. 3, averaged over valid pixels.

    ``−λ (1 − p)^γ log p`` on target pixels, ``−(1 − λ) p^γ log(1 − p)`` on
    background (:func:`..functional.pixel.focal_terms`). γ = 0 is WBCE.

    Args:
        lam (float): λ ∈ (0, 1), target-class weight. Default 0.75.
        gamma (float): γ ≥ 0, focusing exponent. Default 2.
        **kwargs: :class:`BaseSegLoss` options.
    """

    def __init__(self, lam: float = 0.75, gamma: float = 2.0, **kwargs):
        super().__init__(**kwargs)
        owner = type(self).__name__
        self.lam = check_range(owner, 'lam', lam, 0, 1, True, True)
        self.gamma = check_range(owner, 'gamma', gamma, 0, math.inf)

    def pixel_term(self):
        return PixelTerm('focal', self.lam, self.gamma)
