"""Build-time validation, run-time label checks, the attributes a hook
changes, registry names, mmseg decode-head use (out_channels=1) and the
multi-class (softmax, one-vs-rest) extension."""
import pytest
import torch

from mmseg_dibe.functional import fused
from mmseg_dibe.losses import (BinaryDiceLoss, BinaryFocalLoss,
                               BinaryTverskyLoss, ComboLoss, DIBEDisLoss,
                               DIBELoss, DIBERegLoss, ExpLogLoss,
                               FocalTverskyLoss, HybridFocalLoss, WBCELoss)

ALL = [WBCELoss, BinaryFocalLoss, BinaryDiceLoss, BinaryTverskyLoss,
       FocalTverskyLoss, ComboLoss, ExpLogLoss, HybridFocalLoss, DIBEDisLoss,
       DIBERegLoss, DIBELoss]
NAMES = {WBCELoss: 'loss_wbce', BinaryFocalLoss: 'loss_focal',
         BinaryDiceLoss: 'loss_dice', BinaryTverskyLoss: 'loss_tversky',
         FocalTverskyLoss: 'loss_ft', ComboLoss: 'loss_combo',
         ExpLogLoss: 'loss_el', HybridFocalLoss: 'loss_hf',
         DIBEDisLoss: 'loss_dibe_dis', DIBERegLoss: 'loss_dibe_reg',
         DIBELoss: 'loss_dibe'}


@pytest.fixture(autouse=True)
def eager_kernels():
    fused.set_compile(False)
    yield
    fused.set_compile(None)


# ------------------------------------------------------------- validation
@pytest.mark.parametrize('cls,param,value', [
    (DIBELoss, 'alpha', 1.2), (DIBELoss, 'alpha', -0.1),
    (DIBEDisLoss, 'beta', 1.5), (BinaryTverskyLoss, 'beta', -1),
    (HybridFocalLoss, 'alpha', 2), (FocalTverskyLoss, 'alpha', 1.01),
    (DIBELoss, 'lam', 0.0), (DIBELoss, 'lam', 1.0), (WBCELoss, 'lam', 1.2),
    (BinaryFocalLoss, 'lam', 0), (ComboLoss, 'lam', 1),
    (DIBELoss, 'theta', 1.1), (ComboLoss, 'theta', -0.5),
    (ExpLogLoss, 'theta', 2), (HybridFocalLoss, 'theta', -1),
    (DIBEDisLoss, 'gamma', -1), (BinaryFocalLoss, 'gamma', -0.1),
    (DIBERegLoss, 'gamma', 0), (FocalTverskyLoss, 'gamma', 0),
    (DIBELoss, 'gamma', 0), (HybridFocalLoss, 'gamma_ft', 0),
    (HybridFocalLoss, 'gamma_focal', -2), (ExpLogLoss, 'gamma_ce', -1),
    (ExpLogLoss, 'gamma_dice', -1),
    (DIBELoss, 'eps', 0), (BinaryDiceLoss, 'eps', -1),
    (DIBERegLoss, 'eps', 0.0), (BinaryTverskyLoss, 'eps', 0),
    (DIBELoss, 'threshold', 1.0),
])
def test_invalid_hyper_parameters_name_the_parameter(cls, param, value):
    with pytest.raises(ValueError, match=param):
        cls(**{param: value})


def test_other_build_errors():
    with pytest.raises(ValueError, match='aggregation'):
        DIBELoss(aggregation='pixel')
    with pytest.raises(ValueError, match='loss_name'):
        DIBELoss(loss_name='dibe')
    with pytest.raises(ValueError, match='beta'):
        DIBELoss(beta=0.5)
    with pytest.raises(TypeError, match='alpha'):
        DIBELoss(alpha='0.3')
    # γ = 0 is allowed where it does not divide (Focal → WBCE).
    DIBEDisLoss(gamma=0)
    BinaryFocalLoss(gamma=0)


def test_loss_names():
    for cls in ALL:
        assert cls().loss_name == NAMES[cls]
    assert DIBELoss(loss_name='loss_aux').loss_name == 'loss_aux'


# ------------------------------------------------------------ label checks
@pytest.mark.parametrize('cls', ALL)
def test_labels_outside_classes_raise_naming_values(cls):
    logits = torch.randn(2, 1, 6, 6)
    label = torch.zeros(2, 6, 6, dtype=torch.long)
    label[0, 0, 0] = 7
    label[1, 1, 1] = -3
    with pytest.raises(ValueError, match=r'\[-3, 7\]'):
        cls()(logits, label, ignore_index=255)
    # A 0/255 mask fed as is with another ignore value.
    mask = torch.zeros(2, 6, 6, dtype=torch.long)
    mask[:, 2] = 255
    with pytest.raises(ValueError, match=r'\[255\].*ignore_index=-1'):
        cls()(logits, mask, ignore_index=-1)
    # The same mask with ignore_index=255 is fine (255 is ignored).
    assert torch.isfinite(cls()(logits, mask, ignore_index=255))
    # ignore_index given to the loss overrides the head's.
    assert torch.isfinite(cls(ignore_index=255)(logits, mask,
                                                ignore_index=-1))


def test_shape_and_weight_errors():
    loss = DIBELoss()
    with pytest.raises(ValueError, match='does not match'):
        loss(torch.randn(2, 1, 6, 6), torch.zeros(2, 5, 6, dtype=torch.long))
    with pytest.raises(TypeError, match='integer'):
        loss(torch.randn(2, 1, 6, 6), torch.zeros(2, 6, 6))
    with pytest.raises(ValueError, match='weight'):
        loss(torch.randn(2, 1, 6, 6), torch.zeros(2, 6, 6, dtype=torch.long),
             weight=torch.ones(2, 6, 6))
    # (N, 1, H, W) labels are accepted.
    assert torch.isfinite(
        loss(torch.randn(2, 1, 6, 6), torch.zeros(2, 1, 6, 6,
                                                  dtype=torch.long)))


# ------------------------------------------------------ hook-set attributes
def test_alpha_beta_attributes_follow():
    loss = DIBELoss(alpha=0.3)
    assert loss.beta == pytest.approx(0.7)
    loss.alpha = 0.8
    assert loss.beta == pytest.approx(0.2)
    with pytest.raises(AttributeError, match='alpha'):
        loss.beta = 0.5
    with pytest.raises(ValueError, match='alpha'):
        loss.alpha = 1.5
    dis = DIBEDisLoss(alpha=0.3)
    dis.alpha = 0.6
    assert dis.beta == pytest.approx(0.4)
    fixed = DIBEDisLoss(alpha=0.3, beta=0.5)
    fixed.alpha = 0.9
    assert fixed.beta == 0.5
    tv = BinaryTverskyLoss(alpha=0.2)
    tv.alpha = 0.4
    assert tv.beta == pytest.approx(0.6)


def test_changed_alpha_changes_the_loss():
    torch.manual_seed(0)
    logits = torch.randn(2, 1, 8, 8)
    label = (torch.rand(2, 8, 8) < 0.3).long()
    loss = DIBELoss(alpha=0.3)
    before = loss(logits, label).item()
    loss.alpha = 0.7
    after = loss(logits, label).item()
    assert after == pytest.approx(DIBELoss(alpha=0.7)(logits, label).item())
    assert after != pytest.approx(before)


# ----------------------------------------------------------- multi-class
@pytest.mark.parametrize('cls', ALL)
def test_two_channel_softmax_equals_one_sigmoid_channel(cls):
    """softmax((0, x))_1 = σ(x): the multi-class path on C = 2 must give the
    binary loss (background excluded by default)."""
    torch.manual_seed(1)
    x = torch.randn(2, 1, 7, 7, dtype=torch.float64) * 3
    label = (torch.rand(2, 7, 7) < 0.3).long()
    label[0, 0] = 255
    two = torch.cat([torch.zeros_like(x), x], dim=1)
    kwargs = {'fused': False} if cls in (DIBEDisLoss, DIBELoss,
                                         DIBERegLoss) else {}
    binary = cls(**kwargs)(x, label)
    multi = cls(**kwargs)(two, label)
    assert multi.item() == pytest.approx(binary.item(), rel=1e-9)


def test_multi_class_one_vs_rest_average():
    torch.manual_seed(2)
    logits = torch.randn(2, 3, 6, 6, dtype=torch.float64) * 2
    label = torch.randint(0, 3, (2, 6, 6))
    label[1, :2] = 255
    prob = torch.softmax(logits, 1)
    valid = (label != 255).double()
    pred = logits.argmax(1)
    per_class_dis, per_class_reg = [], []
    for c in (1, 2):
        p = prob[:, c]
        y = (label == c).double()
        yhat = pred == c
        from test_functional_region_pixel import ref_dibe_dis
        terms = ref_dibe_dis(p, y, yhat, 0.3, 0.7, 0.75, 2.0)
        per_class_dis.append((terms * valid).sum() / valid.sum())
        tp = (p * y * valid).sum()
        fp = (p * (1 - y) * valid).sum()
        fn = ((1 - p) * y * valid).sum()
        tv = (tp + 1) / (tp + 0.3 * fn + 0.7 * fp + 1)
        per_class_reg.append((-torch.log(tv))**0.5)
    expected = 0.5 * torch.stack(per_class_dis).mean() + \
        0.5 * torch.stack(per_class_reg).mean()
    got = DIBELoss(alpha=0.3, gamma=2.0)(logits, label)
    assert got.item() == pytest.approx(expected.item(), rel=1e-10)
    # include_background adds class 0 to the average.
    with_bg = DIBELoss(include_background=True)(logits, label)
    assert with_bg.item() != pytest.approx(got.item())
    with pytest.raises(ValueError, match=r'\[3\]'):
        bad = label.clone()
        bad[0, 0, 0] = 3
        DIBELoss()(logits, bad)


# -------------------------------------------------------- mmseg integration
def test_registry_and_decode_head_binary_mode():
    pytest.importorskip('mmcv')
    from mmseg.models.decode_heads import FCNHead
    from mmseg.registry import MODELS
    from mmseg.structures import SegDataSample
    from mmengine.structures import PixelData

    import mmseg_dibe  # noqa: F401  (registers)
    for cls in ALL:
        built = MODELS.build(dict(type=cls.__name__))
        assert type(built) is cls
    cfg = dict(type='DIBELoss', alpha=0.3, lam=0.75, gamma=2.0, theta=0.5)
    head = FCNHead(in_channels=4, channels=4, num_convs=1, num_classes=2,
                   out_channels=1, threshold=0.5,
                   loss_decode=[cfg, dict(type='BinaryDiceLoss')])
    torch.manual_seed(0)
    feats = [torch.randn(2, 4, 8, 8)]
    samples = []
    for i in range(2):
        label = (torch.rand(1, 16, 16) < 0.2).long()
        label[:, -3:] = 255  # preprocessor padding
        sample = SegDataSample()
        sample.gt_sem_seg = PixelData(data=label)
        samples.append(sample)
    losses = head.loss(feats, samples, train_cfg=dict())
    assert set(losses) >= {'loss_dibe', 'loss_dice'}
    assert torch.isfinite(losses['loss_dibe'])
    losses['loss_dibe'].backward()
    assert all(torch.isfinite(p.grad).all() for p in head.parameters()
               if p.grad is not None)
