"""Fast path of every binary loss: one pass forward, one pass backward.

A loss written as a chain of tensor operations reads and writes the whole
``(N, 1, H, W)`` map once per operation and autograd keeps most of the
intermediates; for DIBE_Dis that was ~13x the time of
``F.binary_cross_entropy_with_logits``. Every loss of the paper is a
function of two kinds of sums over the valid pixels: the sum of a per-pixel
term (WBCE Eq. 2, Focal Eq. 3, DIBE_Dis Eq. 16, EL's Eq. 11; see
:func:`.pixel.pixel_term_with_grad`) and the soft TP / FP / FN of the region
terms (Dice, Tversky, FT, EL, DIBE_Reg). Here both are one
:class:`torch.autograd.Function` (:func:`binary_stats`):

* the forward reduces the logits and labels to a few numbers per image
  (per-pixel term sum, valid count, TP, FP, FN, and two counters for input
  checks) and saves nothing but its inputs;
* the backward recomputes the per-pixel quantities and applies the
  closed-form derivative (for DIBE_Dis Eq. 17 after the chain rule) and
  ``dσ/dx = p(1 − p)`` for the counts.

The losses then apply their equation (:mod:`.region`, :mod:`.compound`) to
these few numbers; autograd carries the gradient back through them.

Both kernels are plain tensor code. For float32 they are compiled with
``torch.compile(dynamic=True)`` the first time they are called (never at
import, so code that does not use them pays nothing), which fuses each into a
single loop; shapes are symbolic, so a new batch or crop size does not
recompile, and α, β, λ and the threshold travel as a tensor, so a hook
changing α does not either. Float64 (the reference tests) always runs
eagerly. When compilation is unavailable (no C++ compiler, an unsupported
platform) or disabled (``MMSEG_DIBE_COMPILE=0`` or :func:`set_compile`), the
same kernels run eagerly and give the same numbers (up to float rounding).

The counts mirror :func:`.counts.soft_counts` (tested against it); they are
computed here only because fusing them with the distribution term is the
point of this module. The per-pixel formulas are not repeated here: the
kernels call :func:`.pixel.pixel_term_with_grad`, as the plain losses do.
"""
import os
import warnings
from typing import Callable, Dict, NamedTuple, Optional

import torch
from torch import Tensor
from torch.autograd.function import once_differentiable

from .pixel import PIXEL_TERMS, PixelTerm, pixel_term_with_grad

__all__ = ['BinaryStats', 'binary_stats', 'binary_dibe_stats',
           'set_compile', 'compile_enabled']

_ENV = 'MMSEG_DIBE_COMPILE'
_state = {'enabled': None, 'failed': False}
_compiled: Dict[str, Callable] = {}
#: Compiled specialisations allowed per kernel (see :func:`_run`).
_RECOMPILE_LIMIT = 64


def set_compile(enabled: Optional[bool]) -> None:
    """Turn compilation of the fused kernels on or off (``None``: follow the
    ``MMSEG_DIBE_COMPILE`` environment variable, default on)."""
    _state['enabled'] = enabled


def compile_enabled() -> bool:
    """Whether the fused kernels will be compiled on their next call."""
    if _state['failed']:
        return False
    if _state['enabled'] is not None:
        return bool(_state['enabled'])
    return os.environ.get(_ENV, '1').strip().lower() not in ('0', 'false',
                                                             'no', 'off')


def _unpack(x: Tensor, label: Tensor, params: Tensor, ignore_index: int):
    valid = label != ignore_index
    pos = label == 1
    # One exp serves log σ(±x) and σ(±x): e = e^{−|x|} ∈ (0, 1], so
    # log σ(x) = min(x, 0) − log1p(e), σ(x) = 1/(1 + e) or e/(1 + e). This is
    # what log-sigmoid does internally, shared here by all four quantities.
    e = torch.exp(-x.abs())
    inv = 1 / (1 + e)
    nonneg = x >= 0
    prob = torch.where(nonneg, inv, e * inv)  # σ(x)
    prob_bg = torch.where(nonneg, e * inv, inv)  # σ(−x) = 1 − p, exact
    # z is the logit of the true class: p_t = σ(z), log p_t = log σ(z).
    z = torch.where(pos, x, -x)
    log_pt = torch.clamp(z, max=0) - torch.log1p(e)
    # ŷ = 1[p > threshold] ⇔ x > logit(threshold)
    above = x > params[3]
    return valid, pos, above, prob, prob_bg, log_pt


def _pixel_term(kind: str, gamma: float, log_pt: Tensor, pos: Tensor,
                above: Tensor, prob: Tensor, prob_bg: Tensor,
                params: Tensor, need_value: bool, need_grad: bool):
    # The formulas live in pixel.py; α, β, λ come as 0-d tensors, and
    # 1 − p_t is σ(−z), already at hand.
    alpha, beta, lam = params[0], params[1], params[2]
    return pixel_term_with_grad(kind, gamma, log_pt, pos, above, lam, alpha,
                                beta, need_value, need_grad,
                                torch.where(pos, prob_bg, prob))


def _forward_kernel(x: Tensor, label: Tensor, params: Tensor,
                    ignore_index: int, kind: Optional[str],
                    with_region: bool, gamma: float):
    valid, pos, above, prob, prob_bg, log_pt = _unpack(
        x, label, params, ignore_index)
    zero = torch.zeros_like(x)
    nonfinite = (~torch.isfinite(x)).sum()
    # Binary labels are 0, 1 or ignore_index; anything else is counted here
    # and reported by the caller with the values found.
    invalid = (valid & (label != 0) & ~pos).sum()
    count = valid.sum(1).to(x.dtype)
    if kind is not None:
        value, _ = _pixel_term(kind, gamma, log_pt, pos, above, prob,
                               prob_bg, params, True, False)
        dis = torch.where(valid, value, zero).sum(1)
    else:
        dis = zero.sum(1)
    if with_region:
        # FP and FN as their own sums (with 1 − p from e^{−|x|}, exact)
        # rather than ΣP − TP and ΣY − TP: near a perfect prediction those
        # differences cancel catastrophically in float32.
        tp = torch.where(valid & pos, prob, zero).sum(1)
        fp = torch.where(valid & ~pos, prob, zero).sum(1)
        fn = torch.where(valid & pos, prob_bg, zero).sum(1)
    else:
        tp = fp = fn = zero.sum(1)
    return dis, count, tp, fp, fn, nonfinite, invalid


def _backward_kernel(x: Tensor, label: Tensor, params: Tensor,
                     ignore_index: int, kind: Optional[str],
                     with_region: bool, g_dis: Tensor, g_tp: Tensor,
                     g_fp: Tensor, g_fn: Tensor, gamma: float) -> Tensor:
    valid, pos, above, prob, prob_bg, log_pt = _unpack(
        x, label, params, ignore_index)
    zero = torch.zeros_like(x)
    grad = zero
    if kind is not None:
        _, d_log_pt = _pixel_term(kind, gamma, log_pt, pos, above, prob,
                                  prob_bg, params, False, True)
        # d log σ(z)/dz = σ(−z) = 1 − p_t; dz/dx = +1 on targets, −1 on
        # background: d/dx = (1 − p)·d on targets, −p·d on background.
        d_x = d_log_pt * torch.where(pos, prob_bg, -prob)
        grad = g_dis.unsqueeze(1) * d_x
    if with_region:
        # dTP/dx = y·σ', dFP/dx = (1 − y)·σ', dFN/dx = −y·σ', σ' = p(1 − p).
        d_prob = prob * prob_bg
        g = torch.where(pos, (g_tp - g_fn).unsqueeze(1),
                        g_fp.unsqueeze(1).expand_as(x))
        grad = grad + d_prob * g
    return torch.where(valid, grad, zero)


def _run(name: str, kernel: Callable, x: Tensor, *args):
    """Run a kernel compiled when possible, eagerly otherwise.

    Each kernel is its own function (its own code object), so dynamo keeps
    one cache per kernel. Sizes are dynamic (``dynamic=True``): with batch
    aggregation the kernels always see one row of ``N·H·W`` pixels, so no
    batch or crop size recompiles. The compiler still specialises a size of
    1 and may guard a small size range, so per-image aggregation compiles
    once more for a one-image batch, and a first call with fewer than 4096
    pixels once more for a large one: a couple of compilations per process
    at most, never one per shape. (Marking sizes "unbacked" to avoid even
    those made the compiled loops 3-5x slower.) α, β, λ and the threshold
    travel in a tensor, so a hook changing α never recompiles; γ is a float
    the compiler may specialise (γ = 2 becomes ``u * u``).
    """
    if x.dtype != torch.float32 or not compile_enabled():
        return kernel(x, *args)
    fn = _compiled.get(name)
    if fn is None:
        fn = torch.compile(kernel, dynamic=True,
                           options={'split_reductions': False})
        _compiled[name] = fn
    # detach() turns views into plain tensors (no grad is needed in the
    # kernels): dynamo would otherwise also guard the sizes of the views'
    # bases, e.g. specialise a one-image batch or a square crop.
    x = x.detach()
    args = tuple(a.detach() if isinstance(a, Tensor) else a for a in args)
    try:
        # Each kind of loss (and γ) is one specialisation of the same two
        # kernels: allow more than dynamo's default of 8 before it gives up
        # compiling (a process training one loss uses one or two).
        config = torch._dynamo.config
        # 'recompile_limit' since torch 2.7, 'cache_size_limit' before.
        key = ('recompile_limit' if hasattr(config, 'recompile_limit') else
               'cache_size_limit')
        with config.patch(
                **{key: max(_RECOMPILE_LIMIT, getattr(config, key))}):
            return fn(x, *args)
    except Exception as exc:  # noqa: BLE001  (any backend failure)
        # Compilation errors surface on the first call; fall back for good
        # rather than failing a training run over a missing compiler.
        _state['failed'] = True
        warnings.warn(f'mmseg_dibe: compiling the fused loss kernels failed '
                      f'({type(exc).__name__}: {str(exc)[:200]}); using the '
                      f'eager kernels (same numbers, slower).')
        return kernel(x, *args)


class _BinarySums(torch.autograd.Function):

    @staticmethod
    def forward(ctx, x, label, params, gamma, ignore_index, kind,
                with_region):
        outs = _run('forward', _forward_kernel, x, label, params,
                    ignore_index, kind, with_region, gamma)
        ctx.save_for_backward(x, label, params)
        ctx.gamma = gamma
        ctx.ignore_index = ignore_index
        ctx.flags = (kind, with_region)
        dis, count, tp, fp, fn, nonfinite, invalid = outs
        ctx.mark_non_differentiable(count, nonfinite, invalid)
        return dis, count, tp, fp, fn, nonfinite, invalid

    @staticmethod
    @once_differentiable
    def backward(ctx, g_dis, g_count, g_tp, g_fp, g_fn, g_nf, g_inv):
        x, label, params = ctx.saved_tensors
        kind, with_region = ctx.flags
        grad = _run('backward', _backward_kernel, x, label, params,
                    ctx.ignore_index, kind, with_region,
                    g_dis.to(x.dtype), g_tp.to(x.dtype), g_fp.to(x.dtype),
                    g_fn.to(x.dtype), ctx.gamma)
        return grad, None, None, None, None, None, None


class BinaryStats(NamedTuple):
    """What :func:`binary_stats` returns; each entry has shape ``(N,)`` per
    image, or ``(1,)`` for the whole batch."""
    dis_sum: Tensor  #: Σ over valid pixels of the per-pixel term
    count: Tensor  #: number of valid pixels
    tp: Tensor  #: soft TP = Σ p·y
    fp: Tensor  #: soft FP = Σ p·(1 − y)
    fn: Tensor  #: soft FN = Σ (1 − p)·y
    nonfinite: Tensor  #: number of non-finite logits (all pixels)
    invalid: Tensor  #: number of valid labels other than 0 and 1


def binary_stats(logits: Tensor,
                 label: Tensor,
                 term: Optional[PixelTerm] = None,
                 *,
                 with_region: bool = True,
                 threshold: float = 0.5,
                 ignore_index: int = 255,
                 per_image: bool = False) -> BinaryStats:
    """Fused sums of a binary loss's terms, differentiable in ``logits``:
    the per-pixel term (any of :data:`.pixel.PIXEL_TERMS`) and the soft
    TP / FP / FN every region loss is a function of.

    Args:
        logits (Tensor): ``(N, 1, H, W)`` or ``(N, H, W)`` sigmoid logits,
            float32 or float64 (the caller upcasts half precision).
        label (Tensor): ``(N, H, W)`` integer labels: 0, 1 or
            ``ignore_index``.
        term (PixelTerm, optional): The per-pixel term to sum; ``None``
            (region losses) computes none (``dis_sum`` is 0).
        with_region (bool): Compute TP, FP, FN (else 0).
        threshold (float): ``ŷ = 1[p > threshold]`` (DIBE_Dis).
        ignore_index (int): Label value that takes part in nothing.
        per_image (bool): Sums per image (``(N,)``) instead of one sum.

    Returns:
        BinaryStats: Differentiable ``dis_sum``, ``tp``, ``fp``, ``fn``.
    """
    n = logits.shape[0]
    x = logits.reshape(n, -1)
    y = label.reshape(n, -1)
    if x.shape != y.shape:
        raise ValueError(f'logits {tuple(logits.shape)} and labels '
                         f'{tuple(label.shape)} do not match')
    if term is not None and term.kind not in PIXEL_TERMS:
        raise ValueError(f'term.kind must be one of {PIXEL_TERMS}, got '
                         f'{term.kind!r}')
    if not per_image:
        # One row: the kernels always see a (1, M) problem, so the batch
        # size never becomes part of the compiled graph.
        x, y = x.reshape(1, -1), y.reshape(1, -1)
    thr = torch.logit(torch.tensor(float(threshold), dtype=torch.float64))
    if term is None:
        kind, gamma, values = None, 0.0, (0.0, 0.0, 0.5)
    else:
        # Only DIBE_Dis reads α and β; WBCE has no γ. Normalising what a
        # term does not use keeps one compiled kernel per kind of loss.
        kind = term.kind
        gamma = 0.0 if kind == 'wbce' else float(term.gamma)
        values = ((term.alpha, term.beta) if kind == 'dibe_dis' else
                  (0.0, 0.0)) + (term.lam,)
    params = torch.tensor([*values, float(thr)], dtype=x.dtype,
                          device=x.device)
    return BinaryStats(*_BinarySums.apply(x, y, params, gamma,
                                          int(ignore_index), kind,
                                          bool(with_region)))


def binary_dibe_stats(logits: Tensor,
                      label: Tensor,
                      *,
                      alpha: float,
                      beta: float,
                      lam: float,
                      gamma: float,
                      threshold: float = 0.5,
                      ignore_index: int = 255,
                      per_image: bool = False,
                      with_dis: bool = True,
                      with_region: bool = True) -> BinaryStats:
    """:func:`binary_stats` of DIBE's terms: Eq. 16 per pixel (α on FN, β on
    FP, λ, γ) and the counts of Eq. 18."""
    term = PixelTerm('dibe_dis', lam, gamma, alpha, beta) if with_dis \
        else None
    return binary_stats(logits, label, term, with_region=with_region,
                        threshold=threshold, ignore_index=ignore_index,
                        per_image=per_image)
