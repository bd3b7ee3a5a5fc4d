"""The DIBE losses of the paper: DIBE_Dis (Eq. 16), DIBE_Reg (Eq. 18) and
their combination DIBE (Eq. 19).

Spec convention: α weights missed target pixels (FN: y = 1, ŷ = 0), β false
alarms (FP: y = 0, ŷ = 1). OII above its target interval → raise α.

Binary inputs (one sigmoid channel) take the fused path of
:mod:`mmseg_dibe.functional.fused` (``fused=True``, default): one pass
forward and one backward, compiled when possible. ``fused=False`` and
multi-class inputs use the plain per-pixel functions; both give the same
numbers.
"""
import math
from typing import Optional

import torch
from mmseg.registry import MODELS

from ..functional.fused import binary_dibe_stats
from ..functional.pixel import dibe_dis_terms
from ..functional.region import region_loss
from .base import AlphaBetaMixin, BaseSegLoss, _Inputs, check_range


class _DIBEBase(AlphaBetaMixin, BaseSegLoss):
    """``θ · mean(DIBE_Dis) + (1 − θ) · DIBE_Reg`` with one α, β; the three
    registered losses fix θ or tie β."""

    def __init__(self, fused: bool = True, **kwargs):
        super().__init__(**kwargs)
        self.fused = bool(fused)

    # Overridden per loss.
    def _parts(self):
        """``(theta, lam, gamma_dis, gamma_reg, eps)``."""
        raise NotImplementedError

    def compute(self, logits, label, ignore_index):
        theta, lam, gamma_dis, gamma_reg, eps = self._parts()
        with_dis, with_region = theta > 0, theta < 1
        alpha, beta = self.alpha, self.beta
        if self.fused and logits.shape[1] == 1:
            stats = binary_dibe_stats(
                logits, label, alpha=alpha, beta=beta, lam=lam,
                gamma=gamma_dis, threshold=self.threshold,
                ignore_index=ignore_index,
                per_image=with_region and self.aggregation == 'image',
                with_dis=with_dis, with_region=with_region)
            nonfinite, invalid = torch.stack(
                [stats.nonfinite, stats.invalid]).tolist()
            self.raise_if_bad(logits, label, ignore_index, nonfinite,
                              invalid)
            # Mean over valid pixels; 0 (connected, zero gradient) when all
            # pixels are ignored.
            dis = stats.dis_sum.sum() / stats.count.sum().clamp_min(1)
            tp, fp, fn = (c.unsqueeze(1) for c in stats[2:5])
            present = stats.count > 0
        else:
            self.check_inputs(logits, label, ignore_index)
            inputs = _Inputs(logits, label, ignore_index, self.threshold,
                             self.include_background)
            dis = 0.0
            if with_dis:
                log_p, log_q = inputs.log_probs
                dis = inputs.mean(
                    dibe_dis_terms(log_p, log_q, inputs.target, inputs.pred,
                                   alpha, beta, lam, gamma_dis))
            if with_region:
                tp, fp, fn = inputs.counts()
                present = inputs.present
        if not with_region:
            return dis
        reg = region_loss(tp, fp, fn, alpha=alpha, beta=beta, eps=eps,
                          base='log', exponent=1 / gamma_reg,
                          aggregation=self.aggregation, present=present)
        if not with_dis:
            return reg
        return theta * dis + (1 - theta) * reg


@MODELS.register_module()
class DIBEDisLoss(_DIBEBase):
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
        fused (bool): Use the fused binary path. Default True.
        **kwargs: :class:`BaseSegLoss` options (``threshold`` must match the
            decode head's).
    """

    short_name = 'dibe_dis'

    def __init__(self, alpha: float = 0.3, beta: Optional[float] = None,
                 lam: float = 0.75, gamma: float = 2.0, **kwargs):
        super().__init__(**kwargs)
        owner = type(self).__name__
        self._init_alpha_beta(alpha, beta)
        self.lam = check_range(owner, 'lam', lam, 0, 1, True, True)
        self.gamma = check_range(owner, 'gamma', gamma, 0, math.inf)

    def _parts(self):
        return 1.0, self.lam, self.gamma, 1.0, 1.0


@MODELS.register_module()
class DIBERegLoss(_DIBEBase):
    """DIBE_Reg, Eq. 18: ``(−log Tv)^(1/γ)``,
    ``Tv = (TP + ε)/(TP + α·FN + β·FP + ε)``.

    Args:
        alpha (float): α ∈ [0, 1], weight of FN. Default 0.3.
        beta (float, optional): β, weight of FP; ``None`` = ``1 − α``.
        gamma (float): γ > 0 (exponent ``1/γ``). Default 1.5.
        eps (float): ε > 0. Default 1.
        fused (bool): Use the fused binary path. Default True.
        **kwargs: :class:`BaseSegLoss` options.
    """

    short_name = 'dibe_reg'

    def __init__(self, alpha: float = 0.3, beta: Optional[float] = None,
                 gamma: float = 1.5, eps: float = 1.0, **kwargs):
        super().__init__(**kwargs)
        owner = type(self).__name__
        self._init_alpha_beta(alpha, beta)
        self.gamma = check_range(owner, 'gamma', gamma, 0, math.inf, True)
        self.eps = check_range(owner, 'eps', eps, 0, math.inf, True)

    def _parts(self):
        return 0.0, 0.5, 0.0, self.gamma, self.eps


@MODELS.register_module()
class DIBELoss(_DIBEBase):
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
        fused (bool): Use the fused binary path. Default True.
        **kwargs: :class:`BaseSegLoss` options.
    """

    short_name = 'dibe'

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

    def _parts(self):
        return self.theta, self.lam, self.gamma, self.gamma, self.eps
