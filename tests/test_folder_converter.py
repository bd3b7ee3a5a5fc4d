"""tools/dataset_converters/folder.py: a user's own images and masks.

The source trees are written here and hold what real folders hold: 0/255
masks with anti-aliased edges, a palette mask, a colour annotation, a corrupt
image, a mask without an image and an image without a mask.
"""
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from utils import pairs, read_mask, run_tool, tree_digest

FOLDER = 'tools/dataset_converters/folder.py'


def aa_mask(h, w, rng):
    """0/255 mask with anti-aliased grey edges; returns (mask, expected)."""
    m = np.zeros((h, w), np.uint8)
    m[4:9, 3:w - 2] = 255
    m[9, 3:w - 2] = 128        # exactly the threshold -> defect
    m[3, 3:w - 2] = 127        # just below -> background
    m[10, 3:w - 2] = rng.integers(1, 127, w - 5)  # anti-aliased edge
    return m, (m >= 128).astype(np.uint8)


def make_tree(root: Path, n: int = 6):
    """IMAGES/ and MASKS/ (``<name>_mask.png``); returns expected masks."""
    rng = np.random.default_rng(0)
    images, masks = root / 'images', root / 'masks'
    images.mkdir(parents=True)
    masks.mkdir(parents=True)
    expected = {}
    for i in range(n):
        h, w = 24 + 2 * i, 30 + i
        img = rng.integers(0, 255, (h, w, 3), dtype=np.uint8)
        ext = '.jpg' if i % 2 else '.png'
        Image.fromarray(img).save(images / f'part{i}{ext}')
        m, want = aa_mask(h, w, rng)
        Image.fromarray(m).save(masks / f'part{i}_mask.png')
        expected[f'part{i}'] = want
    (images / 'broken.png').write_bytes(b'\x89PNG\r\n\x1a\n not a png')
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(masks /
                                                     'broken_mask.png')
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(masks /
                                                     'lonely_mask.png')
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(images /
                                                        'nomask.png')
    return images, masks, expected


@pytest.fixture
def tree(tmp_path):
    return make_tree(tmp_path / 'src')


def test_converts_0_255_masks_names_bad_files_and_reports(tree, tmp_path):
    images, masks, expected = tree
    before = tree_digest(tmp_path / 'src')
    out = tmp_path / 'out'
    proc = run_tool(FOLDER, images, masks, out, '--mask-suffix', '_mask',
                    '--val-ratio', '0.34', '--seed', '1')
    # the corrupt image, the lonely mask and the image without mask are
    # named; the run went on
    assert 'broken.png' in proc.stderr and 'cannot decode' in proc.stderr
    assert 'lonely_mask.png' in proc.stderr
    assert 'nomask.png' in proc.stderr
    assert '3 file(s) skipped' in proc.stdout
    train, val = pairs(out, 'train'), pairs(out, 'val')
    assert sorted(train + val) == sorted(expected)
    assert len(val) == 2  # round(6 * 0.34)
    fg = {s: 0 for s in ('train', 'val')}
    bg = dict(fg)
    for split, names in (('train', train), ('val', val)):
        for name in names:
            m = read_mask(out / 'ann_dir' / split / f'{name}.png')
            assert m.dtype == np.uint8
            np.testing.assert_array_equal(m, expected[name])
            img = read_mask(out / 'img_dir' / split / f'{name}.png')
            assert img.shape[:2] == m.shape
            fg[split] += int(m.sum())
            bg[split] += m.size - int(m.sum())
    for split in ('train', 'val'):
        line = next(ln for ln in proc.stdout.splitlines()
                    if ln.startswith(split))
        assert f'1:{bg[split] / fg[split]:.0f}' in line, line
    assert tree_digest(tmp_path / 'src') == before  # source untouched


def test_split_is_deterministic_and_seeded(tree, tmp_path):
    images, masks, _ = tree
    runs = {}
    for name, seed in (('a', 3), ('b', 3), ('c', 4), ('d', 5)):
        out = tmp_path / name
        run_tool(FOLDER, images, masks, out, '--mask-suffix', '_mask',
                 '--val-ratio', '0.5', '--seed', seed)
        runs[name] = pairs(out, 'val')
    assert runs['a'] == runs['b']
    assert len({tuple(v) for v in runs.values()}) > 1


def test_refuses_non_empty_out_and_overlap(tree, tmp_path):
    images, masks, _ = tree
    out = tmp_path / 'out'
    out.mkdir()
    (out / 'notes.txt').write_text('keep me')
    proc = run_tool(FOLDER, images, masks, out, '--mask-suffix', '_mask',
                    check=False)
    assert proc.returncode == 2 and '--overwrite' in proc.stderr
    assert sorted(p.name for p in out.iterdir()) == ['notes.txt']
    run_tool(FOLDER, images, masks, out, '--mask-suffix', '_mask',
             '--overwrite')
    assert (out / 'notes.txt').read_text() == 'keep me'
    assert pairs(out, 'train')
    proc = run_tool(FOLDER, images, masks, images / 'out', '--mask-suffix',
                    '_mask', check=False)
    assert proc.returncode == 2 and 'overlap' in proc.stderr
    assert not (images / 'out').exists()


def test_keeps_existing_train_val_split_and_same_folder(tmp_path):
    rng = np.random.default_rng(1)
    src = tmp_path / 'data'
    for split, names in (('train', ['a', 'b', 'c']), ('val', ['d'])):
        (src / split).mkdir(parents=True)
        for n in names:
            Image.fromarray(rng.integers(0, 255, (16, 16), np.uint8)).save(
                src / split / f'{n}.png')
            m = np.zeros((16, 16), np.uint8)
            m[2:5, 2:5] = 1  # already 0/1: taken as is
            Image.fromarray(m).save(src / split / f'{n}_label.png')
    out = tmp_path / 'out'
    run_tool(FOLDER, src, src, out, '--mask-suffix', '_label')
    assert pairs(out, 'train') == ['a', 'b', 'c']
    assert pairs(out, 'val') == ['d']
    assert read_mask(out / 'ann_dir' / 'val' / 'd.png').sum() == 9
    proc = run_tool(FOLDER, src, src, tmp_path / 'o2', check=False)
    assert proc.returncode == 2 and '--mask-suffix' in proc.stderr


def test_palette_colour_and_value_rules(tmp_path):
    images, masks = tmp_path / 'i', tmp_path / 'm'
    images.mkdir()
    masks.mkdir()
    for n in ('p', 'q'):
        Image.fromarray(np.zeros((10, 12, 3), np.uint8)).save(
            images / f'{n}.png')
    # palette mask: index 0 black, 1 dark blue (dim), 2 red
    idx = np.zeros((10, 12), np.uint8)
    idx[1:3, :] = 1
    idx[5:6, :] = 2
    pal = Image.fromarray(idx, mode='P')
    pal.putpalette([0, 0, 0, 0, 0, 90, 255, 0, 0] + [0] * (256 * 3 - 9))
    pal.save(masks / 'p.png')
    # colour annotation: red defect, green other class
    rgb = np.zeros((10, 12, 3), np.uint8)
    rgb[0:2, :] = (255, 0, 0)
    rgb[8:10, :] = (0, 255, 0)
    Image.fromarray(rgb).save(masks / 'q.png')

    out = tmp_path / 'value'
    run_tool(FOLDER, images, masks, out, '--foreground-value', '1', '2',
             '--val-ratio', '0.5')
    got = {p.stem: read_mask(p) for p in (out / 'ann_dir').rglob('*.png')}
    assert got['p'].sum() == 36  # indices 1 and 2 (3 rows x 12)
    out = tmp_path / 'colour'
    run_tool(FOLDER, images, masks, out, '--foreground-color', '255,0,0',
             '--val-ratio', '0.5')
    got = {p.stem: read_mask(p) for p in (out / 'ann_dir').rglob('*.png')}
    assert got['q'].sum() == 24 and got['q'][8:].sum() == 0
    assert got['p'].sum() == 12  # palette index 2 is red
    # default: brightest channel >= 128; dim blue index 1 is background
    out = tmp_path / 'default'
    run_tool(FOLDER, images, masks, out, '--val-ratio', '0.5')
    got = {p.stem: read_mask(p) for p in (out / 'ann_dir').rglob('*.png')}
    assert got['p'].sum() == 12 and got['q'].sum() == 48
    proc = run_tool(FOLDER, images, masks, tmp_path / 'x',
                    '--foreground-color', 'reddish', check=False)
    assert proc.returncode == 2 and 'reddish' in proc.stderr


def test_mask_with_nothing_above_threshold_is_named(tmp_path):
    images, masks = tmp_path / 'i', tmp_path / 'm'
    images.mkdir()
    masks.mkdir()
    for n in ('dim', 'ok'):
        Image.fromarray(np.zeros((8, 8), np.uint8)).save(images / f'{n}.png')
    m = np.zeros((8, 8), np.uint8)
    m[2:4, 2:4] = 38  # labelled with a low grey level
    Image.fromarray(m).save(masks / 'dim.png')
    m[2:4, 2:4] = 255
    Image.fromarray(m).save(masks / 'ok.png')
    out = tmp_path / 'out'
    proc = run_tool(FOLDER, images, masks, out, '--val-ratio', '0.5')
    assert 'dim.png' in proc.stderr and '--mask-threshold' in proc.stderr
    assert '38' in proc.stderr
    assert [p.stem for p in (out / 'ann_dir').rglob('*.png')] == ['ok']
    # the hint works: that value is the foreground
    out = tmp_path / 'out2'
    run_tool(FOLDER, images, masks, out, '--foreground-value', '38',
             '255', '--val-ratio', '0.5')
    got = {p.stem: read_mask(p) for p in (out / 'ann_dir').rglob('*.png')}
    assert got['dim'].sum() == 4 and got['ok'].sum() == 4


def test_tiles_cover_every_pixel_and_stay_in_one_split(tmp_path):
    images, masks = tmp_path / 'i', tmp_path / 'm'
    images.mkdir()
    masks.mkdir()
    rng = np.random.default_rng(2)
    want = {}
    for n in ('big', 'big2', 'small'):
        h, w = (50, 70) if n != 'small' else (20, 20)
        Image.fromarray(rng.integers(0, 255, (h, w, 3), np.uint8)).save(
            images / f'{n}.png')
        m = (rng.random((h, w)) > 0.9).astype(np.uint8) * 255
        Image.fromarray(m).save(masks / f'{n}.png')
        want[n] = m // 255
    out = tmp_path / 'out'
    run_tool(FOLDER, images, masks, out, '--tile', '32', '--val-ratio',
             '0.34', '--seed', '0')
    for n, m in want.items():
        tiles = list((out / 'ann_dir').rglob(f'{n}_*.png'))
        assert len({p.parent.name for p in tiles}) == 1  # one split
        cover = np.zeros_like(m)
        for p in tiles:
            _, y, x = p.stem.rsplit('_', 2)
            t = read_mask(p)
            y, x = int(y), int(x)
            assert t.shape == (min(32, m.shape[0]), min(32, m.shape[1]))
            np.testing.assert_array_equal(
                t, m[y:y + t.shape[0], x:x + t.shape[1]])
            cover[y:y + t.shape[0], x:x + t.shape[1]] = 1
        assert cover.all(), n
    assert len(list((out / 'ann_dir').rglob('big_*.png'))) == 6  # 2 x 3


def test_tile_boxes_and_parse_color():
    from mmseg_dibe.datasets.folder import parse_color, tile_boxes
    assert tile_boxes(64, 64, 32) == [(0, 0, 32, 32), (0, 32, 32, 32),
                                      (32, 0, 32, 32), (32, 32, 32, 32)]
    assert tile_boxes(40, 20, 32) == [(0, 0, 32, 20), (8, 0, 32, 20)]
    assert tile_boxes(10, 12, 0) == [(0, 0, 10, 12)]
    assert parse_color('#ff8000') == (255, 128, 0)
    assert parse_color('1 2 3') == (1, 2, 3)
    with pytest.raises(ValueError, match='256'):
        parse_color('256,0,0')


def test_converted_0_255_folder_trains_loader_check(tmp_path):
    """The converter's output passes the training loader's 0/1 check, and
    the same 0/255 masks copied as is into mmseg layout are refused by
    name (what the converter is for)."""
    from mmengine.registry import init_default_scope
    from mmseg.registry import DATASETS

    import mmseg_dibe  # noqa: F401
    init_default_scope('mmseg')
    images, masks, expected = make_tree(tmp_path / 'src', n=3)
    out = tmp_path / 'out'
    run_tool(FOLDER, images, masks, out, '--mask-suffix', '_mask')
    pipeline = [dict(type='LoadImageFromFile'), dict(type='LoadAnnotations'),
                dict(type='PackSegInputs')]
    ds = DATASETS.build(dict(type='BinarySegDataset', data_root=str(out),
                          data_prefix=dict(img_path='img_dir/train',
                                           seg_map_path='ann_dir/train'),
                          pipeline=pipeline))
    sample = ds[0]
    assert set(np.unique(sample['data_samples'].gt_sem_seg.data.numpy())
               ) <= {0, 1}
    raw = tmp_path / 'raw'
    for sub in ('img_dir/train', 'ann_dir/train'):
        (raw / sub).mkdir(parents=True)
    name = sorted(expected)[0]
    src_img = next(images.glob(f'{name}.*'))
    Image.open(src_img).save(raw / 'img_dir/train' / f'{name}.png')
    (raw / 'ann_dir/train' / f'{name}.png').write_bytes(
        (masks / f'{name}_mask.png').read_bytes())
    ds = DATASETS.build(dict(type='BinarySegDataset', data_root=str(raw),
                          data_prefix=dict(img_path='img_dir/train',
                                           seg_map_path='ann_dir/train'),
                          pipeline=pipeline))
    with pytest.raises(ValueError, match=rf'{name}\.png.*255'):
        ds[0]


def test_same_folder_told_apart_by_extension(tmp_path):
    src = tmp_path / 'Imgs'  # MTSDD's layout: <name>.jpg beside <name>.png
    src.mkdir()
    for n in ('a', 'b'):
        Image.fromarray(np.full((8, 8), 90, np.uint8)).save(src / f'{n}.jpg')
        m = np.zeros((8, 8), np.uint8)
        m[:2] = 255
        Image.fromarray(m).save(src / f'{n}.png')
    out = tmp_path / 'out'
    run_tool(FOLDER, src, src, out, '--img-ext', 'jpg', '--mask-ext', 'png',
             '--val-ratio', '0.5')
    masks = sorted((out / 'ann_dir').rglob('*.png'))
    assert sorted(p.stem for p in masks) == ['a', 'b']
    assert all(read_mask(p).sum() == 16 for p in masks)


@pytest.mark.slow
def test_real_mtsdd_blowhole_matches_the_mtsdd_converter(tmp_path):
    """On the published MTSDD Blowhole folder, folder.py with the same split
    share and seed writes exactly what mtsdd.py writes."""
    from utils import SHARED
    src = SHARED / 'data' / 'MTSDD'
    if not (src / 'MT_Blowhole' / 'Imgs').is_dir():
        pytest.skip('the published MTSDD data is not beside the checkout')
    imgs = src / 'MT_Blowhole' / 'Imgs'
    a, b = tmp_path / 'folder', tmp_path / 'mtsdd'
    proc = run_tool(FOLDER, imgs, imgs, a, '--img-ext', 'jpg', '--mask-ext',
                    'png', '--val-ratio', '0.41', '--seed', '0')
    run_tool('tools/dataset_converters/mtsdd.py', src, b, '--subset',
             'Blowhole')
    for split in ('train', 'val'):
        names = pairs(a, split)
        assert names == pairs(b, split)
        for n in names:
            np.testing.assert_array_equal(
                read_mask(a / 'ann_dir' / split / f'{n}.png'),
                read_mask(b / 'ann_dir' / split / f'{n}.png'))
    assert 'train       68  1:574' in proc.stdout
