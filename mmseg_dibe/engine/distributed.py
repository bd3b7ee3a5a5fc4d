"""Distributed training and testing on CPU-only machines (gloo).

mmengine's ``pytorch`` launcher calls ``torch.cuda.set_device`` before it
creates the process group and wraps the model in DDP with
``device_ids=[LOCAL_RANK]``; both fail without CUDA, and mmseg's base configs
use SyncBN, which only runs on GPU modules. :func:`prepare_distributed_cfg`
makes the same command line work on CPU: it creates a gloo process group
itself (so the Runner does not), selects :class:`CPUDistributedDataParallel`
(DDP with no ``device_ids``) and turns SyncBN back into BN. On a machine
with CUDA it changes nothing and mmengine's usual NCCL path runs.
"""
import os
from datetime import timedelta
from typing import Any

import torch
import torch.distributed as torch_dist
from mmengine.model import MMDistributedDataParallel
from mmengine.registry import MODEL_WRAPPERS

#: Normalisation layer names that require CUDA and their CPU replacement.
_SYNC_BN_TYPES = ('SyncBN', 'MMSyncBN', 'SyncBatchNorm')


@MODEL_WRAPPERS.register_module()
class CPUDistributedDataParallel(MMDistributedDataParallel):
    """``MMDistributedDataParallel`` for modules that live on the CPU.

    mmengine passes ``device_ids=[LOCAL_RANK]`` to every DDP subclass it
    builds; DDP rejects ``device_ids`` for CPU modules, so this wrapper drops
    them. Gradients are all-reduced over the default (gloo) process group.

    Args:
        module (nn.Module): The model to wrap (on the CPU).
        device_ids: Ignored (accepted because mmengine always passes it).
        output_device: Ignored, for the same reason.
        **kwargs: Passed to ``MMDistributedDataParallel``.
    """

    def __init__(self, module, device_ids=None, output_device=None, **kwargs):
        super().__init__(module=module, device_ids=None, output_device=None,
                         **kwargs)


def revert_sync_bn_cfg(cfg: Any) -> Any:
    """Return a copy of a (nested) model config with SyncBN replaced by BN.

    Args:
        cfg: A config dict, list or leaf value.

    Returns:
        The same structure, with every ``type`` in ``SyncBN``/``MMSyncBN``/
        ``SyncBatchNorm`` replaced by ``'BN'``.
    """
    if isinstance(cfg, dict):
        out = cfg.__class__()
        for key, value in cfg.items():
            if key == 'type' and value in _SYNC_BN_TYPES:
                value = 'BN'
            out[key] = revert_sync_bn_cfg(value)
        return out
    if isinstance(cfg, (list, tuple)):
        return type(cfg)(revert_sync_bn_cfg(v) for v in cfg)
    return cfg


def init_cpu_process_group(timeout_s: int = 1800) -> None:
    """Create the default gloo process group from the launcher's variables.

    Reads ``RANK``, ``WORLD_SIZE``, ``MASTER_ADDR`` and ``MASTER_PORT`` as set
    by ``torchrun`` / ``torch.distributed.launch``. Does nothing when a group
    exists already.
    """
    if torch_dist.is_initialized():
        return
    missing = [k for k in ('RANK', 'WORLD_SIZE', 'MASTER_ADDR', 'MASTER_PORT')
               if k not in os.environ]
    if missing:
        raise RuntimeError(
            f'--launcher pytorch needs the variables {missing} set by '
            f'torchrun / torch.distributed.launch; start the job with '
            f'tools/dist_train.sh or tools/dist_test.sh')
    torch_dist.init_process_group(
        backend='gloo',
        rank=int(os.environ['RANK']),
        world_size=int(os.environ['WORLD_SIZE']),
        timeout=timedelta(seconds=timeout_s))


def slurm_env_to_torch_env() -> None:
    """Set ``RANK``/``WORLD_SIZE``/``LOCAL_RANK``/``MASTER_*`` from slurm's.

    For ``--launcher slurm`` on CPU nodes (mmengine's slurm path needs CUDA).
    ``MASTER_ADDR`` defaults to the first host of ``SLURM_NODELIST`` (via
    ``scontrol show hostnames``), ``MASTER_PORT`` to ``PORT`` or 29500.
    """
    import subprocess
    needed = ('SLURM_PROCID', 'SLURM_NTASKS')
    missing = [k for k in needed if k not in os.environ]
    if missing:
        raise RuntimeError(f'--launcher slurm needs {missing}: start the job '
                           f'with srun (tools/slurm_train.sh)')
    os.environ['RANK'] = os.environ['SLURM_PROCID']
    os.environ['WORLD_SIZE'] = os.environ['SLURM_NTASKS']
    os.environ.setdefault('LOCAL_RANK', os.environ.get('SLURM_LOCALID', '0'))
    if 'MASTER_ADDR' not in os.environ:
        nodes = os.environ.get('SLURM_NODELIST', '127.0.0.1')
        out = subprocess.run(['scontrol', 'show', 'hostnames', nodes],
                             capture_output=True, text=True, check=True)
        os.environ['MASTER_ADDR'] = out.stdout.split()[0]
    os.environ.setdefault('MASTER_PORT', os.environ.get('PORT', '29500'))


def prepare_distributed_cfg(cfg, launcher: str):
    """Adapt a config for distributed runs on machines without CUDA.

    With ``launcher == 'none'`` or CUDA available, returns ``cfg`` unchanged.
    Otherwise (CPU-only, ``pytorch`` launcher) it initialises the gloo process
    group, sets ``env_cfg.dist_cfg.backend='gloo'``, selects
    :class:`CPUDistributedDataParallel` as the model wrapper (keeping any
    other ``model_wrapper_cfg`` options) and replaces SyncBN by BN in the
    model config.

    Args:
        cfg (mmengine.Config): The loaded config; modified in place.
        launcher (str): ``'none'``, ``'pytorch'``, ``'slurm'`` or ``'mpi'``.

    Returns:
        mmengine.Config: ``cfg``.
    """
    if launcher == 'none' or torch.cuda.is_available():
        return cfg
    if launcher == 'slurm':
        slurm_env_to_torch_env()
    elif launcher != 'pytorch':
        raise RuntimeError(
            f'CPU-only distributed runs support --launcher pytorch '
            f'(tools/dist_train.sh) and slurm (tools/slurm_train.sh); got '
            f'--launcher {launcher}')
    env_cfg = cfg.get('env_cfg', None) or {}
    dist_cfg = dict(env_cfg.get('dist_cfg', None) or {})
    dist_cfg['backend'] = 'gloo'
    env_cfg['dist_cfg'] = dist_cfg
    cfg.env_cfg = env_cfg
    init_cpu_process_group(int(dist_cfg.get('timeout', 1800)))

    wrapper = dict(cfg.get('model_wrapper_cfg', None) or {})
    if wrapper.get('type', 'MMDistributedDataParallel') not in (
            'MMDistributedDataParallel', 'CPUDistributedDataParallel'):
        raise RuntimeError(
            f'model_wrapper_cfg.type={wrapper["type"]!r} cannot run on a '
            f'CPU-only machine; remove it or use CPUDistributedDataParallel')
    wrapper['type'] = 'CPUDistributedDataParallel'
    wrapper.setdefault('broadcast_buffers', False)
    wrapper.setdefault('find_unused_parameters',
                       cfg.get('find_unused_parameters', False))
    cfg.model_wrapper_cfg = wrapper
    cfg.model = revert_sync_bn_cfg(cfg.model)
    return cfg
