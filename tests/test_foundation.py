"""The plugin installs, registers, trains, tests, resumes and runs distributed."""
import json
import os
import pickle
import re
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from utils import DEMO_CONFIG, REPO, run_tool, write_tiny_config


def test_import_registers_plugin_modules():
    import mmseg_dibe  # noqa: F401
    from mmengine.registry import MODEL_WRAPPERS
    from mmseg.registry import DATASETS, TRANSFORMS

    assert DATASETS.get('SyntheticCrackDataset') is not None
    assert DATASETS.get('BinarySegDataset') is not None
    assert TRANSFORMS.get('LoadBinaryAnnotations') is not None
    assert MODEL_WRAPPERS.get('CPUDistributedDataParallel') is not None


def test_every_package_module_imports():
    """A module that fails to import would silently drop its registrations."""
    import importlib
    import pkgutil

    import mmseg_dibe
    for info in pkgutil.walk_packages(mmseg_dibe.__path__, 'mmseg_dibe.'):
        importlib.import_module(info.name)


def test_demo_config_builds_offline():
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    from mmseg.registry import MODELS

    import mmseg_dibe  # noqa: F401
    cfg = Config.fromfile(str(DEMO_CONFIG))
    assert cfg.custom_imports.imports == ['mmseg_dibe']
    assert cfg.default_scope == 'mmseg'
    init_default_scope('mmseg')
    model = MODELS.build(cfg.model)
    out = model(torch.rand(2, 3, 64, 64), mode='tensor')
    # Binary mode: one sigmoid channel.
    assert out.shape == (2, 1, 64, 64)


def test_synthetic_data_is_deterministic_and_binary(tmp_path):
    args = ['--num-train', 3, '--num-val', 2, '--size', 48, '--ratio', 0.01,
            '--seed', 7]
    a = run_tool('tools/data/make_synthetic.py', tmp_path / 'a', *args)
    run_tool('tools/data/make_synthetic.py', tmp_path / 'b', *args)
    assert re.search(r'train: 3 images of 48x48 .*FG:BG = 1:\d+', a.stdout)
    for split in ('train', 'val'):
        names = sorted(p.name for p in (tmp_path / 'a/img_dir' / split).iterdir())
        assert names == sorted(
            p.name for p in (tmp_path / 'a/ann_dir' / split).iterdir())
        for name in names:
            for sub in ('img_dir', 'ann_dir'):
                x = np.asarray(Image.open(tmp_path / 'a' / sub / split / name))
                y = np.asarray(Image.open(tmp_path / 'b' / sub / split / name))
                np.testing.assert_array_equal(x, y)
            mask = np.asarray(Image.open(tmp_path / 'a/ann_dir' / split / name))
            assert set(np.unique(mask)) <= {0, 1}


def test_synthetic_ratio_near_request(tmp_path):
    from mmseg_dibe.datasets.synthesis import split_budgets
    budgets = split_budgets(0, 'train', 200, 256, 0.001)
    measured = budgets.sum() / (200 * 256 * 256 - budgets.sum())
    assert 0.0008 < measured < 0.0013
    assert (budgets == 0).any(), 'some images must have no target'


def test_raw_0_255_mask_is_refused_with_file_name(tmp_path):
    from mmseg.registry import DATASETS

    import mmseg_dibe  # noqa: F401
    for sub in ('img_dir/val', 'ann_dir/val'):
        (tmp_path / sub).mkdir(parents=True)
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(
        tmp_path / 'img_dir/val/x.png')
    raw = np.zeros((8, 8), np.uint8)
    raw[2:4, 2:4] = 255
    Image.fromarray(raw).save(tmp_path / 'ann_dir/val/x.png')
    dataset = DATASETS.build(dict(
        type='SyntheticCrackDataset', data_root=str(tmp_path),
        data_prefix=dict(img_path='img_dir/val', seg_map_path='ann_dir/val'),
        pipeline=[dict(type='LoadImageFromFile'),
                  dict(type='LoadAnnotations'),
                  dict(type='PackSegInputs')]))
    with pytest.raises(ValueError, match=r'x\.png.*\[0, 255\]'):
        dataset[0]


def _metrics_from_log(work_dir):
    """The last validation/test metrics written to a work dir's scalars."""
    files = sorted(Path(work_dir).glob('*/vis_data/scalars.json'))
    assert files, f'no scalars.json under {work_dir}'
    records = [json.loads(line) for f in files
               for line in f.read_text().splitlines() if line.strip()]
    return [r for r in records if 'OII' in r or 'mIoU' in r]


@pytest.mark.slow
def test_train_then_test_round_trip(tmp_path, tiny_data_root):
    cfg = write_tiny_config(tmp_path / 'tiny.py', tiny_data_root, iters=2)
    work = tmp_path / 'work'
    run_tool('tools/train.py', cfg, '--work-dir', work)
    ckpt = work / 'iter_2.pth'
    assert ckpt.is_file()
    assert (work / 'last_checkpoint').read_text().strip().endswith(
        'iter_2.pth')
    assert _metrics_from_log(work), 'validation metrics were not logged'

    out = tmp_path / 'pred'
    proc = run_tool('tools/test.py', cfg, ckpt, '--work-dir',
                    tmp_path / 'test', '--out', out)
    log = proc.stdout + proc.stderr
    assert 'Load checkpoint from' in log
    assert re.search(r'OII', log), log[-2000:]
    preds = sorted(out.glob('*.png'))
    assert len(preds) == 4
    assert set(np.unique(np.asarray(Image.open(preds[0])))) <= {0, 1}

    # The same checkpoint through mmengine's own loader (load_from path).
    from mmengine.runner import CheckpointLoader

    import mmseg_dibe  # noqa: F401
    state = CheckpointLoader.load_checkpoint(str(ckpt), map_location='cpu')
    assert state['meta']['iter'] == 2
    assert 'message_hub' in state and 'state_dict' in state


@pytest.mark.slow
def test_resume_continues_from_checkpoint(tmp_path, tiny_data_root):
    work = tmp_path / 'work'
    short = write_tiny_config(tmp_path / 'short.py', tiny_data_root, iters=2)
    run_tool('tools/train.py', short, '--work-dir', work)
    longer = write_tiny_config(tmp_path / 'long.py', tiny_data_root, iters=4,
                               val_interval=2)
    proc = run_tool('tools/train.py', longer, '--work-dir', work, '--resume')
    log = proc.stdout + proc.stderr
    assert 'resumed' in log.lower(), log[-3000:]
    assert 'Iter(train) [3/4]' in log and 'Iter(train) [1/4]' not in log
    state = torch.load(work / 'iter_4.pth', map_location='cpu')
    assert state['meta']['iter'] == 4


class _ReachesOsViaGetattr:
    """Pickles to ``getattr(HistoryBuffer, '__init__')``: an allowed class but
    an attribute outside what mmengine stores."""

    def __reduce__(self):
        from mmengine.logging import HistoryBuffer
        return (getattr, (HistoryBuffer, '__init__'))


def test_getattr_stand_in_only_resolves_history_buffer_methods(tmp_path):
    from mmengine.runner import CheckpointLoader

    import mmseg_dibe  # noqa: F401
    path = tmp_path / 'sneaky.pth'
    torch.save({'meta': _ReachesOsViaGetattr()}, path)
    with pytest.raises(pickle.UnpicklingError, match='HistoryBuffer'):
        CheckpointLoader.load_checkpoint(str(path), map_location='cpu')


class _RunsCode:
    """Pickles to a call of ``os.system``: a malicious "checkpoint"."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f'touch {self.marker}',))


def test_checkpoint_with_pickled_callable_is_refused(tmp_path):
    from mmengine.runner import CheckpointLoader

    import mmseg_dibe  # noqa: F401
    marker = tmp_path / 'owned'
    path = tmp_path / 'evil.pth'
    torch.save({'state_dict': {}, 'meta': _RunsCode(marker)}, path)
    with pytest.raises(pickle.UnpicklingError) as err:
        CheckpointLoader.load_checkpoint(str(path), map_location='cpu')
    message = str(err.value)
    assert 'evil.pth' in message and 'system' in message
    assert not marker.exists(), 'the pickled command was executed'


def test_mmengine_state_types_are_allow_listed(tmp_path):
    """The objects mmengine writes (HistoryBuffer, numpy) load safely."""
    from mmengine.logging import HistoryBuffer
    from mmengine.runner import CheckpointLoader

    import mmseg_dibe  # noqa: F401
    buf = HistoryBuffer()
    buf.update(np.float64(0.5))
    payload = {'meta': {'seed': np.int64(3), 'arr': np.arange(3.0),
                        'dtype': np.dtype('float32')},
               'message_hub': {'log_scalars': {'train/loss': buf}}}
    path = tmp_path / 'ok.pth'
    torch.save(payload, path)
    loaded = CheckpointLoader.load_checkpoint(str(path), map_location='cpu')
    assert loaded['meta']['seed'] == 3
    np.testing.assert_array_equal(loaded['meta']['arr'], np.arange(3.0))
    assert loaded['message_hub']['log_scalars']['train/loss'].current() == 0.5


def test_cpu_distributed_config_rewrite():
    from mmengine.config import Config

    from mmseg_dibe.engine.distributed import revert_sync_bn_cfg
    cfg = Config(dict(model=dict(
        backbone=dict(norm_cfg=dict(type='SyncBN', requires_grad=True)),
        heads=[dict(norm_cfg=dict(type='SyncBN')), dict(norm_cfg=None)])))
    out = revert_sync_bn_cfg(cfg.model)
    assert out.backbone.norm_cfg.type == 'BN'
    assert out.backbone.norm_cfg.requires_grad is True
    assert out.heads[0].norm_cfg.type == 'BN'
    assert cfg.model.backbone.norm_cfg.type == 'SyncBN', 'input not copied'


@pytest.mark.slow
def test_dist_train_two_cpu_processes_agree(tmp_path, tiny_data_root):
    if torch.cuda.is_available():
        pytest.skip('checks the CPU (gloo) path')
    dump_dir = tmp_path / 'ranks'
    cfg = write_tiny_config(
        tmp_path / 'dist.py', tiny_data_root, iters=2,
        extra=('custom_imports = dict(imports=["mmseg_dibe", '
               '"rank_weights_hook"], allow_failed_imports=False)\n'
               'model = dict(backbone=dict(norm_cfg=dict(type="SyncBN")))\n'
               f'custom_hooks = [dict(type="DumpRankWeightsHook", '
               f'out_dir={str(dump_dir)!r})]\n'))
    work = tmp_path / 'work'
    port = 29500 + os.getpid() % 1000
    run_tool('tools/dist_train.sh', cfg, 2, '--work-dir', work,
             env={'PORT': str(port), 'OMP_NUM_THREADS': '1',
                  'PYTHONPATH': str(REPO / 'tests' / 'support')},
             timeout=900)
    rank0 = torch.load(dump_dir / 'rank0.pth')
    rank1 = torch.load(dump_dir / 'rank1.pth')
    assert rank0['world_size'] == rank1['world_size'] == 2
    assert rank0['params'].keys() == rank1['params'].keys()
    start = torch.load(dump_dir / 'rank0_start.pth')['params']
    moved = False
    for name, value in rank0['params'].items():
        torch.testing.assert_close(value, rank1['params'][name], rtol=0,
                                   atol=0, msg=f'{name} differs')
        moved |= not torch.equal(value, start[name])
    assert moved, 'training did not change the weights'
    assert (work / 'iter_2.pth').is_file()
