"""Region-based baselines: Dice (Eq. 4-5), Tversky (Eq. 6-7), Focal Tversky
(Eq. 8). α weights missed target pixels (FN), β false alarms (FP)."""
import math
from typing import Optional

from mmseg.registry import MODELS

from ..functional.region import region_loss
from .base import AlphaBetaMixin, BaseSegLoss, check_range


@MODELS.register_module()
class BinaryDiceLoss(BaseSegLoss):
    """Dice loss ``1 − Dc``, ``Dc = (2TP + ε) / (2TP + FP + FN + ε)``
    (Eq. 4-5), soft counts over valid pixels.

    Args:
        eps (float): ε > 0. Default 1.
        **kwargs: :class:`BaseSegLoss` options (``aggregation`` chooses
            batch-level or per-image counts).
    """

    short_name = 'dice'

    def __init__(self, eps: float = 1.0, **kwargs):
        super().__init__(**kwargs)
        self.eps = check_range(type(self).__name__, 'eps', eps, 0, math.inf,
                               True)

    def compute_terms(self, inputs):
        # Dc is the Tversky index with α = β = 1/2 and ε/2 (same fraction).
        return region_loss(*inputs.counts(), alpha=0.5, beta=0.5,
                           eps=self.eps / 2, aggregation=self.aggregation,
                           present=inputs.present)


@MODELS.register_module()
class BinaryTverskyLoss(AlphaBetaMixin, BaseSegLoss):
    """Tversky loss ``1 − Tv``, ``Tv = (TP + ε)/(TP + α·FN + β·FP + ε)``
    (Eq. 6-7 with the spec's roles: α on FN, β on FP).

    ``α = β = 0.5`` is Dice with ``2ε``.

    Args:
        alpha (float): α ∈ [0, 1], weight of missed target pixels (FN).
            Default 0.3.
        beta (float, optional): β ∈ [0, 1], weight of false alarms (FP);
            ``None`` (default) means ``1 − α``, following α when it changes.
        eps (float): ε > 0. Default 1.
        **kwargs: :class:`BaseSegLoss` options.
    """

    short_name = 'tversky'

    def __init__(self, alpha: float = 0.3, beta: Optional[float] = None,
                 eps: float = 1.0, **kwargs):
        super().__init__(**kwargs)
        self._init_alpha_beta(alpha, beta)
        self.eps = check_range(type(self).__name__, 'eps', eps, 0, math.inf,
                               True)

    def compute_terms(self, inputs):
        return region_loss(*inputs.counts(), alpha=self.alpha,
                           beta=self.beta, eps=self.eps,
                           aggregation=self.aggregation,
                           present=inputs.present)


@MODELS.register_module()
class FocalTverskyLoss(AlphaBetaMixin, BaseSegLoss):
    """Focal Tversky loss ``(1 − Tv)^(1/γ)``, Eq. 8. γ = 1 is Tversky.

    Args:
        alpha (float): α ∈ [0, 1], weight of FN. Default 0.3.
        beta (float, optional): β, weight of FP; ``None`` = ``1 − α``.
        gamma (float): γ > 0 (the exponent is ``1/γ``). Default 0.75.
        eps (float): ε > 0. Default 1.
        **kwargs: :class:`BaseSegLoss` options.
    """

    short_name = 'ft'

    def __init__(self, alpha: float = 0.3, beta: Optional[float] = None,
                 gamma: float = 0.75, eps: float = 1.0, **kwargs):
        super().__init__(**kwargs)
        owner = type(self).__name__
        self._init_alpha_beta(alpha, beta)
        self.gamma = check_range(owner, 'gamma', gamma, 0, math.inf, True)
        self.eps = check_range(owner, 'eps', eps, 0, math.inf, True)

    def compute_terms(self, inputs):
        return region_loss(*inputs.counts(), alpha=self.alpha,
                           beta=self.beta, eps=self.eps, base='linear',
                           exponent=1 / self.gamma,
                           aggregation=self.aggregation,
                           present=inputs.present)
