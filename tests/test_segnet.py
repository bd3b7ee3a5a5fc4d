"""SegNetEncoder / SegNetHead: shapes, the index unpooling, binary mode, and
one tiny training step per model family of the experiment configs."""
import copy

import numpy as np
import pytest
import torch
import torch.nn as nn

pytest.importorskip('mmseg')
from mmengine.config import Config  # noqa: E402
from mmengine.model.utils import revert_sync_batchnorm  # noqa: E402
from mmengine.registry import init_default_scope  # noqa: E402
from mmengine.structures import PixelData  # noqa: E402
from mmseg.registry import MODELS  # noqa: E402
from mmseg.structures import SegDataSample  # noqa: E402

import mmseg_dibe  # noqa: E402,F401
from mmseg_dibe.models import PoolingRecord, SegNetEncoder, SegNetHead  # noqa

from utils import REPO  # noqa: E402

TINY = dict(stage_channels=(4, 8, 8, 16, 16), num_convs=(1, 1, 2, 1, 1))


def head(**kw):
    cfg = dict(TINY, in_channels=16, channels=4, num_classes=2,
               out_channels=1, threshold=0.5, dropout_ratio=0.0,
               norm_cfg=dict(type='BN'),
               loss_decode=dict(type='DIBELoss'))
    cfg.update(kw)
    return SegNetHead(**cfg)


@pytest.mark.parametrize('hw', [(64, 96), (70, 45)])
def test_encoder_shapes_and_record(hw):
    enc = SegNetEncoder(in_channels=3, **TINY)
    x = torch.randn(2, 3, *hw)
    outs = enc(x)
    assert len(outs) == 6 and isinstance(outs[-1], PoolingRecord)
    rec = outs[-1]
    h, w = hw
    for i, (f, idx, size) in enumerate(zip(outs[:-1], rec.indices,
                                           rec.sizes)):
        assert size == (h, w)  # size before pooling
        h, w = h // 2, w // 2
        assert f.shape == (2, TINY['stage_channels'][i], h, w)
        assert idx.shape == f.shape and idx.dtype == torch.int64
    logits = head()(outs)
    # the decoder restores the input size exactly, odd sizes included
    assert logits.shape == (2, 1) + hw


def test_unpooling_puts_maxima_back_where_they_came_from():
    """With identity convolutions, encoder + decoder is pool/unpool only:
    the output holds, in every 4x4 block (two poolings), the block's maximum
    at its arg-max position and zeros elsewhere (checked with numpy)."""
    c = 3
    enc = SegNetEncoder(in_channels=c, stage_channels=(c, c),
                        num_convs=(1, 1))
    hd = head(stage_channels=(c, c), num_convs=(1, 1), in_channels=c,
              channels=c, out_channels=c, num_classes=c, threshold=None)
    enc.stages = nn.ModuleList([nn.Identity(), nn.Identity()])
    hd.decoder = nn.ModuleList([nn.Identity(), nn.Identity()])
    hd.conv_seg = nn.Identity()
    x = torch.randn(2, c, 8, 12)
    out = hd(enc(x)).detach().numpy()
    ref = np.zeros_like(out)
    xn = x.numpy()
    for n in range(2):
        for k in range(c):
            for by in range(0, 8, 4):
                for bx in range(0, 12, 4):
                    block = xn[n, k, by:by + 4, bx:bx + 4]
                    y, xx = np.unravel_index(block.argmax(), block.shape)
                    ref[n, k, by + y, bx + xx] = block.max()
    np.testing.assert_array_equal(out, ref)
    # and the indices matter: shuffled indices put the values elsewhere
    outs = enc(x)
    rec = outs[-1]
    flipped = PoolingRecord(tuple(i.flip(-1) for i in rec.indices),
                            rec.sizes)
    assert not np.array_equal(
        hd(outs[:-1] + (flipped, )).detach().numpy(), ref)


def test_head_validates_inputs():
    with pytest.raises(ValueError, match='in_channels'):
        head(in_channels=8)
    with pytest.raises(ValueError, match='equal length'):
        SegNetEncoder(stage_channels=(4, 8), num_convs=(1, ))
    feats = SegNetEncoder(**TINY)(torch.randn(1, 3, 32, 32))
    with pytest.raises(TypeError, match='PoolingRecord'):
        head()(feats[:-1])
    with pytest.raises(ValueError, match='at least 32'):
        SegNetEncoder(**TINY)(torch.randn(1, 3, 16, 16))


def test_binary_segmentor_predicts_0_1():
    init_default_scope('mmseg')
    cfg = Config.fromfile(REPO / 'configs/_base_/models/segnet_vgg16-bn.py')
    m = copy.deepcopy(cfg.model)
    m.backbone.update(TINY)
    m.decode_head.update(TINY, in_channels=16, channels=4)
    model = revert_sync_batchnorm(MODELS.build(m)).eval()
    assert model.decode_head.out_channels == 1
    assert model.decode_head.threshold == 0.5
    imgs = [torch.randint(0, 255, (3, 45, 70)).float()]
    samples = [SegDataSample(metainfo=dict(img_shape=(45, 70),
                                           ori_shape=(45, 70)))]
    data = model.data_preprocessor(dict(inputs=imgs, data_samples=samples))
    with torch.no_grad():
        res = model.predict(data['inputs'], data['data_samples'])
    pred = res[0].pred_sem_seg.data
    # padded to 64x96 for the poolings, cropped back to the image
    assert pred.shape == (1, 45, 70)
    assert set(pred.unique().tolist()) <= {0, 1}
    # in binary mode mmseg stores the sigmoid probability as seg_logits
    prob = res[0].seg_logits.data
    assert prob.min() >= 0 and prob.max() <= 1
    assert torch.equal(pred, (prob > 0.5).to(pred.dtype))


# ------------------------------------------------ one step per model family
FAMILIES = {
    'segnet': 'segnet_vgg16-bn_dibe_50e_thc112-112x112.py',
    'unet': 'unet-s5-d16_dibe_50e_thc112-112x112.py',
    'pspnet': 'pspnet_r50-d8_dibe_50e_thc112-112x112.py',
    'deeplabv3': 'deeplabv3_r50-d8_dibe_50e_thc112-112x112.py',
}


def shrink(name, m):
    """Reduce widths so that a CPU step takes a fraction of a second."""
    if name == 'segnet':
        m.backbone.update(TINY)
        m.decode_head.update(TINY, in_channels=16, channels=4)
    elif name == 'unet':
        m.backbone.base_channels = 4
        m.decode_head.update(in_channels=4, channels=4)
        m.auxiliary_head.update(in_channels=8, channels=4)
    else:  # ResNet-18 in place of ResNet-50: same heads, same code paths
        m.backbone.update(depth=18)
        m.decode_head.update(in_channels=512, channels=16)
        m.auxiliary_head.update(in_channels=256, channels=16)
    return m


@pytest.mark.parametrize('family', sorted(FAMILIES))
def test_one_training_step(family):
    init_default_scope('mmseg')
    cfg = Config.fromfile(REPO / 'configs' / 'dibe' / FAMILIES[family])
    model = revert_sync_batchnorm(
        MODELS.build(shrink(family, copy.deepcopy(cfg.model))))
    model.train()
    torch.manual_seed(0)
    n, h, w = 2, 64, 64
    imgs = [torch.randint(0, 255, (3, h, w)).float() for _ in range(n)]
    samples = []
    for _ in range(n):
        gt = torch.zeros(1, h, w, dtype=torch.int64)
        gt[0, 20:24, 5:50] = 1  # a thin crack
        s = SegDataSample(metainfo=dict(img_shape=(h, w), ori_shape=(h, w),
                                        pad_shape=(h, w)))
        s.gt_sem_seg = PixelData(data=gt)
        samples.append(s)
    from mmengine.optim import build_optim_wrapper
    optim = build_optim_wrapper(model, cfg.optim_wrapper)
    before = [p.detach().clone() for p in model.parameters()]
    losses = model.train_step(dict(inputs=imgs, data_samples=samples), optim)
    assert any(k.startswith('decode.') for k in losses)
    if family != 'segnet':  # the auxiliary head trains with the same loss
        assert any(k.startswith('aux.') for k in losses)
    for k, v in losses.items():
        assert torch.isfinite(v).all(), k
    changed = sum(not torch.equal(b, p.detach())
                  for b, p in zip(before, model.parameters()))
    assert changed > 0.9 * len(before), 'the step did not update the model'
