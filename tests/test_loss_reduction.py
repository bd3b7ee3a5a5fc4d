"""One name per loss (the catalog), and mmseg's loss contract:
``reduction_override`` / ``avg_factor`` / per-pixel ``weight`` for the
per-pixel losses, a clear error for the region losses, and
``OHEMPixelSampler`` in a decode head and in a short training run."""
import inspect
import json
import math

import pytest
import torch

from mmseg_dibe.functional import fused
from mmseg_dibe.losses import (LOSSES, BaseSegLoss, BinaryDiceLoss,
                               BinaryFocalLoss, BinaryTverskyLoss, ComboLoss,
                               DIBEDisLoss, DIBELoss, DIBERegLoss, ExpLogLoss,
                               FocalTverskyLoss, HybridFocalLoss, WBCELoss)
from utils import run_tool, write_tiny_config

IGNORE = 255
D = torch.float64


@pytest.fixture(autouse=True)
def eager_kernels():
    fused.set_compile(False)
    yield
    fused.set_compile(None)


def _batch(n=2, c=1, h=7, w=9, seed=0, dtype=D):
    gen = torch.Generator().manual_seed(seed)
    logits = (torch.randn(n, c, h, w, generator=gen) * 2.5).to(dtype)
    label = torch.randint(0, max(c, 2), (n, h, w), generator=gen)
    label[0, :2] = IGNORE
    return logits, label


# ----------------------------------------------------------------- catalog
def test_every_registered_loss_is_in_the_catalog():
    from mmseg.registry import MODELS

    import mmseg_dibe  # noqa: F401  (registers)
    ours = {name: cls for name, cls in MODELS.module_dict.items()
            if isinstance(cls, type) and issubclass(cls, BaseSegLoss)}
    assert set(ours) == {t for t, info in LOSSES.items() if info.ours}
    for name, cls in ours.items():
        info = LOSSES[name]
        assert cls().loss_name == info.loss_name == 'loss_' + info.short_name
        assert cls.catalog_info is info
        # The name lives in the table only, never in the class body.
        assert 'short_name' not in inspect.getsource(cls), name
    assert not LOSSES['CrossEntropyLoss'].ours


# ------------------------------------------------------- per-pixel losses
PIXEL_LOSSES = [
    (WBCELoss, dict(lam=0.7)),
    (BinaryFocalLoss, dict(lam=0.3, gamma=2.0)),
    (DIBEDisLoss, dict(alpha=0.4, gamma=1.5)),
    (ComboLoss, dict(theta=1.0)),
    (ExpLogLoss, dict(theta=1.0, gamma_ce=0.5)),
    (HybridFocalLoss, dict(theta=1.0)),
    (DIBELoss, dict(theta=1.0)),
]
REGION_LOSSES = [
    (BinaryDiceLoss, {}), (BinaryTverskyLoss, {}), (FocalTverskyLoss, {}),
    (DIBERegLoss, {}), (ComboLoss, {}), (ExpLogLoss, {}),
    (HybridFocalLoss, {}), (DIBELoss, dict(theta=0.9)),
]
IDS = [f'{c.__name__}-{i}' for i, (c, _) in enumerate(PIXEL_LOSSES)]


@pytest.mark.parametrize('channels', [1, 3])
@pytest.mark.parametrize('cls,kwargs', PIXEL_LOSSES, ids=IDS)
def test_reduction_none_mean_sum_avg_factor_weight(cls, kwargs, channels):
    from mmseg.models.losses.utils import weight_reduce_loss

    logits, label = _batch(c=channels)
    valid = label != IGNORE
    loss = cls(loss_weight=2.0, **kwargs)
    mean = loss(logits, label)  # the fused path for one channel
    per_pixel = loss(logits, label, reduction_override='none')
    assert per_pixel.shape == label.shape
    assert torch.count_nonzero(per_pixel[~valid]) == 0
    torch.testing.assert_close(per_pixel.sum() / valid.sum(), mean)
    torch.testing.assert_close(loss(logits, label, reduction_override='sum'),
                               per_pixel.sum())
    torch.testing.assert_close(
        loss(logits, label, avg_factor=10.0),
        per_pixel.sum() / (10.0 + torch.finfo(torch.float32).eps))
    # reduction at build time, overridden per call.
    summed = cls(loss_weight=2.0, reduction='sum', **kwargs)
    torch.testing.assert_close(summed(logits, label), per_pixel.sum())
    torch.testing.assert_close(
        summed(logits, label, reduction_override='mean'), mean)
    # mmseg's weight semantics (weight_reduce_loss, avg_factor = valid
    # pixels: CrossEntropyLoss(avg_non_ignore=True)).
    gen = torch.Generator().manual_seed(5)
    weight = (torch.rand(label.shape, generator=gen) < 0.5).to(D)
    got = loss(logits, label, weight=weight)
    expected = weight_reduce_loss(per_pixel, weight, 'mean',
                                  avg_factor=valid.sum().item())
    torch.testing.assert_close(got, expected)
    torch.testing.assert_close(
        loss(logits, label, weight=weight, reduction_override='none'),
        per_pixel * weight)
    with pytest.raises(ValueError, match='avg_factor'):
        loss(logits, label, reduction_override='sum', avg_factor=3.0)
    with pytest.raises(ValueError, match='reduction'):
        loss(logits, label, reduction_override='max')
    with pytest.raises(ValueError, match='reduction'):
        cls(reduction='avg', **kwargs)


def test_fused_sum_and_avg_factor_equal_plain_path():
    logits, label = _batch(seed=2, dtype=torch.float32)
    for cls, kwargs in PIXEL_LOSSES:
        for call in (dict(reduction_override='sum'), dict(avg_factor=7.0)):
            values = []
            for use_fused in (True, False):
                x = logits.clone().requires_grad_()
                value = cls(fused=use_fused, **kwargs)(x, label, **call)
                value.backward()
                values.append((value.detach(), x.grad))
            torch.testing.assert_close(values[0][0], values[1][0])
            torch.testing.assert_close(values[0][1], values[1][1],
                                       rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize('cls,kwargs', REGION_LOSSES,
                         ids=[c.__name__ for c, _ in REGION_LOSSES])
def test_region_losses_refuse_per_pixel_keywords(cls, kwargs):
    logits, label = _batch()
    loss = cls(**kwargs)
    name = cls.__name__
    with pytest.raises(ValueError,
                       match=rf"{name} .*reduction_override='none'"):
        loss(logits, label, reduction_override='none')
    with pytest.raises(ValueError, match=rf"{name} .*reduction_override"):
        loss(logits, label, reduction_override='sum')
    with pytest.raises(ValueError, match=rf'{name} .*avg_factor'):
        loss(logits, label, avg_factor=4.0)
    with pytest.raises(ValueError, match=rf'{name} .*weight'):
        loss(logits, label, weight=torch.ones(label.shape))
    # 'mean' is what they compute.
    assert loss(logits, label, reduction_override='mean') == loss(logits,
                                                                  label)


def test_unknown_keywords_are_not_swallowed():
    logits, label = _batch()
    with pytest.raises(TypeError):
        WBCELoss()(logits, label, reduction='none')


def test_all_zero_weight_on_binary_input_names_ohem():
    logits, label = _batch()
    with pytest.raises(ValueError, match='OHEMPixelSampler.*thresh=None'):
        DIBEDisLoss()(logits, label, weight=torch.zeros(label.shape))


# ------------------------------------------------------------------- OHEM
def _head(out_channels, loss_decode, sampler):
    from mmseg.models.decode_heads import FCNHead
    return FCNHead(in_channels=4, channels=4, num_convs=1, num_classes=2,
                   out_channels=out_channels, threshold=0.5,
                   loss_decode=loss_decode, sampler=sampler)


def _samples(n=2, size=16, seed=0):
    from mmengine.structures import PixelData
    from mmseg.structures import SegDataSample
    gen = torch.Generator().manual_seed(seed)
    samples = []
    for _ in range(n):
        label = (torch.rand(1, size, size, generator=gen) < 0.2).long()
        label[:, -3:] = IGNORE  # preprocessor padding
        sample = SegDataSample()
        sample.gt_sem_seg = PixelData(data=label)
        samples.append(sample)
    return samples


@pytest.mark.parametrize('loss_cfg', [
    dict(type='WBCELoss'), dict(type='BinaryFocalLoss'),
    dict(type='DIBEDisLoss', alpha=0.3)
])
def test_ohem_by_loss_on_a_binary_head(loss_cfg):
    """OHEMPixelSampler(thresh=None) ranks pixels by our 'none' losses and
    trains on the min_kept hardest per image: the gradient reaches only the
    kept pixels."""
    torch.manual_seed(0)
    min_kept = 20
    head = _head(1, loss_cfg, dict(type='OHEMPixelSampler', thresh=None,
                                   min_kept=min_kept))
    feats = [torch.randn(2, 4, 8, 8)]
    samples = _samples()
    seen = {}

    def keep_logits(module, args, output):
        output.retain_grad()
        seen['logits'] = output

    head.conv_seg.register_forward_hook(keep_logits)
    losses = head.loss(feats, samples, train_cfg=dict())
    name = head.loss_decode.loss_name
    assert torch.isfinite(losses[name]) and losses[name] > 0
    losses[name].backward()
    # conv_seg's output is upsampled to the labels inside loss_by_feat;
    # check the sampler's weight directly instead.
    seg_logits = torch.nn.functional.interpolate(
        seen['logits'].detach(), size=(16, 16), mode='bilinear',
        align_corners=False)
    label = torch.stack([s.gt_sem_seg.data for s in samples])
    weight = head.sampler.sample(seg_logits, label)
    assert int(weight.sum()) == 2 * min_kept
    per_pixel = head.loss_decode(seg_logits, label[:, 0],
                                 reduction_override='none')
    kept = per_pixel[weight > 0].min()
    dropped = per_pixel[(weight == 0) & (label[:, 0] != IGNORE)].max()
    assert kept >= dropped  # the hardest pixels are the kept ones
    assert all(torch.isfinite(p.grad).all() for p in head.parameters()
               if p.grad is not None)


def test_ohem_by_probability_needs_a_softmax_head():
    """OHEMPixelSampler(thresh=0.7) ranks pixels by softmax probability: on
    a binary head (one channel) mmseg's sampler fails (index error with
    target pixels, no pixel kept without: our loss names the fix); on a
    two-channel softmax head our per-pixel losses train with it."""
    torch.manual_seed(0)
    feats = [torch.randn(2, 4, 8, 8)]
    sampler = dict(type='OHEMPixelSampler', thresh=0.7, min_kept=20)
    binary = _head(1, dict(type='WBCELoss'), sampler)
    with pytest.raises((RuntimeError, IndexError)):
        binary.loss(feats, _samples(), train_cfg=dict())
    background_only = _samples()
    for sample in background_only:
        data = sample.gt_sem_seg.data
        data[data == 1] = 0
    with pytest.raises(ValueError, match='thresh=None'):
        binary.loss(feats, background_only, train_cfg=dict())
    for cfg in (dict(type='WBCELoss'), dict(type='DIBEDisLoss'),
                dict(type='BinaryFocalLoss')):
        head = _head(2, cfg, sampler)
        losses = head.loss(feats, _samples(), train_cfg=dict())
        value = losses[head.loss_decode.loss_name]
        assert torch.isfinite(value) and value > 0
        value.backward()
    # A region loss cannot be sampled: the error names the keyword.
    head = _head(1, dict(type='BinaryDiceLoss'),
                 dict(type='OHEMPixelSampler', thresh=None, min_kept=20))
    with pytest.raises(ValueError, match="BinaryDiceLoss .*'none'"):
        head.loss(feats, _samples(), train_cfg=dict())


@pytest.mark.slow
def test_training_with_ohem_and_dibe_dis(tmp_path, tiny_data_root):
    cfg = write_tiny_config(
        tmp_path / 'cfg.py', tiny_data_root, iters=3,
        extra="model = dict(decode_head=dict("
              "sampler=dict(type='OHEMPixelSampler', thresh=None, "
              "min_kept=200), loss_decode=dict(type='DIBEDisLoss', "
              "alpha=0.3, _delete_=True)))")
    work = tmp_path / 'work'
    run_tool('tools/train.py', cfg, '--work-dir', work, timeout=600)
    dumped = (work / 'cfg.py').read_text()
    assert "type='OHEMPixelSampler'" in dumped.replace('"', "'")
    logs = list(work.rglob('vis_data/scalars.json'))
    assert logs, 'no scalars.json written'
    values = [json.loads(line) for line in logs[0].read_text().splitlines()]
    decode = [e['decode.loss_dibe_dis'] for e in values
              if 'decode.loss_dibe_dis' in e]
    assert decode and all(math.isfinite(v) and v > 0 for v in decode)
