"""Checkpoints written atomically, and ``--resume`` that skips broken ones.

mmengine's local file backend opens the target and writes into it, so a
training killed while saving leaves a truncated ``iter_N.pth`` that
``--resume`` then fails on. :class:`AtomicLocalBackend` (installed as the
``local`` backend when ``mmseg_dibe`` is imported) writes a temporary file in
the same directory, flushes it to disk and renames it over the target with
``os.replace``: the target is either the old file or the complete new one.

``last_checkpoint`` is written by mmengine's ``CheckpointHook`` with a plain
``open``; :func:`find_resume_checkpoint` therefore checks the file it names
and falls back to the newest complete ``iter_*.pth``.
"""
import glob
import os
import os.path as osp
import re
import tempfile
import zipfile
from typing import Optional

from mmengine.fileio.backends import LocalBackend, register_backend

_installed = False


def atomic_write(data, filepath: str, mode: str = 'wb',
                 encoding: Optional[str] = None) -> None:
    """Write ``data`` to ``filepath`` via a temporary file and os.replace."""
    filepath = str(filepath)
    directory = osp.dirname(osp.abspath(filepath))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix='.' + osp.basename(filepath) + '.',
                               suffix='.tmp', dir=directory)
    try:
        with os.fdopen(fd, mode, encoding=encoding) as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, filepath)
    except BaseException:
        if osp.exists(tmp):
            os.remove(tmp)
        raise


def atomic_write_text(filepath: str, text: str) -> None:
    """Write ``text`` (UTF-8) to ``filepath`` with :func:`atomic_write`:
    a reader sees the old file or the whole new one, never half of it."""
    atomic_write(text, filepath, 'w', encoding='utf-8')


class AtomicLocalBackend(LocalBackend):
    """mmengine's local backend with atomic ``put`` and ``put_text``."""

    def put(self, obj: bytes, filepath) -> None:
        atomic_write(obj, filepath, 'wb')

    def put_text(self, obj: str, filepath, encoding: str = 'utf-8') -> None:
        atomic_write(obj, filepath, 'w', encoding=encoding)


def install_atomic_local_backend() -> None:
    """Make :class:`AtomicLocalBackend` mmengine's local backend."""
    global _installed
    if _installed:
        return
    register_backend('local', AtomicLocalBackend, force=True, prefixes='')
    _installed = True


def is_complete_checkpoint(path: str) -> bool:
    """Whether ``path`` is a whole torch zip file (not cut off while saved)."""
    if not osp.isfile(path):
        return False
    try:
        with zipfile.ZipFile(path) as zf:
            return zf.testzip() is None
    except (zipfile.BadZipFile, OSError, EOFError):
        return False


def find_resume_checkpoint(work_dir: str) -> Optional[str]:
    """The checkpoint ``--resume`` should continue from, or None.

    The file ``last_checkpoint`` names if it is complete, else the newest
    complete ``iter_*.pth`` / ``epoch_*.pth`` in ``work_dir``.
    """
    record = osp.join(work_dir, 'last_checkpoint')
    if osp.isfile(record):
        with open(record) as f:
            named = f.read().strip()
        if named and is_complete_checkpoint(named):
            return named
    found = []
    for path in glob.glob(osp.join(work_dir, '*.pth')):
        match = re.fullmatch(r'(iter|epoch)_(\d+)\.pth', osp.basename(path))
        if match:
            found.append((int(match.group(2)), path))
    for _, path in sorted(found, reverse=True):
        if is_complete_checkpoint(path):
            return path
    return None
