"""Per-pixel (distribution) terms: WBCE, Focal, DIBE_Dis and EL's CE part.

Every term is written on ``log p_t``, the log-probability of the *true*
class of the pixel (``log p`` where ``y = 1``, ``log(1 − p)`` where
``y = 0``), which callers get from logits with log-sigmoid (binary) or
log-softmax (multi-class): never ``log(sigmoid(x))``, which is ``−inf`` for a
logit of −100 in float32.

The focal family shares one shape. With a per-pixel scale ``s ≥ 1`` and
``L = −s · log p_t = −log(p_t^s)``::

    term = w · (1 − p_t^s)^γ · L = w · (1 − e^{−L})^γ · L

* WBCE (Eq. 2): ``s = 1``, ``γ = 0``;
* Focal (Eq. 3): ``s = 1``;
* DIBE_Dis (Eq. 16): ``s = 1 + α`` on a missed target pixel (y = 1, ŷ = 0),
  ``s = 1 + β`` on a false alarm (y = 0, ŷ = 1), ``s = 1`` otherwise,

with ``w = λ`` on target pixels and ``1 − λ`` on background pixels. Its
derivative has the closed form (Eq. 17 after the chain rule)::

    d term / d log p_t = −w · s · u^γ · (γ · q · L / u + 1),
    u = 1 − e^{−L},  q = e^{−L},

where ``L / u → 1`` as ``L → 0``. The terms' autograd function
(:func:`pixel_terms`) and the fused kernels use it, so a
saturated, correct prediction (``u = 0``) has a finite (zero) gradient for
every ``γ ≥ 0``, where autograd through ``u ** γ`` would give ``0 · inf``.
"""
from typing import NamedTuple, Optional, Tuple, Union

import torch
from torch import Tensor
from torch.autograd.function import once_differentiable

from .region import POWER_FLOOR

Number = Union[float, Tensor]


def compute_dtype(dtype: torch.dtype) -> torch.dtype:
    """The dtype losses compute in: at least float32 (bf16/fp16 logits from
    autocast are upcast; float64 stays float64 for reference checks)."""
    return torch.promote_types(dtype, torch.float32)


def binary_log_probs(logits: Tensor) -> Tuple[Tensor, Tensor]:
    """``(log p, log(1 − p))`` of a sigmoid channel, from the logits.

    Both are exact for any finite logit: ``log(1 − σ(x)) = log σ(−x)``.
    """
    return torch.nn.functional.logsigmoid(logits), \
        torch.nn.functional.logsigmoid(-logits)


def softmax_log_probs(logits: Tensor, dim: int = 1) -> Tuple[Tensor, Tensor]:
    """One-vs-rest ``(log p_c, log(1 − p_c))`` of softmax outputs.

    ``log(1 − p_c)`` is the log-sum-exp of the *other* logits minus the
    log-sum-exp of all: stable when ``p_c → 1``, where ``log1p(−p_c)`` is not.

    Args:
        logits (Tensor): ``(N, C, ...)`` with ``C ≥ 2``.
        dim (int): Class dimension.

    Returns:
        tuple[Tensor, Tensor]: Both shaped like ``logits``.
    """
    num_classes = logits.shape[dim]
    lse = torch.logsumexp(logits, dim=dim, keepdim=True)
    log_p = logits - lse
    shape = [1] * logits.dim()
    shape[dim] = num_classes
    eye = torch.eye(num_classes, dtype=torch.bool, device=logits.device)
    others = []
    for c in range(num_classes):
        # Mask class c with −inf: exp(−inf) = 0 leaves the other classes,
        # and the gradient to the masked entry is exactly 0 (no NaN).
        other = logits.masked_fill(eye[c].view(shape), float('-inf'))
        others.append(torch.logsumexp(other, dim=dim, keepdim=True))
    log_q = torch.cat(others, dim=dim) - lse
    return log_p, log_q


def modulated_log_with_grad(log_pt: Tensor,
                            scale: Number,
                            gamma: Number,
                            need_value: bool = True,
                            need_grad: bool = True,
                            one_minus_pt: Optional[Tensor] = None
                            ) -> Tuple[Optional[Tensor], Optional[Tensor]]:
    """Value and derivative of ``(1 − p_t^s)^γ · (−s log p_t)``.

    Pure tensor code without autograd, reached through
    :func:`pixel_term_with_grad` by the plain path and the fused kernels of
    :mod:`.fused`.

    Args:
        log_pt (Tensor): ``log p_t ≤ 0``.
        scale (float | Tensor): ``s ≥ 1`` (broadcastable).
        gamma (float | Tensor): Focusing exponent ``γ ≥ 0``.
        need_value (bool): Compute the term (else ``None``).
        need_grad (bool): Compute the derivative (else ``None``).
        one_minus_pt (Tensor, optional): ``1 − p_t`` when the caller has it
            exactly (the fused kernels: ``σ(−z)``) and ``s = 1``: saves the
            ``expm1``.

    Returns:
        tuple[Tensor, Tensor]: The term and its derivative with respect to
        ``log p_t`` (without the class weight ``w``).
    """
    big_l = -scale * log_pt  # L = −log(p_t^s) ≥ 0
    if not isinstance(gamma, Tensor) and gamma == 0:
        # (1 − p_t^s)^0 = 1: the weighted cross-entropy −s log p_t.
        value = big_l if need_value else None
        return value, ((-scale * torch.ones_like(log_pt)) if need_grad
                       else None)
    # 1 − p_t^s, accurate when p_t^s → 1
    u = -torch.expm1(-big_l) if one_minus_pt is None else one_minus_pt
    u_pow = focal_power(u, gamma)
    value = u_pow * big_l if need_value else None
    if not need_grad:
        return value, None
    # q = p_t^s = 1 − u: exact where it matters (small u); where u → 1 the
    # absolute error of 1 − u is below float rounding of the result.
    q = 1 - u
    # L / (1 − e^{−L}) → 1 as L → 0 (a saturated correct pixel): the 0/0 is
    # replaced by its limit. No autograd runs through this, so the NaN in the
    # unselected branch of `where` cannot leak into a gradient.
    ratio = torch.where(u > 0, big_l / u, torch.ones_like(u))
    grad = -scale * u_pow * (gamma * q * ratio + 1)
    return value, grad


def focal_power(u: Tensor, gamma: Number) -> Tensor:
    """``u ** γ`` for ``u ∈ [0, 1]``; the usual γ = 0, 1, 2 as products
    (exact, cheaper, and ``0 ** 0 = 1`` keeps γ = 0, i.e. WBCE, exact)."""
    if not isinstance(gamma, Tensor):
        if gamma == 0:
            return torch.ones_like(u)
        if gamma == 1:
            return u
        if gamma == 2:
            return u * u
    return u.pow(gamma)


def _true_class(log_p: Tensor, log_q: Tensor, target: Tensor):
    target = target.bool()
    return target, torch.where(target, log_p, log_q)


def class_weight(target: Tensor, lam: Number, like: Tensor) -> Tensor:
    """The class weight ``w`` of every per-pixel term: ``λ`` on target
    pixels, ``1 − λ`` on background pixels.

    Args:
        target (Tensor): ``bool`` ``y``.
        lam (float | Tensor): λ (a 0-d tensor in the fused kernels, so that
            a new value does not recompile them).
        like (Tensor): Gives dtype and device.
    """
    if isinstance(lam, Tensor):
        lam_t, rest = lam, 1 - lam
    else:
        lam_t, rest = like.new_tensor(lam), like.new_tensor(1 - lam)
    return torch.where(target, lam_t, rest)


def dibe_dis_scale(target: Tensor, pred: Tensor, alpha: Number,
                   beta: Number, like: Tensor) -> Tensor:
    """The exponent ``s`` of Eq. 16: ``1 + α`` on FN pixels (y = 1, ŷ = 0),
    ``1 + β`` on FP pixels (y = 0, ŷ = 1), 1 on correct pixels.

    ``alpha`` and ``beta`` are floats, or 0-d tensors in the fused kernels.
    """
    target = target.bool()
    pred = pred.bool()
    one = like.new_ones(())
    return torch.where(target & ~pred, one + alpha,
                       torch.where(~target & pred, one + beta, one))


def log_power_with_grad(log_pt: Tensor, gamma: float,
                        need_value: bool = True, need_grad: bool = True
                        ) -> Tuple[Optional[Tensor], Optional[Tensor]]:
    """Value and derivative in ``log p_t`` of ``(−log p_t)^γ`` (Eq. 11),
    continued linearly below :data:`.region.POWER_FLOOR` for ``0 < γ < 1``
    exactly as :func:`.region.safe_pow` (whose autograd gives the same
    derivative)."""
    t = (-log_pt).clamp_min(0)
    if gamma == 0:
        value = torch.ones_like(t) if need_value else None
        return value, (torch.zeros_like(t) if need_grad else None)
    if gamma == 1:
        value = t if need_value else None
        return value, (-torch.ones_like(t) if need_grad else None)
    if gamma > 1:
        value = t.pow(gamma) if need_value else None
        grad = -gamma * t.pow(gamma - 1) if need_grad else None
        return value, grad
    factor = t.clamp_min(POWER_FLOOR).pow(gamma - 1)
    value = t * factor if need_value else None
    grad = -torch.where(t >= POWER_FLOOR, gamma * factor,
                        factor) if need_grad else None
    return value, grad


#: The per-pixel terms of the paper, by name (:class:`PixelTerm`).
PIXEL_TERMS = ('wbce', 'focal', 'dibe_dis', 'explog_ce')


class PixelTerm(NamedTuple):
    """Which per-pixel term a loss uses, with its constants.

    ``kind`` is one of :data:`PIXEL_TERMS`: ``'wbce'`` (Eq. 2),
    ``'focal'`` (Eq. 3, focusing ``gamma``), ``'dibe_dis'`` (Eq. 16,
    ``alpha`` on FN, ``beta`` on FP, focusing ``gamma``) or ``'explog_ce'``
    (Eq. 11, exponent ``gamma`` = γCE). ``lam`` is λ, the target-class
    weight. The thresholded prediction ``ŷ`` matters only to
    ``'dibe_dis'``.
    """
    kind: str
    lam: float
    gamma: float = 0.0
    alpha: float = 0.0
    beta: float = 0.0


def pixel_term_with_grad(kind: str, gamma: float, log_pt: Tensor,
                         target: Tensor, pred: Optional[Tensor],
                         lam: Number, alpha: Number = 0.0,
                         beta: Number = 0.0, need_value: bool = True,
                         need_grad: bool = True,
                         one_minus_pt: Optional[Tensor] = None
                         ) -> Tuple[Optional[Tensor], Optional[Tensor]]:
    """Every per-pixel term of the paper and its derivative in ``log p_t``:
    the one place their formulas are written (the plain losses and the
    fused kernels of :mod:`.fused` both call it).

    Args:
        kind (str): One of :data:`PIXEL_TERMS`.
        gamma (float): The term's exponent (unused by ``'wbce'``).
        log_pt (Tensor): ``log p_t``, the log-probability of the true class.
        target (Tensor): ``bool`` ``y``.
        pred (Tensor, optional): ``bool`` ``ŷ`` (``'dibe_dis'`` only).
        lam (float | Tensor): λ.
        alpha, beta (float | Tensor): DIBE_Dis's α (FN) and β (FP).
        need_value, need_grad (bool): What to compute.
        one_minus_pt (Tensor, optional): ``1 − p_t`` computed exactly by the
            caller (used by ``'focal'``, where ``s = 1``).

    Returns:
        tuple[Tensor, Tensor]: ``w · term`` and ``w · d term / d log p_t``.
    """
    if kind not in PIXEL_TERMS:
        raise ValueError(f'kind must be one of {PIXEL_TERMS}, got {kind!r}')
    weight = class_weight(target, lam, log_pt)
    if kind == 'explog_ce':
        value, grad = log_power_with_grad(log_pt, gamma, need_value,
                                          need_grad)
    else:
        if kind == 'dibe_dis':
            scale = dibe_dis_scale(target, pred, alpha, beta, log_pt)
        else:
            scale = log_pt.new_ones(())
        value, grad = modulated_log_with_grad(
            log_pt, scale, 0.0 if kind == 'wbce' else gamma, need_value,
            need_grad, one_minus_pt if kind == 'focal' else None)
    return (None if value is None else weight * value,
            None if grad is None else weight * grad)


class _PixelTermFunction(torch.autograd.Function):
    """A per-pixel term of :func:`pixel_term_with_grad` with its
    closed-form backward."""

    @staticmethod
    def forward(ctx, log_pt, target, pred, term):
        needs_grad = ctx.needs_input_grad[0]
        value, grad = pixel_term_with_grad(
            term.kind, term.gamma, log_pt, target, pred, term.lam,
            term.alpha, term.beta, need_grad=needs_grad)
        if needs_grad:
            ctx.save_for_backward(grad)
        return value

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_out):
        grad, = ctx.saved_tensors
        return grad_out * grad, None, None, None


def pixel_terms(term: PixelTerm, log_p: Tensor, log_q: Tensor,
                target: Tensor, pred: Optional[Tensor] = None) -> Tensor:
    """The per-pixel loss of ``term``, differentiable in ``log_p`` and
    ``log_q``.

    Args:
        term (PixelTerm): Which term, and its constants.
        log_p (Tensor): ``log p`` (from log-sigmoid / log-softmax).
        log_q (Tensor): ``log(1 − p)``, same shape.
        target (Tensor): ``y`` in ``{0, 1}`` (bool or integer).
        pred (Tensor, optional): ``ŷ`` (bool), needed by ``'dibe_dis'``.

    Returns:
        Tensor: The per-pixel loss, shaped like ``log_p``.
    """
    if term.kind == 'dibe_dis' and pred is None:
        raise ValueError("the 'dibe_dis' term needs the prediction pred")
    target, log_pt = _true_class(log_p, log_q, target)
    if pred is not None:
        pred = pred.bool()
    return _PixelTermFunction.apply(log_pt, target, pred, term)


def wbce_terms(log_p: Tensor, log_q: Tensor, target: Tensor,
               lam: float) -> Tensor:
    """Weighted binary cross-entropy per pixel, Eq. 2:
    ``−λ log p`` (y = 1), ``−(1 − λ) log(1 − p)`` (y = 0).

    Args:
        log_p (Tensor): ``log p`` (from log-sigmoid / log-softmax).
        log_q (Tensor): ``log(1 − p)``.
        target (Tensor): ``y`` in ``{0, 1}`` (bool or integer), same shape.
        lam (float): λ, the weight of target pixels (``1 − λ`` background).

    Returns:
        Tensor: The per-pixel loss.
    """
    return pixel_terms(PixelTerm('wbce', lam), log_p, log_q, target)


def focal_terms(log_p: Tensor, log_q: Tensor, target: Tensor, lam: float,
                gamma: float) -> Tensor:
    """Focal loss per pixel, Eq. 3: ``−λ (1 − p)^γ log p`` (y = 1),
    ``−(1 − λ) p^γ log(1 − p)`` (y = 0)."""
    return pixel_terms(PixelTerm('focal', lam, float(gamma)), log_p, log_q,
                       target)


def dibe_dis_terms(log_p: Tensor, log_q: Tensor, target: Tensor,
                   pred: Tensor, alpha: float, beta: float, lam: float,
                   gamma: float) -> Tensor:
    """DIBE_Dis per pixel, Eq. 16 (spec: α on FN, β on FP).

    Args:
        log_p (Tensor): ``log p``.
        log_q (Tensor): ``log(1 − p)``.
        target (Tensor): ``y`` in ``{0, 1}``.
        pred (Tensor): ``ŷ`` (bool): the thresholded prediction.
        alpha (float): α, regulator of missed target pixels (FN).
        beta (float): β, regulator of false alarms (FP).
        lam (float): λ, target-class weight.
        gamma (float): γ, focusing exponent.

    Returns:
        Tensor: The per-pixel loss.
    """
    return pixel_terms(
        PixelTerm('dibe_dis', lam, float(gamma), float(alpha), float(beta)),
        log_p, log_q, target, pred)


def explog_ce_terms(log_p: Tensor, log_q: Tensor, target: Tensor,
                    lam: float, gamma_ce: float) -> Tensor:
    """EL's cross-entropy part per pixel, Eq. 11:
    ``λ (−log p)^γCE`` (y = 1), ``(1 − λ)(−log(1 − p))^γCE`` (y = 0)."""
    return pixel_terms(PixelTerm('explog_ce', lam, float(gamma_ce)), log_p,
                       log_q, target)


#: mmseg's ``reduction`` values.
REDUCTIONS = ('none', 'mean', 'sum')


def reduce_total(total: Tensor, count: Tensor, reduction: str = 'mean',
                 avg_factor: Optional[float] = None) -> Tensor:
    """Reduce a sum of per-pixel losses with mmseg's semantics
    (``mmseg.models.losses.utils.weight_reduce_loss``).

    Args:
        total (Tensor): Sum of the (weighted) per-pixel losses over the
            valid pixels.
        count (Tensor): Number of valid pixels.
        reduction (str): ``'mean'``: ``total / count`` (0 when no pixel is
            valid), or ``total / (avg_factor + eps)`` when ``avg_factor`` is
            given; ``'sum'``: ``total``.
        avg_factor (float, optional): mmseg's averaging factor.

    Returns:
        Tensor: Scalar.
    """
    if reduction == 'sum':
        if avg_factor is not None:
            raise ValueError('avg_factor can not be used with '
                             "reduction='sum'")
        return total
    if reduction != 'mean':
        raise ValueError(f"reduction must be 'mean' or 'sum' here, got "
                         f'{reduction!r}')
    if avg_factor is None:
        return total / count.clamp_min(1)
    return total / (avg_factor + torch.finfo(torch.float32).eps)


def reduce_pixel_terms(terms: Tensor, valid: Tensor,
                       weight: Optional[Tensor] = None,
                       reduction: str = 'mean',
                       avg_factor: Optional[float] = None) -> Tensor:
    """Reduce per-pixel losses ``(N, K, H, W)`` (``K`` evaluated classes).

    The loss of a pixel is the mean of its ``K`` class terms; ignored
    pixels count 0. ``weight`` (mmseg's per-pixel weight, e.g. an OHEM
    sampler's 0/1 mask) multiplies it. ``'none'`` returns the ``(N, H, W)``
    map, ``'sum'`` its sum, ``'mean'`` its sum over the number of valid
    pixels (as mmseg's ``CrossEntropyLoss(avg_non_ignore=True)``) or over
    ``avg_factor``.

    Args:
        terms (Tensor): ``(N, K, H, W)``.
        valid (Tensor): ``bool`` ``(N, 1, H, W)``.
        weight (Tensor, optional): ``(N, H, W)`` or ``(N, 1, H, W)``.
        reduction (str): One of :data:`REDUCTIONS`.
        avg_factor (float, optional): Divisor of ``'mean'``.
    """
    if reduction not in REDUCTIONS:
        raise ValueError(f'reduction must be one of {REDUCTIONS}, got '
                         f'{reduction!r}')
    per_pixel = torch.where(valid, terms, terms.new_zeros(())).mean(1)
    if weight is not None:
        if weight.dim() == 4 and weight.shape[1] == 1:
            weight = weight[:, 0]
        if weight.shape != per_pixel.shape:
            raise ValueError(f'weight of shape {tuple(weight.shape)} does '
                             f'not match the pixels {tuple(per_pixel.shape)}')
        per_pixel = per_pixel * weight.to(per_pixel.dtype)
    if reduction == 'none':
        return per_pixel
    return reduce_total(per_pixel.sum(), valid.sum(), reduction, avg_factor)
