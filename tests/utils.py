"""Helpers shared by the end-to-end tests."""
import hashlib
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
#: The config ``make demo`` runs; tests shrink it with :func:`write_tiny_config`.
DEMO_CONFIG = REPO / 'configs' / 'demo' / 'unet-s5-tiny_dibe_synthetic-64x64.py'
#: ``../shared`` beside the checkout (absent in a user's clone).
SHARED = REPO.parent / 'shared'


def run_tool(script, *args, timeout=900, check=True, env=None):
    """Run one of our tools (a path relative to the repo) with this python.

    Args:
        script (str): e.g. ``'tools/train.py'``; ``.sh`` scripts run with bash
            and get ``PYTHON`` set to this interpreter.
        *args: Command-line arguments (converted with ``str``).
        timeout (float): Seconds before the run is killed.
        check (bool): Raise ``AssertionError`` with the output's tail when the
            tool exits non-zero.
        env (dict, optional): Extra environment variables.

    Returns:
        subprocess.CompletedProcess: with ``stdout`` and ``stderr`` as text.
    """
    full_env = dict(os.environ)
    full_env.setdefault('OMP_NUM_THREADS', '2')
    # End-to-end tests check behaviour, not speed: skip compiling the fused
    # DIBE kernels in every training subprocess (the compiled path is tested
    # against the eager one in tests/test_losses_fused_compile.py).
    full_env.setdefault('MMSEG_DIBE_COMPILE', '0')
    full_env['PYTHON'] = sys.executable
    if env:
        full_env.update(env)
    path = REPO / script
    cmd = (['bash', str(path)] if path.suffix == '.sh' else
           [sys.executable, str(path)]) + [str(a) for a in args]
    proc = subprocess.run(cmd, cwd=REPO, env=full_env, capture_output=True,
                          text=True, timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(
            f'{" ".join(cmd)} exited with {proc.returncode}\n'
            f'--- stdout (tail) ---\n{proc.stdout[-4000:]}\n'
            f'--- stderr (tail) ---\n{proc.stderr[-6000:]}')
    return proc


def write_tiny_config(path, data_root, iters=2, val_interval=None,
                      extra=''):
    """Write a config that shrinks the demo config to a few iterations.

    Args:
        path (Path): Where to write the ``.py`` config.
        data_root (Path): Dataset root (e.g. the ``tiny_data_root`` fixture).
        iters (int): Training iterations.
        val_interval (int, optional): Validation and checkpoint interval;
            defaults to ``iters``.
        extra (str): Python lines appended to the config (more overrides).

    Returns:
        Path: ``path``.
    """
    val_interval = val_interval or iters
    path = Path(path)
    path.write_text(f'''_base_ = [{str(DEMO_CONFIG)!r}]
data_root = {str(data_root)!r}
train_dataloader = dict(batch_size=2, dataset=dict(data_root=data_root))
val_dataloader = dict(dataset=dict(data_root=data_root))
test_dataloader = val_dataloader
train_cfg = dict(max_iters={iters}, val_interval={val_interval})
# The paper's lr: these few-iteration runs test plumbing, and at the demo's
# lr 0.05 they predict no crack at all (every PA undefined).
optim_wrapper = dict(optimizer=dict(lr=0.01))
param_scheduler = [dict(type='PolyLR', eta_min=1e-4, power=0.9, begin=0,
                        end={iters}, by_epoch=False)]
default_hooks = dict(
    logger=dict(interval=1),
    checkpoint=dict(interval={val_interval}, max_keep_ckpts=-1),
    visualization=dict(draw=False))
{extra}
''')
    return path


def tree_digest(root: Path) -> str:
    """Hash of every path and byte under ``root`` (to prove it unchanged)."""
    h = hashlib.sha256()
    for p in sorted(root.rglob('*')):
        h.update(str(p.relative_to(root)).encode())
        if p.is_file():
            h.update(p.read_bytes())
    return h.hexdigest()


def read_mask(path: Path) -> np.ndarray:
    """An image or mask file as an array (masks: the label values)."""
    return np.asarray(Image.open(path))


def pairs(out: Path, split: str):
    """Stems of a converted split; images and masks must pair one to one."""
    imgs = sorted(p.stem for p in (out / 'img_dir' / split).iterdir())
    anns = sorted(p.stem for p in (out / 'ann_dir' / split).iterdir())
    assert imgs == anns, f'{split}: images and masks differ'
    return imgs


def load_script(relpath: str):
    """A script of the repository (``tools/...py``, ``benchmarks/...py``:
    not a package) imported as a module, to call its functions."""
    import importlib.util
    path = REPO / relpath
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
