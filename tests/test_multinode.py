"""Beyond one machine: two "nodes" (launcher invocations with NNODES=2) on
localhost, and the slurm scripts under a stand-in ``srun``."""
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from utils import REPO, write_tiny_config

ENV = {'OMP_NUM_THREADS': '1', 'MMSEG_DIBE_COMPILE': '0',
       'PYTHONPATH': str(REPO / 'tests' / 'support')}

#: A stand-in for slurm's srun: starts --ntasks copies of the command with
#: the variables slurm gives each task.
FAKE_SRUN = '''#!{python}
import os, subprocess, sys
args = sys.argv[1:]
ntasks, i = 1, 0
while args[i].startswith('-'):
    if args[i] == '-p':
        i += 1
    elif args[i].startswith('--ntasks='):
        ntasks = int(args[i].split('=')[1])
    i += 1
procs = [subprocess.Popen(args[i:], env=dict(
    os.environ, SLURM_PROCID=str(r), SLURM_NTASKS=str(ntasks),
    SLURM_LOCALID=str(r), SLURM_NODELIST='localhost'))
    for r in range(ntasks)]
sys.exit(max(p.wait() for p in procs))
'''


def _free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def _config(tmp_path, data_root, dump_dir):
    return write_tiny_config(
        tmp_path / 'two_nodes.py', data_root, iters=2,
        extra=('custom_imports = dict(imports=["mmseg_dibe", '
               '"rank_weights_hook"], allow_failed_imports=False)\n'
               f'custom_hooks = [dict(type="DumpRankWeightsHook", '
               f'out_dir={str(dump_dir)!r})]\n'))


def _env(**extra):
    env = dict(os.environ, **ENV, PYTHON=sys.executable)
    env.update({k: str(v) for k, v in extra.items()})
    return env


def _crack_pixels(data_root):
    from PIL import Image
    return sum(int((np.array(Image.open(p)) == 1).sum())
               for p in sorted((Path(data_root) / 'ann_dir' / 'val').glob(
                   '*.png')))


def _check_ranks(dump_dir, work, data_root):
    rank0 = torch.load(dump_dir / 'rank0.pth')
    rank1 = torch.load(dump_dir / 'rank1.pth')
    assert rank0['world_size'] == rank1['world_size'] == 2
    start = torch.load(dump_dir / 'rank0_start.pth')['params']
    moved = False
    for name, value in rank0['params'].items():
        assert torch.equal(value, rank1['params'][name]), f'{name} differs'
        moved |= not torch.equal(value, start[name])
    assert moved, 'training did not change the weights'
    # Each rank validated half of the images; the metric gathers both.
    scalars = sorted(Path(work).glob('*/vis_data/scalars.json'))[-1]
    last = json.loads(scalars.read_text().splitlines()[-1])
    assert last['TP'] + last['FN'] == _crack_pixels(data_root)


def _communicate(procs, timeout=600):
    outs = []
    try:
        for p in procs:
            outs.append(p.communicate(timeout=timeout))
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    for p, (out, err) in zip(procs, outs):
        assert p.returncode == 0, (out[-3000:], err[-5000:])


@pytest.mark.slow
def test_two_nodes_one_process_each(tmp_path, tiny_data_root):
    if torch.cuda.is_available():
        pytest.skip('checks the CPU (gloo) path')
    dump_dir, work = tmp_path / 'ranks', tmp_path / 'work'
    cfg = _config(tmp_path, tiny_data_root, dump_dir)
    port = _free_port()
    procs = [subprocess.Popen(
        ['bash', str(REPO / 'tools' / 'dist_train.sh'), str(cfg), '1',
         '--work-dir', str(work if node == 0 else tmp_path / 'work1')],
        cwd=REPO, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        env=_env(NNODES=2, NODE_RANK=node, MASTER_ADDR='127.0.0.1',
                 PORT=port)) for node in (0, 1)]
    _communicate(procs)
    _check_ranks(dump_dir, work, tiny_data_root)
    assert (work / 'iter_2.pth').is_file()


@pytest.mark.slow
def test_slurm_train_two_tasks(tmp_path, tiny_data_root):
    if torch.cuda.is_available():
        pytest.skip('checks the CPU (gloo) path')
    bin_dir = tmp_path / 'bin'
    bin_dir.mkdir()
    srun = bin_dir / 'srun'
    srun.write_text(FAKE_SRUN.format(python=sys.executable))
    srun.chmod(0o755)
    dump_dir, work = tmp_path / 'ranks', tmp_path / 'work'
    cfg = _config(tmp_path, tiny_data_root, dump_dir)
    env = _env(GPUS=2, GPUS_PER_NODE=0, CPUS_PER_TASK=1,
               MASTER_ADDR='127.0.0.1', PORT=_free_port(),
               PATH=f'{bin_dir}{os.pathsep}{os.environ["PATH"]}')
    proc = subprocess.Popen(
        ['bash', str(REPO / 'tools' / 'slurm_train.sh'), 'cpu', 'job',
         str(cfg), str(work)], cwd=REPO, text=True, env=env,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _communicate([proc])
    _check_ranks(dump_dir, work, tiny_data_root)


#: A stand-in srun that only prints the command it was given, one word a line.
ECHO_SRUN = '''#!{python}
import sys
print('\\n'.join(sys.argv[1:]))
'''


@pytest.mark.parametrize('script, args, expected', [
    ('slurm_train.sh', ['part', 'job', 'cfg.py', 'work'],
     ['train.py', 'cfg.py', '--work-dir=work', '--seed', '3']),
    ('slurm_test.sh', ['part', 'job', 'cfg.py', 'ckpt.pth'],
     ['test.py', 'cfg.py', 'ckpt.pth', '--seed', '3']),
])
def test_slurm_scripts_pass_their_arguments(tmp_path, script, args,
                                            expected):
    bin_dir = tmp_path / 'bin'
    bin_dir.mkdir()
    srun = bin_dir / 'srun'
    srun.write_text(ECHO_SRUN.format(python=sys.executable))
    srun.chmod(0o755)
    env = dict(os.environ, GPUS='8', GPUS_PER_NODE='4', CPUS_PER_TASK='2',
               SRUN_ARGS='--qos=low',
               PATH=f'{bin_dir}{os.pathsep}{os.environ["PATH"]}')
    out = subprocess.run(
        ['bash', str(REPO / 'tools' / script), *args, '--seed', '3'],
        cwd=REPO, env=env, text=True, capture_output=True, check=True)
    words = out.stdout.split('\n')
    assert words[:4] == ['-p', 'part', '--job-name=job', '--ntasks=8']
    assert '--gres=gpu:4' in words and '--ntasks-per-node=4' in words
    assert '--cpus-per-task=2' in words and '--qos=low' in words
    script_at = next(i for i, w in enumerate(words)
                     if w.endswith(expected[0]))
    assert words[script_at + 1:script_at + len(expected)] == expected[1:]
    assert words[script_at + len(expected)] == '--launcher=slurm'
    # Too few arguments: usage on stderr, exit 2, srun never called.
    bad = subprocess.run(['bash', str(REPO / 'tools' / script), 'part'],
                         cwd=REPO, env=env, text=True, capture_output=True)
    assert bad.returncode == 2 and 'usage' in bad.stderr and not bad.stdout
