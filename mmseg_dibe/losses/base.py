"""What every loss of the plugin shares.

* The call convention of mmseg's decode heads:
  ``loss(seg_logits (N, C, H, W), seg_label (N, H, W), weight=None,
  ignore_index=255)``.
* ``C = 1``: one sigmoid channel (mmseg's binary mode, ``out_channels=1``),
  ``p = σ(x)``, ``ŷ = 1[p > threshold]``. ``C ≥ 2``: softmax, each evaluated
  class one-vs-rest (the spec's multi-class extension), ``ŷ_c = 1[argmax =
  c]`` (the prediction mmseg evaluates), terms averaged over the classes
  (background excluded unless ``include_background=True``).
* Input checks: non-finite logits and labels that are neither a class index
  nor ``ignore_index`` raise an error naming the loss (one host sync per
  call for both checks).
* Computation in float32 at least, outside autocast, from log-sigmoid /
  log-softmax.
* One computation for every loss: the per-pixel term (:meth:`pixel_term`)
  and the soft counts, from the fused binary kernels
  (:func:`..functional.fused.binary_stats`) or the plain tensor path, then
  the loss's equation (:meth:`combine`, one function of
  :mod:`..functional`).
* mmseg's reduction contract (``reduction_override``, ``avg_factor``,
  per-pixel ``weight``, as ``OHEMPixelSampler`` uses them) for the losses
  that have a per-pixel value; a clear error for the region losses.
* Hyper-parameter validation at build time (:func:`check_range`), the
  ``alpha`` / ``beta`` attributes a hook may change between iterations
  (:class:`AlphaBetaMixin`), ``loss_name`` from the catalog
  (:mod:`.catalog`).
"""
import math
from functools import cached_property
from typing import Optional, Tuple

import torch
import torch.nn as nn
from torch import Tensor

from ..functional.counts import soft_counts, valid_mask
from ..functional.fused import binary_stats
from ..functional.pixel import (REDUCTIONS, PixelTerm, binary_log_probs,
                                compute_dtype, pixel_terms,
                                reduce_pixel_terms, reduce_total,
                                softmax_log_probs)
from ..functional.region import AGGREGATIONS, aggregate_counts
from .catalog import LOSSES, LossInfo


def check_range(owner: str, name: str, value, low: float, high: float,
                low_open: bool = False, high_open: bool = False) -> float:
    """Validate a hyper-parameter; ValueError naming it otherwise.

    Args:
        owner (str): Name of the loss (for the message).
        name (str): Name of the parameter.
        value: The value given.
        low, high (float): Bounds (``math.inf`` for none).
        low_open, high_open (bool): Whether the bound itself is excluded.

    Returns:
        float: ``value`` as a float.
    """
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f'{owner}: {name} must be a number, got '
                        f'{value!r} ({type(value).__name__})')
    value = float(value)
    ok = (not math.isnan(value)
          and (value > low if low_open else value >= low)
          and (value < high if high_open else value <= high))
    if not ok:
        interval = (('(' if low_open else '[') + f'{low:g}, {high:g}' +
                    (')' if high_open else ']'))
        raise ValueError(f'{owner}: {name} must be in {interval}, got '
                         f'{value:g}')
    return value


class _Inputs:
    """Lazily derived views of one call's logits and labels.

    Shapes: ``valid`` is ``(N, 1, H, W)``; ``prob``, ``target``, ``pred``,
    ``log_probs`` are ``(N, K, H, W)`` with ``K`` the evaluated classes.
    """

    def __init__(self, logits: Tensor, label: Tensor, ignore_index: int,
                 threshold: float, include_background: bool):
        self.logits = logits
        self.label = label.unsqueeze(1)
        self.ignore_index = ignore_index
        self.threshold = threshold
        self.num_channels = logits.shape[1]
        self.binary = self.num_channels == 1
        if self.binary:
            self.classes = [1]
        else:
            start = 0 if include_background else 1
            self.classes = list(range(start, self.num_channels))

    @cached_property
    def valid(self) -> Tensor:
        return valid_mask(self.label, self.ignore_index)

    @cached_property
    def log_probs(self) -> Tuple[Tensor, Tensor]:
        """``(log p, log(1 − p))`` of the evaluated classes."""
        if self.binary:
            return binary_log_probs(self.logits)
        log_p, log_q = softmax_log_probs(self.logits)
        return log_p[:, self.classes], log_q[:, self.classes]

    @cached_property
    def prob(self) -> Tensor:
        if self.binary:
            return torch.sigmoid(self.logits)
        return torch.softmax(self.logits, dim=1)[:, self.classes]

    @cached_property
    def target(self) -> Tensor:
        classes = torch.tensor(self.classes, device=self.label.device)
        return self.label == classes.view(1, -1, 1, 1)

    @cached_property
    def pred(self) -> Tensor:
        if self.binary:
            return self.logits > math.log(self.threshold /
                                          (1 - self.threshold))
        classes = torch.tensor(self.classes, device=self.label.device)
        return self.logits.argmax(1, keepdim=True) == classes.view(
            1, -1, 1, 1)

    @cached_property
    def present(self) -> Tensor:
        """``(N,)``: images with at least one valid pixel."""
        return self.valid.flatten(1).any(1)

    def counts(self) -> Tuple[Tensor, Tensor, Tensor]:
        """Soft ``(TP, FP, FN)``, each ``(N, K)``."""
        return soft_counts(self.prob, self.target, self.valid, dims=(2, 3))


class BaseSegLoss(nn.Module):
    """Base of every loss here: call convention, checks, reduction,
    ``loss_name``.

    A loss is ``combine(mean per-pixel term, soft TP, FP, FN)``. Subclasses
    say which per-pixel term they use (:meth:`pixel_term`, ``None`` for
    none), how much weight their region term has (:attr:`region_share`: 0
    for a per-pixel loss, 1 for a region loss, ``1 − θ`` for a compound
    one) and implement :meth:`combine` with their equation. Their
    ``short_name`` (the default ``loss_name`` is ``'loss_' + short_name``)
    and paper name come from the catalog (:data:`.catalog.LOSSES`), by
    class name.

    Args:
        loss_weight (float): Multiplies the loss.
        loss_name (str, optional): Key in the log and the loss dict; must
            start with ``'loss_'`` (mmseg sums only those keys).
        aggregation (str): Region terms: ``'batch'`` (default) sums TP/FP/FN
            over the whole batch, ``'image'`` per image then averages over
            the images with valid pixels.
        ignore_index (int, optional): Overrides the ``ignore_index`` the
            decode head passes at call time (``None``: use that one).
        threshold (float): Binary mode: ``ŷ = 1[p > threshold]`` (where a
            loss distinguishes predicted classes, i.e. DIBE_Dis); keep it
            equal to the decode head's ``threshold``.
        include_background (bool): Multi-class mode: also evaluate class 0.
        reduction (str): ``'mean'`` (default: over the valid pixels),
            ``'sum'`` or ``'none'`` (the ``(N, H, W)`` map of per-pixel
            losses); the call's ``reduction_override`` takes precedence.
            Only losses without a region term (:attr:`region_share` 0) have
            per-pixel values: the others accept ``'mean'`` only.
        fused (bool): Binary inputs (one channel) take the fused one-pass
            path of :mod:`..functional.fused` (default); ``False`` the plain
            tensor path, same numbers. Multi-class inputs, per-pixel
            ``weight`` and ``reduction='none'`` always take the plain path.
    """

    short_name = 'base'
    #: The catalog entry of the class (``None`` for a class not in it).
    catalog_info: Optional[LossInfo] = None

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        # One name per loss: the catalog's, never a copy in the class.
        info = LOSSES.get(cls.__name__)
        if info is not None:
            cls.catalog_info = info
            cls.short_name = info.short_name

    def __init__(self,
                 loss_weight: float = 1.0,
                 loss_name: Optional[str] = None,
                 aggregation: str = 'batch',
                 ignore_index: Optional[int] = None,
                 threshold: float = 0.5,
                 include_background: bool = False,
                 reduction: str = 'mean',
                 fused: bool = True):
        super().__init__()
        owner = type(self).__name__
        self.loss_weight = check_range(owner, 'loss_weight', loss_weight,
                                       -math.inf, math.inf)
        if loss_name is None:
            loss_name = f'loss_{self.short_name}'
        if not isinstance(loss_name, str) or not loss_name.startswith(
                'loss_'):
            raise ValueError(f"{owner}: loss_name must start with 'loss_' "
                             f'(mmseg only sums such keys), got '
                             f'{loss_name!r}')
        self._loss_name = loss_name
        if aggregation not in AGGREGATIONS:
            raise ValueError(f'{owner}: aggregation must be one of '
                             f'{AGGREGATIONS}, got {aggregation!r}')
        self.aggregation = aggregation
        if ignore_index is not None and (isinstance(ignore_index, bool) or
                                         not isinstance(ignore_index, int)):
            raise TypeError(f'{owner}: ignore_index must be an int or None, '
                            f'got {ignore_index!r}')
        self.ignore_index = ignore_index
        self.threshold = check_range(owner, 'threshold', threshold, 0, 1,
                                     True, True)
        self.include_background = bool(include_background)
        if reduction not in REDUCTIONS:
            raise ValueError(f'{owner}: reduction must be one of '
                             f'{REDUCTIONS}, got {reduction!r}')
        self.reduction = reduction
        self.fused = bool(fused)

    @property
    def loss_name(self) -> str:
        """Name of the loss term in mmseg's loss dict and logs."""
        return self._loss_name

    # ---------------------------------------------- what a subclass defines
    def pixel_term(self) -> Optional[PixelTerm]:
        """The per-pixel term (``None``: the loss has none)."""
        return None

    @property
    def region_share(self) -> float:
        """Weight of the region term: 0 (per-pixel loss) to 1."""
        return 1.0

    def combine(self, dis: Optional[Tensor], tp: Optional[Tensor],
                fp: Optional[Tensor], fn: Optional[Tensor],
                present: Optional[Tensor]) -> Tensor:
        """The loss's equation from the mean per-pixel term ``dis`` (or the
        reduction asked for) and the aggregated soft counts (``None`` where
        the loss does not use them)."""
        raise NotImplementedError

    # ----------------------------------------------------------------- call
    def forward(self,
                seg_logits: Tensor,
                seg_label: Tensor,
                weight: Optional[Tensor] = None,
                ignore_index: int = 255,
                reduction_override: Optional[str] = None,
                avg_factor: Optional[float] = None) -> Tensor:
        """Compute the loss.

        Args:
            seg_logits (Tensor): ``(N, C, H, W)`` logits; ``C = 1`` sigmoid,
                ``C ≥ 2`` softmax.
            seg_label (Tensor): ``(N, H, W)`` (or ``(N, 1, H, W)``) integer
                labels.
            weight (Tensor, optional): Per-pixel weights ``(N, H, W)``
                multiplying the per-pixel losses (what mmseg's
                ``OHEMPixelSampler`` passes: 1 on the kept pixels); only for
                losses without a region term.
            ignore_index (int): Label value that takes part in nothing.
            reduction_override (str, optional): ``'none'``, ``'mean'`` or
                ``'sum'`` instead of ``reduction`` (mmseg's contract;
                ``'none'`` returns the ``(N, H, W)`` per-pixel losses, 0 on
                ignored pixels). Losses with a region term accept only
                ``'mean'``.
            avg_factor (float, optional): ``'mean'`` divides the summed
                per-pixel losses by ``avg_factor`` (plus float32's eps)
                instead of the number of valid pixels, as mmseg's
                ``weight_reduce_loss``; not with ``'sum'``, ignored by
                ``'none'``.

        Returns:
            Tensor: The loss times ``loss_weight``: a scalar, or ``(N, H, W)``
            for ``'none'``.
        """
        reduction = self._check_reduction(reduction_override, avg_factor,
                                          weight)
        if self.ignore_index is not None:
            ignore_index = self.ignore_index
        logits, label = self._check_shapes(seg_logits, seg_label)
        with torch.autocast(device_type=logits.device.type, enabled=False):
            x = logits.to(compute_dtype(logits.dtype))
            loss = self.compute(x, label, int(ignore_index), weight,
                                reduction, avg_factor)
        return self.loss_weight * loss

    def compute(self, logits: Tensor, label: Tensor, ignore_index: int,
                weight: Optional[Tensor] = None, reduction: str = 'mean',
                avg_factor: Optional[float] = None) -> Tensor:
        """The loss of float logits ``(N, C, H, W)`` and labels ``(N, H, W)``
        (input checks included), before ``loss_weight``."""
        term = self.pixel_term()
        with_region = self.region_share > 0
        per_image = with_region and self.aggregation == 'image'
        dis = tp = fp = fn = present = None
        if (self.fused and logits.shape[1] == 1 and weight is None
                and reduction != 'none'):
            stats = binary_stats(logits, label, term,
                                 with_region=with_region,
                                 threshold=self.threshold,
                                 ignore_index=ignore_index,
                                 per_image=per_image)
            nonfinite, invalid = torch.stack(
                [stats.nonfinite, stats.invalid]).tolist()
            self.raise_if_bad(logits, label, ignore_index, nonfinite,
                              invalid)
            if term is not None:
                # Mean over valid pixels; 0 (connected, zero gradient) when
                # all pixels are ignored.
                dis = reduce_total(stats.dis_sum.sum(), stats.count.sum(),
                                   reduction, avg_factor)
            if with_region:
                tp, fp, fn = (c.unsqueeze(1) for c in stats[2:5])
                present = stats.count > 0
        else:
            self.check_inputs(logits, label, ignore_index)
            inputs = _Inputs(logits, label, ignore_index, self.threshold,
                             self.include_background)
            if weight is not None and inputs.binary:
                self._check_binary_weight(weight, inputs.valid)
            if term is not None:
                terms = pixel_terms(
                    term, *inputs.log_probs, inputs.target,
                    inputs.pred if term.kind == 'dibe_dis' else None)
                dis = reduce_pixel_terms(terms, inputs.valid, weight,
                                         reduction, avg_factor)
                if reduction == 'none':
                    return dis
            if with_region:
                tp, fp, fn = inputs.counts()
                present = inputs.present
        if with_region:
            tp, fp, fn = aggregate_counts(tp, fp, fn, self.aggregation)
            present = present if per_image else None
        return self.combine(dis, tp, fp, fn, present)

    def _check_binary_weight(self, weight: Tensor, valid: Tensor) -> None:
        """A weight that is 0 on every valid pixel of a one-channel input is
        what mmseg's ``OHEMPixelSampler`` with ``thresh`` gives a binary
        head: refuse to train on nothing."""
        if weight.numel() != valid.numel():
            return  # reduce_pixel_terms reports the shape
        kept = (weight.reshape(valid.shape) != 0) & valid
        if valid.any() and not kept.any():
            owner = type(self).__name__
            raise ValueError(
                f'{owner} ({self.loss_name}): the per-pixel weight is 0 on '
                f'every valid pixel of this one-channel (sigmoid) input. '
                f"mmseg's OHEMPixelSampler with thresh set does this to a "
                f'binary head (out_channels=1): its softmax over one channel '
                f'is always 1, so no pixel is below thresh (and a batch with '
                f'target pixels fails earlier with an index error). Use '
                f'OHEMPixelSampler(thresh=None, min_kept=...), which keeps '
                f"the pixels with the highest reduction_override='none' "
                f'losses, or a softmax head (out_channels=2).')

    def _check_reduction(self, reduction_override: Optional[str],
                         avg_factor: Optional[float],
                         weight: Optional[Tensor]) -> str:
        """The reduction of this call; ValueError naming the keyword and
        the loss where the loss has no per-pixel value to reduce."""
        owner = type(self).__name__
        reduction = self.reduction if reduction_override is None \
            else reduction_override
        if reduction not in REDUCTIONS:
            raise ValueError(f'{owner} ({self.loss_name}): '
                             f'reduction_override must be one of '
                             f'{REDUCTIONS} or None, got {reduction!r}')
        if self.region_share == 0:
            if reduction == 'sum' and avg_factor is not None:
                raise ValueError(f'{owner} ({self.loss_name}): avg_factor '
                                 f"can not be used with reduction='sum'")
            return reduction
        name = (self.catalog_info.paper_name if self.catalog_info else
                owner)
        why = (f'{owner} ({self.loss_name}) has a region term ({name} is a '
               f'function of the soft TP, FP and FN summed over the '
               f'{"images" if self.aggregation == "batch" else "image"}), '
               f'which has no per-pixel value')
        hint = ('. Per-pixel losses (WBCELoss, BinaryFocalLoss, '
                'DIBEDisLoss; a compound loss with theta=1) support it; '
                "mmseg's OHEMPixelSampler needs one of them")
        if reduction != 'mean':
            raise ValueError(f"{why}: reduction_override={reduction!r} is "
                             f"not supported (only 'mean'){hint}.")
        if avg_factor is not None:
            raise ValueError(f'{why}: avg_factor is not supported{hint}.')
        if weight is not None:
            raise ValueError(f'{why}: per-pixel weight (got shape '
                             f'{tuple(weight.shape)}) is not supported'
                             f'{hint}.')
        return reduction

    # ------------------------------------------------------------- checks
    def _check_shapes(self, logits: Tensor,
                      label: Tensor) -> Tuple[Tensor, Tensor]:
        owner = type(self).__name__
        if logits.dim() != 4:
            raise ValueError(f'{owner}: seg_logits must be (N, C, H, W), got '
                             f'shape {tuple(logits.shape)}')
        if not logits.is_floating_point():
            raise TypeError(f'{owner}: seg_logits must be floating point, '
                            f'got {logits.dtype}')
        if label.dim() == 4 and label.shape[1] == 1:
            label = label[:, 0]
        if label.dim() != 3 or label.shape[0] != logits.shape[0] or \
                label.shape[1:] != logits.shape[2:]:
            raise ValueError(f'{owner}: seg_label of shape '
                             f'{tuple(label.shape)} does not match '
                             f'seg_logits of shape {tuple(logits.shape)} '
                             f'(expected (N, H, W))')
        if label.is_floating_point() or label.dtype == torch.bool:
            raise TypeError(f'{owner}: seg_label must hold integer class '
                            f'indices, got {label.dtype}')
        return logits, label

    def check_inputs(self, logits: Tensor, label: Tensor,
                     ignore_index: int) -> None:
        """Non-finite logits or out-of-range labels raise (one sync)."""
        num_classes = max(logits.shape[1], 2)
        valid = label != ignore_index
        bad = valid & ((label < 0) | (label >= num_classes))
        nonfinite, invalid = torch.stack(
            [(~torch.isfinite(logits)).sum(), bad.sum()]).tolist()
        self.raise_if_bad(logits, label, ignore_index, nonfinite, invalid)

    def raise_if_bad(self, logits: Tensor, label: Tensor, ignore_index: int,
                     nonfinite: int, invalid: int) -> None:
        owner = type(self).__name__
        if nonfinite:
            raise FloatingPointError(
                f'{owner} ({self.loss_name}): {nonfinite} of '
                f'{logits.numel()} logits are NaN or infinite; refusing to '
                f'compute a loss from them (check the learning rate, the '
                f'input normalisation, or use gradient clipping)')
        if invalid:
            num_classes = max(logits.shape[1], 2)
            valid = label != ignore_index
            bad = valid & ((label < 0) | (label >= num_classes))
            found = torch.unique(label[bad]).tolist()
            shown = found[:10] + (['...'] if len(found) > 10 else [])
            raise ValueError(
                f'{owner} ({self.loss_name}): label values {shown} are '
                f'neither a class index in [0, {num_classes - 1}] nor '
                f'ignore_index={ignore_index} ({invalid} pixels). A 0/255 '
                f'mask must be converted to 0/1 first.')

    def extra_repr(self) -> str:
        names = [n for n in self._repr_keys() if hasattr(self, n)]
        return ', '.join(f'{n}={getattr(self, n)!r}' for n in names)

    def _repr_keys(self):
        return ('alpha', 'beta', 'lam', 'gamma', 'theta', 'eps',
                'loss_weight', 'loss_name', 'aggregation')


class AlphaBetaMixin:
    """``alpha`` (weight of FN, missed targets) and ``beta`` (weight of FP,
    false alarms) as attributes a hook can set between iterations.

    ``beta=None`` means ``β = 1 − α`` and keeps following ``alpha`` when a
    hook changes it; a number fixes β.
    """

    def _init_alpha_beta(self, alpha: float, beta: Optional[float]) -> None:
        self.alpha = alpha
        self.beta = beta

    @property
    def alpha(self) -> float:
        """α: weight of missed target pixels (FN)."""
        return self._alpha

    @alpha.setter
    def alpha(self, value: float) -> None:
        self._alpha = check_range(type(self).__name__, 'alpha', value, 0, 1)

    @property
    def beta(self) -> float:
        """β: weight of false alarms (FP); ``1 − α`` unless fixed."""
        if self._beta is None:
            return 1.0 - self._alpha
        return self._beta

    @beta.setter
    def beta(self, value: Optional[float]) -> None:
        self._beta = None if value is None else check_range(
            type(self).__name__, 'beta', value, 0, 1)
