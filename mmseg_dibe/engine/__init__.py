"""Engine pieces: safe checkpoint loading, CPU distributed runs, hooks."""
from .checkpoint import (allow_mmengine_checkpoint_types,
                         install_safe_checkpoint_loader, load_local_checkpoint)
from .distributed import CPUDistributedDataParallel, prepare_distributed_cfg
from .hooks import *  # noqa: F401,F403
from .hooks import __all__ as _hooks_all

# Importing mmseg_dibe makes mmengine checkpoints load under torch's safe
# (weights_only) unpickler.
install_safe_checkpoint_loader()

__all__ = ['allow_mmengine_checkpoint_types', 'install_safe_checkpoint_loader',
           'load_local_checkpoint', 'CPUDistributedDataParallel',
           'prepare_distributed_cfg'] + list(_hooks_all)
