"""Pure functions of the losses (mmseg_dibe.functional.{region,pixel,fused})
against float64 references of the printed equations (docs/spec.md conventions:
α on FN, β on FP)."""
import math

import pytest
import torch

from mmseg_dibe.functional import fused
from mmseg_dibe.functional.counts import soft_counts
from mmseg_dibe.functional.pixel import (PIXEL_TERMS, PixelTerm,
                                         binary_log_probs, dibe_dis_terms,
                                         explog_ce_terms, focal_terms,
                                         pixel_terms, softmax_log_probs,
                                         wbce_terms)
from mmseg_dibe.functional.region import (dice_coefficient, region_form,
                                          region_loss, safe_pow,
                                          tversky_index)

D = torch.float64


# ---------------------------------------------------------------- references
def ref_dibe_dis(p, y, yhat, a, b, lam, g):
    """Eq. 16 exactly as printed, case by case, float64."""
    log = torch.log
    tp_case = -lam * (1 - p)**g * log(p)
    fn_case = -lam * (1 - p**(1 + a))**g * (1 + a) * log(p)
    tn_case = -(1 - lam) * p**g * log(1 - p)
    fp_case = -(1 - lam) * (1 - (1 - p)**(1 + b))**g * (1 + b) * log(1 - p)
    y, yhat = y.bool(), yhat.bool()
    return torch.where(y & yhat, tp_case, torch.where(
        y & ~yhat, fn_case, torch.where(~y & ~yhat, tn_case, fp_case)))


def ref_focal(p, y, lam, g):
    """Eq. 3."""
    return torch.where(y.bool(), -lam * (1 - p)**g * torch.log(p),
                       -(1 - lam) * p**g * torch.log(1 - p))


def ref_wbce(p, y, lam):
    """Eq. 2."""
    return torch.where(y.bool(), -lam * torch.log(p),
                       -(1 - lam) * torch.log(1 - p))


def _sample(shape=(3, 1, 9, 11), scale=2.5, seed=0, dtype=D):
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(shape, generator=gen, dtype=dtype) * scale
    y = (torch.rand(shape, generator=gen) < 0.3).long()
    return x, y


# ------------------------------------------------------------------ pixel
@pytest.mark.parametrize('a,b,lam,g', [(0.3, 0.7, 0.75, 2.0),
                                       (0.7, 0.1, 0.25, 0.5),
                                       (1.0, 0.0, 0.6, 3.0)])
def test_dibe_dis_terms_equal_eq16(a, b, lam, g):
    x, y = _sample()
    p = torch.sigmoid(x)
    log_p, log_q = binary_log_probs(x)
    ours = dibe_dis_terms(log_p, log_q, y, x > 0, a, b, lam, g)
    ref = ref_dibe_dis(p, y, p > 0.5, a, b, lam, g)
    torch.testing.assert_close(ours, ref, rtol=1e-10, atol=1e-12)


def test_focal_wbce_explog_terms():
    x, y = _sample(seed=1)
    p = torch.sigmoid(x)
    log_p, log_q = binary_log_probs(x)
    torch.testing.assert_close(focal_terms(log_p, log_q, y, 0.25, 2.0),
                               ref_focal(p, y, 0.25, 2.0))
    torch.testing.assert_close(wbce_terms(log_p, log_q, y, 0.75),
                               ref_wbce(p, y, 0.75))
    # Eq. 11: λ (−log p)^γCE / (1 − λ)(−log(1 − p))^γCE
    ref = torch.where(y.bool(), 0.6 * (-torch.log(p))**0.3,
                      0.4 * (-torch.log(1 - p))**0.3)
    torch.testing.assert_close(explog_ce_terms(log_p, log_q, y, 0.6, 0.3),
                               ref)


def test_eq17_fn_derivative():
    """d DIBE_Dis / dp on y = 1, ŷ = 0 is Eq. 17."""
    lam, g = 0.25, 2.0
    p = torch.linspace(0.01, 0.5, 50, dtype=D)
    for a in (0.0, 0.3, 0.7):
        pp = p.clone().requires_grad_()
        log_p, log_q = torch.log(pp), torch.log1p(-pp)
        ones = torch.ones_like(pp, dtype=torch.bool)
        loss = dibe_dis_terms(log_p, log_q, ones, ~ones, a, 1 - a, lam, g)
        grad, = torch.autograd.grad(loss.sum(), pp)
        u = 1 - p**(1 + a)
        eq17 = lam * (1 + a) * u**g * (
            g * u**-1 * (1 + a) * p**a * torch.log(p) - 1 / p)
        torch.testing.assert_close(grad, eq17, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize('kind', PIXEL_TERMS)
def test_pixel_terms_closed_form_backward_gradcheck(kind):
    """The closed-form derivative every per-pixel term uses (plain path and
    fused kernels alike) is the derivative of its value."""
    gen = torch.Generator().manual_seed(2)
    log_p = -torch.rand(40, generator=gen, dtype=D) * 3 - 1e-3
    log_q = -torch.rand(40, generator=gen, dtype=D) * 3 - 1e-3
    target = torch.rand(40, generator=gen) < 0.5
    pred = torch.rand(40, generator=gen) < 0.5
    for g in (0.0, 0.5, 1.0, 2.0, 3.5):
        term = PixelTerm(kind, 0.7, g, 0.4, 0.2)
        assert torch.autograd.gradcheck(
            lambda a, b, term=term: pixel_terms(term, a, b, target, pred),
            (log_p.clone().requires_grad_(), log_q.clone().requires_grad_()))


def test_softmax_log_probs_one_vs_rest():
    gen = torch.Generator().manual_seed(3)
    x = torch.randn(2, 4, 5, 5, generator=gen, dtype=D) * 4
    x[0, 1, 0, 0] = 60.0  # p_1 → 1: log(1 − p_1) must stay finite
    log_p, log_q = softmax_log_probs(x)
    prob = torch.softmax(x, 1)
    torch.testing.assert_close(log_p.exp(), prob)
    torch.testing.assert_close(log_q.exp(), 1 - prob)
    assert torch.isfinite(log_q).all()
    px = x[0, :, 0, 0]
    expected = torch.logsumexp(px[[0, 2, 3]], 0) - torch.logsumexp(px, 0)
    assert log_q[0, 1, 0, 0].item() == pytest.approx(expected.item(),
                                                     rel=1e-12)
    assert expected.item() < -40  # 1 − p_1 underflows float32's 1 − p


# ----------------------------------------------------------------- region
def test_tversky_dice_and_eq22_eq23():
    tp, fp, fn = (torch.tensor(v, dtype=D) for v in (5.0, 3.0, 2.0))
    tv = tversky_index(tp, fp, fn, 0.3, 0.7, 1.0)
    assert tv.item() == pytest.approx(6 / (5 + 0.3 * 2 + 0.7 * 3 + 1))
    dc = dice_coefficient(tp, fp, fn, 1.0)
    assert dc.item() == pytest.approx(11 / (10 + 3 + 2 + 1))
    # Tversky α = β = 0.5 with ε is Dice with 2ε.
    assert tversky_index(tp, fp, fn, 0.5, 0.5, 1.0).item() == \
        pytest.approx(dice_coefficient(tp, fp, fn, 2.0).item(), rel=1e-14)
    # dFT/dTv (Eq. 22) and dDIBE_Reg/dTv (Eq. 23) through region_loss' forms.
    for g in (0.75, 1.0, 1.5, 3.0):
        for t in (0.02, 0.3, 0.7, 0.98):
            tvv = torch.tensor(t, dtype=D, requires_grad=True)
            ft = region_form(tvv, 'linear', 1 / g)
            reg = region_form(tvv, 'log', 1 / g)
            d_ft, = torch.autograd.grad(ft, tvv)
            d_reg, = torch.autograd.grad(reg, tvv)
            assert d_ft.item() == pytest.approx(
                -1 / g * (1 - t)**(1 / g - 1), rel=1e-10)
            assert d_reg.item() == pytest.approx(
                -1 / (g * t) * (-math.log(t))**(1 / g - 1), rel=1e-10)


def test_region_loss_forms_and_aggregation():
    gen = torch.Generator().manual_seed(4)
    tp, fp, fn = (torch.rand(4, 1, generator=gen, dtype=D) * 10
                  for _ in range(3))
    kw = dict(alpha=0.3, beta=0.7, eps=1.0)
    tv_b = (tp.sum() + 1) / (tp.sum() + 0.3 * fn.sum() + 0.7 * fp.sum() + 1)
    tv_i = (tp + 1) / (tp + 0.3 * fn + 0.7 * fp + 1)
    cases = [('linear', 1.0, lambda t: 1 - t),
             ('linear', 1 / 0.75, lambda t: (1 - t)**(1 / 0.75)),
             ('log', 1 / 1.5, lambda t: (-torch.log(t))**(1 / 1.5)),
             ('log', 2.0, lambda t: (-torch.log(t))**2)]
    for base, e, f in cases:
        got = region_loss(tp, fp, fn, base=base, exponent=e, **kw)
        torch.testing.assert_close(got, f(tv_b))
        got = region_loss(tp, fp, fn, base=base, exponent=e,
                          aggregation='image', **kw)
        torch.testing.assert_close(got, f(tv_i).mean())
    present = torch.tensor([True, False, True, True])
    got = region_loss(tp, fp, fn, aggregation='image', present=present, **kw)
    torch.testing.assert_close(got, (1 - tv_i)[present].mean())
    with pytest.raises(ValueError, match='aggregation'):
        region_loss(tp, fp, fn, aggregation='pixel', **kw)


def test_safe_pow_singular_point():
    t = torch.zeros(3, dtype=torch.float32, requires_grad=True)
    out = safe_pow(t, 1 / 1.5)
    out.sum().backward()
    assert out.abs().sum() == 0 and torch.isfinite(t.grad).all()
    big = torch.tensor([0.25], dtype=D)
    assert safe_pow(big, 0.5).item() == pytest.approx(0.5, rel=1e-14)


# ------------------------------------------------------------------ fused
@pytest.fixture()
def eager_kernels():
    fused.set_compile(False)
    yield
    fused.set_compile(None)


@pytest.mark.parametrize('per_image', [False, True])
def test_fused_matches_pixel_path_and_soft_counts(eager_kernels, per_image):
    x, y = _sample((3, 1, 12, 10), seed=5)
    label = y[:, 0].clone()
    label[0, :3] = 255
    valid = label != 255
    xr = x.clone().requires_grad_()
    st = fused.binary_dibe_stats(xr, label, alpha=0.3, beta=0.7, lam=0.75,
                                 gamma=2.0, per_image=per_image)
    log_p, log_q = binary_log_probs(x[:, 0])
    terms = dibe_dis_terms(log_p, log_q, label == 1, x[:, 0] > 0, 0.3, 0.7,
                           0.75, 2.0)
    dims = (1, 2) if per_image else None
    tp, fp, fn = soft_counts(torch.sigmoid(x[:, 0]), label == 1, valid, dims)
    dis_ref = torch.where(valid, terms, 0.0).sum(dims or (0, 1, 2))
    torch.testing.assert_close(st.dis_sum.reshape(dis_ref.shape), dis_ref)
    torch.testing.assert_close(st.tp.reshape(tp.shape), tp)
    torch.testing.assert_close(st.fp.reshape(fp.shape), fp)
    torch.testing.assert_close(st.fn.reshape(fn.shape), fn)
    assert st.count.sum().item() == valid.sum().item()


def test_fused_gradcheck(eager_kernels):
    x, y = _sample((2, 1, 4, 5), seed=6)
    label = y[:, 0].clone()
    label[1, 0] = 255

    def f(inp):
        st = fused.binary_dibe_stats(inp, label, alpha=0.4, beta=0.6,
                                     lam=0.7, gamma=1.5, per_image=True)
        # A smooth function of all differentiable outputs.
        return (st.dis_sum * 0.3 + st.tp**2 - 0.5 * st.fp + st.fn**1.5).sum()

    # Keep logits away from the threshold, where Eq. 16 switches case.
    x = torch.where(x.abs() < 0.2, x + 0.5, x)
    assert torch.autograd.gradcheck(f, (x.requires_grad_(),))
