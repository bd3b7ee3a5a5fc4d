"""A training killed (SIGKILL) after a checkpoint and resumed with --resume
ends with the same weights, bit for bit, as the uninterrupted training."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from utils import REPO, run_tool, write_tiny_config

ITERS = 12
INTERVAL = 4
ENV = {'OMP_NUM_THREADS': '1', 'MMSEG_DIBE_COMPILE': '0',
       'PYTHONPATH': str(REPO / 'tests' / 'support')}


def _config(tmp_path, data_root, workers, oii_hook):
    extra = [
        'randomness = dict(seed=0, deterministic=True)',
        f'train_dataloader = dict(batch_size=2, num_workers={workers}, '
        f'persistent_workers={workers > 0}, '
        f'dataset=dict(data_root={str(data_root)!r}))',
    ]
    if oii_hook:
        extra.append(
            'custom_hooks = [dict(type="OIIBisectionHook", low=0.1, '
            'high=0.9, warmup=None)]')
    return write_tiny_config(tmp_path / f'cfg_w{workers}_h{int(oii_hook)}.py',
                             data_root, iters=ITERS, val_interval=INTERVAL,
                             extra='\n'.join(extra) + '\n')


def _last_logged_iter(work):
    iters = [0]
    for path in Path(work).glob('*/vis_data/scalars.json'):
        for line in path.read_text().splitlines():
            try:
                iters.append(int(json.loads(line).get('iter', 0)))
            except ValueError:
                pass  # a line being written
    return max(iters)


def _train_and_kill(cfg, work, kill_after):
    env = dict(os.environ, **ENV)
    proc = subprocess.Popen(
        [sys.executable, str(REPO / 'tools' / 'train.py'), str(cfg),
         '--work-dir', str(work)], cwd=REPO, env=env,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    try:
        while time.time() < deadline and proc.poll() is None:
            if ((Path(work) / f'iter_{INTERVAL}.pth').is_file()
                    and _last_logged_iter(work) >= kill_after):
                break
            time.sleep(0.05)
        assert proc.poll() is None, 'training ended before it was killed'
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == -signal.SIGKILL
    assert not (Path(work) / f'iter_{ITERS}.pth').exists()


def _weights(path):
    import mmseg_dibe  # noqa: F401  (checkpoint allow-list)
    state = torch.load(path, map_location='cpu')['state_dict']
    return {k: v for k, v in state.items()}


@pytest.mark.slow
# Two runs cover both settings of each (each run trains three times).
@pytest.mark.parametrize('workers,oii_hook', [(0, False), (2, True)])
def test_killed_training_resumes_bit_identically(tmp_path, tiny_data_root,
                                                 workers, oii_hook):
    cfg = _config(tmp_path, tiny_data_root, workers, oii_hook)
    full = tmp_path / 'full'
    run_tool('tools/train.py', cfg, '--work-dir', full, env=ENV, timeout=600)

    killed = tmp_path / 'killed'
    _train_and_kill(cfg, killed, kill_after=INTERVAL + 3)
    run_tool('tools/train.py', cfg, '--work-dir', killed, '--resume',
             env=ENV, timeout=600)

    want = _weights(full / f'iter_{ITERS}.pth')
    got = _weights(killed / f'iter_{ITERS}.pth')
    assert want.keys() == got.keys()
    diff = max((want[k].double() - got[k].double()).abs().max().item()
               for k in want if want[k].is_floating_point())
    assert diff == 0, f'resumed weights differ by up to {diff}'
    start = _weights(full / f'iter_{INTERVAL}.pth')
    assert any(not torch.equal(start[k], want[k]) for k in want)


def test_checkpoint_writes_are_atomic_and_resume_skips_truncated(tmp_path):
    import mmseg_dibe  # noqa: F401  (installs the atomic local backend)
    from mmengine.fileio import get_file_backend
    from mmengine.runner.checkpoint import save_checkpoint

    from mmseg_dibe.engine import AtomicLocalBackend, find_resume_checkpoint
    assert isinstance(get_file_backend(str(tmp_path / 'x.pth')),
                      AtomicLocalBackend)
    save_checkpoint({'meta': {'iter': 4}}, str(tmp_path / 'iter_4.pth'))
    save_checkpoint({'meta': {'iter': 8}}, str(tmp_path / 'iter_8.pth'))
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        'iter_4.pth', 'iter_8.pth'], 'temporary file left behind'
    # A kill while mmengine wrote iter_12 and last_checkpoint (plain files).
    whole = (tmp_path / 'iter_8.pth').read_bytes()
    (tmp_path / 'iter_12.pth').write_bytes(whole[:len(whole) // 2])
    (tmp_path / 'last_checkpoint').write_text(str(tmp_path / 'iter_12.pth'))
    assert find_resume_checkpoint(str(tmp_path)) == str(tmp_path /
                                                        'iter_8.pth')
    (tmp_path / 'last_checkpoint').write_text('')
    assert find_resume_checkpoint(str(tmp_path)) == str(tmp_path /
                                                        'iter_8.pth')
    (tmp_path / 'last_checkpoint').write_text(str(tmp_path / 'iter_4.pth'))
    assert find_resume_checkpoint(str(tmp_path)) == str(tmp_path /
                                                        'iter_4.pth')


def test_rng_state_round_trips_through_safe_loading(tmp_path):
    import random

    import numpy as np

    import mmseg_dibe  # noqa: F401
    from mmseg_dibe.engine.hooks.exact_resume_hook import (get_rng_state,
                                                           set_rng_state)
    random.random(), np.random.rand(), torch.rand(1)
    torch.save({'s': get_rng_state()}, tmp_path / 's.pth')
    want = (random.random(), np.random.rand(3).tolist(), torch.rand(3))
    set_rng_state(torch.load(tmp_path / 's.pth', weights_only=True)['s'])
    got = (random.random(), np.random.rand(3).tolist(), torch.rand(3))
    assert want[:2] == got[:2] and torch.equal(want[2], got[2])
