"""THCDataset, MTSDDDataset and CFDDataset read what the converters write,
through the pipelines of the dataset config bases."""
import numpy as np
import pytest
from PIL import Image

from test_converters import (CFD, MTSDD, THC, make_cfd_tree, make_mtsdd_tree,
                             make_thc_tree)
from utils import REPO, run_tool

pytest.importorskip('mmseg')
from mmengine.config import Config  # noqa: E402
from mmengine.registry import init_default_scope  # noqa: E402
from mmseg.registry import DATASETS  # noqa: E402

import mmseg_dibe  # noqa: E402,F401  (registers the datasets)

BASES = REPO / 'configs' / '_base_' / 'datasets'


@pytest.fixture(scope='module')
def converted(tmp_path_factory):
    """Converter output for the three sources, written once."""
    tmp = tmp_path_factory.mktemp('converted')
    out = {}
    src, _ = make_mtsdd_tree(tmp / 'mtsdd_src')
    run_tool(MTSDD, src, tmp / 'mt', '--subset', 'Blowhole')
    out['mt'] = tmp / 'mt'
    src, _ = make_cfd_tree(tmp / 'cfd_src')
    run_tool(CFD, src, tmp / 'cfd', '--crop', 16)
    out['cfd'] = tmp / 'cfd'
    src, _ = make_thc_tree(tmp / 'thc_src')
    run_tool(THC, src, tmp / 'thc', '--size', 112)
    out['thc'] = tmp / 'thc'
    return out


def build_split(base: str, data_root, split: str):
    init_default_scope('mmseg')
    cfg = Config.fromfile(BASES / f'{base}.py')
    loader = cfg[f'{split}_dataloader']
    ds_cfg = dict(loader['dataset'], data_root=str(data_root))
    return DATASETS.build(ds_cfg)


def count(root, split):
    return len(list((root / 'img_dir' / split).iterdir()))


@pytest.mark.parametrize('base,key,cls,classes', [
    ('thc448', 'thc', 'THCDataset', ('background', 'crack')),
    ('thc112', 'thc', 'THCDataset', ('background', 'crack')),
    ('mt_blowhole', 'mt', 'MTSDDDataset', ('background', 'blowhole')),
    ('mt_crack', 'mt', 'MTSDDDataset', ('background', 'crack')),
    ('cfd', 'cfd', 'CFDDataset', ('background', 'crack')),
])
def test_dataset_reads_converter_output(converted, base, key, cls, classes):
    root = converted[key]
    for split in ('train', 'val'):
        ds = build_split(base, root, split)
        assert type(ds).__name__ == cls
        assert tuple(ds.metainfo['classes']) == classes
        assert ds.metainfo['label_map'] is None
        assert len(ds) == count(root, split) > 0
        for i in range(min(len(ds), 3)):
            item = ds[i]
            img = item['inputs']
            gt = item['data_samples'].gt_sem_seg.data
            assert img.ndim == 3 and img.shape[0] == 3
            assert gt.shape[-2:] == img.shape[-2:]
            # 0/1 masks arrive as 0/1 (never 255 = ignore)
            assert set(gt.unique().tolist()) <= {0, 1}
        # masks on disk hold defect pixels somewhere: the loader sees them
        seen = sum(int(ds[i]['data_samples'].gt_sem_seg.data.sum())
                   for i in range(len(ds)))
        ann = sum(int(np.asarray(Image.open(p)).sum())
                  for p in (root / 'ann_dir' / split).glob('*.png'))
        if split == 'val':  # val pipelines neither crop nor flip
            assert seen == ann


def test_raw_0_255_mask_fails_naming_file_and_values(converted, tmp_path):
    import shutil
    root = tmp_path / 'cfd'
    shutil.copytree(converted['cfd'], root)
    bad = sorted((root / 'ann_dir' / 'val').glob('*.png'))[0]
    m = np.asarray(Image.open(bad)).copy()
    m[0, 0] = 1
    Image.fromarray((m * 255).astype(np.uint8)).save(bad)
    ds = build_split('cfd', root, 'val')
    idx = [i for i in range(len(ds))
           if ds.get_data_info(i)['seg_map_path'] == str(bad)][0]
    with pytest.raises(ValueError) as err:
        ds[idx]
    assert bad.name in str(err.value) and '255' in str(err.value)


def test_mtsdd_subset_names_and_errors(converted):
    root = converted['mt']
    init_default_scope('mmseg')
    common = dict(data_root=str(root), data_prefix=dict(
        img_path='img_dir/val', seg_map_path='ann_dir/val'), pipeline=[])
    ds = DATASETS.build(dict(type='MTSDDDataset', subset='MT_Uneven',
                             **common))
    assert ds.metainfo['classes'] == ('background', 'uneven')
    assert ds.metainfo['subset'] == 'Uneven'
    ds = DATASETS.build(dict(type='MTSDDDataset', **common))
    assert ds.metainfo['classes'] == ('background', 'defect')
    with pytest.raises(ValueError, match='Dust'):
        DATASETS.build(dict(type='MTSDDDataset', subset='Dust', **common))
    # reduce_zero_label would turn the background into ignored pixels
    with pytest.raises(ValueError, match='reduce_zero_label'):
        DATASETS.build(dict(type='THCDataset', reduce_zero_label=True,
                            **common))
