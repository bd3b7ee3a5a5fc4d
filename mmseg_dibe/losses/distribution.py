"""Distribution-based baselines: WBCE (Eq. 2) and Focal (Eq. 3)."""
import math

from mmseg.registry import MODELS

from ..functional.pixel import focal_terms, wbce_terms
from .base import BaseSegLoss, check_range


@MODELS.register_module()
class WBCELoss(BaseSegLoss):
    """Weighted binary cross-entropy, Eq. 2, averaged over valid pixels.

    ``−λ log p`` on target pixels, ``−(1 − λ) log(1 − p)`` on background.

    Args:
        lam (float): λ ∈ (0, 1), weight of the target class; closer to 1 the
            rarer the target. Default 0.75.
        **kwargs: :class:`BaseSegLoss` options (``loss_weight``,
            ``loss_name``, ``ignore_index``, ...).
    """

    short_name = 'wbce'

    def __init__(self, lam: float = 0.75, **kwargs):
        super().__init__(**kwargs)
        self.lam = check_range(type(self).__name__, 'lam', lam, 0, 1, True,
                               True)

    def compute_terms(self, inputs):
        log_p, log_q = inputs.log_probs
        return inputs.mean(wbce_terms(log_p, log_q, inputs.target, self.lam))


@MODELS.register_module()
class BinaryFocalLoss(BaseSegLoss):
    """Focal loss, Eq. 3, averaged over valid pixels.

    ``−λ (1 − p)^γ log p`` on target pixels, ``−(1 − λ) p^γ log(1 − p)`` on
    background. γ = 0 is WBCE.

    Args:
        lam (float): λ ∈ (0, 1), target-class weight. Default 0.75.
        gamma (float): γ ≥ 0, focusing exponent. Default 2.
        **kwargs: :class:`BaseSegLoss` options.
    """

    short_name = 'focal'

    def __init__(self, lam: float = 0.75, gamma: float = 2.0, **kwargs):
        super().__init__(**kwargs)
        owner = type(self).__name__
        self.lam = check_range(owner, 'lam', lam, 0, 1, True, True)
        self.gamma = check_range(owner, 'gamma', gamma, 0, math.inf)

    def compute_terms(self, inputs):
        log_p, log_q = inputs.log_probs
        return inputs.mean(
            focal_terms(log_p, log_q, inputs.target, self.lam, self.gamma))
