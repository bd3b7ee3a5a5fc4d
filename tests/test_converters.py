"""The dataset converters on small source trees written here.

Each tree mimics the published layout and holds the awkward cases the
converters must survive: a corrupt file, an unpaired file, a mask that is not
0/1 (graded MTSDD levels, a raw 0/255 label, CFD's labels 3 and 4).
"""
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from utils import SHARED, pairs, read_mask, run_tool, tree_digest

MTSDD = 'tools/dataset_converters/mtsdd.py'
CFD = 'tools/dataset_converters/cfd.py'
THC = 'tools/dataset_converters/thc.py'


# ---------------------------------------------------------------- helpers

def all_masks_binary(out: Path):
    for p in (out / 'ann_dir').rglob('*.png'):
        vals = set(np.unique(read_mask(p)).tolist())
        assert vals <= {0, 1}, f'{p} holds {vals}'


def grey_levels_mask(h, w, rng):
    """A mask with MTSDD-like graded levels; returns (mask, expected 0/1)."""
    m = np.zeros((h, w), np.uint8)
    m[2:6, 2:10] = 255
    m[6, 2:10] = 128   # exactly the threshold -> defect
    m[7, 2:10] = 127   # just below -> background
    m[8, 2:10] = rng.integers(1, 127, 8)  # border noise -> background
    return m, (m >= 128).astype(np.uint8)


# ---------------------------------------------------------------- MTSDD
def make_mtsdd_tree(tmp_path: Path):
    """An MTSDD-like tree; returns (SRC, {name: expected 0/1 mask})."""
    rng = np.random.default_rng(0)
    d = tmp_path / 'MTSDD' / 'MT_Blowhole' / 'Imgs'
    d.mkdir(parents=True)
    expected = {}
    for i in range(10):
        h, w = 24 + i, 40 - i  # sizes vary per image, as published
        img = rng.integers(0, 255, (h, w), dtype=np.uint8)
        Image.fromarray(img, 'L').save(d / f'exp{i}.jpg')
        mask, want = grey_levels_mask(h, w, rng)
        Image.fromarray(mask, 'L').save(d / f'exp{i}.png')
        expected[f'exp{i}'] = want
    (d / 'broken.jpg').write_bytes(b'\xff\xd8 this is not a jpeg')
    Image.fromarray(np.zeros((24, 40), np.uint8), 'L').save(d / 'broken.png')
    Image.fromarray(np.zeros((24, 40), np.uint8), 'L').save(
        d / 'lonely_image.jpg')
    Image.fromarray(np.zeros((24, 40), np.uint8), 'L').save(
        d / 'lonely_mask.png')
    Image.fromarray(np.zeros((24, 40), np.uint8), 'L').save(d / 'wrong.jpg')
    Image.fromarray(np.zeros((20, 40), np.uint8), 'L').save(d / 'wrong.png')
    return tmp_path / 'MTSDD', expected


@pytest.fixture
def mtsdd_src(tmp_path):
    return make_mtsdd_tree(tmp_path)


def test_mtsdd_converts_thresholds_and_reports(mtsdd_src, tmp_path):
    src, expected = mtsdd_src
    before = tree_digest(src)
    out = tmp_path / 'out'
    proc = run_tool(MTSDD, src, out, '--subset', 'blowhole')
    assert tree_digest(src) == before, 'the source tree was modified'
    train, val = pairs(out, 'train'), pairs(out, 'val')
    assert sorted(train + val) == sorted(expected)
    # The split is drawn over the 12 paired names (Table 2's share 0.41 ->
    # 5 val) before decoding; 2 of them turn out broken and are dropped.
    assert 3 <= len(val) <= 5 and len(train) + len(val) == 10
    all_masks_binary(out)
    for split, names in (('train', train), ('val', val)):
        for n in names:
            np.testing.assert_array_equal(
                read_mask(out / 'ann_dir' / split / f'{n}.png'), expected[n])
            # images are the published bytes, not re-encoded
            assert (out / 'img_dir' / split / f'{n}.jpg').read_bytes() == (
                src / 'MT_Blowhole' / 'Imgs' / f'{n}.jpg').read_bytes()
    err = proc.stderr
    for name in ('broken.jpg', 'lonely_image.jpg', 'lonely_mask.png',
                 'wrong.png'):
        assert name in err, f'{name} not reported:\n{err}'
    # progress bar and the FG:BG report per split
    assert '12/12' in proc.stdout
    fg = sum(int(m.sum()) for m in expected.values())
    total = sum(m.size for m in expected.values())
    assert f'1:{(total - fg) / fg:.0f}' in proc.stdout
    assert 'train' in proc.stdout and 'val' in proc.stdout
    # A corrupt file removes only itself: repairing it does not move any
    # other image to the other split.
    Image.fromarray(np.zeros((24, 40), np.uint8), 'L').save(
        src / 'MT_Blowhole' / 'Imgs' / 'broken.jpg')
    out2 = tmp_path / 'out2'
    run_tool(MTSDD, src, out2, '--subset', 'Blowhole')
    assert [n for n in pairs(out2, 'val') if n != 'broken'] == val


def test_mtsdd_split_is_deterministic_and_seeded(mtsdd_src, tmp_path):
    src, _ = mtsdd_src
    run_tool(MTSDD, src, tmp_path / 'a', '--subset', 'Blowhole')
    run_tool(MTSDD, src, tmp_path / 'b', '--subset', 'MT_Blowhole')
    assert pairs(tmp_path / 'a', 'val') == pairs(tmp_path / 'b', 'val')
    vals = {tuple(pairs(tmp_path / 'a', 'val'))}
    for seed in range(1, 6):
        out = tmp_path / f's{seed}'
        run_tool(MTSDD, src, out, '--subset', 'Blowhole', '--seed', seed)
        vals.add(tuple(pairs(out, 'val')))
    assert len(vals) > 1, 'the seed does not change the split'


def test_mtsdd_refuses_non_empty_out_and_overlap(mtsdd_src, tmp_path):
    src, _ = mtsdd_src
    out = tmp_path / 'out'
    out.mkdir()
    (out / 'keep.txt').write_text('mine')
    before = tree_digest(out)
    proc = run_tool(MTSDD, src, out, '--subset', 'Blowhole', check=False)
    assert proc.returncode != 0
    assert '--overwrite' in proc.stderr
    assert tree_digest(out) == before, 'a refused run touched OUT'
    run_tool(MTSDD, src, out, '--subset', 'Blowhole', '--overwrite')
    assert (out / 'keep.txt').read_text() == 'mine'
    assert len(pairs(out, 'train')) + len(pairs(out, 'val')) == 10
    # OUT inside SRC would write into the source: refused.
    src_before = tree_digest(src)
    proc = run_tool(MTSDD, src, src / 'converted', '--subset', 'Blowhole',
                    check=False)
    assert proc.returncode != 0 and 'overlap' in proc.stderr
    assert tree_digest(src) == src_before
    proc = run_tool(MTSDD, src, tmp_path / 'x', '--subset', 'Dust',
                    check=False)
    assert proc.returncode != 0 and 'Dust' in proc.stderr


@pytest.mark.skipif(not (SHARED / 'data' / 'MTSDD').is_dir(),
                    reason='the published MTSDD data is not beside the checkout')
def test_mtsdd_real_free_subset_is_all_background(tmp_path):
    out = tmp_path / 'free'
    src = SHARED / 'data' / 'MTSDD'
    # MT_Free is the largest subset (952 pairs): fine on 2 cores (~10 s).
    proc = run_tool(MTSDD, src, out, '--subset', 'Free')
    assert 'no foreground pixel' in proc.stdout
    n = len(pairs(out, 'train')) + len(pairs(out, 'val'))
    assert n == len(list((src / 'MT_Free' / 'Imgs').glob('*.jpg')))


# ---------------------------------------------------------------- CFD
def write_cfd_mat(path: Path, seg: np.ndarray):
    from scipy.io import savemat
    gt = np.empty((1, 1), dtype=[('Segmentation', 'O'), ('Boundaries', 'O')])
    gt[0, 0] = (seg.astype(np.uint8), (seg == 2).astype(np.uint8))
    savemat(str(path), {'groundTruth': gt})


def make_cfd_tree(tmp_path: Path):
    """A CrackForest-like tree; returns (SRC, {stem: Segmentation})."""
    rng = np.random.default_rng(1)
    root = tmp_path / 'CrackForest'
    (root / 'image').mkdir(parents=True)
    (root / 'groundTruth').mkdir()
    segs = {}
    for k in range(1, 8):
        # 32x48 stands in for 320x480: a 2x3 grid of 16x16 tiles.
        img = rng.integers(0, 255, (32, 48, 3), dtype=np.uint8)
        Image.fromarray(img, 'RGB').save(root / 'image' / f'{k:03d}.jpg')
        seg = np.ones((32, 48), np.uint8)
        seg[3:5, :] = 2       # crack
        seg[10:14, 20:30] = 3  # background enclosed by cracks
        seg[20:22, 5:9] = 4   # detached crack piece
        write_cfd_mat(root / 'groundTruth' / f'{k:03d}.mat', seg)
        segs[f'{k:03d}'] = seg
    # published: images without ground truth are simply not used
    Image.fromarray(np.zeros((32, 48, 3), np.uint8)).save(
        root / 'image' / '100.jpg')
    # a ground truth without image, and a corrupt one
    write_cfd_mat(root / 'groundTruth' / '200.mat', np.ones((32, 48)))
    Image.fromarray(np.zeros((32, 48, 3), np.uint8)).save(
        root / 'image' / '300.jpg')
    (root / 'groundTruth' / '300.mat').write_bytes(b'MATLAB garbage')
    return root, segs


@pytest.fixture
def cfd_src(tmp_path):
    return make_cfd_tree(tmp_path)


def test_cfd_tiles_labels_and_split(cfd_src, tmp_path):
    src, segs = cfd_src
    before = tree_digest(src)
    out = tmp_path / 'cfd'
    proc = run_tool(CFD, src, out, '--crop', 16)
    assert tree_digest(src) == before
    train, val = pairs(out, 'train'), pairs(out, 'val')
    # 7 good images x 6 tiles; val: round(8 * 58 / 118) = 4 of the 8 paired
    # names (the corrupt 300 among them or not).
    assert len(train) + len(val) == 42 and len(val) in (18, 24)
    # the tiles of one source image never straddle the splits
    assert not ({n.split('_')[0] for n in train}
                & {n.split('_')[0] for n in val})
    all_masks_binary(out)
    for split, names in (('train', train), ('val', val)):
        for n in names:
            stem, i = n.split('_')
            y, x = divmod(int(i), 3)
            want = np.isin(segs[stem], (2, 4))[16 * y:16 * y + 16,
                                               16 * x:16 * x + 16]
            np.testing.assert_array_equal(
                read_mask(out / 'ann_dir' / split / f'{n}.png'), want)
            src_img = np.asarray(
                Image.open(src / 'image' / f'{stem}.jpg').convert('RGB'))
            np.testing.assert_array_equal(
                np.asarray(Image.open(out / 'img_dir' / split / f'{n}.png')),
                src_img[16 * y:16 * y + 16, 16 * x:16 * x + 16])
    assert '300.mat' in proc.stderr and '200.mat' in proc.stderr
    assert '100' in proc.stderr  # image without ground truth, named
    assert '42/42' not in proc.stdout  # the bar counts images, not tiles
    assert '8/8' in proc.stdout


def test_cfd_crack_labels_option_and_whole_images(cfd_src, tmp_path):
    src, segs = cfd_src
    out = tmp_path / 'cfd2'
    run_tool(CFD, src, out, '--crop', 0, '--crack-labels', 2)
    names = pairs(out, 'train') + pairs(out, 'val')
    assert sorted(names) == sorted(segs)
    for split in ('train', 'val'):
        for n in pairs(out, split):
            np.testing.assert_array_equal(
                read_mask(out / 'ann_dir' / split / f'{n}.png'),
                segs[n] == 2)
    proc = run_tool(CFD, src, tmp_path / 'bad', '--crack-labels', 7,
                    check=False)
    assert proc.returncode != 0 and 'crack-labels' in proc.stderr


def test_cfd_refuses_non_empty_out(cfd_src, tmp_path):
    src, _ = cfd_src
    out = tmp_path / 'out'
    out.mkdir()
    (out / 'x').write_text('x')
    proc = run_tool(CFD, src, out, check=False)
    assert proc.returncode != 0 and sorted(out.iterdir()) == [out / 'x']


# ---------------------------------------------------------------- THC
def make_thc_tree(tmp_path: Path):
    """A THC112-like tree; returns (SRC, {name: expected 0/1 mask})."""
    rng = np.random.default_rng(2)
    root = tmp_path / 'DIBE' / 'THC112'
    dirs = {k: root / f'{k}_112' for k in (
        'train_dataset', 'train_label', 'val_dataset', 'val_label')}
    for d in dirs.values():
        d.mkdir(parents=True)
    labels = {}

    def pair(split, name, label):
        img = rng.integers(0, 255, label.shape[:2] + (3, ), dtype=np.uint8)
        Image.fromarray(img).save(dirs[f'{split}_dataset'] / f'{name}.png')
        Image.fromarray(label).save(dirs[f'{split}_label'] / f'{name}.png')
        grey = label.max(axis=2) if label.ndim == 3 else label
        labels[name] = (grey > 0).astype(np.uint8)

    raw = np.zeros((16, 16), np.uint8)
    raw[4:6, :] = 255  # a raw 0/255 label
    for n in ('1_filp', '2_Contrast', '3_Brightness', '4_Saturation', '5'):
        pair('train', n, raw)
    one = np.zeros((16, 16), np.uint8)
    one[8, 3:9] = 1  # already 0/1: kept as is
    pair('val', 'img_0', one)
    pair('val', 'img_1', raw)
    red = np.zeros((16, 16, 3), np.uint8)
    red[10:12, 2:14, 0] = 255  # a red colour annotation (luminance 76)
    pair('val', 'img_3', red)
    # the public copy is partial: an image without label
    Image.fromarray(np.zeros((16, 16, 3), np.uint8)).save(
        dirs['val_dataset'] / 'img_2.png')
    # and a corrupt image with its label
    (dirs['train_dataset'] / '6_filp.png').write_bytes(b'\x89PNG broken')
    Image.fromarray(raw).save(dirs['train_label'] / '6_filp.png')
    return tmp_path / 'DIBE', labels


@pytest.fixture
def thc_src(tmp_path):
    return make_thc_tree(tmp_path)


def test_thc_keeps_published_split_and_binarises(thc_src, tmp_path):
    src, labels = thc_src
    before = tree_digest(src)
    out = tmp_path / 'thc112'
    proc = run_tool(THC, src, out, '--size', 112)
    assert tree_digest(src) == before
    assert pairs(out, 'train') == sorted(
        ['1_filp', '2_Contrast', '3_Brightness', '4_Saturation', '5'])
    assert pairs(out, 'val') == ['img_0', 'img_1', 'img_3']
    all_masks_binary(out)
    for split in ('train', 'val'):
        for n in pairs(out, split):
            np.testing.assert_array_equal(
                read_mask(out / 'ann_dir' / split / f'{n}.png'), labels[n])
    assert 'img_2.png' in proc.stderr and '6_filp.png' in proc.stderr
    # the THC folder itself is accepted as SRC too, and augmented copies
    # can be left out
    out2 = tmp_path / 'thc112b'
    run_tool(THC, src / 'THC112', out2, '--size', 112, '--skip-augmented')
    assert pairs(out2, 'train') == ['5']
    proc = run_tool(THC, src, tmp_path / 'nope', '--size', 448, check=False)
    assert proc.returncode != 0 and 'THC448' in proc.stderr


# ---------------------------------------------------------------- Table 2
def test_dataset_stats_table2(mtsdd_src, tmp_path):
    src, expected = mtsdd_src
    out = tmp_path / 'mt'
    run_tool(MTSDD, src, out, '--subset', 'Blowhole')
    proc = run_tool('tools/analysis/dataset_stats.py', out, '--json',
                    tmp_path / 'stats.json')
    import json
    stats = json.loads((tmp_path / 'stats.json').read_text())
    fg = sum(int(m.sum()) for m in expected.values())
    px = sum(m.size for m in expected.values())
    assert stats['total'] == dict(pairs=10, fg=fg, bg=px - fg, empty=0)
    assert stats['train']['pairs'] + stats['val']['pairs'] == 10
    # 1:24 here: a low imbalance (< 1:100) -> lambda 0.5
    assert (px - fg) / fg < 100
    assert stats['level'] == 'low' and stats['suggested_lambda'] == 0.5
    assert stats['suggested_crop_size'] == 64  # sides 24-33 px: the floor
    assert 'suggested crop size: 64x64' in proc.stdout
    assert f'1:{(px - fg) / fg:.0f}' in proc.stdout and 'low' in proc.stdout
    # a raw 0/255 mask slipped in is named, not counted
    bad = out / 'ann_dir' / 'train' / (pairs(out, 'train')[0] + '.png')
    Image.fromarray(read_mask(bad) * 255).save(bad)
    proc = run_tool('tools/analysis/dataset_stats.py', out)
    assert bad.name in proc.stderr and '255' in proc.stderr


def test_imbalance_levels_match_table2():
    from utils import load_script
    mod = load_script('tools/analysis/dataset_stats.py')
    # the paper's Table 2: (BG per FG pixel, level)
    for ratio, level in ((2228, 'extreme'), (584, 'high'), (333, 'high'),
                         (191, 'medium'), (113, 'medium'), (25, 'low')):
        assert mod.imbalance_level(1000, 1000 * ratio)[0] == level, ratio
    assert mod.imbalance_level(0, 10) == ('no foreground', None)
    # crop: median shorter side, down to a multiple of 32, within [64, 512]
    assert mod.suggest_crop_size([200, 216, 300]) == 192
    assert mod.suggest_crop_size([40, 50]) == 64
    assert mod.suggest_crop_size([1000, 2000]) == 512
    assert mod.suggest_crop_size([]) is None
