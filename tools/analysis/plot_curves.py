"""Validation (and training) curves of several runs over training iterations.

    # the paper's Figs. 8-10: one panel per metric, one line per run
    python tools/analysis/plot_curves.py WORK_DIR [WORK_DIR ...] \
        --keys OII IoU PA --out curves.png
    # the paper's Fig. 7: OII beside FP/FN for the same runs
    python tools/analysis/plot_curves.py WORK_DIR ... --imbalance \
        --out oii_vs_fpfn.png

Runs are read with :class:`mmseg_dibe.analysis.Run` (resumed and
epoch-based runs on one iteration axis, as in the report) and drawn by
:func:`mmseg_dibe.analysis.curves.plot`.
"""
import argparse

from mmseg_dibe.analysis import load_runs
from mmseg_dibe.analysis.curves import default_labels, plot


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Curves of several runs over training iterations')
    parser.add_argument('work_dirs', nargs='+', metavar='WORK_DIR')
    parser.add_argument('--keys', nargs='+', default=['OII', 'IoU', 'PA'],
                        help='scalars to plot, one panel each')
    parser.add_argument('--imbalance', action='store_true',
                        help='Fig. 7: panels OII and FP/FN (overrides '
                        '--keys)')
    parser.add_argument('--labels', nargs='+',
                        help='legend label of each WORK_DIR (default: the '
                        'loss with alpha, or the config name, and the seed)')
    parser.add_argument('--target', nargs=2, type=float,
                        metavar=('M0', 'M1'),
                        help='shade the OII target interval (m0, m1)')
    parser.add_argument('--fpfn-max', type=float, default=None,
                        help='upper y-limit of the FP/FN panel (it is '
                        'unbounded; Fig. 7b shows (0, 25))')
    parser.add_argument('--title', help='figure title')
    parser.add_argument('--out', required=True, help='image file to write')
    parser.add_argument('--dpi', type=int, default=120)
    args = parser.parse_args(argv)
    if args.imbalance:
        args.keys = ['OII', 'FP/FN']
    if args.labels and len(args.labels) != len(args.work_dirs):
        parser.error(f'--labels has {len(args.labels)} entries for '
                     f'{len(args.work_dirs)} work directories')
    return args


def main(argv=None):
    args = parse_args(argv)
    try:
        runs = load_runs(args.work_dirs)
        labels = args.labels or default_labels(runs)
        drawn = plot(runs, labels, args.keys, args.out, args.target,
                     args.fpfn_max, args.title, args.dpi)
    except (FileNotFoundError, KeyError, ValueError) as e:
        # KeyError's str() quotes its message.
        message = e.args[0] if isinstance(e, KeyError) else e
        raise SystemExit(f'plot_curves: {message}')
    for key, per_run in drawn.items():
        print(f'{key}: ' + ', '.join(f'{lab} ({n} points)'
                                     for lab, n in per_run.items()))
    print(f'curves written to {args.out}')


if __name__ == '__main__':
    main()
