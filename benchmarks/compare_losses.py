"""CPU-scale comparison of the losses, with the loss a user would otherwise
pick (mmseg's stock sigmoid cross-entropy) first.

    python benchmarks/compare_losses.py --out work_dirs/compare_losses
    python benchmarks/compare_losses.py --quick --out work_dirs/compare_quick

What it does, with the project's real configs and tools only:

1. data: ``tools/data/make_synthetic.py`` (synthetic hidden cracks, 64x64)
   and, when a clone of the public MTSDD release
   (github.com/abin24/Magnetic-tile-defect-datasets.) is found (``--mtsdd``),
   ``tools/dataset_converters/mtsdd.py --subset Blowhole`` and
   ``--subset Crack``;
2. trainings: ``tools/train.py`` on a config derived from one of
   ``configs/benchmarks/*.py`` per (setting, loss, seed): the reduced U-Net
   on synthetic data (``--iters``), and at native scale on MTSDD Blowhole
   and Crack (128x128 training crops at the images' own resolution,
   validation on the whole images; ``--native-iters``); losses: mmseg's
   stock ``CrossEntropyLoss(use_sigmoid=True)`` ('BCE (mmseg)'), FT,
   DIBE_Reg, HF, DIBE (the paper's Tables 4-5) on every seed, WBCE, Dice,
   Focal for reference on ``--reference-seeds``; the paper's
   hyper-parameters (Section 4.3.2);
3. ``tools/analysis/report.py`` (model-zoo tables of every run) and
   ``tools/analysis/plot_curves.py`` (IoU / OII / PA curves per setting).

Writes ``OUT/compare_losses.md`` and ``OUT/compare_losses.json`` (rewritten
after every training, so an interrupted run still has its table; run the same
command again to resume: finished trainings are skipped, also when only
their logs were kept, e.g. committed without checkpoints).

Numbers per run: IoU, PA, OII of the last validation (mean ± sample std over
the seeds), the best validation IoU and its iteration, whether validation IoU
had plateaued (changed by less than ``--plateau-tol`` over the last quarter),
and the iterations before validation IoU first reaches a "usable" level
(``--usable-frac`` of the best mean final IoU, at least ``--usable-floor``).
Per setting: DIBE and DIBE_Reg minus the best other loss, seed by seed.
The OII guidance of α (bisection, grid, online hook, threshold calibration)
is compared by ``benchmarks/compare_guidance.py``.

The benchmark itself: :mod:`mmseg_dibe.analysis.loss_comparison`.
"""
import argparse
import os.path as osp

from mmseg_dibe.analysis.loss_comparison import (LOSSES, MODELS,
                                                 NATIVE_ITERS, loss_arg,
                                                 resolve_defaults,
                                                 run_benchmark)
from mmseg_dibe.benchmarking.cli import parse_resolved, run_main

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='CPU-scale comparison of the losses (mmseg\'s BCE; FT, '
        'DIBE_Reg, HF, DIBE; WBCE, Dice, Focal for reference) and of OII '
        'guidance against grid search')
    parser.add_argument('--out', default='work_dirs/compare_losses',
                        help='output directory (data, runs, tables)')
    parser.add_argument('--quick', action='store_true',
                        help='smoke check of a couple of minutes: U-Net on '
                        'a small synthetic set, BCE and the four main '
                        'losses, one seed, a short budget, a 2-step search')
    parser.add_argument('--models', nargs='+', default=None,
                        choices=sorted(MODELS))
    parser.add_argument('--losses', nargs='+', default=None, type=loss_arg,
                        help='losses by name or file token, e.g. bce ft '
                        f'dibe-reg (known: {", ".join(LOSSES)})')
    parser.add_argument('--no-reference', dest='reference',
                        action='store_false',
                        help='leave out WBCE, Dice and Focal')
    parser.add_argument('--seeds', nargs='+', type=int, default=None)
    parser.add_argument('--reference-seeds', type=int, default=1,
                        help='train the reference losses (WBCE, Dice, Focal) '
                        'with only the first N seeds (they are context, not '
                        'the comparison; default 1)')
    parser.add_argument('--iters', type=int, default=None,
                        help='training iterations of the synthetic settings '
                        '(default 300, --quick 40)')
    parser.add_argument('--lr', type=float, default=0.05,
                        help='SGD learning rate of every run (poly decay to '
                        '1e-4). 0.05, not the paper\'s 0.01: at a few '
                        'hundred CPU iterations 0.01 leaves the models at '
                        'the edge of predicting any crack pixel (measured: '
                        'IoU < 0.01 for every loss at 70 iterations)')
    parser.add_argument('--val-interval', type=int, default=None)
    parser.add_argument('--batch-size', type=int, default=None,
                        help='training batch (default 8, --quick 4)')
    parser.add_argument('--num-train', type=int, default=None,
                        help='synthetic training images')
    parser.add_argument('--num-val', type=int, default=None,
                        help='synthetic validation images')
    parser.add_argument('--ratio', type=float, default=0.004,
                        help='synthetic FG:BG ratio (0.004 = 1:250)')
    parser.add_argument('--mtsdd', default=osp.join(
        osp.dirname(REPO), 'shared', 'data', 'MTSDD'),
        help='MTSDD as published; the MTSDD settings are skipped when it '
        'is absent')
    parser.add_argument('--usable-frac', type=float, default=0.8,
                        help='"usable" IoU = this x the best mean final IoU '
                        'of any loss in the setting')
    parser.add_argument('--usable-floor', type=float, default=0.1,
                        help='the usable IoU is never below this (a model '
                        'that learned nothing has no usable level)')
    parser.add_argument('--usable-iou', type=float, default=None,
                        help='an absolute usable IoU instead of '
                        '--usable-frac')
    parser.add_argument('--native-iters', type=int, default=None,
                        help='training iterations of the native-scale MTSDD '
                        'settings (batch of 128x128 crops; default '
                        f'{NATIVE_ITERS}, --quick 20)')
    parser.add_argument('--native-val-interval', type=int, default=None,
                        help='validation interval of the native settings '
                        '(default: a tenth of --native-iters)')
    parser.add_argument('--plateau-tol', type=float, default=0.01,
                        help='a run has plateaued when its validation IoU '
                        'changed by less than this over the last quarter of '
                        'the training')
    parser.add_argument('--jobs', type=int, default=2,
                        help='trainings run at the same time (default 2: '
                        'two one-thread trainings side by side get more '
                        'done on 2 cores than one with two threads, '
                        'docs/results.md)')
    parser.add_argument('--threads', type=int, default=None,
                        help='OMP threads per training (default: '
                        'cores / jobs, at most 2)')
    parser.add_argument('--metafile', default=None,
                        help='add the measured rows, marked CPU-scale, to '
                        'this metafile (e.g. configs/dibe/metafile.yaml)')
    parser.add_argument('--report-only', action='store_true',
                        help='write the tables (and --metafile) from the '
                        'finished trainings only; train nothing')
    parser.add_argument('--dry-run', action='store_true',
                        help='write data and configs, print the plan, train '
                        'nothing')
    return parse_resolved(parser, resolve_defaults, argv)


def main(argv=None):
    run_main('compare_losses', parse_args(argv), REPO, run_benchmark)


if __name__ == '__main__':
    main()
