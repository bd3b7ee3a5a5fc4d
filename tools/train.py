"""Train a segmentor with an mmseg-dibe (or any mmseg) config.

Same command line as mmseg's ``tools/train.py``; also runs distributed on a
CPU-only machine (``tools/dist_train.sh CONFIG 2``). Beyond mmseg's tool it
adds ``NaNGuardHook`` (a non-finite loss stops the run, naming the term) and,
for iteration-based trainings with an ``InfiniteSampler``,
``ExactResumeHook`` (``--resume`` continues bit-identically); ``--resume``
skips a checkpoint left incomplete by a kill.
"""
import argparse

import mmseg_dibe  # noqa: F401  (registers modules, checkpoint allow-list)
from mmengine.runner import Runner
from mmseg.registry import RUNNERS
from mmseg_dibe.engine.atomic_io import find_resume_checkpoint
from mmseg_dibe.engine.cli import (add_common_args, enable_amp,
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


def _hook_types(cfg):
    return {h.get('type') for h in (cfg.get('custom_hooks', None) or [])}


def add_engine_hooks(cfg) -> None:
    """Add NaNGuardHook, and ExactResumeHook where it applies."""
    hooks = list(cfg.get('custom_hooks', None) or [])
    types = _hook_types(cfg)
    if 'NaNGuardHook' not in types:
        hooks.append(dict(type='NaNGuardHook'))
    train_cfg = cfg.get('train_cfg', None) or {}
    sampler = (cfg.get('train_dataloader', None) or {}).get('sampler') or {}
    if ('ExactResumeHook' not in types
            and train_cfg.get('type') == 'IterBasedTrainLoop'
            and isinstance(sampler, dict)
            and sampler.get('type') == 'InfiniteSampler'):
        hooks.append(dict(type='ExactResumeHook'))
    cfg.custom_hooks = hooks


def main(argv=None):
    args = parse_args(argv)
    cfg = load_config(args.config, args.cfg_options, args.work_dir,
                      args.launcher)
    if args.amp:
        enable_amp(cfg)
    add_engine_hooks(cfg)
    cfg.resume = args.resume
    if args.resume and not cfg.get('load_from', None):
        # mmengine trusts `last_checkpoint`; skip a file cut off by a kill.
        found = find_resume_checkpoint(cfg.work_dir)
        if found:
            cfg.load_from = found
    runner = (Runner.from_cfg(cfg) if 'runner_type' not in cfg else
              RUNNERS.build(cfg))
    runner.train()
    finish_distributed()


if __name__ == '__main__':
    main()
