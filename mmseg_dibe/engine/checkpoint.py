"""Load mmengine checkpoints through torch's safe unpickler (torch >= 2.6).

Since torch 2.6, ``torch.load`` defaults to ``weights_only=True``: it rebuilds
only tensors, containers and an allow-list of types. mmengine's training
checkpoints also hold its message hub (``HistoryBuffer`` objects with numpy
arrays and scalars), so ``tools/test.py``, ``--resume`` and ``load_from``
fail. Turning ``weights_only`` off would run any code a checkpoint file
carries. Instead :func:`allow_mmengine_checkpoint_types` adds exactly the
types mmengine stores to torch's allow-list, and
:func:`install_safe_checkpoint_loader` makes mmengine's local-file loader
report a refused file by name and by the global it tried to load.
"""
import os.path as osp
import pickle
import re
from typing import List

import numpy as np
import torch
from mmengine.runner import CheckpointLoader

_installed = False


def _numpy_globals() -> List[tuple]:
    """numpy's pickle reconstructors, under both of their module paths.

    numpy 2 pickles arrays as ``numpy._core.multiarray._reconstruct``, numpy 1
    as ``numpy.core.multiarray._reconstruct``; a checkpoint written with
    either must load with the other, so each function is allowed under both
    names.
    """
    try:
        from numpy._core import multiarray
    except ImportError:  # numpy < 2
        from numpy.core import multiarray
    return [(getattr(multiarray, name), f'{module}.{name}')
            for name in ('_reconstruct', 'scalar')
            for module in ('numpy._core.multiarray', 'numpy.core.multiarray')]


def _numpy_dtype_classes() -> list:
    """The per-dtype classes numpy >= 1.25 pickles (``numpy.dtypes.*DType``)."""
    classes = {type(np.dtype(t)) for t in (
        np.bool_, np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16,
        np.uint32, np.uint64, np.float16, np.float32, np.float64,
        np.complex64, np.complex128)}
    return [c for c in classes if c is not np.dtype]


def history_buffer_method(owner, name: str):
    """The one use of ``getattr`` that mmengine checkpoints contain.

    A ``HistoryBuffer`` pickles its statistics methods (``min``, ``max``,
    ``mean``, ``current`` and any registered later) as
    ``getattr(HistoryBuffer, 'min')``. Allow-listing the real ``getattr``
    would let a crafted file reach any attribute of any allowed object (and
    from there, code); this stand-in is registered under the name
    ``builtins.getattr`` and resolves only those methods.

    Raises:
        pickle.UnpicklingError: for any other object or attribute.
    """
    from mmengine.logging import HistoryBuffer
    method = HistoryBuffer.__dict__.get(name) if isinstance(name, str) else None
    if owner is not HistoryBuffer or name.startswith('_') or method is None:
        raise pickle.UnpicklingError(
            f'checkpoint asks for getattr({owner!r}, {name!r}); only '
            f'HistoryBuffer statistics methods may be looked up')
    return getattr(HistoryBuffer, name)


def mmengine_checkpoint_globals() -> list:
    """Everything beyond plain tensors and containers that mmengine writes.

    * ``mmengine.logging.HistoryBuffer``: the message hub's scalar logs, and
      the lookup of its statistics methods (:func:`history_buffer_method`,
      standing in for ``builtins.getattr``);
    * numpy arrays (``ndarray``, ``_reconstruct``), scalars (``scalar``) and
      dtypes (``dtype`` and its per-type subclasses): the buffers' contents
      and the ``meta`` values numpy produced (seeds, epochs).
    """
    from mmengine.logging import HistoryBuffer
    return ([HistoryBuffer, np.ndarray, np.dtype] + _numpy_dtype_classes() +
            _numpy_globals() +
            [(history_buffer_method, 'builtins.getattr')])


def allow_mmengine_checkpoint_types() -> None:
    """Add :func:`mmengine_checkpoint_globals` to torch's safe allow-list."""
    add = getattr(torch.serialization, 'add_safe_globals', None)
    if add is None:  # torch < 2.4 has no allow-list and no weights_only default
        return
    add(mmengine_checkpoint_globals())


_UNSAFE_GLOBAL = re.compile(r'GLOBAL ([\w.]+)')


def load_local_checkpoint(filename: str, map_location=None):
    """mmengine's local-file scheme, with a clear refusal of unsafe files.

    Args:
        filename (str): Checkpoint path.
        map_location: As for :func:`torch.load`.

    Raises:
        FileNotFoundError: if ``filename`` is not a file.
        pickle.UnpicklingError: naming the file and the refused global when
            the file asks for anything outside the allow-list (a pickled
            ``os.system`` call, say). Nothing from the file is executed.
    """
    filename = osp.expanduser(filename)
    if not osp.isfile(filename):
        raise FileNotFoundError(f'checkpoint {filename} does not exist')
    try:
        return torch.load(filename, map_location=map_location,
                          weights_only=True)
    except pickle.UnpicklingError as err:
        names = sorted(set(_UNSAFE_GLOBAL.findall(str(err))))
        if names:
            reason = (f'it asks to import {", ".join(names)}, which is not a '
                      f'type mmengine stores in checkpoints')
        else:
            # torch wraps the unpickler's own reason between its advice.
            detail = str(err).split('WeightsUnpickler error:')[-1]
            reason = next((line.strip() for line in detail.splitlines()
                           if line.strip()), 'unsupported content')
        raise pickle.UnpicklingError(
            f'refused to load checkpoint {filename}: {reason}. Loading such '
            f'a file could execute arbitrary code, so it was not unpickled. '
            f'If you trust the file and know the type is harmless, add it '
            f'with torch.serialization.add_safe_globals.') from err


def install_safe_checkpoint_loader() -> None:
    """Allow-list mmengine's types and register the local-file loader.

    Idempotent; called when ``mmseg_dibe`` is imported.
    """
    global _installed
    if _installed:
        return
    allow_mmengine_checkpoint_types()
    CheckpointLoader.register_scheme(prefixes='', force=True)(
        load_local_checkpoint)
    _installed = True
