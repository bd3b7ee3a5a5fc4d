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
