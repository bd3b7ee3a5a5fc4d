"""Walk configs/: every config loads, builds its model (offline) and its
dataset pipelines, and the experiment configs carry the paper's setup."""
import ast
import copy
import re

import pytest
import torch

pytest.importorskip('mmseg')
from mmengine.config import Config  # noqa: E402
from mmengine.dataset import Compose  # noqa: E402
from mmengine.model.utils import revert_sync_batchnorm  # noqa: E402
from mmengine.registry import init_default_scope  # noqa: E402
from mmseg.registry import DATASETS, MODELS  # noqa: E402

import mmseg_dibe  # noqa: E402,F401
from mmseg_dibe.losses.catalog import BY_TOKEN  # noqa: E402

from support.resolved_configs import (  # noqa: E402
    cached_mmseg_model_index, load_config)
from utils import REPO  # noqa: E402

CONFIGS = sorted(p for p in (REPO / 'configs').rglob('*.py')
                 if '_base_' not in p.parts)
EXPERIMENTS = sorted((REPO / 'configs' / 'dibe').glob('*_50e_*.py'))
NAME = re.compile(
    r'^(?P<model>segnet_vgg16-bn|unet-s5-d16|pspnet_r50-d8|deeplabv3_r50-d8)'
    r'_(?P<loss>' + '|'.join(map(re.escape, BY_TOKEN)) + r')_50e_'
    r'(?P<data>thc448|thc224|thc112|mt-blowhole|mt-crack|cfd)'
    r'-(?P<crop>\d+)x(?P=crop)\.py$')
DATA_TYPES = dict(thc448='THCDataset', thc224='THCDataset',
                  thc112='THCDataset', **{'mt-blowhole': 'MTSDDDataset',
                                          'mt-crack': 'MTSDDDataset'},
                  cfd='CFDDataset')

MODEL_BASES = {'segnet_vgg16-bn': 'segnet_vgg16-bn.py',
               'unet-s5-d16': 'unet-s5-d16_fcn.py',
               'pspnet_r50-d8': 'pspnet_r50-d8.py',
               'deeplabv3_r50-d8': 'deeplabv3_r50-d8.py'}
LOSS_BASES = sorted((REPO / 'configs' / '_base_' / 'losses').glob('*.py'))


@pytest.fixture(scope='module', autouse=True)
def mmseg_index():
    """``mmseg::`` bases resolved with mmseg's model index read once."""
    with cached_mmseg_model_index():
        yield


def load(path):
    """Config.fromfile, once per file for the whole session."""
    init_default_scope('mmseg')
    return load_config(path)


def heads(model):
    hs = [model.decode_head]
    aux = model.get('auxiliary_head')
    if aux:
        hs += aux if isinstance(aux, list) else [aux]
    return hs


def test_the_paper_grid_is_complete():
    names = {p.name for p in EXPERIMENTS}
    for model in ('segnet_vgg16-bn', 'unet-s5-d16', 'pspnet_r50-d8',
                  'deeplabv3_r50-d8'):
        for data in ('thc448-448x448', 'thc224-224x224', 'thc112-112x112',
                     'mt-blowhole-256x256', 'mt-crack-256x256',
                     'cfd-160x160'):
            for loss in ('ft', 'dibe-reg', 'hf', 'dibe'):
                assert f'{model}_{loss}_50e_{data}.py' in names


def bases_of(path):
    """The ``_base_`` list of a config file, read without resolving it."""
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Assign) and any(
                getattr(t, 'id', None) == '_base_' for t in node.targets):
            value = ast.literal_eval(node.value)
            return value if isinstance(value, list) else [value]
    return []


@pytest.mark.parametrize('path', LOSS_BASES, ids=lambda p: p.stem)
def test_loss_base_is_named_by_its_catalog_token(path):
    info = BY_TOKEN[path.stem]  # KeyError: not a token of the catalog
    cfg = Config.fromfile(path)
    assert set(cfg) == {'loss'}, 'a loss base defines `loss` only'
    assert cfg.loss.type == info.type
    MODELS.build(cfg.loss)


@pytest.mark.parametrize('path', EXPERIMENTS, ids=lambda p: p.stem)
def test_experiment_config_is_its_bases(path):
    """{model}_{loss}_50e_{data}: the model, dataset, loss, schedule and
    runtime bases its name says, in that order; the config itself only sets
    the loss on the heads and the crop size (``model``)."""
    m = NAME.match(path.name)
    assert m, path.name
    names = [t.id for node in ast.parse(path.read_text()).body
             if isinstance(node, ast.Assign) for t in node.targets]
    assert names == ['_base_', 'model']
    assert bases_of(path) == [
        f'../_base_/models/{MODEL_BASES[m["model"]]}',
        f'../_base_/datasets/{m["data"].replace("-", "_")}.py',
        f'../_base_/losses/{m["loss"]}.py',
        '../_base_/schedules/schedule_50e.py',
        '../_base_/epoch_runtime.py',
    ]


@pytest.mark.parametrize('path', EXPERIMENTS, ids=lambda p: p.stem)
def test_experiment_config_follows_the_paper(path):
    m = NAME.match(path.name)
    assert m, f'{path.name} does not follow {{model}}_{{loss}}_50e_' \
        '{dataset}-{crop}.py'
    cfg = load(path)
    assert cfg.custom_imports == dict(imports=['mmseg_dibe'],
                                      allow_failed_imports=False)
    assert cfg.default_scope == 'mmseg'
    # binary heads with the threshold, the named loss, on every head
    for h in heads(cfg.model):
        assert (h.num_classes, h.out_channels, h.threshold) == (2, 1, 0.5)
        assert h.loss_decode.type == BY_TOKEN[m['loss']].type
        assert h.loss_decode == dict(cfg.loss, **({
            'loss_weight': 0.4
        } if h is not cfg.model.decode_head else {}))
        if 'alpha' in h.loss_decode:
            assert h.loss_decode.alpha == 0.3
    # offline: no pretrained download
    assert cfg.model.get('pretrained') is None
    assert 'Pretrained' not in repr(cfg.to_dict())
    # the paper's training setup
    opt = cfg.optim_wrapper.optimizer
    assert (opt.type, opt.lr, opt.momentum) == ('SGD', 0.01, 0.9)
    assert cfg.train_dataloader.batch_size == 16
    assert cfg.train_cfg == dict(type='EpochBasedTrainLoop', max_epochs=50,
                                 val_interval=5)
    assert cfg.val_evaluator.type == 'OIIMetric'
    assert cfg.test_evaluator.type == 'OIIMetric'
    steps = [s.type for s in cfg.train_pipeline]
    assert 'RandomFlip' in steps and 'PhotoMetricDistortion' in steps
    assert cfg.train_dataloader.dataset.type == DATA_TYPES[m['data']]
    assert cfg.crop_size == (int(m['crop']), ) * 2
    assert cfg.model.data_preprocessor.size == cfg.crop_size


@pytest.mark.slow
def test_every_config_builds_its_model_and_pipelines():
    built = set()
    families = {}
    for path in CONFIGS:
        cfg = load(path)
        # configs differing only in the loss share one built model; the
        # losses are built on their own
        m = copy.deepcopy(cfg.model)
        losses = [h.pop('loss_decode') for h in heads(m)]
        key = repr(m)
        if key not in built:
            built.add(key)
            model = MODELS.build(copy.deepcopy(cfg.model))
            family = (cfg.model.backbone.type, cfg.model.decode_head.type)
            if family not in families:  # keep one per family, free others
                families[family] = (path, model)
            del model
        for loss in losses:
            for one in loss if isinstance(loss, list) else [loss]:
                MODELS.build(one)  # validates its hyper-parameters
        for split in ('train', 'val', 'test'):
            loader = cfg.get(f'{split}_dataloader')
            if not loader:
                continue
            ds = DATASETS.build(dict(loader.dataset, lazy_init=True))
            assert isinstance(ds.pipeline, Compose)
            assert len(ds.pipeline.transforms) >= 3
    assert {('SegNetEncoder', 'SegNetHead'), ('UNet', 'FCNHead'),
            ('ResNetV1c', 'PSPHead'), ('ResNetV1c', 'ASPPHead')} <= set(families)
    # a forward per model family at a tiny size (the built, full-width
    # models; 64x64 keeps ResNet-50 quick)
    for name, (path, model) in families.items():
        model = revert_sync_batchnorm(model).eval()
        with torch.no_grad():
            out = model(torch.randn(1, 3, 64, 64), mode='tensor')
        assert out.shape[:2] == (1, 1), (path.name, out.shape)
