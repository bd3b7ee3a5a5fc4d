"""From a folder of your own images to scored predictions.

0/255 masks + images written here -> tools/dataset_converters/folder.py ->
a few iterations of tools/train.py with configs/custom (shrunk) ->
tools/infer.py with --gt-dir, checked against a recount from the written
masks; and the same config + checkpoint through mmseg's demo/image_demo.py.
"""
import csv
import math
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from utils import REPO, run_tool

FOLDER = 'tools/dataset_converters/folder.py'
CUSTOM = REPO / 'configs' / 'custom' / 'unet-s5-d16_dibe_custom.py'


def write_user_folder(root: Path, n: int = 8, seed: int = 0):
    """Images with a bright scratch and their 0/255 ``<name>_mask.png``."""
    rng = np.random.default_rng(seed)
    images, masks = root / 'images', root / 'masks'
    images.mkdir(parents=True)
    masks.mkdir(parents=True)
    for i in range(n):
        h, w = (64, 64) if i % 3 else (50, 75)  # two sizes, one not /16
        img = rng.integers(60, 110, (h, w, 3)).astype(np.uint8)
        m = np.zeros((h, w), np.uint8)
        r = int(rng.integers(8, h - 8))
        m[r:r + 3, 5:w - 5] = 255
        img[m > 0] = 220
        Image.fromarray(img).save(images / f'img{i}.png')
        Image.fromarray(m).save(masks / f'img{i}_mask.png')
    return images, masks


def tiny_custom_config(path: Path, data_root: Path, iters: int = 4) -> Path:
    """configs/custom at width 8, a few iterations, no workers."""
    path.write_text(f'''_base_ = [{str(CUSTOM)!r}]
data_root = {str(data_root)!r}
crop_size = (32, 32)
norm_cfg = dict(type='BN', requires_grad=True)
model = dict(
    data_preprocessor=dict(size=crop_size),
    backbone=dict(base_channels=8, norm_cfg=norm_cfg),
    decode_head=dict(in_channels=8, channels=8, norm_cfg=norm_cfg),
    auxiliary_head=dict(in_channels=16, channels=8, norm_cfg=norm_cfg))
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='RandomCrop', crop_size=crop_size),
    dict(type='PackSegInputs'),
]
train_dataloader = dict(batch_size=2, num_workers=0,
                        persistent_workers=False,
                        dataset=dict(data_root=data_root,
                                     pipeline=train_pipeline))
val_dataloader = dict(num_workers=0, persistent_workers=False,
                      dataset=dict(data_root=data_root))
test_dataloader = val_dataloader
train_cfg = dict(_delete_=True, type='IterBasedTrainLoop',
                 max_iters={iters}, val_interval={iters})
param_scheduler = [dict(type='PolyLR', eta_min=1e-4, power=0.9, begin=0,
                        end={iters}, by_epoch=False)]
log_processor = dict(by_epoch=False)
default_hooks = dict(
    logger=dict(interval=1, log_metric_by_epoch=False),
    checkpoint=dict(by_epoch=False, interval={iters}, max_keep_ckpts=1),
    visualization=dict(draw=False))
''')
    return path


@pytest.fixture(scope='module')
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp('user_data')
    images, masks = write_user_folder(root / 'src')
    data = root / 'data'
    proc = run_tool(FOLDER, images, masks, data, '--mask-suffix', '_mask',
                    '--val-ratio', '0.25')
    assert 'FG:BG' in proc.stdout
    cfg = tiny_custom_config(root / 'tiny_custom.py', data)
    work = root / 'work'
    run_tool('tools/train.py', cfg, '--work-dir', work)
    ckpt = work / 'iter_4.pth'
    assert ckpt.is_file()
    return dict(root=root, images=images, masks=masks, data=data, cfg=cfg,
                ckpt=ckpt)


def read_csv(path: Path):
    with open(path, newline='') as f:
        return list(csv.DictReader(f))


def num(v: str) -> float:
    return math.nan if v == 'nan' else float(v)


@pytest.mark.slow
def test_infer_with_ground_truth_writes_masks_overlays_and_csv(
        trained, tmp_path):
    from mmseg_dibe.functional import oii
    images, masks = trained['images'], trained['masks']
    inputs = tmp_path / 'inputs'
    inputs.mkdir()
    for p in images.iterdir():
        (inputs / p.name).write_bytes(p.read_bytes())
    (inputs / 'corrupt.png').write_bytes(b'\x89PNG\r\n\x1a\n garbage')
    (inputs / 'no_gt.png').write_bytes((images / 'img0.png').read_bytes())
    out = tmp_path / 'pred'
    proc = run_tool('tools/infer.py', trained['cfg'], trained['ckpt'],
                    inputs, '--out', out, '--gt-dir', masks, '--gt-suffix',
                    '_mask', '--device', 'cpu', '--batch-size', '2')
    assert 'corrupt.png' in proc.stderr  # named, skipped, run went on
    assert 'no_gt.png' in proc.stderr and 'not scored' in proc.stderr
    names = sorted(p.stem for p in images.iterdir())
    assert sorted(p.stem for p in (out / 'masks').iterdir()) == sorted(
        names + ['no_gt'])
    assert not (out / 'errors' / 'no_gt.png').exists()
    rows = read_csv(out / 'metrics.csv')
    assert [r['image'] for r in rows[:-1]] == names
    assert rows[-1]['image'] == 'TOTAL'
    totals = dict(TP=0, FP=0, FN=0)
    for r in rows[:-1]:
        name = r['image']
        img = np.asarray(Image.open(images / f'{name}.png'))
        pred = np.asarray(Image.open(out / 'masks' / f'{name}.png'))
        vis = np.asarray(Image.open(out / 'masks_vis' / f'{name}.png'))
        assert pred.shape == img.shape[:2]  # any size, at its own size
        assert set(np.unique(pred).tolist()) <= {0, 1}
        np.testing.assert_array_equal(vis, pred * 255)
        assert (out / 'overlays' / f'{name}.png').is_file()
        assert (out / 'errors' / f'{name}.png').is_file()
        gt = np.asarray(Image.open(masks / f'{name}_mask.png')) >= 128
        p = pred.astype(bool)
        tp, fp, fn = int((p & gt).sum()), int((p & ~gt).sum()), \
            int((~p & gt).sum())
        assert (int(r['TP']), int(r['FP']), int(r['FN'])) == (tp, fp, fn)
        want_oii = oii(tp, fp, fn)
        assert num(r['OII']) == pytest.approx(want_oii, abs=1e-6, nan_ok=True)
        iou = tp / (tp + fp + fn) if tp + fp + fn else math.nan
        assert num(r['IoU']) == pytest.approx(iou, abs=1e-6, nan_ok=True)
        for k, v in ((('TP', tp), ('FP', fp), ('FN', fn))):
            totals[k] += v
    total = rows[-1]
    assert {k: int(total[k]) for k in totals} == totals
    t = totals
    assert num(total['OII']) == pytest.approx(
        oii(t['TP'], t['FP'], t['FN']), abs=1e-6, nan_ok=True)
    assert 'image(s) scored' in proc.stdout

    # the converted 0/1 val masks score the val images identically
    val = trained['data'] / 'img_dir' / 'val'
    out2 = tmp_path / 'pred_val'
    run_tool('tools/infer.py', trained['cfg'], trained['ckpt'],
             str(val / '*.png'), '--out', out2, '--gt-dir',
             trained['data'] / 'ann_dir' / 'val', '--device', 'cpu')
    by_name = {r['image']: r for r in rows}
    val_rows = read_csv(out2 / 'metrics.csv')[:-1]
    assert val_rows
    for r in val_rows:
        # another batch composition: allow float noise at the threshold
        for k in ('TP', 'FP', 'FN'):
            assert abs(int(r[k]) - int(by_name[r['image']][k])) <= 3, r


@pytest.mark.slow
def test_threshold_sets_the_binary_head(trained, tmp_path):
    from mmseg_dibe.inference import build_model
    model = build_model(trained['cfg'], str(trained['ckpt']), 'cpu',
                        threshold=0.9)
    assert model.decode_head.threshold == 0.9
    fg = {}
    for t in ('0.05', '0.95'):
        out = tmp_path / t
        run_tool('tools/infer.py', trained['cfg'], trained['ckpt'],
                 trained['images'], '--out', out, '--threshold', t,
                 '--device', 'cpu')
        fg[t] = sum(int(np.asarray(Image.open(p)).sum())
                    for p in (out / 'masks').iterdir())
    assert fg['0.05'] >= fg['0.95']
    # sliding-window inference from the command line, on the odd size too
    out = tmp_path / 'slide'
    run_tool('tools/infer.py', trained['cfg'], trained['ckpt'],
             trained['images'], '--out', out, '--device', 'cpu',
             '--cfg-options', 'model.test_cfg.mode=slide',
             'model.test_cfg.crop_size=(32,32)',
             'model.test_cfg.stride=(24,24)')
    for p in trained['images'].iterdir():
        pred = np.asarray(Image.open(out / 'masks' / p.name))
        assert pred.shape == np.asarray(Image.open(p)).shape[:2]
    proc = run_tool('tools/infer.py', trained['cfg'], trained['ckpt'],
                    trained['images'], '--out', tmp_path / 'bad',
                    '--threshold', '1.5', check=False)
    assert proc.returncode == 2 and 'threshold' in proc.stderr


# What mmseg 1.x's demo/image_demo.py does, step for step, for installs
# whose mmseg wheel does not ship demo/ (mmseg 1.2.2 ships only configs/ and
# tools/ under .mim).
IMAGE_DEMO_STEPS = """
import sys
from mmengine.model import revert_sync_batchnorm
from mmseg.apis import inference_model, init_model, show_result_pyplot
img, config, checkpoint, out_file = sys.argv[1:]
model = init_model(config, checkpoint, device='cpu')
model = revert_sync_batchnorm(model)
result = inference_model(model, img)
show_result_pyplot(model, img, result, title='result', opacity=0.5,
                   with_labels=False, draw_gt=False, show=False,
                   out_file=out_file)
"""


@pytest.mark.slow
def test_mmseg_image_demo_runs_our_config(trained, tmp_path):
    """Our config + checkpoint through mmseg's demo (or its exact API calls:
    init_model, inference_model on a file path, show_result_pyplot)."""
    import os
    import subprocess
    import sys

    import mmseg
    demo = Path(mmseg.__file__).parent / '.mim' / 'demo' / 'image_demo.py'
    img = sorted(trained['images'].iterdir())[0]
    out_file = tmp_path / 'demo.png'
    if demo.is_file():
        cmd = [sys.executable, str(demo), str(img), str(trained['cfg']),
               str(trained['ckpt']), '--device', 'cpu', '--out-file',
               str(out_file)]
    else:
        cmd = [sys.executable, '-c', IMAGE_DEMO_STEPS, str(img),
               str(trained['cfg']), str(trained['ckpt']), str(out_file)]
    proc = subprocess.run(
        cmd, cwd=REPO, capture_output=True, text=True, timeout=600,
        env=dict(os.environ, MMSEG_DIBE_COMPILE='0', MPLBACKEND='Agg'))
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert out_file.is_file()
    assert Image.open(out_file).size == Image.open(img).size


def test_collect_inputs_files_folders_globs(tmp_path):
    from mmseg_dibe.inference import collect_inputs
    (tmp_path / 'a').mkdir()
    (tmp_path / 'b').mkdir()
    for p in ('a/x.png', 'a/y.jpg', 'a/notes.txt', 'b/z.png', 'b/x.png'):
        (tmp_path / p).write_bytes(b'')
    got = collect_inputs([str(tmp_path / 'a'), str(tmp_path / 'b' / 'z*')])
    assert [p.name for p in got] == ['x.png', 'y.jpg', 'z.png']
    with pytest.raises(ValueError, match='same name'):
        collect_inputs([str(tmp_path / 'a'), str(tmp_path / 'b')])
    with pytest.raises(ValueError, match='nothing_here'):
        collect_inputs([str(tmp_path / 'nothing_here*')])


def test_scores_csv_totals_and_edge_cases(tmp_path):
    from mmseg_dibe.inference import score_row, write_csv
    from mmseg_dibe.inference.predict import error_overlay, image_counts
    pred = np.array([[1, 1, 0], [0, 0, 0]], np.uint8)
    gt = np.array([[1, 0, 1], [0, 0, 0]], np.uint8)
    assert image_counts(pred, gt) == (1, 1, 1)
    rows = [score_row('a', 1, 1, 1), score_row('b', 0, 0, 0),
            score_row('c', 4, 0, 2)]
    assert math.isnan(rows[1]['OII']) and math.isnan(rows[1]['IoU'])
    assert rows[2]['OII'] == 1.0  # FP = 0 < FN
    total = write_csv(tmp_path / 'm.csv', rows)
    assert (total['TP'], total['FP'], total['FN']) == (5, 1, 3)
    assert total['IoU'] == pytest.approx(5 / 9)
    lines = (tmp_path / 'm.csv').read_text().splitlines()
    assert lines[0] == 'image,TP,FP,FN,IoU,PA,OII'
    assert lines[2].startswith('b,0,0,0,nan,nan,nan')
    assert lines[-1].startswith('TOTAL,5,1,3,')
    img = np.zeros((2, 3, 3), np.uint8)
    ov = error_overlay(img, pred, gt)
    assert ov[0, 0, 1] > 0 and ov[0, 0, 2] == 0  # TP green
    assert ov[0, 1, 2] > 0 and ov[0, 1, 0] == 0  # FP red (BGR)
    assert ov[0, 2, 0] > 0 and ov[0, 2, 2] == 0  # FN blue
    assert not ov[1].any()


def test_find_gt_by_suffix_and_extension(tmp_path):
    from mmseg_dibe.datasets.folder import SkipFile
    from mmseg_dibe.inference.predict import find_gt
    for n in ('a.jpg', 'a.png', 'b_mask.png'):
        (tmp_path / n).write_bytes(b'')
    with pytest.raises(SkipFile, match='several'):
        find_gt(tmp_path, 'a')
    assert find_gt(tmp_path, 'a', exts=['png']).name == 'a.png'
    assert find_gt(tmp_path, 'b', '_mask').name == 'b_mask.png'
    with pytest.raises(SkipFile, match='no ground truth'):
        find_gt(tmp_path, 'c')
