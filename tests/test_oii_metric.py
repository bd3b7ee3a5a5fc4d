"""Tests of ``OIIMetric`` against hand counts."""
import math

import numpy as np
import pytest
import torch
from PIL import Image

import mmseg_dibe  # noqa: F401  (registers OIIMetric)
from mmseg.registry import METRICS
from mmseg_dibe.evaluation.oii_metric import OIIMetric

I = 255  # ignore_index

# Three 4x4 binary images: labels (with ignored pixels) and predictions.
LABELS = [
    [[0, 1, 1, 0],
     [0, 1, 1, 0],
     [I, I, 0, 0],
     [0, 0, 0, 1]],
    [[0, 0, 0, 0],  # no target at all, two false alarms (one ignored)
     [0, 0, 0, 0],
     [0, 0, 0, I],
     [0, 0, 0, 0]],
    [[1, 1, 1, 1],
     [1, 0, 0, 0],
     [0, 0, 0, 0],
     [0, 0, I, 0]],
]
PREDS = [
    [[0, 1, 0, 0],
     [1, 1, 1, 0],
     [1, 1, 0, 0],  # predictions on ignored pixels never count
     [0, 0, 0, 0]],
    [[0, 0, 0, 0],
     [0, 1, 0, 0],
     [0, 0, 0, 1],  # on an ignored pixel
     [0, 0, 1, 0]],
    [[1, 1, 0, 0],
     [0, 0, 0, 0],
     [0, 0, 0, 0],
     [0, 0, 1, 0]],  # on an ignored pixel
]


def hand_counts(label, pred, cls=1):
    """TP, FP, FN of one class by a plain loop (independent reference)."""
    tp = fp = fn = 0
    for row_l, row_p in zip(label, pred):
        for y, p in zip(row_l, row_p):
            if y == I:
                continue
            tp += (y == cls) and (p == cls)
            fp += (y != cls) and (p == cls)
            fn += (y == cls) and (p != cls)
    return tp, fp, fn


def reference_oii(tp, fp, fn):
    if tp == 0:
        return 1.0 if fp + fn else math.nan
    if fp == 0 and fn == 0:
        return 0.0
    if fn == 0:
        return -1.0
    x = fp / fn
    k = 1 - 2 / math.pi * math.atan((fp + fn) / (5 * tp))
    h = k / (x + 1 / x - 1) if fp else 0.0
    return 1 - h if x <= 1 else h - 1


def sample(label, pred, name='img', float_pred=False):
    pred = torch.tensor(pred)[None]
    return dict(
        pred_sem_seg=dict(data=pred.float() if float_pred else pred),
        gt_sem_seg=dict(data=torch.tensor(label)[None]),
        img_path=f'/data/{name}.jpg')


def binary_metric(**kwargs):
    metric = OIIMetric(**kwargs)
    metric.dataset_meta = dict(classes=('background', 'crack'))
    return metric


def test_binary_against_hand_counts():
    metric = binary_metric()
    # Binary heads (out_channels=1) hand over 0./1. float predictions.
    metric.process({}, [sample(LABELS[0], PREDS[0], float_pred=True)])
    metric.process({}, [sample(l, p) for l, p in zip(LABELS[1:], PREDS[1:])])
    assert len(metric.results) == 3  # one result per sample
    res = metric.compute_metrics(metric.results)
    counts = np.array([hand_counts(l, p) for l, p in zip(LABELS, PREDS)])
    tp, fp, fn = counts.sum(axis=0)
    assert (tp, fp, fn) == (5, 3, 5)  # checked by hand
    assert (res['TP'], res['FP'], res['FN']) == (tp, fp, fn)
    # Counts are floats: mmengine's JSON dump of test results drops ints.
    assert all(isinstance(res[k], float) and res[k].is_integer()
               for k in ('TP', 'FP', 'FN'))
    assert res['IoU'] == pytest.approx(tp / (tp + fp + fn))
    assert res['PA'] == pytest.approx(tp / (tp + fp))
    assert res['Recall'] == pytest.approx(tp / (tp + fn))
    assert res['Dice'] == pytest.approx(2 * tp / (2 * tp + fp + fn))
    assert res['FP/FN'] == pytest.approx(fp / fn)
    assert res['OII'] == pytest.approx(reference_oii(tp, fp, fn))
    assert set(res) == {'IoU', 'PA', 'Recall', 'Dice', 'OII', 'FP/FN', 'TP',
                        'FP', 'FN'}


def test_counts_are_summed_before_ratios():
    # Mean of per-image OII differs from the OII of the summed counts.
    metric = binary_metric()
    metric.process({}, [sample(l, p) for l, p in zip(LABELS, PREDS)])
    res = metric.compute_metrics(metric.results)
    per_image = [reference_oii(*hand_counts(l, p))
                 for l, p in zip(LABELS, PREDS)]
    assert res['OII'] != pytest.approx(np.nanmean(per_image))


def test_per_image_statistics():
    metric = binary_metric(per_image=True)
    metric.process({}, [sample(l, p) for l, p in zip(LABELS, PREDS)])
    res = metric.compute_metrics(metric.results)
    with_target = [
        reference_oii(*hand_counts(l, p)) for l, p in zip(LABELS, PREDS)
        if sum(hand_counts(l, p)[::2]) > 0
    ]
    assert len(with_target) == 2
    assert res['OII_img_mean'] == pytest.approx(np.mean(with_target))
    assert res['OII_img_median'] == pytest.approx(np.median(with_target))
    assert res['OII_img_q1'] == pytest.approx(
        np.quantile(with_target, 0.25))
    assert res['OII_img_q3'] == pytest.approx(
        np.quantile(with_target, 0.75))
    assert res['no_target_share'] == pytest.approx(1 / 3)


def test_split_over_ranks_gives_same_numbers():
    # What mmengine's collection does on 2 processes: same samples, any
    # split and order -> identical results (integer sums).
    samples = [sample(l, p) for l, p in zip(LABELS, PREDS)]
    one = binary_metric()
    one.process({}, samples)
    a, b = binary_metric(), binary_metric()
    a.process({}, samples[::2])
    b.process({}, samples[1::2])
    assert one.compute_metrics(one.results) == one.compute_metrics(
        b.results + a.results)


def test_evaluate_with_prefix_and_registry():
    metric = METRICS.build(dict(type='OIIMetric', prefix='crack'))
    metric.dataset_meta = dict(classes=('background', 'crack'))
    metric.process({}, [sample(l, p) for l, p in zip(LABELS, PREDS)])
    res = metric.evaluate(3)
    assert 'crack/OII' in res and 'crack/IoU' in res and 'OII' not in res
    assert metric.results == []  # reset for the next round


def test_no_target_and_no_prediction_is_nan():
    metric = binary_metric()
    empty = [[0, 0], [0, I]]
    metric.process({}, [sample(empty, [[0, 0], [0, 1]])])
    res = metric.compute_metrics(metric.results)
    assert math.isnan(res['OII']) and math.isnan(res['IoU'])
    assert (res['TP'], res['FP'], res['FN']) == (0, 0, 0)


def test_only_false_alarms_and_only_misses():
    metric = binary_metric()
    metric.process({}, [sample([[1, 1], [0, 0]], [[1, 1], [1, 0]])])
    assert metric.compute_metrics(metric.results)['OII'] == -1.0
    metric = binary_metric()
    metric.process({}, [sample([[1, 1], [0, 0]], [[0, 0], [0, 0]])])
    assert metric.compute_metrics(metric.results)['OII'] == 1.0  # IoU = 0


def test_multi_class():
    metric = OIIMetric()
    metric.dataset_meta = dict(classes=('bg', 'crack', 'hole'))
    label = [[0, 1, 1, 2], [2, 2, 0, I]]
    pred = [[1, 1, 0, 2], [2, 0, 0, 2]]
    metric.process({}, [sample(label, pred)])
    res = metric.compute_metrics(metric.results)
    for c, name in ((1, 'crack'), (2, 'hole')):
        tp, fp, fn = hand_counts(label, pred, cls=c)
        assert (res[f'TP.{name}'], res[f'FP.{name}'],
                res[f'FN.{name}']) == (tp, fp, fn)
        assert res[f'IoU.{name}'] == pytest.approx(tp / (tp + fp + fn))
        assert res[f'OII.{name}'] == pytest.approx(reference_oii(tp, fp, fn))
    assert 'IoU.bg' not in res  # background not evaluated by default
    assert res['mIoU'] == pytest.approx(
        (res['IoU.crack'] + res['IoU.hole']) / 2)
    assert res['mOII'] == pytest.approx(
        (res['OII.crack'] + res['OII.hole']) / 2)
    assert res['mPA'] == pytest.approx((res['PA.crack'] + res['PA.hole']) / 2)


def test_background_none_evaluates_every_class():
    metric = binary_metric(background_index=None)
    metric.process({}, [sample(l, p) for l, p in zip(LABELS, PREDS)])
    res = metric.compute_metrics(metric.results)
    assert 'IoU.background' in res and 'IoU.crack' in res and 'mIoU' in res


def test_output_dir_and_format_only(tmp_path):
    out = tmp_path / 'pred'
    metric = binary_metric(output_dir=str(out))
    metric.process({}, [sample(LABELS[0], PREDS[0], 'a', float_pred=True)])
    saved = np.array(Image.open(out / 'a.png'))
    np.testing.assert_array_equal(saved, np.array(PREDS[0]))
    assert 'OII' in metric.compute_metrics(metric.results)

    only = binary_metric(output_dir=str(out), format_only=True)
    no_gt = dict(pred_sem_seg=dict(data=torch.tensor(PREDS[1])[None]),
                 img_path='/x/b.jpg')
    only.process({}, [no_gt])
    assert only.compute_metrics(only.results) == {}
    assert (out / 'b.png').is_file()


def test_bad_arguments():
    with pytest.raises(ValueError, match='output_dir'):
        OIIMetric(format_only=True)
    with pytest.raises(TypeError, match='unknown'):
        OIIMetric(iou_metrics=['mIoU'])
    metric = binary_metric()
    with pytest.raises(KeyError, match='gt_sem_seg'):
        metric.process({}, [dict(pred_sem_seg=dict(data=torch.zeros(1, 2, 2)),
                                 img_path='x.png')])
    with pytest.raises(ValueError, match='label values'):
        metric.process({}, [sample([[0, 3]], [[0, 1]])])
