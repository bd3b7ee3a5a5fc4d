"""Region terms: the Tversky index, Dice as its special case, and the
region-loss forms of the paper, all through one function.

Conventions of the spec (``DIBE-SPEC.md``), which override the paper's prose:

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

:func:`region_loss` computes every one of them, with the choice of summing
the counts over the whole batch or per image (then averaging).
"""
from typing import Optional

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
    if aggregation not in AGGREGATIONS:
        raise ValueError(f'aggregation must be one of {AGGREGATIONS}, '
                         f'got {aggregation!r}')
    if tp.dim() != 2:
        raise ValueError('counts must have shape (N, K), got '
                         f'{tuple(tp.shape)}')
    if aggregation == 'batch':
        tp, fp, fn = tp.sum(0), fp.sum(0), fn.sum(0)
    loss = region_form(tversky_index(tp, fp, fn, alpha, beta, eps), base,
                       exponent)
    if aggregation == 'batch':
        return loss.mean()
    # Per image: images made only of ignored pixels (all padding) carry no
    # information and are left out of the average.
    if present is None:
        return loss.mean()
    weight = present.to(loss.dtype).unsqueeze(1).expand_as(loss)
    return (loss * weight).sum() / weight.sum().clamp_min(1)
