"""Time and memory of every loss against ``F.binary_cross_entropy_with_logits``.

Used by ``benchmarks/losses.py``. Forward + backward on binary logits
(default ``(8, 1, 448, 448)`` float32: the paper's THC448 crops, batch 8),
on CPU and, when present, CUDA:

* every loss of the catalog (:data:`mmseg_dibe.losses.catalog.LOSSES`), in
  the catalog's order, with its default arguments;
* the reference ``F.binary_cross_entropy_with_logits`` (ratio 1 by
  definition), and, when they are importable, the same losses of MONAI
  (``monai.losses``) and segmentation-models-pytorch
  (``segmentation_models_pytorch.losses``, binary mode), which the project
  does not depend on. Every reference gets its input in the form it wants
  (float targets, one channel) prepared outside the timed step.

Measurements are interleaved round by round (BCE, then every loss, then
again), and the ratio reported is the median over rounds of
``time(loss) / time(BCE)`` of the same round, so a busy machine slows both
sides alike. Peak extra memory is the highest amount of memory allocated on
top of the inputs during one forward + backward (CUDA: the allocator's peak;
CPU on Linux: the rise of the process's resident-set high-water mark, with
glibc told to map every large block separately, see
:data:`MALLOC_ENV`; elsewhere: the profiler's allocation trace).

The goals (:data:`GOALS`, CPU, ratio to BCE) are those of the fast path: no
loss of ours slower than the fastest public implementation of the same loss
measured in the same run (MONAI's Dice 0.65x BCE, smp's Dice / Tversky 1.0x
and Focal 0.9x when the goals were set): region losses at most 0.6x, Focal
(and DIBE_Dis, the focal family) at most 0.9x, WBCE at most BCE itself; a
compound loss has the goal of its per-pixel part (the slower of its two
parts).
"""
import gc
import platform
import statistics
import time
from typing import Callable, Dict, List, NamedTuple, Optional, Sequence

import torch
import torch.nn.functional as F

from ..functional import fused
from ..losses import catalog

__all__ = ['GOALS', 'MALLOC_ENV', 'Row', 'make_inputs', 'candidates',
           'reference_candidates', 'bench', 'format_table', 'missed_goals']

#: Environment under which ``benchmarks/losses.py`` re-runs itself on Linux:
#: every allocation above 64 KiB is mmapped, so the resident-set high-water
#: mark sees each tensor (glibc otherwise recycles freed blocks).
MALLOC_ENV = {'MALLOC_MMAP_THRESHOLD_': '65536'}

#: CPU goal of each loss of ours: the largest ``time / time(BCE)``.
GOALS: Dict[str, float] = {
    'WBCELoss': 1.0,
    'BinaryFocalLoss': 0.9,
    'BinaryDiceLoss': 0.6,
    'BinaryTverskyLoss': 0.6,
    'FocalTverskyLoss': 0.6,
    'ComboLoss': 1.0,  # WBCE + Dice
    'ExpLogLoss': 1.0,  # a cross-entropy power + log-Dice
    'HybridFocalLoss': 0.9,  # Focal + FT
    'DIBEDisLoss': 0.9,
    'DIBERegLoss': 0.6,
    'DIBELoss': 0.9,  # DIBE_Dis + DIBE_Reg
}

BCE_NAME = 'BCE (F.binary_cross_entropy_with_logits)'


class Row(NamedTuple):
    """One benchmarked loss.

    Attributes:
        name (str): Row name (a registry type for ours).
        call (callable): ``call(logits, label, target)`` returns the loss;
            ``target`` is the float ``(N, 1, H, W)`` target.
        same_as (str, optional): For a reference, the loss of ours it
            computes (its registry type).
    """
    name: str
    call: Callable
    same_as: Optional[str] = None


def make_inputs(shape: Sequence[int], device: torch.device):
    """Logits ``randn * 3`` and sparse (~2 %) labels, as in crack data."""
    gen = torch.Generator().manual_seed(0)
    logits = (torch.randn(tuple(shape), generator=gen) * 3).to(device)
    label = (torch.rand(shape[0], *shape[2:], generator=gen) < 0.02).long()
    return logits, label.to(device)


def candidates() -> List[Row]:
    """BCE, then every loss of ours (catalog order, default arguments)."""
    from .. import losses
    rows = [Row(BCE_NAME, lambda x, label, target:
                F.binary_cross_entropy_with_logits(x, target))]
    for info in catalog.LOSSES.values():
        if not info.ours:
            continue
        loss = getattr(losses, info.type)()
        rows.append(Row(info.type, lambda x, label, target, loss=loss:
                        loss(x, label)))
    return rows


def reference_candidates() -> List[Row]:
    """The same losses of MONAI and segmentation-models-pytorch, where
    importable (nothing otherwise)."""
    rows = []
    try:
        import monai.losses as ml
    except Exception:  # noqa: BLE001  (absent, or broken by its deps)
        ml = None
    if ml is not None:
        for name, loss, ours in (
                ('DiceLoss', ml.DiceLoss(sigmoid=True), 'BinaryDiceLoss'),
                ('TverskyLoss', ml.TverskyLoss(sigmoid=True),
                 'BinaryTverskyLoss'),
                ('FocalLoss', ml.FocalLoss(), 'BinaryFocalLoss')):
            rows.append(Row(f'MONAI {name}',
                            lambda x, label, target, loss=loss:
                            loss(x, target), ours))
    try:
        import segmentation_models_pytorch.losses as sl
    except Exception:  # noqa: BLE001
        sl = None
    if sl is not None:
        for name, loss, ours in (
                ('DiceLoss', sl.DiceLoss('binary'), 'BinaryDiceLoss'),
                ('TverskyLoss', sl.TverskyLoss('binary'),
                 'BinaryTverskyLoss'),
                ('FocalLoss', sl.FocalLoss('binary'), 'BinaryFocalLoss')):
            rows.append(Row(f'smp {name}',
                            lambda x, label, target, loss=loss:
                            loss(x, target), ours))
    return rows


def _step_fn(row: Row, logits, label, target):
    x = logits.clone().requires_grad_()

    def step():
        x.grad = None
        row.call(x, label, target).backward()

    return step, x


def _sync(device: torch.device) -> None:
    if device.type == 'cuda':
        torch.cuda.synchronize()


def _proc_status_kib(key: str) -> int:
    with open('/proc/self/status') as f:
        for line in f:
            if line.startswith(key + ':'):
                return int(line.split()[1])
    raise KeyError(key)


def peak_extra_mib(step: Callable, x: torch.Tensor,
                   device: torch.device) -> float:
    """Peak memory allocated during one step, beyond what existed before
    (the new ``x.grad`` included, as for every loss)."""
    x.grad = None
    if device.type == 'cuda':
        torch.cuda.synchronize()
        base = torch.cuda.memory_allocated()
        torch.cuda.reset_peak_memory_stats()
        step()
        torch.cuda.synchronize()
        return (torch.cuda.max_memory_allocated() - base) / 2**20
    try:
        # Linux: reset the resident-set high-water mark, run, read it back.
        gc.collect()
        with open('/proc/self/clear_refs', 'w') as f:
            f.write('5')
        base = _proc_status_kib('VmRSS')
        step()
        return max(_proc_status_kib('VmHWM') - base, 0) / 1024
    except OSError:
        pass
    from torch.profiler import ProfilerActivity, profile
    with profile(activities=[ProfilerActivity.CPU],
                 profile_memory=True) as prof:
        step()
    events = sorted(prof.events(), key=lambda e: e.time_range.start)
    current = peak = 0
    for event in events:
        current += event.self_cpu_memory_usage
        peak = max(peak, current)
    return peak / 2**20


def bench(device: torch.device, shape: Sequence[int], rounds: int,
          references: bool = True) -> List[dict]:
    """Time every row; one dict per row (``name``, ``ms`` median,
    ``ratio`` to BCE, ``mem`` peak extra MiB, ``first_s`` first call,
    ``same_as``)."""
    if len(shape) != 4 or shape[1] != 1:
        raise ValueError(f'shape must be (N, 1, H, W) (binary logits), got '
                         f'{tuple(shape)}')
    logits, label = make_inputs(shape, device)
    target = (label == 1).to(logits.dtype).unsqueeze(1)
    rows = candidates() + (reference_candidates() if references else [])
    steps = []
    first_s = []
    for row in rows:
        step, x = _step_fn(row, logits, label, target)
        start = time.perf_counter()
        step()  # first call: compiles the fused kernels where they are used
        _sync(device)
        first_s.append(time.perf_counter() - start)
        step()
        _sync(device)
        steps.append((step, x))
    times = [[] for _ in rows]
    for _ in range(rounds):
        for i, (step, _) in enumerate(steps):
            _sync(device)
            start = time.perf_counter()
            step()
            _sync(device)
            times[i].append(time.perf_counter() - start)
    results = []
    for i, row in enumerate(rows):
        ratios = [t / b for t, b in zip(times[i], times[0])]
        results.append(
            dict(name=row.name, ms=1e3 * statistics.median(times[i]),
                 ratio=statistics.median(ratios),
                 mem=peak_extra_mib(*steps[i], device), first_s=first_s[i],
                 same_as=row.same_as))
    return results


def _fastest_reference(results: List[dict]) -> Dict[str, dict]:
    best = {}
    for r in results:
        ours = r['same_as']
        if ours and (ours not in best or r['ratio'] < best[ours]['ratio']):
            best[ours] = r
    return best


def missed_goals(device: torch.device, results: List[dict]) -> List[str]:
    """The losses of ours above their CPU goal (:data:`GOALS`) or slower
    than a reference implementation of the same loss (CPU only; nothing on
    CUDA, where no goal was set)."""
    if device.type != 'cpu':
        return []
    best = _fastest_reference(results)
    missed = []
    for r in results:
        goal = GOALS.get(r['name'])
        if goal is None:
            continue
        ref = best.get(r['name'])
        if r['ratio'] > goal or (ref is not None
                                 and r['ratio'] > ref['ratio']):
            missed.append(r['name'])
    return missed


def format_table(device: torch.device, shape: Sequence[int],
                 results: List[dict]) -> str:
    """The results as a Markdown table with a heading line."""
    lines = [f'\n### {device.type.upper()}: forward + backward, logits '
             f'{tuple(shape)} float32']
    if device.type == 'cpu':
        lines.append(f'torch {torch.__version__}, {torch.get_num_threads()} '
                     f'threads, {platform.processor() or platform.machine()}'
                     f', fused kernels compiled: {fused.compile_enabled()}')
    else:
        lines.append(f'torch {torch.__version__}, '
                     f'{torch.cuda.get_device_name(device)}, fused kernels '
                     f'compiled: {fused.compile_enabled()}')
    best = _fastest_reference(results)
    on_cpu = device.type == 'cpu'
    lines += ['', '| loss | paper name | median ms | x BCE | goal (CPU) | '
              'fastest reference | peak extra MiB | first call s |',
              '|---|---|---:|---:|---|---|---:|---:|']
    for r in results:
        info = catalog.LOSSES.get(r['name'])
        paper = info.paper_name if info else (
            catalog.LOSSES[r['same_as']].paper_name if r['same_as'] else '')
        goal = GOALS.get(r['name'])
        ref = best.get(r['name'])
        if goal is None:
            goal_cell = ''
        else:
            ok = r['ratio'] <= goal and (ref is None
                                         or r['ratio'] <= ref['ratio'])
            mark = (' ✓' if ok else ' ✗') if on_cpu else ''
            goal_cell = f'<= {goal:g}{mark}'
        ref_cell = f"{ref['name']} {ref['ratio']:.2f}" if ref else ''
        lines.append(f"| {r['name']} | {paper} | {r['ms']:.1f} | "
                     f"{r['ratio']:.2f} | {goal_cell} | {ref_cell} | "
                     f"{r['mem']:.1f} | {r['first_s']:.2f} |")
    return '\n'.join(lines)
