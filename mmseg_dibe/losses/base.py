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
* Hyper-parameter validation at build time (:func:`check_range`), the
  ``alpha`` / ``beta`` attributes a hook may change between iterations
  (:class:`AlphaBetaMixin`), ``loss_name``.
"""
import math
from functools import cached_property
from typing import Optional, Tuple

import torch
import torch.nn as nn
from torch import Tensor

from ..functional.counts import soft_counts, valid_mask
from ..functional.pixel import (binary_log_probs, compute_dtype,
                                softmax_log_probs)
from ..functional.region import AGGREGATIONS


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

    def mean(self, terms: Tensor) -> Tensor:
        """Mean of per-pixel terms over valid pixels (and classes); exactly
        0 (with a zero gradient) when every pixel is ignored."""
        total = torch.where(self.valid, terms, terms.new_zeros(())).sum()
        count = self.valid.sum() * terms.shape[1]
        return total / count.clamp_min(1)

    def counts(self) -> Tuple[Tensor, Tensor, Tensor]:
        """Soft ``(TP, FP, FN)``, each ``(N, K)``."""
        return soft_counts(self.prob, self.target, self.valid, dims=(2, 3))


class BaseSegLoss(nn.Module):
    """Base of every loss here: call convention, checks, ``loss_name``.

    Subclasses set ``short_name`` (the default ``loss_name`` is
    ``'loss_' + short_name``) and implement :meth:`compute`.

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
    """

    short_name = 'base'

    def __init__(self,
                 loss_weight: float = 1.0,
                 loss_name: Optional[str] = None,
                 aggregation: str = 'batch',
                 ignore_index: Optional[int] = None,
                 threshold: float = 0.5,
                 include_background: bool = False):
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

    @property
    def loss_name(self) -> str:
        """Name of the loss term in mmseg's loss dict and logs."""
        return self._loss_name

    def forward(self,
                seg_logits: Tensor,
                seg_label: Tensor,
                weight: Optional[Tensor] = None,
                ignore_index: int = 255,
                **kwargs) -> Tensor:
        """Compute the loss.

        Args:
            seg_logits (Tensor): ``(N, C, H, W)`` logits; ``C = 1`` sigmoid,
                ``C ≥ 2`` softmax.
            seg_label (Tensor): ``(N, H, W)`` (or ``(N, 1, H, W)``) integer
                labels.
            weight (None): Per-pixel weights are not supported (the losses
                weight classes through λ, errors through α / β).
            ignore_index (int): Label value that takes part in nothing.

        Returns:
            Tensor: Scalar loss times ``loss_weight``.
        """
        owner = type(self).__name__
        if weight is not None:
            raise ValueError(f'{owner} does not support per-pixel weights '
                             f'(got weight of shape {tuple(weight.shape)})')
        if self.ignore_index is not None:
            ignore_index = self.ignore_index
        logits, label = self._check_shapes(seg_logits, seg_label)
        with torch.autocast(device_type=logits.device.type, enabled=False):
            x = logits.to(compute_dtype(logits.dtype))
            loss = self.compute(x, label, int(ignore_index))
        return self.loss_weight * loss

    def compute(self, logits: Tensor, label: Tensor,
                ignore_index: int) -> Tensor:
        """The loss of float logits ``(N, C, H, W)`` and labels ``(N, H, W)``.
        The default runs the input checks and :meth:`compute_terms`."""
        self.check_inputs(logits, label, ignore_index)
        inputs = _Inputs(logits, label, ignore_index, self.threshold,
                         self.include_background)
        return self.compute_terms(inputs)

    def compute_terms(self, inputs: _Inputs) -> Tensor:
        raise NotImplementedError

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
