"""Train a segmentor with an mmseg-dibe (or any mmseg) config.

Same command line as mmseg's ``tools/train.py``; also runs distributed on a
CPU-only machine (``tools/dist_train.sh CONFIG 2``).
"""
import argparse
import os.path as osp
import sys

# Run from a clone without installing: make the repository importable.
sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

import mmseg_dibe  # noqa: E402,F401  (registers modules, checkpoint allow-list)
from mmengine.runner import Runner  # noqa: E402
from mmseg.registry import RUNNERS  # noqa: E402
from mmseg_dibe.engine.cli import (add_common_args, enable_amp,  # noqa: E402
                                   finish_distributed, load_config,
                                   set_local_rank_env)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Train a segmentor')
    parser.add_argument('config', help='train config file path')
    parser.add_argument(
        '--resume', action='store_true', default=False,
        help='resume from the latest checkpoint in the work_dir')
    parser.add_argument('--amp', action='store_true', default=False,
                        help='automatic mixed precision (needs a GPU)')
    add_common_args(parser)
    args = parser.parse_args(argv)
    set_local_rank_env(args.local_rank)
    return args


def main(argv=None):
    args = parse_args(argv)
    cfg = load_config(args.config, args.cfg_options, args.work_dir,
                      args.launcher)
    if args.amp:
        enable_amp(cfg)
    cfg.resume = args.resume
    runner = (Runner.from_cfg(cfg) if 'runner_type' not in cfg else
              RUNNERS.build(cfg))
    runner.train()
    finish_distributed()


if __name__ == '__main__':
    main()
