"""Time and memory of every loss against ``F.binary_cross_entropy_with_logits``
(forward + backward; the measurement is :mod:`mmseg_dibe.benchmarking.loss_speed`).

Usage::

    python benchmarks/losses.py [--device cpu|cuda|all] [--rounds 15]
        [--shape 8 1 448 448] [--no-compile] [--no-references] [--check]

MONAI's and segmentation-models-pytorch's losses are timed beside ours when
they are installed. ``--check`` exits 1 when a loss misses its CPU goal.
"""
import argparse
import os
import sys

import torch

from mmseg_dibe.benchmarking import loss_speed
from mmseg_dibe.functional import fused


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--device', default='all',
                        choices=['cpu', 'cuda', 'all'])
    parser.add_argument('--rounds', type=int, default=15)
    parser.add_argument('--shape', type=int, nargs=4,
                        default=[8, 1, 448, 448])
    parser.add_argument('--no-compile', action='store_true',
                        help='run the fused kernels eagerly')
    parser.add_argument('--no-references', action='store_true',
                        help='do not time MONAI / smp losses')
    parser.add_argument('--check', action='store_true',
                        help='exit 1 when a loss misses its CPU goal')
    args = parser.parse_args(argv)
    if argv is None and sys.platform.startswith('linux') and any(
            k not in os.environ for k in loss_speed.MALLOC_ENV):
        # Re-run so the memory column sees every tensor (see MALLOC_ENV).
        os.execve(sys.executable, [sys.executable] + sys.argv,
                  dict(os.environ, **loss_speed.MALLOC_ENV))
    if args.no_compile:
        fused.set_compile(False)
    devices = []
    if args.device in ('cpu', 'all'):
        devices.append(torch.device('cpu'))
    if args.device in ('cuda', 'all') and torch.cuda.is_available():
        devices.append(torch.device('cuda'))
    elif args.device == 'cuda':
        parser.error('CUDA is not available')
    missed = []
    for device in devices:
        try:
            results = loss_speed.bench(device, args.shape, args.rounds,
                                       references=not args.no_references)
        except ValueError as exc:
            parser.error(str(exc))
        print(loss_speed.format_table(device, args.shape, results))
        missed += loss_speed.missed_goals(device, results)
    if missed:
        print(f'\nabove their CPU goal: {", ".join(missed)}')
    return 1 if args.check and missed else 0


if __name__ == '__main__':
    sys.exit(main())
