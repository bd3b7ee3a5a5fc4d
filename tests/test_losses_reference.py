"""Every registered loss equals a float64 reference of its printed equation
(spec conventions), with ignored pixels, for both region aggregations; the
degenerations of the paper hold."""
import pytest
import torch

from mmseg_dibe.functional import fused
from mmseg_dibe.losses import (BinaryDiceLoss, BinaryFocalLoss,
                               BinaryTverskyLoss, ComboLoss, DIBEDisLoss,
                               DIBELoss, DIBERegLoss, ExpLogLoss,
                               FocalTverskyLoss, HybridFocalLoss, WBCELoss)
from test_functional_region_pixel import ref_dibe_dis, ref_focal, ref_wbce

D = torch.float64
IGNORE = 255


def make_batch(n=3, h=10, w=12, seed=0, scale=2.5, dtype=torch.float32):
    gen = torch.Generator().manual_seed(seed)
    logits = (torch.randn(n, 1, h, w, generator=gen) * scale).to(dtype)
    label = (torch.rand(n, h, w, generator=gen) < 0.25).long()
    label[0, :2] = IGNORE  # padding rows, as the data preprocessor adds
    label[1, :, -3:] = IGNORE
    return logits, label


class Ref:
    """Float64 reference of the printed equations on one batch."""

    def __init__(self, logits, label, aggregation='batch'):
        self.p = torch.sigmoid(logits.to(D)[:, 0])
        self.y = (label == 1).to(D)
        self.v = (label != IGNORE).to(D)
        self.agg = aggregation

    def mean(self, t):
        return (t * self.v).sum() / self.v.sum()

    def counts(self):
        p, y, v = self.p, self.y, self.v
        dims = (1, 2) if self.agg == 'image' else (0, 1, 2)
        tp = (p * y * v).sum(dims)
        fp = (p * (1 - y) * v).sum(dims)
        fn = ((1 - p) * y * v).sum(dims)
        return tp, fp, fn

    def region(self, f):
        """f(tp, fp, fn) per image or for the batch, averaged."""
        val = f(*self.counts())
        if self.agg == 'image':
            present = self.v.flatten(1).sum(1) > 0
            return val[present].mean()
        return val

    @staticmethod
    def tv(a, b, eps):
        return lambda tp, fp, fn: (tp + eps) / (tp + a * fn + b * fp + eps)

    @staticmethod
    def dc(eps):
        return lambda tp, fp, fn: (2 * tp + eps) / (2 * tp + fp + fn + eps)

    # Eq. 2-19 ------------------------------------------------------------
    def wbce(self, lam):
        return self.mean(ref_wbce(self.p, self.y, lam))

    def focal(self, lam, g):
        return self.mean(ref_focal(self.p, self.y, lam, g))

    def dice(self, eps):
        return self.region(lambda *c: 1 - self.dc(eps)(*c))

    def tversky(self, a, b, eps):
        return self.region(lambda *c: 1 - self.tv(a, b, eps)(*c))

    def ft(self, a, b, g, eps):
        return self.region(lambda *c: (1 - self.tv(a, b, eps)(*c))**(1 / g))

    def combo(self, theta, lam, eps):
        return theta * self.wbce(lam) + (1 - theta) * self.dice(eps)

    def el(self, theta, lam, gce, gdc, eps):
        p, y = self.p, self.y
        ce = torch.where(y.bool(), lam * (-torch.log(p))**gce,
                         (1 - lam) * (-torch.log(1 - p))**gce)
        reg = self.region(lambda *c: (-torch.log(self.dc(eps)(*c)))**gdc)
        return theta * self.mean(ce) + (1 - theta) * reg

    def hf(self, theta, lam, a, b, gf, gft, eps):
        return theta * self.focal(lam, gf) + (1 - theta) * self.ft(
            a, b, gft, eps)

    def dibe_dis(self, a, b, lam, g, thr=0.5):
        return self.mean(
            ref_dibe_dis(self.p, self.y, self.p > thr, a, b, lam, g))

    def dibe_reg(self, a, b, g, eps):
        return self.region(
            lambda *c: (-torch.log(self.tv(a, b, eps)(*c)))**(1 / g))

    def dibe(self, a, lam, g, theta, eps):
        return theta * self.dibe_dis(a, 1 - a, lam, g) + (
            1 - theta) * self.dibe_reg(a, 1 - a, g, eps)


CASES = [
    (WBCELoss, dict(lam=0.8), lambda r: r.wbce(0.8)),
    (BinaryFocalLoss, dict(lam=0.25, gamma=2.0), lambda r: r.focal(0.25, 2)),
    (BinaryDiceLoss, dict(eps=1.0), lambda r: r.dice(1.0)),
    (BinaryTverskyLoss, dict(alpha=0.3, eps=1.0),
     lambda r: r.tversky(0.3, 0.7, 1.0)),
    (BinaryTverskyLoss, dict(alpha=0.2, beta=0.4, eps=0.5),
     lambda r: r.tversky(0.2, 0.4, 0.5)),
    (FocalTverskyLoss, dict(alpha=0.3, gamma=0.75),
     lambda r: r.ft(0.3, 0.7, 0.75, 1.0)),
    (ComboLoss, dict(theta=0.4, lam=0.7), lambda r: r.combo(0.4, 0.7, 1.0)),
    (ExpLogLoss, dict(theta=0.5, lam=0.75, gamma_ce=0.5, gamma_dice=2.0),
     lambda r: r.el(0.5, 0.75, 0.5, 2.0, 1.0)),
    (HybridFocalLoss, dict(theta=0.6, lam=0.75, alpha=0.4, gamma_focal=2.0,
                           gamma_ft=0.75),
     lambda r: r.hf(0.6, 0.75, 0.4, 0.6, 2.0, 0.75, 1.0)),
    (DIBEDisLoss, dict(alpha=0.3, lam=0.75, gamma=2.0),
     lambda r: r.dibe_dis(0.3, 0.7, 0.75, 2.0)),
    (DIBEDisLoss, dict(alpha=0.8, beta=0.1, lam=0.6, gamma=1.3),
     lambda r: r.dibe_dis(0.8, 0.1, 0.6, 1.3)),
    (DIBERegLoss, dict(alpha=0.3, gamma=1.5),
     lambda r: r.dibe_reg(0.3, 0.7, 1.5, 1.0)),
    (DIBELoss, dict(alpha=0.3, lam=0.75, gamma=2.0, theta=0.5),
     lambda r: r.dibe(0.3, 0.75, 2.0, 0.5, 1.0)),
    (DIBELoss, dict(alpha=0.6, lam=0.9, gamma=3.0, theta=0.2, eps=2.0),
     lambda r: r.dibe(0.6, 0.9, 3.0, 0.2, 2.0)),
]


@pytest.fixture(autouse=True)
def eager_kernels():
    # The compiled kernels are covered by test_losses_fused_compile.py.
    fused.set_compile(False)
    yield
    fused.set_compile(None)


@pytest.mark.parametrize('aggregation', ['batch', 'image'])
@pytest.mark.parametrize('cls,kwargs,ref', CASES,
                         ids=[f'{c[0].__name__}-{i}'
                              for i, c in enumerate(CASES)])
def test_loss_equals_reference(cls, kwargs, ref, aggregation):
    for dtype, tol in ((torch.float32, 2e-5), (D, 1e-10)):
        logits, label = make_batch(dtype=dtype)
        loss = cls(aggregation=aggregation, loss_weight=1.5, **kwargs)
        got = loss(logits, label, ignore_index=IGNORE)
        expected = 1.5 * ref(Ref(logits, label, aggregation))
        assert got.dtype == dtype
        torch.testing.assert_close(got.to(D), expected, rtol=tol, atol=tol)


@pytest.mark.parametrize('cls,kwargs', [
    (DIBEDisLoss, dict(alpha=0.3, lam=0.75, gamma=2.0)),
    (DIBERegLoss, dict(alpha=0.3, gamma=1.5)),
    (DIBELoss, dict(alpha=0.4, gamma=2.0)),
    (DIBELoss, dict(alpha=0.4, gamma=1.7, aggregation='image')),
])
def test_fused_path_equals_plain_path(cls, kwargs):
    logits, label = make_batch(seed=3)
    results = []
    for use_fused in (True, False):
        x = logits.clone().requires_grad_()
        value = cls(fused=use_fused, **kwargs)(x, label)
        value.backward()
        results.append((value.detach(), x.grad))
    torch.testing.assert_close(results[0][0], results[1][0])
    torch.testing.assert_close(results[0][1], results[1][1], rtol=1e-5,
                               atol=1e-8)


def test_degenerations():
    logits, label = make_batch(seed=4, dtype=D)

    def val(loss):
        return loss(logits, label).item()

    # DIBE_Dis α = β = 0 ≡ Focal; and γ = 0 too ≡ WBCE.
    assert val(DIBEDisLoss(alpha=0, beta=0, lam=0.3, gamma=2)) == \
        pytest.approx(val(BinaryFocalLoss(lam=0.3, gamma=2)), rel=1e-12)
    assert val(DIBEDisLoss(alpha=0, beta=0, lam=0.3, gamma=0)) == \
        pytest.approx(val(WBCELoss(lam=0.3)), rel=1e-12)
    assert val(BinaryFocalLoss(lam=0.3, gamma=0)) == \
        pytest.approx(val(WBCELoss(lam=0.3)), rel=1e-12)
    # Tversky α = β = 0.5 ≡ Dice (ε of Dice = 2 ε of Tversky, see docs).
    assert val(BinaryTverskyLoss(alpha=0.5, beta=0.5, eps=0.5)) == \
        pytest.approx(val(BinaryDiceLoss(eps=1.0)), rel=1e-12)
    # FT γ = 1 ≡ Tversky.
    assert val(FocalTverskyLoss(alpha=0.3, gamma=1.0)) == \
        pytest.approx(val(BinaryTverskyLoss(alpha=0.3)), rel=1e-12)
    # DIBE θ = 1 ≡ DIBE_Dis, θ = 0 ≡ DIBE_Reg at the same γ.
    assert val(DIBELoss(alpha=0.3, lam=0.6, gamma=1.5, theta=1.0)) == \
        pytest.approx(val(DIBEDisLoss(alpha=0.3, lam=0.6, gamma=1.5)),
                      rel=1e-12)
    assert val(DIBELoss(alpha=0.3, gamma=1.5, theta=0.0)) == \
        pytest.approx(val(DIBERegLoss(alpha=0.3, gamma=1.5)), rel=1e-12)
    # Combo θ = 1 ≡ WBCE, HF θ = 0 ≡ FT.
    assert val(ComboLoss(theta=1.0, lam=0.7)) == \
        pytest.approx(val(WBCELoss(lam=0.7)), rel=1e-12)
    assert val(HybridFocalLoss(theta=0.0, alpha=0.2, gamma_ft=0.8)) == \
        pytest.approx(val(FocalTverskyLoss(alpha=0.2, gamma=0.8)), rel=1e-12)


def test_alpha_raises_fn_weight():
    """α multiplies missed targets: with α up, the loss of an FN pixel
    grows and that of an FP pixel (β = 1 − α) shrinks."""
    logits = torch.tensor([-1.0, 1.0], dtype=D).view(1, 1, 1, 2)
    label = torch.tensor([1, 0]).view(1, 1, 2)  # one FN pixel, one FP pixel
    fn_only = torch.tensor([1, IGNORE]).view(1, 1, 2)
    fp_only = torch.tensor([IGNORE, 0]).view(1, 1, 2)
    lo, hi = DIBEDisLoss(alpha=0.1), DIBEDisLoss(alpha=0.9)
    assert hi(logits, fn_only) > lo(logits, fn_only)
    assert hi(logits, fp_only) < lo(logits, fp_only)
    # Same for the Tversky-type region term.
    lo, hi = DIBERegLoss(alpha=0.1), DIBERegLoss(alpha=0.9)
    assert hi(logits.expand(1, 1, 1, 2), fn_only) > lo(logits, fn_only)
    assert hi(logits, fp_only) < lo(logits, fp_only)
    assert torch.isfinite(lo(logits, label))


def test_gradcheck_losses():
    logits, label = make_batch(n=2, h=4, w=5, seed=7, dtype=D)
    # Away from the threshold, where Eq. 16 switches case.
    logits = torch.where(logits.abs() < 0.2, logits + 0.5, logits)
    for loss in (DIBELoss(alpha=0.3), DIBELoss(aggregation='image'),
                 DIBEDisLoss(fused=False), DIBERegLoss(gamma=1.5),
                 FocalTverskyLoss(), ExpLogLoss(gamma_ce=1.5),
                 HybridFocalLoss(), ComboLoss()):
        assert torch.autograd.gradcheck(
            lambda x, loss=loss: loss(x, label),
            (logits.clone().requires_grad_(),)), loss
