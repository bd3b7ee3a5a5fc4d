"""Test (and evaluate) a checkpoint with an mmseg-dibe (or any mmseg) config.

Same command line as mmseg's ``tools/test.py``. ``--out DIR`` saves the
predicted masks as PNG files through every metric that supports
``output_dir`` (mmseg's IoUMetric and our OIIMetric).
"""
import argparse
import os.path as osp

import mmseg_dibe  # noqa: F401  (registers modules, checkpoint allow-list)
from mmengine.runner import Runner
from mmseg_dibe.engine.cli import (add_common_args, finish_distributed,
                                   load_config, set_local_rank_env)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='MMSeg test (and eval) a model')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--out', help='directory to save predicted masks')
    parser.add_argument('--show', action='store_true',
                        help='show prediction results in a window')
    parser.add_argument('--show-dir',
                        help='directory where painted images are saved')
    parser.add_argument('--wait-time', type=float, default=2,
                        help='the interval of --show (s)')
    parser.add_argument('--tta', action='store_true',
                        help='test time augmentation')
    add_common_args(parser)
    args = parser.parse_args(argv)
    set_local_rank_env(args.local_rank)
    return args


def enable_visualization(cfg, args):
    hooks = cfg.default_hooks
    if 'visualization' not in hooks:
        raise RuntimeError(
            '--show/--show-dir need default_hooks.visualization='
            "dict(type='SegVisualizationHook') in the config")
    hooks.visualization.draw = True
    if args.show:
        hooks.visualization.show = True
        hooks.visualization.wait_time = args.wait_time
    if args.show_dir:
        cfg.visualizer.save_dir = args.show_dir


def set_output_dir(evaluator, out_dir):
    """Point every metric of ``evaluator`` (dict or list) at ``out_dir``."""
    metrics = evaluator if isinstance(evaluator, (list, tuple)) else [evaluator]
    for metric in metrics:
        metric['output_dir'] = out_dir


def main(argv=None):
    args = parse_args(argv)
    if not osp.isfile(args.checkpoint):
        raise FileNotFoundError(f'checkpoint {args.checkpoint} does not exist')
    cfg = load_config(args.config, args.cfg_options, args.work_dir,
                      args.launcher)
    cfg.load_from = args.checkpoint
    if args.show or args.show_dir:
        enable_visualization(cfg, args)
    if args.tta:
        cfg.test_dataloader.dataset.pipeline = cfg.tta_pipeline
        cfg.tta_model.module = cfg.model
        cfg.model = cfg.tta_model
    if args.out is not None:
        set_output_dir(cfg.test_evaluator, args.out)
    runner = Runner.from_cfg(cfg)
    runner.test()
    finish_distributed()


if __name__ == '__main__':
    main()
