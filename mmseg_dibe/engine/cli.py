"""What ``tools/train.py`` and ``tools/test.py`` share: loading a config the
way mmseg's own tools do, plus the CPU distributed set-up.

The command lines follow mmseg's ``tools/train.py`` and ``tools/test.py``
(``--work-dir``, ``--cfg-options``, ``--launcher``, ``--local-rank``), so
users can switch between them and ours without relearning anything.
"""
import argparse
import logging
import os
import os.path as osp
from typing import Optional

import torch
import torch.distributed as torch_dist
from mmengine.config import Config, DictAction
from mmengine.logging import print_log

from .distributed import prepare_distributed_cfg


def add_common_args(parser: argparse.ArgumentParser) -> None:
    """Add the options both tools take (mmseg's names and meanings)."""
    parser.add_argument('--work-dir',
                        help='directory for logs, checkpoints and results')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override config settings, key=value pairs merged into the '
        'config, e.g. train_cfg.max_iters=100 '
        'model.decode_head.loss_decode.alpha=0.5')
    parser.add_argument('--launcher',
                        choices=['none', 'pytorch', 'slurm', 'mpi'],
                        default='none', help='job launcher')
    # torch.distributed.launch passes --local-rank (torch >= 2.0) or
    # --local_rank (older); torchrun sets LOCAL_RANK instead.
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)


def load_config(config: str,
                cfg_options: Optional[dict] = None,
                work_dir: Optional[str] = None,
                launcher: str = 'none') -> Config:
    """Load a config as mmseg's tools do and prepare it for ``launcher``.

    The work directory is, in order: ``work_dir`` if given, the config's
    own ``work_dir``, else ``./work_dirs/<config name>``.

    Args:
        config (str): Path of the config file.
        cfg_options (dict, optional): ``--cfg-options`` to merge.
        work_dir (str, optional): ``--work-dir``.
        launcher (str): ``--launcher``.

    Returns:
        Config: The config, with ``launcher`` and ``work_dir`` set and, on a
        CPU-only machine with a distributed launcher, the gloo process group
        created (see :func:`prepare_distributed_cfg`).
    """
    if not osp.isfile(config):
        raise FileNotFoundError(f'config file {config} does not exist')
    cfg = Config.fromfile(config)
    cfg.launcher = launcher
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    if work_dir is not None:
        cfg.work_dir = work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(config))[0])
    return prepare_distributed_cfg(cfg, launcher)


def enable_amp(cfg: Config) -> None:
    """Switch the optimizer wrapper to mmengine's ``AmpOptimWrapper``.

    Raises:
        RuntimeError: on a machine without CUDA (mmengine's AMP wrapper
            needs a GPU), with the reason, instead of an assertion deep in
            mmengine.
    """
    if not torch.cuda.is_available():
        raise RuntimeError(
            '--amp needs a CUDA GPU: mmengine\'s AmpOptimWrapper does not run '
            'on the CPU. Train without --amp on this machine.')
    wrapper_type = cfg.optim_wrapper.get('type', 'OptimWrapper')
    if wrapper_type == 'AmpOptimWrapper':
        print_log('AMP training is already enabled in your config.',
                  logger='current', level=logging.WARNING)
        return
    if wrapper_type != 'OptimWrapper':
        raise RuntimeError(
            f'--amp works with optim_wrapper.type=OptimWrapper; the config '
            f'uses {wrapper_type}')
    cfg.optim_wrapper.type = 'AmpOptimWrapper'
    cfg.optim_wrapper.loss_scale = 'dynamic'


def set_local_rank_env(local_rank: int) -> None:
    """Export ``LOCAL_RANK`` for launchers that pass it as an argument."""
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(local_rank)


def finish_distributed() -> None:
    """Tear the process group down before the interpreter exits.

    Left to interpreter shutdown, gloo's threads can be destroyed while still
    joinable ("terminate called without an active exception", SIGABRT) after
    a run that itself succeeded; the launcher then reports the rank as failed.
    """
    if torch_dist.is_available() and torch_dist.is_initialized():
        torch_dist.barrier()
        torch_dist.destroy_process_group()
