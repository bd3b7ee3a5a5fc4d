"""Time and memory of every loss against ``F.binary_cross_entropy_with_logits``.

Forward + backward on ``(8, 1, 448, 448)`` float32 logits (the paper's THC448
crops, batch 8), on CPU and, when present, CUDA. Measurements are
interleaved round by round (BCE, then every loss, then again), and the ratio
reported is the median over rounds of ``time(loss) / time(BCE)`` of the same
round, so a busy machine slows both sides alike. Peak extra memory is the
highest amount of memory allocated on top of the inputs during one forward +
backward (CUDA: the allocator's peak; CPU on Linux: the rise of the process's
resident-set high-water mark, with glibc told to map every large block
separately; elsewhere: the profiler's allocation trace).

Usage::

    python benchmarks/losses.py [--device cpu|cuda|all] [--rounds 15]
        [--shape 8 1 448 448] [--no-compile]

Every loss runs its fused one-pass path (binary input). Targets on CPU,
checked in the ``x BCE`` column: at most 0.6 for the region losses (Dice,
Tversky, FT, DIBE_Reg: the fused kernel only sums soft TP / FP / FN) and 0.9
for the per-pixel and compound losses (WBCE, Focal, DIBE_Dis, Combo, EL, HF,
DIBE: one per-pixel term besides the counts). The exit status is 1 when one
is missed. Timings on a shared machine are noisy: compare ratios from
repeated runs, not single numbers.
"""
import argparse
import gc
import os
import platform
import statistics
import sys
import time

import torch
import torch.nn.functional as F

from mmseg_dibe.functional import fused
from mmseg_dibe.losses import (LOSSES, BinaryDiceLoss, BinaryFocalLoss,
                               BinaryTverskyLoss, ComboLoss, DIBEDisLoss,
                               DIBELoss, DIBERegLoss, ExpLogLoss,
                               FocalTverskyLoss, HybridFocalLoss, WBCELoss)

#: CPU target of each loss's time relative to BCE (see the module doc).
REGION_TARGET = 0.6
PIXEL_TARGET = 0.9
REGION_LOSSES = ('BinaryDiceLoss', 'BinaryTverskyLoss', 'FocalTverskyLoss',
                 'DIBERegLoss')


def target_of(name):
    """The CPU ratio target of a loss (``None`` for BCE itself)."""
    if name not in LOSSES:
        return None
    return REGION_TARGET if name in REGION_LOSSES else PIXEL_TARGET


def make_inputs(shape, device):
    gen = torch.Generator().manual_seed(0)
    logits = (torch.randn(shape, generator=gen) * 3).to(device)
    # Sparse targets (~2 %) as in crack data.
    label = (torch.rand(shape[0], *shape[2:], generator=gen) < 0.02).long()
    return logits, label.to(device)


def candidates():
    rows = [('BCE (F.binary_cross_entropy_with_logits)', None)]
    for loss in (WBCELoss(), BinaryFocalLoss(), BinaryDiceLoss(),
                 BinaryTverskyLoss(), FocalTverskyLoss(), ComboLoss(),
                 ExpLogLoss(), HybridFocalLoss(), DIBEDisLoss(),
                 DIBERegLoss(), DIBELoss()):
        rows.append((type(loss).__name__, loss))
    return rows


def step_fn(loss, logits, label, target):
    x = logits.clone().requires_grad_()

    def step():
        x.grad = None
        if loss is None:
            value = F.binary_cross_entropy_with_logits(x[:, 0], target)
        else:
            value = loss(x, label)
        value.backward()

    return step, x


def sync(device):
    if device.type == 'cuda':
        torch.cuda.synchronize()


def _proc_status_kib(key):
    with open('/proc/self/status') as f:
        for line in f:
            if line.startswith(key + ':'):
                return int(line.split()[1])
    raise KeyError(key)


def peak_extra_mib(step, x, device):
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
        # main() makes glibc return every large block to the system
        # (MALLOC_MMAP_THRESHOLD_), so freed tensors do not hide new ones.
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


def bench(device, shape, rounds):
    logits, label = make_inputs(shape, device)
    target = (label == 1).float()  # BCE gets its float target for free
    rows = candidates()
    steps = []
    compile_s = {}
    for name, loss in rows:
        step, x = step_fn(loss, logits, label, target)
        start = time.perf_counter()
        step()  # first call: compiles the fused kernels where they are used
        sync(device)
        compile_s[name] = time.perf_counter() - start
        step()
        sync(device)
        steps.append((step, x))
    times = [[] for _ in rows]
    for _ in range(rounds):
        for i, (step, _) in enumerate(steps):
            sync(device)
            start = time.perf_counter()
            step()
            sync(device)
            times[i].append(time.perf_counter() - start)
    results = []
    for i, (name, loss) in enumerate(rows):
        ratios = [t / b for t, b in zip(times[i], times[0])]
        results.append(
            dict(name=name, paper=LOSSES[name].paper_name if name in LOSSES
                 else 'BCE', ms=1e3 * statistics.median(times[i]),
                 ratio=statistics.median(ratios),
                 mem=peak_extra_mib(*steps[i], device),
                 first_s=compile_s[name]))
    return results


def print_table(device, shape, results):
    print(f'\n### {device.type.upper()}: forward + backward, logits '
          f'{tuple(shape)} float32')
    if device.type == 'cpu':
        print(f'torch {torch.__version__}, {torch.get_num_threads()} '
              f'threads, {platform.processor() or platform.machine()}, '
              f'fused kernels compiled: {fused.compile_enabled()}')
    else:
        print(f'torch {torch.__version__}, '
              f'{torch.cuda.get_device_name(device)}, fused kernels '
              f'compiled: {fused.compile_enabled()}')
    print()
    print('| loss | paper | median ms | x BCE | peak extra MiB | '
          'first call s |')
    print('|---|---|---:|---:|---:|---:|')
    for r in results:
        flag = ''
        target = target_of(r['name'])
        if device.type == 'cpu' and target is not None:
            flag = ' ✓' if r['ratio'] <= target else f' ✗ (target {target})'
        print(f"| {r['name']} | {r['paper']} | {r['ms']:.1f} | "
              f"{r['ratio']:.2f}{flag} | {r['mem']:.1f} | "
              f"{r['first_s']:.2f} |")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--device', default='all',
                        choices=['cpu', 'cuda', 'all'])
    parser.add_argument('--rounds', type=int, default=15)
    parser.add_argument('--shape', type=int, nargs=4,
                        default=[8, 1, 448, 448])
    parser.add_argument('--no-compile', action='store_true',
                        help='run the fused kernels eagerly')
    args = parser.parse_args(argv)
    if (argv is None and sys.platform.startswith('linux')
            and 'MALLOC_MMAP_THRESHOLD_' not in os.environ):
        # Re-run with every allocation above 64 KiB mmapped, so the memory
        # column sees each tensor (glibc otherwise recycles freed blocks).
        env = dict(os.environ, MALLOC_MMAP_THRESHOLD_='65536')
        os.execve(sys.executable, [sys.executable] + sys.argv, env)
    if args.no_compile:
        fused.set_compile(False)
    devices = []
    if args.device in ('cpu', 'all'):
        devices.append(torch.device('cpu'))
    if args.device in ('cuda', 'all') and torch.cuda.is_available():
        devices.append(torch.device('cuda'))
    elif args.device == 'cuda':
        parser.error('CUDA is not available')
    failed = False
    for device in devices:
        results = bench(device, args.shape, args.rounds)
        print_table(device, args.shape, results)
        failed |= device.type == 'cpu' and any(
            r['ratio'] > target_of(r['name']) for r in results
            if target_of(r['name']) is not None)
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
