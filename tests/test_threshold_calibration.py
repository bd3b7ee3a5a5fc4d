"""Threshold sweeps: per-bin counts, the sweep metric, the choice rule and
``tools/calibrate_threshold.py`` end to end."""
import glob
import json
import math
import re

import numpy as np
import pytest
import torch

import mmseg_dibe  # noqa: F401  (registers the metrics)
from mmseg.registry import METRICS
from mmseg_dibe.evaluation.oii_metric import OIIMetric
from mmseg_dibe.evaluation.threshold_calibration import (
    choose_threshold, format_table, plot_sweep, sweep_table,
    threshold_cfg_options, write_table)
from mmseg_dibe.evaluation.threshold_metric import OIIThresholdMetric
from mmseg_dibe.functional.oii import oii
from mmseg_dibe.functional.thresholds import (check_thresholds, sweep_counts,
                                              threshold_grid,
                                              threshold_histograms,
                                              threshold_slots)
from utils import run_tool, write_tiny_config

I = 255  # ignore_index


def brute_counts(prob, label, cls, threshold):
    """TP, FP, FN of ``prob > threshold`` for class ``cls`` by plain numpy.

    The comparison is done as mmseg does it (a float32 tensor against a
    Python float), independently of the histograms.
    """
    pred = (prob > threshold).numpy()
    label = label.numpy()
    valid = label != I
    is_cls = label == cls
    tp = int(np.sum(pred & is_cls & valid))
    fp = int(np.sum(pred & ~is_cls & valid))
    fn = int(np.sum(~pred & is_cls & valid))
    return tp, fp, fn


def random_case(seed, shape=(3, 17, 19), bins=10, num_classes=3):
    gen = torch.Generator().manual_seed(seed)
    prob = torch.rand(shape, generator=gen)
    grid = threshold_grid(bins)
    # Values exactly at every threshold (as float32, as a model outputs).
    edges = torch.tensor(grid, dtype=torch.float32)
    prob[:, 0, :len(grid)] = edges
    prob[:, 1, :len(grid)] = torch.nextafter(edges, torch.tensor(2.0))
    prob[:, 2, :len(grid)] = torch.nextafter(edges, torch.tensor(-1.0))
    label = torch.randint(0, num_classes, shape[1:], generator=gen)
    label[torch.rand(shape[1:], generator=gen) < 0.1] = I
    return prob.clamp(0, 1), label, grid


def test_grid_and_threshold_checks():
    assert threshold_grid(4) == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert threshold_grid(10)[3] == 0.3  # the literal a config writes
    assert check_thresholds(2) == [0.0, 0.5, 1.0]
    assert check_thresholds([0.1, 0.5]) == [0.1, 0.5]
    for bad in ([0.5, 0.5], [0.6, 0.1], [], [float('nan')]):
        with pytest.raises(ValueError):
            check_thresholds(bad)
    with pytest.raises(ValueError):
        threshold_grid(0)


def test_edge_semantics():
    # A value exactly at a threshold is not above it: p > T is strict.
    prob = torch.tensor([0.0, 0.25, 0.5, 0.5000001, 1.0, float('nan')])
    slots = threshold_slots(prob, [0.0, 0.5, 1.0])
    assert slots.tolist() == [0, 1, 1, 2, 2, 0]  # NaN: never above
    label = torch.ones(6, dtype=torch.long)
    hist = threshold_histograms(prob[None], label, [1], [0.0, 0.5, 1.0])
    tp, fp, fn = sweep_counts(hist)
    assert tp[0].tolist() == [4, 2, 0]  # > 0: 0.25, 0.5, 0.5+, 1
    assert fn[0].tolist() == [2, 4, 6]
    assert fp[0].tolist() == [0, 0, 0]


@pytest.mark.parametrize('seed', [0, 1, 2])
def test_counts_at_every_threshold_equal_brute_force(seed):
    prob, label, grid = random_case(seed)
    classes = [0, 1, 2]
    hist = threshold_histograms(prob, label, classes, grid, I, 3)
    tp, fp, fn = sweep_counts(hist)
    for j, t in enumerate(grid):
        for row, cls in enumerate(classes):
            assert (tp[row, j], fp[row, j], fn[row, j]) == brute_counts(
                prob[row], label, cls, t), (seed, t, cls)


def test_half_precision_compares_like_mmseg():
    prob, label, grid = random_case(3, shape=(1, 20, 20))
    prob = prob.half()
    label = (label == 1).long()
    hist = threshold_histograms(prob, label, [1], grid, I, 2)
    tp, fp, fn = sweep_counts(hist)
    for j, t in enumerate(grid):
        assert (tp[0, j], fp[0, j], fn[0, j]) == brute_counts(
            prob[0], label, 1, t)


def test_histograms_of_images_add_up():
    prob, label, grid = random_case(4)
    prob = prob[1:]
    whole = threshold_histograms(prob, label, [1, 2], grid[1:], I, 3)
    top = threshold_histograms(prob[:, :8], label[:8], [1, 2], grid[1:], I,
                               3)
    bottom = threshold_histograms(prob[:, 8:], label[8:], [1, 2], grid[1:],
                                  I, 3)
    assert torch.equal(whole, top + bottom)


def test_ignored_pixels_never_count():
    prob = torch.full((1, 4, 4), 0.9)
    label = torch.full((4, 4), I)
    label[0, 0] = 1
    label[0, 1] = 0
    tp, fp, fn = sweep_counts(
        threshold_histograms(prob, label, [1], [0.5], I, 2))
    assert (tp.item(), fp.item(), fn.item()) == (1, 1, 0)
    with pytest.raises(ValueError, match=r'label values \[7\]'):
        threshold_histograms(prob, torch.full((4, 4), 7), [1], [0.5], I, 2)


# ----------------------------------------------------------------- metric
def binary_sample(prob, label, name='img'):
    """A data sample as mmseg's segmentor hands it to a metric (binary head:
    ``seg_logits`` holds sigmoid probabilities)."""
    return dict(seg_logits=dict(data=prob[None]),
                pred_sem_seg=dict(data=(prob > 0.5).long()[None]),
                gt_sem_seg=dict(data=label[None]),
                img_path=f'/data/{name}.png')


def binary_samples(seed=0, n=4):
    gen = torch.Generator().manual_seed(seed)
    samples = []
    for i in range(n):
        prob = torch.rand(9, 11, generator=gen) ** 2
        label = (torch.rand(9, 11, generator=gen) < 0.2).long()
        label[0, :3] = I
        prob[1, :5] = torch.tensor([0.0, 0.25, 0.5, 0.75, 1.0])
        samples.append(binary_sample(prob, label, f'im{i}'))
    return samples


def build(cfg, classes=('background', 'crack')):
    metric = METRICS.build(cfg)
    metric.dataset_meta = dict(classes=classes)
    return metric


def test_metric_rows_equal_oii_metric_at_each_threshold():
    samples = binary_samples()
    sweep = build(dict(type='OIIThresholdMetric', thresholds=4))
    sweep.process({}, samples)
    out = sweep.compute_metrics(sweep.results)
    table = sweep.table
    assert table['thresholds'] == [0.0, 0.25, 0.5, 0.75, 1.0]
    row = table['classes']['crack']
    for j, t in enumerate(table['thresholds']):
        ref = build(dict(type='OIIMetric'))
        ref.process({}, [dict(s, pred_sem_seg=dict(
            data=(s['seg_logits']['data'] > t).long())) for s in samples])
        expected = ref.compute_metrics(ref.results)
        for key in ('TP', 'FP', 'FN', 'IoU', 'PA', 'Recall', 'Dice', 'OII'):
            assert row[key][j] == pytest.approx(expected[key], nan_ok=True), \
                (t, key)
    # OII is the package's: TP = 0 < FP + FN at T = 1 gives 1.
    assert row['OII'][-1] == 1.0
    best = int(np.nanargmax(row['IoU']))
    assert out['threshold'] == table['thresholds'][best]
    assert out['IoU'] == row['IoU'][best]
    assert 'in_target' not in out


def test_metric_split_over_ranks_gives_same_table():
    samples = binary_samples(1, n=5)
    one = build(dict(type='OIIThresholdMetric', thresholds=8))
    one.process({}, samples)
    a = build(dict(type='OIIThresholdMetric', thresholds=8))
    b = build(dict(type='OIIThresholdMetric', thresholds=8))
    a.process({}, samples[::2])
    b.process({}, samples[1::2])
    assert len(one.results) == 5  # one result per sample
    assert one.compute_metrics(one.results) == a.compute_metrics(
        b.results + a.results)


def test_metric_multiclass_one_vs_rest():
    gen = torch.Generator().manual_seed(5)
    samples, probs, labels = [], [], []
    for i in range(3):
        logits = torch.randn(3, 8, 8, generator=gen)
        label = torch.randint(0, 3, (8, 8), generator=gen)
        label[-1] = I
        samples.append(dict(seg_logits=dict(data=logits),
                            gt_sem_seg=dict(data=label[None])))
        probs.append(logits.softmax(0))
        labels.append(label)
    sweep = build(dict(type='OIIThresholdMetric', thresholds=5,
                       target=(-0.5, 0.5)), classes=('bg', 'a', 'b'))
    sweep.process({}, samples)
    out = sweep.compute_metrics(sweep.results)
    assert list(sweep.table['classes']) == ['a', 'b']  # background left out
    assert {'threshold.a', 'OII.b', 'in_target.a'} <= set(out)
    for cls, name in ((1, 'a'), (2, 'b')):
        row = sweep.table['classes'][name]
        for j, t in enumerate(sweep.table['thresholds']):
            counts = np.sum([brute_counts(p[cls], l, cls, t)
                             for p, l in zip(probs, labels)], axis=0)
            assert (row['TP'][j], row['FP'][j], row['FN'][j]) == \
                tuple(counts)
            assert row['OII'][j] == pytest.approx(oii(*map(float, counts)),
                                                  nan_ok=True)


def test_metric_class_absent_everywhere_is_undefined_not_an_error():
    logits = torch.zeros(3, 4, 4)
    logits[2] = -1e4  # softmax exactly 0: class b is never above any T
    label = torch.randint(0, 2, (4, 4), generator=torch.Generator()
                          .manual_seed(0))
    sweep = build(dict(type='OIIThresholdMetric', thresholds=4),
                  classes=('bg', 'a', 'b'))
    sweep.process({}, [dict(seg_logits=dict(data=logits),
                            gt_sem_seg=dict(data=label[None]))])
    out = sweep.compute_metrics(sweep.results)
    assert sweep.choices['b']['index'] is None
    assert math.isnan(out['threshold.b']) and math.isnan(out['OII.b'])
    assert not math.isnan(out['threshold.a'])


def test_metric_arguments():
    with pytest.raises(ValueError, match='activation'):
        OIIThresholdMetric(activation='relu')
    with pytest.raises(ValueError, match='target'):
        OIIThresholdMetric(target=(0.5, 0.1))
    with pytest.raises(TypeError, match='unknown'):
        OIIThresholdMetric(bins=3)
    sweep = build(dict(type='OIIThresholdMetric'))
    with pytest.raises(KeyError, match='seg_logits'):
        sweep.process({}, [dict(gt_sem_seg=dict(data=torch.zeros(1, 2, 2)))])
    # Explicit sigmoid for models that store raw logits.
    sweep = build(dict(type='OIIThresholdMetric', thresholds=[0.5],
                       activation='sigmoid'))
    sweep.process({}, [binary_sample(torch.tensor([[-1.0, 1.0]]),
                                     torch.tensor([[1, 1]]))])
    sweep.compute_metrics(sweep.results)
    assert sweep.table['classes']['crack']['TP'][0] == 1


# ------------------------------------------------------------ choice rule
T = [0.1, 0.2, 0.3, 0.4, 0.5]
IOU = np.array([0.2, 0.5, 0.6, 0.6, 0.3])
OII = np.array([-0.9, -0.2, 0.1, 0.35, 0.8])


def test_choice_maximize_iou_ties_to_lowest():
    choice = choose_threshold(T, IOU, OII)
    assert choice['index'] == 2 and choice['threshold'] == 0.3
    assert choice['in_target'] is None


def test_choice_target_inside():
    choice = choose_threshold(T, IOU, OII, target=(0.2, 0.9))
    assert choice['threshold'] == 0.4 and choice['in_target'] is True
    # Strictly inside: OII 0.35 is not inside (0.35, 0.9).
    choice = choose_threshold(T, IOU, OII, target=(0.35, 0.9))
    assert choice['threshold'] == 0.5


def test_choice_target_none_inside_takes_closest():
    choice = choose_threshold(T, IOU, OII, target=(0.4, 0.6))
    assert choice['threshold'] == 0.4  # OII 0.35: distance 0.05
    assert choice['in_target'] is False
    assert 'closest' in choice['reason']


def test_choice_never_falls_back_on_predicting_nothing():
    """Measured on MTSDD Blowhole (hook, seed 9): OII -0.37 at T = 0.9999
    and 1 at T = 1, where nothing is predicted; 1 is closer to (0.3, 0.4),
    but the fallback keeps the threshold that still detects something."""
    t = [0.9998, 0.9999, 1.0]
    iou, oii = np.array([0.41, 0.40, 0.0]), np.array([-0.43, -0.37, 1.0])
    choice = choose_threshold(t, iou, oii, target=(0.3, 0.4))
    assert choice['threshold'] == 0.9999 and choice['in_target'] is False
    assert 'between T = 0.9999 and T = 1' in choice['reason']
    # Nothing else defined: the empty prediction is still an answer.
    choice = choose_threshold([0.5, 1.0], np.array([math.nan, 0.0]),
                              np.array([math.nan, 1.0]), target=(0.3, 0.4))
    assert choice['threshold'] == 1.0


def test_choice_names_a_jump_over_the_target():
    # OII 0.35 at T = 0.4, 0.8 at T = 0.5: the target (0.4, 0.6) is crossed
    # between two thresholds, so finer thresholds there would reach it.
    choice = choose_threshold(T, IOU, OII, target=(0.4, 0.6))
    assert 'between T = 0.4 and T = 0.5' in choice['reason']
    # about 100 thresholds inside the 0.1-wide gap: 1000 bins
    assert '--bins 1000 of' in choice['reason']
    assert 'thresholds=1000 of OIIThresholdMetric' in choice['reason']
    # Beyond every OII of the sweep: no crossing, no such hint.
    choice = choose_threshold(T, IOU, OII, target=(0.85, 0.95))
    assert choice['threshold'] == 0.5 and 'jumps' not in choice['reason']
    # Falling OII (a crossing downwards) counts too.
    choice = choose_threshold(T, IOU, -OII, target=(-0.6, -0.4))
    assert 'between T = 0.4 and T = 0.5' in choice['reason']


def test_suggested_bins_split_the_gap():
    # Measured on MTSDD Blowhole: crossings inside 0.99-1 and 0.9999-1.
    from mmseg_dibe.evaluation.threshold_calibration import _bins_to_split
    assert _bins_to_split((0.99, 1.0)) == 10000
    assert _bins_to_split((0.9999, 1.0)) == 1000000
    assert _bins_to_split((0.0, 1.0)) == 100


def test_choice_skips_undefined_and_raises_when_nothing():
    iou = np.array([math.nan, 0.1, 0.05])
    choice = choose_threshold([0, 0.5, 1], iou, np.array([math.nan, 0.3, 1]))
    assert choice['index'] == 1
    with pytest.raises(ValueError, match='no threshold'):
        choose_threshold([0.5], [math.nan], [math.nan])


def test_table_files_and_plot(tmp_path):
    hist = np.array([[[3, 2, 1], [0, 1, 4]]])  # background, target
    table = sweep_table(hist, [0.25, 0.75], ['crack'])
    row = table['classes']['crack']
    assert row['TP'].tolist() == [5, 4] and row['FP'].tolist() == [3, 1]
    assert row['FN'].tolist() == [0, 1]
    choices = {'crack': choose_threshold(table['thresholds'], row['IoU'],
                                         row['OII'])}
    csv_path, json_path = write_table(table, tmp_path, choices)
    lines = open(csv_path).read().splitlines()
    assert lines[0] == 'class,threshold,TP,FP,FN,IoU,PA,Recall,Dice,OII,FP/FN'
    assert len(lines) == 3
    doc = json.load(open(json_path))
    assert doc['choice']['crack']['threshold'] == 0.75
    assert doc['classes']['crack']['FP/FN'][0] is None  # inf -> null
    assert '*' in format_table(table, choices).splitlines()[-1]
    png = plot_sweep(table, str(tmp_path / 'sweep.png'), choices, (0, 0.5))
    assert open(png, 'rb').read(8) == b'\x89PNG\r\n\x1a\n'


def test_cfg_options_cover_auxiliary_heads():
    assert threshold_cfg_options(dict(decode_head={}), 0.37) == [
        'model.decode_head.threshold=0.37']
    assert threshold_cfg_options(
        dict(decode_head={}, auxiliary_head={}), 0.1 + 0.2) == [
            'model.decode_head.threshold=0.30000000000000004',
            'model.auxiliary_head.threshold=0.30000000000000004']
    assert threshold_cfg_options(
        dict(decode_head={}, auxiliary_head=[{}, {}]), 0.5)[1:] == [
            'model.auxiliary_head.0.threshold=0.5',
            'model.auxiliary_head.1.threshold=0.5']


# ------------------------------------------------- inside mmengine / tools
def test_calibration_gives_the_metric_a_bin_count(tmp_path, monkeypatch,
                                                  tiny_data_root):
    """The runner dumps its config: K stays a number unless the config's
    own threshold is off the j/K grid (then the list, with it, is needed)."""
    from mmengine.config import Config
    from mmengine.runner import Runner
    from mmseg_dibe.evaluation.threshold_calibration import \
        calibrate_threshold
    seen = []

    def stop(cfg):
        seen.append(cfg.test_evaluator['thresholds'])
        raise RuntimeError('stop')

    monkeypatch.setattr(Runner, 'from_cfg', staticmethod(stop))
    path = write_tiny_config(tmp_path / 'tiny.py', tiny_data_root)
    for head_threshold in (0.5, 0.37):
        cfg = Config.fromfile(str(path))
        cfg.model.decode_head.threshold = head_threshold
        with pytest.raises(RuntimeError, match='stop'):
            calibrate_threshold(cfg, 'unused.pth', thresholds=20)
    assert seen[0] == 20
    assert len(seen[1]) == 22 and 0.37 in seen[1]


def test_inside_mmengine_evaluation_matches_oii_metric(tmp_path,
                                                       tiny_data_root):
    """A real test loop (initialised tiny U-Net, 4 images): the sweep's row
    at the head's threshold equals OIIMetric on the same pass."""
    from mmengine.config import Config
    from mmengine.runner import Runner
    path = write_tiny_config(tmp_path / 'tiny.py', tiny_data_root)
    cfg = Config.fromfile(str(path))
    cfg.work_dir = str(tmp_path / 'work')
    cfg.model.decode_head.threshold = 0.37  # not on the 20-bin grid
    cfg.test_evaluator = [
        dict(type='OIIMetric'),
        dict(type='OIIThresholdMetric',
             thresholds=sorted(threshold_grid(20) + [0.37]))
    ]
    runner = Runner.from_cfg(cfg)
    metrics = runner.test()
    sweep = runner.test_loop.evaluator.metrics[1]
    j = sweep.table['thresholds'].index(0.37)
    row = sweep.table['classes']['crack']
    for key in ('TP', 'FP', 'FN', 'OII', 'IoU'):
        assert row[key][j] == pytest.approx(metrics[key], nan_ok=True), key
    assert row['TP'][j] + row['FP'][j] > 0  # the case is not trivial


@pytest.mark.slow
def test_tool_end_to_end_and_applying_the_threshold(tmp_path,
                                                    tiny_data_root):
    cfg = write_tiny_config(tmp_path / 'tiny.py', tiny_data_root, iters=2)
    work = tmp_path / 'train'
    run_tool('tools/train.py', cfg, '--work-dir', work)
    ckpt = work / 'iter_2.pth'
    out = tmp_path / 'calib'
    proc = run_tool('tools/calibrate_threshold.py', cfg, ckpt, '--bins', 20,
                    '--target', -0.2, 0.6, '--out', out)
    log = proc.stdout
    line = re.search(r'apply it with: --cfg-options (.*)', log)
    assert line, log[-3000:]
    options = line.group(1).split()
    assert options[0].startswith('model.decode_head.threshold=')
    assert options[1].startswith('model.auxiliary_head.threshold=')
    threshold = float(options[0].split('=')[1])
    for name in ('threshold_sweep.csv', 'threshold_sweep.json',
                 'threshold_sweep.png', 'calibration.json'):
        assert (out / name).is_file(), name
    doc = json.load(open(out / 'threshold_sweep.json'))
    j = doc['thresholds'].index(threshold)
    predicted = {k: doc['classes']['crack'][k][j]
                 for k in ('OII', 'TP', 'FP', 'FN')}
    assert json.load(open(out / 'calibration.json'))['choices'][
        'crack']['threshold'] == threshold

    test_work = tmp_path / 'test'
    run_tool('tools/test.py', cfg, ckpt, '--work-dir', test_work,
             '--cfg-options', *options)
    results = [json.load(open(p)) for p in
               glob.glob(str(test_work / '*' / '*.json'))]
    assert results, 'tools/test.py wrote no results'
    measured = results[-1]
    for key, value in predicted.items():
        assert measured[key] == pytest.approx(value), key

    # Two processes (gloo on CPU), each rank half of the images: the same
    # table and the same choice.
    out2 = tmp_path / 'calib2'
    run_tool('tools/dist_launch.sh', 'calibrate_threshold.py', 2, cfg, ckpt,
             '--bins', 20, '--target', -0.2, 0.6, '--out', out2,
             env={'PORT': '29741', 'OMP_NUM_THREADS': '1'}, timeout=600)
    assert json.load(open(out2 / 'threshold_sweep.json')) == doc
