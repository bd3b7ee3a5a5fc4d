"""Three ways to a harmonised output (validation OII inside the target),
side by side, for the DIBE loss (issue 13).

    python benchmarks/compare_guidance.py --out work_dirs/compare_guidance
    python benchmarks/compare_guidance.py --settings synthetic
    python benchmarks/compare_guidance.py --quick --out work_dirs/cg_quick

Rows, each with the trainings it used per seed: the offline bisection and
the paper's 5-point grid of ``tools/oii_search.py`` (``--offline-seeds``),
α = 0.5 fixed (the baseline), α = 0.5 plus ``tools/calibrate_threshold.py``
(no training), one training with ``OIIBisectionHook``, and the hook's model
calibrated (``--seeds``). The α = 0.5 training of a seed is shared by the
baseline, its calibration and both searches.

Writes ``OUT/compare_guidance.md`` / ``.json`` and the figures
``alpha_trace_*.png``, ``threshold_sweep_*.png`` after every finished task;
run the same command again to resume. The benchmark itself:
:mod:`mmseg_dibe.analysis.guidance_comparison`.
"""
import argparse
import os.path as osp

from mmseg_dibe.analysis.guidance_comparison import (SETTINGS,
                                                     resolve_defaults,
                                                     run_guidance_comparison)
from mmseg_dibe.benchmarking.cli import parse_resolved, run_main

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Offline α search (bisection, grid), the online '
        'OIIBisectionHook and threshold calibration, side by side')
    parser.add_argument('--out', default='work_dirs/compare_guidance',
                        help='output directory (data, runs, tables)')
    parser.add_argument('--settings', nargs='+', choices=list(SETTINGS),
                        default=None,
                        help='default: synthetic blowhole (--quick: '
                        'synthetic)')
    parser.add_argument('--seeds', nargs='+', type=int, default=None,
                        help='seeds of the α = 0.5, calibration and hook '
                        'rows (default 0..9, --quick 0 1)')
    parser.add_argument('--hook-option', action='append', default=[],
                        metavar='KEY=VALUE',
                        help='an OIIBisectionHook argument for the online '
                        'runs, e.g. --hook-option smooth=3 (repeatable; the '
                        'rest at the hook defaults). Give a variant its own '
                        '--out')
    parser.add_argument('--ema', type=float, default=None,
                        metavar='MOMENTUM',
                        help='validate (and keep in the checkpoint) an '
                        'exponential moving average of the weights and BN '
                        'statistics: mmengine\'s EMAHook with this '
                        'momentum, e.g. 0.1, in every training of the '
                        'comparison (give a variant its own --out)')
    parser.add_argument('--hook-only', action='store_true',
                        help='only the hook rows (hook, hook + calibration): '
                        'for a hook variant beside a full run')
    parser.add_argument('--offline-seeds', nargs='*', type=int, default=None,
                        help='seeds of the offline searches (default 0 1 '
                        '2, --quick 0)')
    parser.add_argument('--target', nargs=2, type=float, default=[0.3, 0.4],
                        metavar=('M0', 'M1'),
                        help='target OII interval, open (default 0.3 0.4)')
    parser.add_argument('--calibration-bins', type=int, default=100,
                        metavar='K',
                        help='thresholds j/K of the calibrations (default '
                        '100; saturated probabilities need more, e.g. 10000 '
                        'on MTSDD Blowhole, where OII jumps from -0.19 at '
                        'T = 0.99 to 1 at T = 1)')
    parser.add_argument('--max-steps', type=int, default=None,
                        help='most trainings of the bisection (default 4, '
                        '--quick 2)')
    parser.add_argument('--grid', type=int, default=None, metavar='K',
                        help='grid of K+1 α, K even (default 4: the '
                        'paper\'s 5 points; --quick 2)')
    parser.add_argument('--synthetic-iters', type=int, default=None,
                        help='iterations, U-Net / synthetic (default 300, '
                        '--quick 20)')
    parser.add_argument('--synthetic-val-interval', type=int, default=None,
                        help='validation interval, U-Net / synthetic '
                        '(default 15: 20 rounds; --quick 5)')
    parser.add_argument('--blowhole-iters', type=int, default=600,
                        help='iterations, U-Net / MTSDD Blowhole (native)')
    parser.add_argument('--blowhole-val-interval', type=int, default=40,
                        help='validation interval, U-Net / MTSDD Blowhole '
                        '(native)')
    parser.add_argument('--jobs', type=int, default=2,
                        help='tasks (trainings, searches, calibrations) run '
                        'at the same time')
    parser.add_argument('--threads', type=int, default=1,
                        help='OMP threads per training')
    parser.add_argument('--quick', action='store_true',
                        help='smoke check: synthetic only, small data, 2 '
                        'seeds, 1 offline seed, 20 iterations validated '
                        'every 5, a 2-step bisection and a 3-point grid')
    parser.add_argument('--dry-run', action='store_true',
                        help='write data and configs, print the plan, train '
                        'nothing')
    parser.add_argument('--mtsdd', default=osp.join(
        osp.dirname(REPO), 'shared', 'data', 'MTSDD'),
        help='MTSDD as published; the Blowhole setting is skipped when it '
        'is absent')
    parser.add_argument('--num-train', type=int, default=None,
                        help='synthetic training images (default 160, '
                        '--quick 16)')
    parser.add_argument('--num-val', type=int, default=None,
                        help='synthetic validation images (default 48, '
                        '--quick 8)')
    parser.add_argument('--ratio', type=float, default=0.004,
                        help='synthetic FG:BG ratio (0.004 = 1:250)')
    parser.add_argument('--lr', type=float, default=0.05,
                        help='SGD learning rate (poly decay; as '
                        'benchmarks/compare_losses.py)')
    parser.add_argument('--batch-size', type=int, default=8,
                        help='training batch')
    return parse_resolved(parser, resolve_defaults, argv)


def main(argv=None):
    run_main('compare_guidance', parse_args(argv), REPO, run_guidance_comparison)


if __name__ == '__main__':
    main()
