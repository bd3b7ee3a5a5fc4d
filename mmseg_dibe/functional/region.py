"""Region terms: the Tversky index, Dice as its special case, and the
region-loss forms of the paper, all through one function.

Conventions of the spec (``docs/spec.md``), which override the paper's prose:

* Tversky index ``Tv = (TP + ε) / (TP + α·FN + β·FP + ε)`` (Eq. 7 with α on
  the *missed target* pixels FN and β on the false alarms FP).
* Dice coefficient ``Dc = (2TP + ε) / (2TP + FP + FN + ε)`` (Eq. 5). It is
  the Tversky index with ``α = β = 0.5`` and ``ε/2``: with the same ε the two
  differ only in how much smoothing they get, so "Tversky with α = β = 0.5 is
  Dice" holds exactly when Dice's ε is twice Tversky's.

The region losses of the paper are all ``f(index) ** e`` with one of two
bases:

=============  ==========  =================  ==================
loss           index       base               exponent ``e``
=============  ==========  =================  ==================
Dice (Eq. 4)   Dc          ``1 − Dc``         1
Tversky (6)    Tv          ``1 − Tv``         1
FT (Eq. 8)     Tv          ``1 − Tv``         ``1/γ``
EL (Eq. 10)    Dc          ``−log Dc``        ``γ_Dc``
DIBE_Reg (18)  Tv          ``−log Tv``        ``1/γ``
=============  ==========  =================  ==================

:func:`dice_loss`, :func:`tversky_loss`, :func:`focal_tversky_loss`,
:func:`log_dice_loss` and :func:`dibe_reg_loss` are those rows, one function
per equation, elementwise on counts of any shape. The counts are first
aggregated (:func:`aggregate_counts`: summed over the batch, or kept per
image) and the losses then averaged (:func:`region_mean`: over the images
with valid pixels and the classes); :func:`region_loss` chains the three
steps for any base and exponent.
"""
from typing import Optional, Tuple

import torch
from torch import Tensor

#: Below this value a fractional power ``t ** e`` (``0 < e < 1``) is
#: continued linearly. ``t ** e`` has an infinite slope at ``t = 0``: a
#: perfect, saturated prediction (``Tv → 1``) would otherwise give an
#: infinite or NaN gradient for FT and DIBE_Reg with ``γ > 1``. Above the
#: floor the value and the gradient are exact.
POWER_FLOOR = 1e-6

REGION_BASES = ('linear', 'log')
AGGREGATIONS = ('batch', 'image')


def safe_pow(base: Tensor, exponent: float,
             floor: float = POWER_FLOOR) -> Tensor:
    """``base ** exponent`` for ``base >= 0`` with a finite gradient.

    For ``0 < exponent < 1`` the power is replaced below ``floor`` by the
    line ``base · floor ** (exponent − 1)``: it is continuous at ``floor``,
    exactly 0 at 0, and its slope is bounded by ``floor ** (exponent − 1)``.
    Other exponents are computed as they are (their slope at 0 is finite;
    ``0 ** 0`` is 1).

    Args:
        base (Tensor): Non-negative tensor (negatives from rounding are
            clamped to 0).
        exponent (float): The exponent, ``>= 0``.
        floor (float): Where the linear continuation starts.

    Returns:
        Tensor: ``base ** exponent``.
    """
    base = base.clamp_min(0)
    if exponent == 0 or exponent >= 1:
        return base.pow(exponent)
    # t · max(t, floor)^(e−1) is t^e above the floor; the clamp keeps the
    # factor finite (and its gradient zero) below it.
    return base * base.clamp_min(floor).pow(exponent - 1)


def tversky_index(tp: Tensor, fp: Tensor, fn: Tensor, alpha: float,
                  beta: float, eps: float = 1.0) -> Tensor:
    """Tversky index, Eq. 7 with the spec's roles of α and β.

    Args:
        tp, fp, fn (Tensor): Soft or hard counts (any matching shapes).
        alpha (float): Weight of FN, the missed target pixels.
        beta (float): Weight of FP, the false alarms.
        eps (float): Smoothing ε > 0 in numerator and denominator.

    Returns:
        Tensor: ``(TP + ε) / (TP + α·FN + β·FP + ε)`` in ``(0, 1]``.
    """
    # Soft FP and FN come as differences of sums (counts.soft_counts) and can
    # be a rounding error below zero; that would push Tv above 1 and make
    # (1 − Tv) ** e or (−log Tv) ** e NaN.
    fp = fp.clamp_min(0)
    fn = fn.clamp_min(0)
    return (tp + eps) / (tp + alpha * fn + beta * fp + eps)


def dice_coefficient(tp: Tensor, fp: Tensor, fn: Tensor,
                     eps: float = 1.0) -> Tensor:
    """Dice coefficient, Eq. 5: ``(2TP + ε) / (2TP + FP + FN + ε)``.

    Computed as the Tversky index with ``α = β = 0.5`` and ``ε/2``, which is
    the same fraction (numerator and denominator halved).
    """
    return tversky_index(tp, fp, fn, 0.5, 0.5, eps / 2)


def region_form(index: Tensor, base: str = 'linear',
                exponent: float = 1.0) -> Tensor:
    """``(1 − index)^e`` (``base='linear'``) or ``(−log index)^e``
    (``base='log'``) of a Tversky or Dice index in ``(0, 1]``.

    Derivatives with respect to the index: Eq. 22 for ``(1 − Tv)^(1/γ)``,
    Eq. 23 for ``(−log Tv)^(1/γ)`` (exact above :data:`POWER_FLOOR`).
    """
    if base not in REGION_BASES:
        raise ValueError(f'base must be one of {REGION_BASES}, got {base!r}')
    if base == 'linear':
        t = 1 - index
    else:
        # index ∈ (0, 1] because ε > 0: −log is finite and ≥ 0.
        t = -torch.log(index)
    return safe_pow(t, exponent)


# ----------------------------------------------------- one per equation
def dice_loss(tp: Tensor, fp: Tensor, fn: Tensor,
              eps: float = 1.0) -> Tensor:
    """Dice loss, Eq. 4: ``1 − Dc``, ``Dc = (2TP + ε)/(2TP + FP + FN + ε)``.

    Args:
        tp, fp, fn (Tensor): Soft counts (any matching shapes).
        eps (float): Smoothing ε > 0 of Dc.

    Returns:
        Tensor: The loss, elementwise (shaped like the counts).
    """
    return region_form(dice_coefficient(tp, fp, fn, eps), 'linear')


def tversky_loss(tp: Tensor, fp: Tensor, fn: Tensor, alpha: float,
                 beta: float, eps: float = 1.0) -> Tensor:
    """Tversky loss, Eq. 6: ``1 − Tv``,
    ``Tv = (TP + ε)/(TP + α·FN + β·FP + ε)`` (α on FN, β on FP).

    Args:
        tp, fp, fn (Tensor): Soft counts.
        alpha (float): Weight of FN, the missed target pixels.
        beta (float): Weight of FP, the false alarms.
        eps (float): Smoothing ε > 0.
    """
    return region_form(tversky_index(tp, fp, fn, alpha, beta, eps), 'linear')


def focal_tversky_loss(tp: Tensor, fp: Tensor, fn: Tensor, alpha: float,
                       beta: float, gamma: float, eps: float = 1.0) -> Tensor:
    """Focal Tversky loss, Eq. 8: ``(1 − Tv)^(1/γ)``; γ = 1 is Tversky.

    Its derivative in Tv is Eq. 22 (exact above :data:`POWER_FLOOR`, where
    the power is continued linearly so Tv = 1 keeps a finite gradient).

    Args:
        tp, fp, fn (Tensor): Soft counts.
        alpha (float): Weight of FN.
        beta (float): Weight of FP.
        gamma (float): γ > 0; the exponent is ``1/γ``.
        eps (float): Smoothing ε > 0.
    """
    return region_form(tversky_index(tp, fp, fn, alpha, beta, eps), 'linear',
                       1 / gamma)


def log_dice_loss(tp: Tensor, fp: Tensor, fn: Tensor, gamma_dice: float,
                  eps: float = 1.0) -> Tensor:
    """The region part of the Exp-Log loss, Eq. 10: ``(−log Dc)^γDc``.

    Args:
        tp, fp, fn (Tensor): Soft counts.
        gamma_dice (float): γDc ≥ 0.
        eps (float): Smoothing ε > 0 of Dc.
    """
    return region_form(dice_coefficient(tp, fp, fn, eps), 'log', gamma_dice)


def dibe_reg_loss(tp: Tensor, fp: Tensor, fn: Tensor, alpha: float,
                  beta: float, gamma: float, eps: float = 1.0) -> Tensor:
    """DIBE_Reg, Eq. 18: ``(−log Tv)^(1/γ)``.

    Its derivative in Tv is Eq. 23: large while Tv is near 0 (where FT's is
    small), exact above :data:`POWER_FLOOR`.

    Args:
        tp, fp, fn (Tensor): Soft counts.
        alpha (float): Weight of FN, the missed target pixels.
        beta (float): Weight of FP, the false alarms.
        gamma (float): γ > 0; the exponent is ``1/γ``.
        eps (float): Smoothing ε > 0.
    """
    return region_form(tversky_index(tp, fp, fn, alpha, beta, eps), 'log',
                       1 / gamma)


# ------------------------------------------------------------ aggregation
def aggregate_counts(tp: Tensor, fp: Tensor, fn: Tensor,
                     aggregation: str = 'batch'
                     ) -> Tuple[Tensor, Tensor, Tensor]:
    """Counts of shape ``(N, K)`` as the region losses use them.

    Args:
        tp, fp, fn (Tensor): ``(N, K)``: per image ``n`` and evaluated
            class ``k`` (``K = 1`` for binary).
        aggregation (str): ``'batch'`` sums over the images (one index per
            class for the whole batch, shape ``(1, K)``); ``'image'`` keeps
            one per image.

    Returns:
        tuple[Tensor, Tensor, Tensor]: ``(TP, FP, FN)``.
    """
    if aggregation not in AGGREGATIONS:
        raise ValueError(f'aggregation must be one of {AGGREGATIONS}, '
                         f'got {aggregation!r}')
    if tp.dim() != 2:
        raise ValueError('counts must have shape (N, K), got '
                         f'{tuple(tp.shape)}')
    if aggregation == 'batch':
        return tp.sum(0, keepdim=True), fp.sum(0, keepdim=True), \
            fn.sum(0, keepdim=True)
    return tp, fp, fn


def region_mean(loss: Tensor, present: Optional[Tensor] = None) -> Tensor:
    """Average of region losses ``(N, K)`` over the classes and the images
    with at least one valid pixel.

    Args:
        loss (Tensor): ``(N, K)``, or ``(1, K)`` for batch counts.
        present (Tensor, optional): ``bool`` ``(N,)``: images with valid
            pixels (per-image counts only); images made only of ignored
            pixels (all padding) carry no information and are left out.
            ``None`` keeps all (and is what batch counts take).

    Returns:
        Tensor: Scalar.
    """
    if present is None:
        return loss.mean()
    weight = present.to(loss.dtype).unsqueeze(1).expand_as(loss)
    return (loss * weight).sum() / weight.sum().clamp_min(1)


def region_loss(tp: Tensor,
                fp: Tensor,
                fn: Tensor,
                *,
                alpha: float,
                beta: float,
                eps: float = 1.0,
                base: str = 'linear',
                exponent: float = 1.0,
                aggregation: str = 'batch',
                present: Optional[Tensor] = None) -> Tensor:
    """Every region term of the paper: ``(1 − Tv)^e`` or ``(−log Tv)^e``.

    Args:
        tp, fp, fn (Tensor): Soft counts of shape ``(N, K)``: per image
            ``n`` and per evaluated class ``k`` (``K = 1`` for binary).
        alpha (float): Weight of FN in the Tversky index.
        beta (float): Weight of FP in the Tversky index.
        eps (float): Smoothing ε of the Tversky index.
        base (str): ``'linear'`` for ``1 − Tv`` (Dice, Tversky, FT) or
            ``'log'`` for ``−log Tv`` (EL's Dice part, DIBE_Reg).
        exponent (float): Exponent ``e``: 1 for Dice/Tversky, ``1/γ`` for FT
            (Eq. 8) and DIBE_Reg (Eq. 18), ``γ_Dc`` for EL (Eq. 10).
        aggregation (str): ``'batch'`` sums the counts over the images first
            (one index per class for the whole batch); ``'image'`` computes
            one index per image and class and averages the losses over the
            images that have at least one valid pixel.
        present (Tensor, optional): ``bool`` of shape ``(N,)``: images with
            at least one valid pixel (only used with ``'image'``; ``None``
            means all).

    Returns:
        Tensor: Scalar loss, averaged over the classes.
    """
    if base not in REGION_BASES:
        raise ValueError(f'base must be one of {REGION_BASES}, got {base!r}')
    tp, fp, fn = aggregate_counts(tp, fp, fn, aggregation)
    loss = region_form(tversky_index(tp, fp, fn, alpha, beta, eps), base,
                       exponent)
    return region_mean(loss, present if aggregation == 'image' else None)
