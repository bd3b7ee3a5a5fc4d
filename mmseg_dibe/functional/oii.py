"""Output imbalance index (OII), Eq. 13-15 of the paper.

With ``x = FP / FN`` (Eq. 14) and the attenuation factor
``k = 1 − (2/π)·arctan((FP + FN) / (5·TP))`` (Eq. 15)::

    OII = 1 − k / (x + 1/x − 1)    for x ∈ (0, 1]      (Eq. 13)
    OII = k / (x + 1/x − 1) − 1    for x > 1

OII > 0 means FN > FP (missed targets dominate, under-segmentation);
OII < 0 means FP > FN (false alarms dominate). Its magnitude also grows with
``(FP + FN) / TP``, so it is not zero at ``FP = FN``.

The paper leaves the boundary cases open; ``docs/spec.md`` fixes them and this
module follows it:

=========================  =======  =========================================
case                       OII      why
=========================  =======  =========================================
FP = FN = 0 < TP           0        a perfect prediction has no imbalance
FP = 0 < FN (TP > 0)       1        limit ``x → 0``
FN = 0 < FP (TP > 0)       −1       limit ``x → ∞``
TP = 0 < FP + FN           1        the paper: "when IoU is 0, OII is set to 1"
TP = FP = FN = 0           NaN      nothing to measure: undefined
=========================  =======  =========================================
"""
import math
from numbers import Number
from typing import Union

import numpy as np
import torch
from torch import Tensor

ArrayLike = Union[Number, np.ndarray, Tensor]


def _oii_tensor(tp: Tensor, fp: Tensor, fn: Tensor) -> Tensor:
    """Eq. 13-15 on floating tensors of one broadcast shape."""
    # x + 1/x − 1 = (FP² − FP·FN + FN²) / (FP·FN), so
    # k / (x + 1/x − 1) = k·FP·FN / (FP² − FP·FN + FN²). This form never
    # divides by FP or FN alone (finite at FP = 0 or FN = 0, where it gives
    # the spec's limits ±1) and, after scaling both counts by their maximum,
    # never overflows for pixel counts of any size.
    scale = torch.maximum(fp, fn)
    safe_scale = torch.where(scale > 0, scale, torch.ones_like(scale))
    a, b = fp / safe_scale, fn / safe_scale
    denom = a * a - a * b + b * b  # ≥ 3/4·max(a, b)² = 3/4 when scale > 0
    safe_denom = torch.where(denom > 0, denom, torch.ones_like(denom))
    # arctan(+inf) = π/2 gives k = 0 at TP = 0; that case is overridden
    # below anyway, the division only has to stay NaN-free.
    k = 1 - (2 / math.pi) * torch.atan((fp + fn) / (5 * tp))
    ratio = k * a * b / safe_denom
    # x ≤ 1 ⇔ FP ≤ FN (Eq. 13, first branch includes x = 1).
    out = torch.where(fp <= fn, 1 - ratio, ratio - 1)
    zero_err = (fp == 0) & (fn == 0)
    out = torch.where(zero_err & (tp > 0), torch.zeros_like(out), out)
    out = torch.where((tp == 0) & ~zero_err, torch.ones_like(out), out)
    out = torch.where(zero_err & (tp == 0), torch.full_like(out, math.nan),
                      out)
    # NaN counts stay NaN instead of being caught by a branch above.
    nan_in = torch.isnan(tp) | torch.isnan(fp) | torch.isnan(fn)
    return torch.where(nan_in, torch.full_like(out, math.nan), out)


def oii(tp: ArrayLike, fp: ArrayLike, fn: ArrayLike) -> ArrayLike:
    """Output imbalance index (Eq. 13-15) with the spec's edge cases.

    The arguments broadcast against each other. Counts may be fractional
    (e.g. the ratios of the paper's Table 1) but not negative.

    Args:
        tp (Number | np.ndarray | Tensor): True positives.
        fp (Number | np.ndarray | Tensor): False positives (false alarms).
        fn (Number | np.ndarray | Tensor): False negatives (missed targets).

    Returns:
        float | np.ndarray | Tensor: OII in ``[−1, 1]`` (NaN where
        ``TP = FP = FN = 0``). A ``float`` when all inputs are Python or
        NumPy scalars, a NumPy array when any input is one (and none is a
        tensor), otherwise a tensor on the inputs' device; floating inputs
        keep their dtype, integer ones give ``float64``.

    Raises:
        ValueError: If a count is negative.

    Example:
        >>> round(oii(2, 0.5, 0.5), 3)  # Table 1, row 1
        0.064
    """
    inputs = (tp, fp, fn)
    is_tensor = any(isinstance(v, Tensor) for v in inputs)
    is_numpy = any(isinstance(v, np.ndarray) for v in inputs)
    device = next((v.device for v in inputs if isinstance(v, Tensor)), None)
    dtype = None
    for value in inputs:
        if isinstance(value, Tensor) and value.is_floating_point():
            dtype = (value.dtype if dtype is None else torch.promote_types(
                dtype, value.dtype))
    if dtype is None:
        dtype = torch.float64
    tensors = [
        torch.as_tensor(v, dtype=dtype, device=device) for v in inputs
    ]
    for name, value in zip(('tp', 'fp', 'fn'), tensors):
        if (value < 0).any():
            raise ValueError(f'oii: {name} must be non-negative counts, got '
                             f'a minimum of {value.min().item()}')
    tp_t, fp_t, fn_t = torch.broadcast_tensors(*tensors)
    out = _oii_tensor(tp_t, fp_t, fn_t)
    if is_tensor:
        return out
    if is_numpy:
        return out.numpy()
    return float(out)
