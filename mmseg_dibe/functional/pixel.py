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

where ``L / u → 1`` as ``L → 0``. :class:`ModulatedLog` uses it, so a
saturated, correct prediction (``u = 0``) has a finite (zero) gradient for
every ``γ ≥ 0``, where autograd through ``u ** γ`` would give ``0 · inf``.
"""
from typing import Optional, Tuple, Union

import torch
from torch import Tensor
from torch.autograd.function import once_differentiable

from .region import safe_pow

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
                            need_grad: bool = True
                            ) -> Tuple[Optional[Tensor], Optional[Tensor]]:
    """Value and derivative of ``(1 − p_t^s)^γ · (−s log p_t)``.

    Pure tensor code without autograd, shared by :class:`ModulatedLog` and
    the fused kernels of :mod:`.fused`.

    Args:
        log_pt (Tensor): ``log p_t ≤ 0``.
        scale (float | Tensor): ``s ≥ 1`` (broadcastable).
        gamma (float | Tensor): Focusing exponent ``γ ≥ 0``.
        need_value (bool): Compute the term (else ``None``).
        need_grad (bool): Compute the derivative (else ``None``).

    Returns:
        tuple[Tensor, Tensor]: The term and its derivative with respect to
        ``log p_t`` (without the class weight ``w``).
    """
    big_l = -scale * log_pt  # L = −log(p_t^s) ≥ 0
    u = -torch.expm1(-big_l)  # 1 − p_t^s, accurate when p_t^s → 1
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


class ModulatedLog(torch.autograd.Function):
    """``(1 − p_t^s)^γ · (−s log p_t)`` with the closed-form backward."""

    @staticmethod
    def forward(ctx, log_pt: Tensor, scale: Tensor, gamma: float) -> Tensor:
        value, grad = modulated_log_with_grad(log_pt, scale, gamma)
        ctx.save_for_backward(grad)
        return value

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_out: Tensor):
        grad, = ctx.saved_tensors
        return grad_out * grad, None, None


def _true_class(log_p: Tensor, log_q: Tensor, target: Tensor):
    target = target.bool()
    return target, torch.where(target, log_p, log_q)


def _class_weight(target: Tensor, lam: float, like: Tensor) -> Tensor:
    return torch.where(target, like.new_tensor(lam),
                       like.new_tensor(1 - lam))


def wbce_terms(log_p: Tensor, log_q: Tensor, target: Tensor,
               lam: float) -> Tensor:
    """Weighted binary cross-entropy per pixel, Eq. 2.

    Args:
        log_p (Tensor): ``log p`` (from log-sigmoid / log-softmax).
        log_q (Tensor): ``log(1 − p)``.
        target (Tensor): ``y`` in ``{0, 1}`` (bool or integer), same shape.
        lam (float): λ, the weight of target pixels (``1 − λ`` background).

    Returns:
        Tensor: The per-pixel loss.
    """
    target, log_pt = _true_class(log_p, log_q, target)
    return -_class_weight(target, lam, log_pt) * log_pt


def focal_terms(log_p: Tensor, log_q: Tensor, target: Tensor, lam: float,
                gamma: float) -> Tensor:
    """Focal loss per pixel, Eq. 3: ``−λ (1 − p)^γ log p`` (y = 1),
    ``−(1 − λ) p^γ log(1 − p)`` (y = 0)."""
    target, log_pt = _true_class(log_p, log_q, target)
    scale = torch.ones((), dtype=log_pt.dtype, device=log_pt.device)
    value = ModulatedLog.apply(log_pt, scale, float(gamma))
    return _class_weight(target, lam, log_pt) * value


def dibe_dis_scale(target: Tensor, pred: Tensor, alpha: float, beta: float,
                   like: Tensor) -> Tensor:
    """The exponent ``s`` of Eq. 16: ``1 + α`` on FN pixels (y = 1, ŷ = 0),
    ``1 + β`` on FP pixels (y = 0, ŷ = 1), 1 on correct pixels."""
    target = target.bool()
    pred = pred.bool()
    one = like.new_tensor(1.0)
    return torch.where(target & ~pred, like.new_tensor(1.0 + alpha),
                       torch.where(~target & pred,
                                   like.new_tensor(1.0 + beta), one))


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
    target, log_pt = _true_class(log_p, log_q, target)
    scale = dibe_dis_scale(target, pred, alpha, beta, log_pt)
    value = ModulatedLog.apply(log_pt, scale, float(gamma))
    return _class_weight(target, lam, log_pt) * value


def explog_ce_terms(log_p: Tensor, log_q: Tensor, target: Tensor,
                    lam: float, gamma_ce: float) -> Tensor:
    """EL's cross-entropy part per pixel, Eq. 11:
    ``λ (−log p)^γCE`` (y = 1), ``(1 − λ)(−log(1 − p))^γCE`` (y = 0)."""
    target, log_pt = _true_class(log_p, log_q, target)
    return _class_weight(target, lam, log_pt) * safe_pow(-log_pt,
                                                         float(gamma_ce))
