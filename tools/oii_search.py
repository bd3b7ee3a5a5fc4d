"""OII-guided search of α: the paper's offline protocol (Fig. 4, Table 3).

One full training per step, each in ``DIR/alpha_<α>/``; after each training
the final validation OII decides the next α by bisection: OII above the
target interval raises α (more weight on missed targets, FN), below it
lowers α. ``--grid K`` trains the K+1 evenly spaced α of the interval
instead, for comparison.

Usage::

    python tools/oii_search.py CONFIG --work-dir DIR [--interval 0.1 0.9]
        [--target 0.3 0.4] [--max-steps 5] [--grid K] [--nproc N]
        [--cfg-options key=value ...]

Writes ``DIR/search.md`` (a table like the paper's Table 3) and
``DIR/search.json`` after every step. Run again with the same arguments
after an interruption and it resumes. The search itself:
:class:`mmseg_dibe.guidance.search.OIISearch`.
"""
import argparse
import os.path as osp
import signal
import sys

from mmseg_dibe.guidance.search import (OIISearch, SearchStateError,
                                        TrainingFailed)

HERE = osp.dirname(osp.abspath(__file__))


def parse_args(argv=None):
    from mmengine.config import DictAction
    parser = argparse.ArgumentParser(
        description='OII-guided search of alpha: one training per step '
        '(bisection, or --grid for the grid search)')
    parser.add_argument('config', help='training config')
    parser.add_argument('--work-dir', required=True,
                        help='search directory: one sub-directory per alpha, '
                        'search.md and search.json')
    parser.add_argument('--interval', nargs=2, type=float,
                        default=[0.1, 0.9], metavar=('LOW', 'HIGH'),
                        help='alpha interval (default 0.1 0.9)')
    parser.add_argument('--target', nargs=2, type=float, default=[0.3, 0.4],
                        metavar=('M0', 'M1'),
                        help='target OII interval (default 0.3 0.4)')
    parser.add_argument('--max-steps', type=int, default=5,
                        help='most trainings of the bisection (default 5)')
    parser.add_argument('--grid', type=int, default=None, metavar='K',
                        help='train the K+1 evenly spaced alpha of the '
                        'interval instead of the bisection')
    parser.add_argument('--metric', default='OII',
                        help='OII key of the validation results')
    parser.add_argument('--nproc', type=int, default=1,
                        help='processes per training (tools/dist_train.sh)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='config overrides for every training')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)

    def on_term(signum, frame):
        raise KeyboardInterrupt(f'signal {signum}')

    signal.signal(signal.SIGTERM, on_term)
    search = OIISearch(args.config, args.work_dir, args.interval, args.target,
                       args.max_steps, args.grid, args.cfg_options,
                       args.metric, args.nproc, tools_dir=HERE)
    try:
        search.run()
    except KeyboardInterrupt:
        print('[oii_search] interrupted; run the same command again to '
              'resume', file=sys.stderr)
        sys.exit(130)
    except (TrainingFailed, SearchStateError, ValueError) as exc:
        print(f'[oii_search] {exc}', file=sys.stderr)
        sys.exit(1)


if __name__ == '__main__':
    main()
