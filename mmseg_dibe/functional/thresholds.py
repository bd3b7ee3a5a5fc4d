"""Hard counts at many thresholds from one pass: per-bin histograms.

A pixel of probability ``p`` is predicted as the target at threshold ``T``
when ``p > T`` (strict), the rule of mmseg's binary heads
(``seg_logits.sigmoid() > decode_head.threshold``). For an increasing list of
thresholds ``t_0 < t_1 < ... < t_{K-1}`` every pixel falls into one of
``K + 1`` slots::

    slot(p) = #{j : t_j < p}          (0 ≤ slot ≤ K)

so slot 0 holds ``p ≤ t_0``, slot ``j`` (``1 ≤ j < K``) the half-open bin
``t_{j-1} < p ≤ t_j`` and slot ``K`` holds ``p > t_{K-1}``. A value exactly at
a threshold ``t_j`` is therefore *not* above it and lands in the slot of the
bin that ends at ``t_j``. Then, at threshold ``t_j``,
``#(p > t_j) = Σ_{i > j} hist[i]``, and with one histogram for the target
pixels (``y = 1``) and one for the background pixels (``y = 0``)::

    TP(t_j) = Σ_{i > j} hist_target[i]
    FP(t_j) = Σ_{i > j} hist_background[i]
    FN(t_j) = Σ_i hist_target[i] − TP(t_j)

These are exactly the counts of
:func:`~mmseg_dibe.functional.counts.hard_counts` on the prediction
``p > t_j``, because the thresholds are compared in the probabilities' own
dtype (a Python float compared with a float32 tensor is rounded to float32
first, and so are the thresholds here). Histograms of
several images (or ranks) add up; only their sum is needed.
"""
from typing import List, Optional, Sequence, Tuple, Union

import torch
from torch import Tensor

from .counts import valid_mask


def threshold_grid(bins: int) -> List[float]:
    """The ``bins + 1`` thresholds ``j / bins``, ``j = 0 ... bins``.

    Each is the correctly rounded double of ``j / bins``, so e.g. ``0.3``
    (``bins = 10``) is the same number as the literal ``0.3`` in a config.

    Args:
        bins (int): Number of bins ``K`` over ``[0, 1]``, at least 1.

    Returns:
        list[float]: ``[0.0, 1/K, ..., 1.0]``.
    """
    if isinstance(bins, bool) or not isinstance(bins, int) or bins < 1:
        raise ValueError(f'bins must be an integer >= 1, got {bins!r}')
    return [j / bins for j in range(bins + 1)]


def check_thresholds(thresholds: Union[int, Sequence[float]]) -> List[float]:
    """Thresholds as a strictly increasing list of finite floats.

    Args:
        thresholds (int | Sequence[float]): A number of bins ``K`` (gives
            :func:`threshold_grid`) or the thresholds themselves.

    Returns:
        list[float]: The thresholds.
    """
    if isinstance(thresholds, int) and not isinstance(thresholds, bool):
        return threshold_grid(thresholds)
    values = [float(t) for t in thresholds]
    if not values:
        raise ValueError('thresholds: need at least one threshold')
    if any(v != v or v in (float('inf'), float('-inf')) for v in values):
        raise ValueError(f'thresholds must be finite, got {values}')
    if any(b <= a for a, b in zip(values, values[1:])):
        raise ValueError(f'thresholds must be strictly increasing, got '
                         f'{values}')
    return values


def threshold_slots(prob: Tensor, thresholds: Sequence[float]) -> Tensor:
    """Slot of every probability: the number of thresholds strictly below it.

    Args:
        prob (Tensor): Probabilities, floating point, any shape.
        thresholds (Sequence[float]): Strictly increasing thresholds.

    Returns:
        Tensor: ``int64`` tensor shaped like ``prob``, values in
        ``[0, len(thresholds)]``. NaN probabilities get slot 0 (``NaN > T``
        is false for every ``T``: predicted as background).
    """
    if not prob.is_floating_point():
        raise TypeError(f'prob must be floating point, got {prob.dtype}')
    # Round the thresholds to the probabilities' dtype, as ``prob > T`` does;
    # half types are then widened exactly, for bucketize.
    bounds = torch.tensor(list(thresholds), dtype=prob.dtype,
                          device=prob.device)
    if prob.dtype in (torch.float16, torch.bfloat16):
        prob, bounds = prob.float(), bounds.float()
    # right=False: bounds[i-1] < p <= bounds[i]  =>  i = #{j : t_j < p}.
    slots = torch.bucketize(prob, bounds, right=False)
    return torch.where(torch.isnan(prob), torch.zeros_like(slots), slots)


def threshold_histograms(prob: Tensor,
                         label: Tensor,
                         classes: Sequence[int],
                         thresholds: Sequence[float],
                         ignore_index: Optional[int] = 255,
                         num_classes: Optional[int] = None) -> Tensor:
    """Per-class slot histograms of the background and target pixels.

    Args:
        prob (Tensor): ``(len(classes), *S)`` probabilities; row ``i`` is
            the predicted probability of class ``classes[i]``.
        label (Tensor): ``S``-shaped integer ground truth.
        classes (Sequence[int]): The class index of each row of ``prob``;
            class ``c`` is the positive class of its row (one-vs-rest).
        thresholds (Sequence[float]): Strictly increasing thresholds.
        ignore_index (int, optional): Label value left out of every count.
        num_classes (int, optional): If given, labels outside
            ``[0, num_classes)`` (other than ``ignore_index``) raise.

    Returns:
        Tensor: ``int64`` of shape ``(len(classes), 2, len(thresholds) + 1)``:
        ``[i, 0]`` the slot histogram of the pixels whose label is not
        ``classes[i]``, ``[i, 1]`` of those whose label is.
    """
    if prob.dim() != label.dim() + 1 or prob.shape[1:] != label.shape:
        raise ValueError(f'prob shape {tuple(prob.shape)} must be (classes, '
                         f'*label shape {tuple(label.shape)})')
    if prob.shape[0] != len(classes):
        raise ValueError(f'prob has {prob.shape[0]} rows for '
                         f'{len(classes)} classes')
    keep = valid_mask(label, ignore_index)
    label = label[keep].long()
    if num_classes is not None:
        bad = (label < 0) | (label >= num_classes)
        if bad.any():
            found = sorted(set(label[bad].unique().tolist()))
            raise ValueError(f'label values {found} are neither a class '
                             f'index in [0, {num_classes - 1}] nor '
                             f'ignore_index={ignore_index}')
    width = len(thresholds) + 1
    slots = threshold_slots(prob[:, keep], thresholds)  # (n, P)
    hists = []
    for row, cls in enumerate(classes):
        is_target = (label == cls).long()
        joint = torch.bincount(is_target * width + slots[row],
                               minlength=2 * width)
        hists.append(joint.reshape(2, width))
    return torch.stack(hists)


def sweep_counts(hist: Tensor) -> Tuple[Tensor, Tensor, Tensor]:
    """TP, FP and FN at every threshold from slot histograms.

    Args:
        hist (Tensor): ``(..., 2, K + 1)`` histograms (background, target)
            of :func:`threshold_histograms`, possibly summed over images.

    Returns:
        tuple[Tensor, Tensor, Tensor]: ``(TP, FP, FN)``, each ``(..., K)``:
        entry ``j`` counts the prediction ``p > t_j``.
    """
    # above[..., i] = Σ_{k ≥ i} hist[..., k]; #(p > t_j) = above[..., j + 1].
    above = hist.flip(-1).cumsum(-1).flip(-1)
    background, target = above[..., 0, 1:], above[..., 1, 1:]
    tp = target
    fp = background
    fn = above[..., 1, :1] - tp
    return tp, fp, fn
