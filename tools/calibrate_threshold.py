"""Choose the prediction threshold of a trained binary model with OII.

One evaluation pass of CHECKPOINT on the config's validation (or test) set
gives TP, FP, FN, IoU, PA and OII at every threshold of a grid
(``OIIThresholdMetric``); no training. Usage::

    python tools/calibrate_threshold.py CONFIG CHECKPOINT
        [--target m0 m1 | --maximize IoU] [--bins K] [--split val|test]
        [--out DIR] [--cfg-options key=value ...] [--launcher pytorch]

``--target``: the threshold whose OII is strictly inside ``(m0, m1)`` with
the highest IoU (none inside: the one whose OII is closest, said so);
``--maximize IoU`` (the default): the highest IoU. Prints the table and the
``--cfg-options model.decode_head.threshold=T ...`` line that applies the
choice with ``tools/test.py``; writes ``threshold_sweep.csv``, ``.json``,
``.png`` and ``calibration.json`` in ``--out``.
"""
import argparse
import os.path as osp

import mmseg_dibe  # noqa: F401  (registers modules, checkpoint allow-list)
from mmseg_dibe.engine.cli import (add_common_args, finish_distributed,
                                   load_config, set_local_rank_env)
from mmseg_dibe.evaluation.threshold_calibration import (calibrate_threshold,
                                                          format_report)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Choose the threshold of a binary model by OII or IoU '
        'from one evaluation pass')
    parser.add_argument('config', help='config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    rule = parser.add_mutually_exclusive_group()
    rule.add_argument('--target', nargs=2, type=float,
                      metavar=('M0', 'M1'),
                      help='target OII interval: the best IoU with OII '
                      'inside (M0, M1)')
    rule.add_argument('--maximize', choices=['IoU'], default='IoU',
                      help='without --target: the threshold of highest IoU')
    parser.add_argument('--bins', type=int, default=100,
                        help='thresholds j/K, j = 0..K (the config\'s own '
                        'threshold is added)')
    parser.add_argument('--split', choices=['val', 'test'], default='val',
                        help='which dataloader of the config to evaluate')
    parser.add_argument('--out',
                        help='directory for the table, the plot and '
                        'calibration.json (default: the work dir)')
    add_common_args(parser)
    args = parser.parse_args(argv)
    if args.bins < 1:
        parser.error('--bins must be >= 1')
    if args.target is not None and not -1 <= args.target[0] < \
            args.target[1] <= 1:
        parser.error('--target needs -1 <= M0 < M1 <= 1')
    set_local_rank_env(args.local_rank)
    return args


def main(argv=None):
    args = parse_args(argv)
    if not osp.isfile(args.checkpoint):
        raise FileNotFoundError(f'checkpoint {args.checkpoint} does not exist')
    work_dir = args.work_dir or args.out
    cfg = load_config(args.config, args.cfg_options, work_dir, args.launcher)
    out_dir = args.out or cfg.work_dir
    result = calibrate_threshold(cfg, args.checkpoint, thresholds=args.bins,
                                 target=args.target, out_dir=out_dir,
                                 split=args.split)
    if result is not None:
        print(format_report(result), flush=True)
    finish_distributed()


if __name__ == '__main__':
    main()
