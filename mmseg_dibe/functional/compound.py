"""Compound losses: a distribution term and a region term mixed by θ.

Combo (Eq. 9), Exp-Log (Eq. 10), Hybrid Focal (Eq. 12) and DIBE (Eq. 19) are
all ``θ · distribution + (1 − θ) · region``; each is one function here,
taking the distribution term already averaged over the valid pixels (from
:mod:`.pixel`, or the fused sums of :mod:`.fused`) and the soft counts
already aggregated (:func:`.region.aggregate_counts`). A term whose weight
is 0 (θ = 0 or θ = 1) is not computed and may be passed as ``None``.
"""
from typing import Optional

from torch import Tensor

from .region import (dibe_reg_loss, dice_loss, focal_tversky_loss,
                     log_dice_loss, region_mean)


def mix(theta: float, distribution: Optional[Tensor],
        region: Optional[Tensor]) -> Tensor:
    """``θ · distribution + (1 − θ) · region``; with θ = 1 (θ = 0) only the
    distribution (region) term, which is then the only one needed."""
    if theta >= 1:
        return distribution
    if theta <= 0:
        return region
    return theta * distribution + (1 - theta) * region


def combo_loss(wbce: Optional[Tensor], tp: Optional[Tensor],
               fp: Optional[Tensor], fn: Optional[Tensor], *, theta: float,
               eps: float = 1.0, present: Optional[Tensor] = None) -> Tensor:
    """Combo loss, Eq. 9: ``θ · WBCE + (1 − θ) · (1 − Dc)``.

    Args:
        wbce (Tensor): Mean WBCE over the valid pixels (Eq. 2).
        tp, fp, fn (Tensor): Aggregated soft counts ``(1, K)`` or ``(N, K)``.
        theta (float): θ ∈ [0, 1].
        eps (float): ε > 0 of Dice.
        present (Tensor, optional): Per-image counts: images with valid
            pixels (see :func:`.region.region_mean`).
    """
    region = None if theta >= 1 else region_mean(dice_loss(tp, fp, fn, eps),
                                                 present)
    return mix(theta, wbce, region)


def exp_log_loss(ce: Optional[Tensor], tp: Optional[Tensor],
                 fp: Optional[Tensor], fn: Optional[Tensor], *, theta: float,
                 gamma_dice: float = 1.0, eps: float = 1.0,
                 present: Optional[Tensor] = None) -> Tensor:
    """Exponential-logarithmic loss, Eq. 10:
    ``θ · mean(λ_t (−log p_t)^γCE) + (1 − θ) · (−log Dc)^γDc``.

    Args:
        ce (Tensor): Mean of Eq. 11's per-pixel term over the valid pixels.
        tp, fp, fn (Tensor): Aggregated soft counts.
        theta (float): θ ∈ [0, 1].
        gamma_dice (float): γDc ≥ 0.
        eps (float): ε > 0 of Dice.
        present (Tensor, optional): As in :func:`combo_loss`.
    """
    region = None if theta >= 1 else region_mean(
        log_dice_loss(tp, fp, fn, gamma_dice, eps), present)
    return mix(theta, ce, region)


def hybrid_focal_loss(focal: Optional[Tensor], tp: Optional[Tensor],
                      fp: Optional[Tensor], fn: Optional[Tensor], *,
                      theta: float, alpha: float, beta: float,
                      gamma_ft: float, eps: float = 1.0,
                      present: Optional[Tensor] = None) -> Tensor:
    """Hybrid Focal loss, Eq. 12: ``θ · Focal + (1 − θ) · FT``.

    Args:
        focal (Tensor): Mean Focal term over the valid pixels (Eq. 3).
        tp, fp, fn (Tensor): Aggregated soft counts.
        theta (float): θ ∈ [0, 1].
        alpha (float): FT's weight of FN.
        beta (float): FT's weight of FP.
        gamma_ft (float): FT's γ > 0 (Eq. 8, exponent ``1/γ``).
        eps (float): ε > 0 of the Tversky index.
        present (Tensor, optional): As in :func:`combo_loss`.
    """
    region = None if theta >= 1 else region_mean(
        focal_tversky_loss(tp, fp, fn, alpha, beta, gamma_ft, eps), present)
    return mix(theta, focal, region)


def dibe_loss(dis: Optional[Tensor], tp: Optional[Tensor],
              fp: Optional[Tensor], fn: Optional[Tensor], *, theta: float,
              alpha: float, gamma: float, eps: float = 1.0,
              present: Optional[Tensor] = None,
              beta: Optional[float] = None) -> Tensor:
    """DIBE, Eq. 19: ``θ · DIBE_Dis + (1 − θ) · DIBE_Reg``, one α with
    ``β = 1 − α`` and one γ (DIBE_Dis's focusing exponent, DIBE_Reg's
    ``1/γ``).

    Args:
        dis (Tensor): Mean DIBE_Dis term over the valid pixels (Eq. 16,
            computed with the same α, β and γ).
        tp, fp, fn (Tensor): Aggregated soft counts.
        theta (float): θ ∈ [0, 1].
        alpha (float): α, weight of FN.
        gamma (float): γ > 0.
        eps (float): ε > 0 of the Tversky index.
        present (Tensor, optional): As in :func:`combo_loss`.
        beta (float, optional): β; ``None`` is Eq. 19's ``1 − α``. (The
            separate DIBE_Dis and DIBE_Reg losses, θ = 1 and θ = 0, may fix
            β.)
    """
    beta = 1 - alpha if beta is None else beta
    region = None if theta >= 1 else region_mean(
        dibe_reg_loss(tp, fp, fn, alpha, beta, gamma, eps), present)
    return mix(theta, dis, region)
