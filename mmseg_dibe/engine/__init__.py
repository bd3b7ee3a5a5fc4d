"""Engine pieces: safe checkpoint loading, CPU distributed runs, hooks."""
from .atomic_io import (AtomicLocalBackend, find_resume_checkpoint,
                        install_atomic_local_backend)
from .checkpoint import (allow_mmengine_checkpoint_types,
                         install_safe_checkpoint_loader, load_local_checkpoint)
from .distributed import CPUDistributedDataParallel, prepare_distributed_cfg
from .hooks import *  # noqa: F401,F403
from .hooks import __all__ as _hooks_all
from .hooks.channels_last_hook import ChannelsLastHook
from .hooks.exact_resume_hook import ExactResumeHook
from .hooks.nan_guard_hook import NaNGuardHook

# Importing mmseg_dibe makes mmengine checkpoints load under torch's safe
# (weights_only) unpickler.
install_safe_checkpoint_loader()
# ... and written atomically (a kill while saving leaves the old file).
install_atomic_local_backend()

__all__ = ['allow_mmengine_checkpoint_types', 'install_safe_checkpoint_loader',
           'load_local_checkpoint', 'CPUDistributedDataParallel',
           'prepare_distributed_cfg', 'AtomicLocalBackend',
           'find_resume_checkpoint', 'install_atomic_local_backend',
           'ChannelsLastHook', 'ExactResumeHook', 'NaNGuardHook'] + list(_hooks_all)
