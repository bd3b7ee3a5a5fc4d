"""True-positive, false-positive and false-negative counts over valid pixels.

The standard definitions of the spec (``docs/spec.md``, "Notation"):

* TP: ``y = 1`` and ``ŷ = 1``;
* FN: ``y = 1`` and ``ŷ = 0`` (a missed target pixel);
* FP: ``y = 0`` and ``ŷ = 1`` (a false alarm).

*Soft* counts (region losses, Eq. 5 and 7) replace ``ŷ`` by the predicted
probability ``p``: ``TP = Σ p·y``, ``FP = Σ p·(1 − y)``, ``FN = Σ (1 − p)·y``.
*Hard* counts (metrics, Eq. 13-15 and 20-21) use the thresholded prediction.
Pixels whose label equals ``ignore_index`` never count.
"""
from typing import Optional, Sequence, Tuple

import torch
from torch import Tensor


def valid_mask(label: Tensor, ignore_index: Optional[int]) -> Tensor:
    """Boolean mask of the pixels that take part in a loss or a metric.

    Args:
        label (Tensor): Integer label map of any shape.
        ignore_index (int, optional): Label value to leave out. ``None``
            keeps every pixel.

    Returns:
        Tensor: ``bool`` tensor shaped like ``label``.
    """
    if ignore_index is None:
        return torch.ones_like(label, dtype=torch.bool)
    return label != ignore_index


def soft_counts(prob: Tensor,
                target: Tensor,
                valid: Tensor,
                dims: Optional[Sequence[int]] = None
                ) -> Tuple[Tensor, Tensor, Tensor]:
    """Soft TP, FP and FN of one foreground class.

    Args:
        prob (Tensor): Predicted probability ``p`` of the foreground class,
            floating point.
        target (Tensor): Ground truth ``y`` in ``{0, 1}``, broadcastable to
            ``prob`` (any dtype; converted to ``prob``'s dtype).
        valid (Tensor): ``bool`` mask of the pixels that count.
        dims (Sequence[int], optional): Dimensions to sum over. ``None`` sums
            over everything and returns scalars.

    Returns:
        tuple[Tensor, Tensor, Tensor]: ``(TP, FP, FN)``.
    """
    weight = valid.to(prob.dtype)
    y = target.to(prob.dtype) * weight
    p = prob * weight
    dims = None if dims is None else tuple(dims)

    def total(x: Tensor) -> Tensor:
        return x.sum() if dims is None else x.sum(dim=dims)

    # FP and FN are summed directly rather than as Σp − TP and Σy − TP: near
    # a perfect prediction those differences cancel most float32 digits,
    # exactly where the region losses need FP and FN most.
    return total(p * y), total(p * (1 - y)), total((1 - p) * y)


def hard_counts(pred: Tensor,
                label: Tensor,
                num_classes: int,
                ignore_index: Optional[int] = 255
                ) -> Tuple[Tensor, Tensor, Tensor]:
    """Per-class hard TP, FP and FN of a predicted label map.

    Args:
        pred (Tensor): Predicted class indices, integer, any shape.
        label (Tensor): Ground-truth class indices, same shape as ``pred``.
        num_classes (int): Number of classes (2 for binary data).
        ignore_index (int, optional): Label value to leave out.

    Returns:
        tuple[Tensor, Tensor, Tensor]: ``(TP, FP, FN)``, each ``int64`` of
        shape ``(num_classes,)``; entry ``c`` treats class ``c`` as the
        positive class (one-vs-rest).
    """
    if pred.shape != label.shape:
        raise ValueError(f'prediction shape {tuple(pred.shape)} does not '
                         f'match label shape {tuple(label.shape)}')
    keep = valid_mask(label, ignore_index)
    pred = pred[keep].long()
    label = label[keep].long()
    bad = (label < 0) | (label >= num_classes)
    if bad.any():
        found = sorted(set(label[bad].unique().tolist()))
        raise ValueError(f'label values {found} are neither a class index in '
                         f'[0, {num_classes - 1}] nor ignore_index='
                         f'{ignore_index}')
    bad = (pred < 0) | (pred >= num_classes)
    if bad.any():
        found = sorted(set(pred[bad].unique().tolist()))
        raise ValueError(f'predicted values {found} are not class indices in '
                         f'[0, {num_classes - 1}]')
    # One bincount of the joint (label, pred) index gives the confusion
    # matrix; its diagonal and margins give every class's counts.
    joint = torch.bincount(label * num_classes + pred,
                           minlength=num_classes * num_classes)
    confusion = joint.reshape(num_classes, num_classes)
    tp = confusion.diagonal()
    fp = confusion.sum(dim=0) - tp
    fn = confusion.sum(dim=1) - tp
    return tp, fp, fn
