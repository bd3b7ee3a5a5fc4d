"""Numerical safety of every loss: saturated logits, degenerate masks, a
perfect prediction (Tv → 1), autocast, all-ignored batches, NaN inputs."""
import pytest
import torch

from mmseg_dibe.functional import fused
from mmseg_dibe.losses import (BinaryDiceLoss, BinaryFocalLoss,
                               BinaryTverskyLoss, ComboLoss, DIBEDisLoss,
                               DIBELoss, DIBERegLoss, ExpLogLoss,
                               FocalTverskyLoss, HybridFocalLoss, WBCELoss)

IGNORE = 255


def all_losses():
    return [
        WBCELoss(), BinaryFocalLoss(), BinaryFocalLoss(gamma=0.5),
        BinaryDiceLoss(), BinaryTverskyLoss(), FocalTverskyLoss(),
        FocalTverskyLoss(gamma=2.0), ComboLoss(), ExpLogLoss(),
        ExpLogLoss(gamma_ce=0.3, gamma_dice=0.3), HybridFocalLoss(),
        DIBEDisLoss(), DIBEDisLoss(gamma=0.5), DIBEDisLoss(fused=False),
        DIBERegLoss(), DIBERegLoss(gamma=3.0, aggregation='image'),
        DIBELoss(), DIBELoss(gamma=1.5, aggregation='image'),
        DIBELoss(fused=False),
    ]


@pytest.fixture(autouse=True)
def eager_kernels():
    fused.set_compile(False)
    yield
    fused.set_compile(None)


def _value_and_grad(loss, logits, label):
    x = logits.clone().requires_grad_()
    value = loss(x, label)
    value.backward()
    return value.detach(), x.grad


def _masks():
    gen = torch.Generator().manual_seed(0)
    mixed = (torch.rand(2, 8, 8, generator=gen) < 0.2).long()
    mixed[0, :2] = IGNORE
    return {
        'mixed': mixed,
        'no_target': torch.zeros(2, 8, 8, dtype=torch.long),
        'all_target': torch.ones(2, 8, 8, dtype=torch.long),
    }


@pytest.mark.parametrize('mask', ['mixed', 'no_target', 'all_target'])
def test_finite_for_extreme_logits(mask):
    label = _masks()[mask]
    gen = torch.Generator().manual_seed(1)
    sign = torch.randint(0, 2, (2, 1, 8, 8), generator=gen) * 2 - 1
    cases = {
        'random ±1e4': sign * 1e4,
        'perfect saturated': torch.where(label.unsqueeze(1) == 1, 1e4, -1e4),
        'all wrong saturated': torch.where(label.unsqueeze(1) == 1, -1e4,
                                           1e4),
        'zero': torch.zeros(2, 1, 8, 8),
    }
    for name, logits in cases.items():
        logits = logits.float()
        for loss in all_losses():
            value, grad = _value_and_grad(loss, logits, label)
            assert torch.isfinite(value), (name, loss)
            assert torch.isfinite(grad).all(), (name, loss)


def test_perfect_prediction_is_zero_loss_for_region_terms():
    label = _masks()['mixed']
    logits = torch.where(label.unsqueeze(1) == 1, 1e4, -1e4).float()
    for loss in (DIBERegLoss(gamma=1.5), FocalTverskyLoss(gamma=2.0),
                 BinaryDiceLoss(), DIBELoss(), DIBEDisLoss()):
        value, grad = _value_and_grad(loss, logits, label)
        assert value.abs().item() < 1e-6, loss
        assert torch.isfinite(grad).all()


def test_near_perfect_prediction_dibe_reg_gradient_finite():
    """Tv just below 1 with γ > 1: (−log Tv)^(1/γ) is singular at 1."""
    label = _masks()['mixed']
    logits = torch.where(label.unsqueeze(1) == 1, 30.0, -30.0)
    for agg in ('batch', 'image'):
        value, grad = _value_and_grad(
            DIBERegLoss(gamma=3.0, aggregation=agg), logits, label)
        assert torch.isfinite(value) and torch.isfinite(grad).all()


def test_all_ignored_is_exactly_zero_with_zero_gradient():
    label = torch.full((2, 8, 8), IGNORE, dtype=torch.long)
    logits = torch.randn(2, 1, 8, 8) * 3
    for loss in all_losses():
        value, grad = _value_and_grad(loss, logits, label)
        assert value.item() == 0.0, loss
        # Graph stays connected (DDP needs a gradient for every parameter).
        assert grad is not None and torch.count_nonzero(grad) == 0


def test_ignored_pixels_do_not_matter():
    label = _masks()['mixed']
    logits = torch.randn(2, 1, 8, 8)
    other = logits.clone()
    other[0, 0, :2] = torch.randn(2, 8) * 100  # the ignored rows
    for loss in all_losses():
        a, ga = _value_and_grad(loss, logits, label)
        b, gb = _value_and_grad(loss, other, label)
        assert a.item() == pytest.approx(b.item(), rel=1e-6, abs=1e-7)
        assert torch.count_nonzero(gb[0, 0, :2]) == 0


def test_autocast_bfloat16_on_cpu():
    torch.manual_seed(0)
    conv = torch.nn.Conv2d(3, 1, 3, padding=1)
    img = torch.randn(2, 3, 16, 16)
    label = (torch.rand(2, 16, 16) < 0.2).long()
    label[:, :, -2:] = IGNORE
    for loss in all_losses():
        with torch.autocast('cpu', dtype=torch.bfloat16):
            logits = conv(img) * 20
            assert logits.dtype == torch.bfloat16
            value = loss(logits, label)
        assert value.dtype == torch.float32
        value.backward()
        assert torch.isfinite(value)
        assert all(torch.isfinite(p.grad).all() for p in conv.parameters())
        # Same number as the loss of the upcast logits outside autocast.
        ref = loss(logits.detach().float(), label)
        assert value.item() == pytest.approx(ref.item(), rel=1e-5, abs=1e-6)
        conv.zero_grad()


@pytest.mark.parametrize('bad', [float('nan'), float('inf'), -float('inf')])
def test_non_finite_logits_raise_naming_the_loss(bad):
    label = _masks()['mixed']
    for loss in all_losses():
        for pos in ((1, 0, 5, 5), (0, 0, 0, 0)):  # valid and ignored pixel
            logits = torch.randn(2, 1, 8, 8)
            logits[pos] = bad
            with pytest.raises(FloatingPointError,
                               match=type(loss).__name__):
                loss(logits, label)
