"""tools/analysis/report.py and mmseg_dibe.analysis on real work directories
of a tiny training.

Two trainings of the demo U-Net (4 iterations, validation every 2, seeds 0
and 1) are made once per session and shared with test_plot_curves.py.
"""
import copy
import json
import math
import statistics
import threading
from pathlib import Path

import pytest
import yaml

from mmseg_dibe import analysis
from utils import REPO, run_tool, write_tiny_config

ITERS = 4
VAL_INTERVAL = 2
SEEDS = (0, 1)
CONFIG_NAME = 'tiny_unet_dibe'

# No photometric augmentation: faster, and independent of its settings.
FAST_PIPELINE = '''
train_dataloader['dataset']['pipeline'] = [
    dict(type='LoadImageFromFile'), dict(type='LoadAnnotations'),
    dict(type='PackSegInputs')]
'''

_CACHE = {}
_LOCK = threading.Lock()


def trained_work_dirs(tmp_path_factory, data_root):
    """Train the tiny config once per seed (in parallel); cached per session.

    Returns:
        dict[int, Path]: seed -> work directory.
    """
    with _LOCK:
        if 'dirs' in _CACHE:
            return _CACHE['dirs']
        root = tmp_path_factory.mktemp('report_runs')
        dirs, errors = {}, []

        def train(seed):
            # Same file name for every seed: the report groups by config.
            cfg = write_tiny_config(
                root / f'cfg_s{seed}' / f'{CONFIG_NAME}.py', data_root,
                iters=ITERS, val_interval=VAL_INTERVAL,
                extra=f'randomness = dict(seed={seed})\n' + FAST_PIPELINE)
            work_dir = root / f'run_s{seed}'
            try:
                run_tool('tools/train.py', cfg, '--work-dir', work_dir,
                         timeout=300)
            except Exception as e:  # reported below, in the main thread
                errors.append(e)
            dirs[seed] = work_dir

        (root / 'cfg_s0').mkdir()
        (root / 'cfg_s1').mkdir()
        threads = [threading.Thread(target=train, args=(s, )) for s in SEEDS]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if errors:
            raise errors[0]
        _CACHE['dirs'] = dirs
        return dirs


@pytest.fixture(scope='session')
def work_dirs(tmp_path_factory, tiny_data_root):
    return trained_work_dirs(tmp_path_factory, tiny_data_root)


def scalars_by_hand(work_dir):
    """Independent reading of the validation lines of scalars.json."""
    files = sorted(Path(work_dir).glob('*/vis_data/scalars.json'))
    assert len(files) == 1, files
    val = []
    for line in files[0].read_text().splitlines():
        record = json.loads(line)
        if 'IoU' in record:
            val.append(record)
    return val


@pytest.mark.slow
def test_run_reads_real_work_dir(work_dirs):
    run = analysis.Run(str(work_dirs[0]))
    assert run.name == CONFIG_NAME
    assert run.seed == 0
    val = scalars_by_hand(work_dirs[0])
    # Validation after iterations 2 and 4 (log_metric_by_epoch=False).
    assert [r['iter'] for r in run.val] == [2, 4]
    assert [r['step'] for r in val] == [2, 4]
    assert run.last()['IoU'] == val[-1]['IoU']
    assert run.best('IoU')['IoU'] == max(r['IoU'] for r in val)
    # One train line per iteration (logger interval 1).
    assert [r['iter'] for r in run.train] == [1, 2, 3, 4]
    assert all('loss' in r for r in run.train)
    assert run.method() == 'UNet'
    assert run.backbone() == 'UNet-S5-D16 (w16)'
    assert run.loss() == 'DIBE (α=0.3)'
    assert run.crop_size() == '64x64'
    assert run.schedule() == '4 it, bs 2'
    assert run.dataset() == 'Synthetic crack'
    log = Path(run.log_path).read_text()
    import torch
    if not torch.cuda.is_available():
        assert 'CUDA available: False' in log
        assert run.device() == 'CPU'
        assert run.memory_gb() is None  # CPU runs log no memory
    # fps = 1 / mean(time - data_time) of the validation lines (batch 1).
    expect = len(val) / sum(r['time'] - r['data_time'] for r in val)
    assert run.fps() == pytest.approx(expect)
    assert run.checkpoints()[-1].endswith(f'iter_{ITERS}.pth')


@pytest.mark.slow
def test_table_mean_std_over_seeds(work_dirs, tmp_path):
    out = tmp_path / 'results.md'
    jout = tmp_path / 'rows.json'
    run_tool('tools/analysis/report.py', work_dirs[0], work_dirs[1],
             '--out', out, '--json', jout)
    text = out.read_text()
    rows = [line for line in text.splitlines()
            if line.startswith('| UNet')]
    assert len(rows) == 2, text  # best and last table, one row each
    last_iou = [scalars_by_hand(work_dirs[s])[-1]['IoU'] for s in SEEDS]
    best_iou = [max(r['IoU'] for r in scalars_by_hand(work_dirs[s]))
                for s in SEEDS]
    cells = [c.strip() for c in rows[1].split('|')[1:-1]]
    assert cells[0:5] == ['UNet', 'UNet-S5-D16 (w16)', 'DIBE (α=0.3)',
                          '64x64', '4 it, bs 2']
    assert cells[8] == '0, 1'
    expect = (f'{statistics.mean(last_iou):.3f} ± '
              f'{statistics.stdev(last_iou):.3f}')
    assert cells[9] == expect
    best_cells = [c.strip() for c in rows[0].split('|')[1:-1]]
    assert best_cells[9] == (f'{statistics.mean(best_iou):.3f} ± '
                             f'{statistics.stdev(best_iou):.3f}')
    # Links: config and one log per seed, relative to the output file.
    assert '[config](' in rows[1] and 'log [0](' in rows[1]
    for target in [part.split(')')[0] for part in rows[1].split('](')[1:]]:
        assert (out.parent / target).is_file(), target
    data = json.loads(jout.read_text())
    assert data[0]['seeds'] == [0, 1]
    assert data[0]['last']['IoU'] == pytest.approx(last_iou)


@pytest.mark.slow
def test_runs_differing_in_more_than_seed_are_separate_rows(work_dirs):
    runs = [analysis.Run(str(work_dirs[s])) for s in SEEDS]
    other = copy.deepcopy(runs[1])
    other.cfg['model']['decode_head']['loss_decode']['alpha'] = 0.5
    groups = analysis.group_runs(runs + [other])
    assert [len(g) for g in groups] == [2, 1]
    assert groups[1][0].loss() == 'DIBE (α=0.5)'
    # The work directory itself does not split a group.
    moved = copy.deepcopy(runs[0])
    moved.cfg['work_dir'] = '/elsewhere'
    assert len(analysis.group_runs([moved, runs[1]])) == 1


@pytest.mark.slow
def test_metafile_lists_every_config_and_keeps_results(work_dirs, tmp_path):
    configs = tmp_path / 'configs'
    configs.mkdir()
    src = next(Path(work_dirs[0]).glob(f'{CONFIG_NAME}.py'))
    (configs / f'{CONFIG_NAME}.py').write_text(src.read_text())
    other = 'unet-untrained_synthetic.py'
    (configs / other).write_text(src.read_text())
    meta = tmp_path / 'metafile.yaml'
    run_tool('tools/analysis/report.py', work_dirs[0], work_dirs[1],
             '--metafile', meta, '--configs-dir', configs)
    data = yaml.safe_load(meta.read_text())
    assert data['Collections'][0]['Name'] == 'DIBE'
    models = {m['Name']: m for m in data['Models']}
    assert sorted(models) == sorted([CONFIG_NAME, other[:-3]])
    trained = models[CONFIG_NAME]
    assert trained['In Collection'] == 'DIBE'
    assert trained['Results']['Task'] == 'Semantic Segmentation'
    assert trained['Results']['Dataset'] == 'Synthetic crack'
    last_iou = [scalars_by_hand(work_dirs[s])[-1]['IoU'] for s in SEEDS]
    last_oii = [scalars_by_hand(work_dirs[s])[-1]['OII'] for s in SEEDS]
    metrics = trained['Results']['Metrics']
    assert metrics['IoU'] == pytest.approx(statistics.mean(last_iou),
                                           abs=1e-4)
    assert metrics['IoU std'] == pytest.approx(statistics.stdev(last_iou),
                                               abs=1e-4)
    if all(math.isfinite(v) for v in last_oii):
        assert metrics['OII'] == pytest.approx(statistics.mean(last_oii),
                                               abs=1e-4)
    assert trained['Metadata']['Architecture'] == ['UNet-S5-D16 (w16)',
                                                   'UNet']
    assert trained['Metadata']['Seeds'] == [0, 1]
    assert 'Metrics' not in models[other[:-3]]['Results']
    # Regenerating without runs keeps the measured results.
    run_tool('tools/analysis/report.py', '--metafile', meta,
             '--configs-dir', configs)
    again = {m['Name']: m for m in yaml.safe_load(meta.read_text())['Models']}
    assert again[CONFIG_NAME]['Results']['Metrics'] == metrics


def test_epoch_based_validation_is_put_on_the_iteration_axis(tmp_path):
    """Validation steps are epochs when log_metric_by_epoch is on."""
    work = tmp_path / 'epoch_run'
    ts = work / '20240101_000000'
    (ts / 'vis_data').mkdir(parents=True)
    (work / 'cfg_epoch.py').write_text(
        "train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=2)\n"
        "randomness = dict(seed=3)\n")
    lines = []
    for it in range(1, 21):
        if it % 5 == 0:
            lines.append(dict(lr=0.01, loss=1.0, time=0.1, data_time=0.0,
                              epoch=(it - 1) // 10 + 1, iter=it, step=it,
                              memory=2048))
        if it % 10 == 0:
            lines.append(dict(IoU=it / 100, PA=0.5, OII=0.2, time=0.02,
                              data_time=0.01, step=it // 10))
    (ts / 'vis_data' / 'scalars.json').write_text(
        '\n'.join(json.dumps(r) for r in lines) + '\n{"cut sho')
    (ts / '20240101_000000.log').write_text(
        '    CUDA available: True\n    GPU 0: Fake GPU\n'
        'Epoch(train) [1][ 5/10]  lr: 1e-2\n')
    run = analysis.Run(str(work))
    assert [r['iter'] for r in run.val] == [10, 20]
    assert [r['epoch'] for r in run.val] == [1, 2]
    assert run.memory_gb() == 2.0
    assert run.device() == 'Fake GPU'
    assert run.fps() == pytest.approx(100.0)
    assert run.schedule() == '2e'
    assert run.best()['IoU'] == 0.2


def test_work_dir_without_logs_reads_its_validation_records(tmp_path):
    """Committed results keep a work dir's config and summaries, not its
    <timestamp> folders: the validation records saved at the end of the
    training give the same Run.val and final metrics."""
    import shutil
    from mmseg_dibe.analysis import workdir
    work = tmp_path / 'kept_run'
    ts = work / '20240101_000000'
    (ts / 'vis_data').mkdir(parents=True)
    (work / 'kept_run.py').write_text(
        "train_cfg = dict(type='IterBasedTrainLoop', max_iters=20)\n"
        "default_hooks = dict(logger=dict(log_metric_by_epoch=False))\n")
    lines = [dict(lr=0.01, loss=1.0, iter=5, step=5),
             dict(IoU=0.1, PA=0.2, OII=0.9, alpha=0.5, step=10),
             dict(lr=0.01, loss=0.5, iter=15, step=15),
             dict(IoU=0.4, PA=0.6, OII=0.35, alpha=0.3, step=20)]
    text = '\n'.join(json.dumps(r) for r in lines) + '\n'
    (ts / 'vis_data' / 'scalars.json').write_text(text)
    (ts / 'vis_data' / '20240101_000000.json').write_text(text)
    before = analysis.Run(str(work))
    final = workdir.read_final_metrics(str(work))
    assert workdir.has_scalar_logs(str(work))
    path = workdir.save_validation_records(str(work), source='test')
    shutil.rmtree(ts)
    assert not workdir.has_scalar_logs(str(work))
    after = analysis.Run(str(work))
    assert after.val == before.val and after.train == []
    assert [r['iter'] for r in after.val] == [10, 20]
    assert after.last()['alpha'] == 0.3
    kept = workdir.read_final_metrics(str(work))
    assert kept.pop('log') == workdir.VALIDATION_FILE
    final.pop('log')
    assert kept == final == dict(OII=0.35, IoU=0.4, PA=0.6, iter=20)
    assert json.loads(Path(path).read_text())['source'] == 'test'
    # A file that is not such a record is named, not half-read.
    Path(path).write_text(json.dumps(dict(records=[dict(IoU=0.1)])))
    with pytest.raises(ValueError, match=workdir.VALIDATION_FILE):
        analysis.Run(str(work))
    Path(path).unlink()
    with pytest.raises(FileNotFoundError, match=workdir.VALIDATION_FILE):
        analysis.Run(str(work))


def test_losses_are_named_by_the_catalog(tmp_path):
    """The Loss column uses mmseg_dibe.losses.catalog's paper names."""
    work = tmp_path / 'bce_run'
    (work / '20240101_000000' / 'vis_data').mkdir(parents=True)
    (work / 'cfg_bce.py').write_text(
        "model = dict(decode_head=dict(loss_decode=[\n"
        "    dict(type='CrossEntropyLoss', use_sigmoid=True),\n"
        "    dict(type='DIBERegLoss', alpha=0.3)]))\n")
    (work / '20240101_000000' / 'vis_data' / 'scalars.json').write_text(
        json.dumps(dict(IoU=0.5, OII=0.1, step=2)) + '\n')
    assert analysis.Run(str(work)).loss() == 'BCE (mmseg) + DIBE_Reg (α=0.3)'


def test_not_a_work_dir_is_refused(tmp_path):
    proc = run_tool('tools/analysis/report.py', tmp_path, check=False,
                    timeout=120)
    assert proc.returncode != 0
    assert 'dumped config' in proc.stderr + proc.stdout


def test_mean_std():
    assert analysis.mean_std([1.0, 2.0, 3.0]) == (2.0, 1.0)
    assert analysis.mean_std([float('nan'), 4.0]) == (4.0, 0.0)
    assert analysis.mean_std([]) == (None, None)
    assert analysis.fmt_mean_std([0.5, 0.7]) == '0.600 ± 0.141'
    assert analysis.fmt_mean_std([0.5]) == '0.500'


def test_repository_metafile_lists_every_dibe_config():
    """configs/dibe/metafile.yaml is generated from configs/dibe."""
    meta = REPO / 'configs' / 'dibe' / 'metafile.yaml'
    if not meta.is_file():
        pytest.skip('metafile not generated yet')
    models = yaml.safe_load(meta.read_text())['Models']
    # Besides one model per config, rows measured in another setting
    # (benchmarks/compare_losses.py --metafile: CPU-scale) say which.
    names = {m['Name'] for m in models
             if 'Setting' not in (m.get('Metadata') or {})}
    configs = {p.stem for p in (REPO / 'configs' / 'dibe').glob('*.py')}
    assert names == configs, (
        'regenerate with: python tools/analysis/report.py --metafile '
        'configs/dibe/metafile.yaml')
    for model in yaml.safe_load(meta.read_text())['Models']:
        assert (REPO / model['Config']).is_file(), model['Config']
