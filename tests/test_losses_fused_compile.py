"""The compiled fused kernels give the eager numbers (every kind of loss)
and do not recompile for a new batch shape or a new α (what a hook
changes)."""
import pytest
import torch

from mmseg_dibe.functional import fused
from mmseg_dibe.losses import DIBEDisLoss, DIBELoss


def _batch(shape, seed):
    gen = torch.Generator().manual_seed(seed)
    logits = torch.randn(shape, generator=gen) * 3
    label = (torch.rand(shape[0], *shape[2:], generator=gen) < 0.2).long()
    label[:, :, -2:] = 255
    return logits, label


def _run(loss, logits, label):
    x = logits.clone().requires_grad_()
    value = loss(x, label)
    value.backward()
    return value.detach(), x.grad


def test_no_compiler_cost_at_import():
    """Importing the losses loads neither dynamo nor inductor."""
    import subprocess
    import sys
    code = ('import sys, torch; import mmseg_dibe.losses; '
            'print(any(m.startswith(("torch._dynamo", "torch._inductor")) '
            'for m in sys.modules))')
    out = subprocess.run([sys.executable, '-c', code], capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == 'False'


@pytest.mark.slow
def test_compiled_equals_eager_without_recompilation():
    import torch._dynamo

    loss = DIBELoss(alpha=0.3)
    # Above 4096 pixels per row: the compiler may guard a small first size.
    logits, label = _batch((2, 1, 64, 66), 0)
    fused.set_compile(False)
    try:
        eager = _run(loss, logits, label)
        fused.set_compile(True)
        compiled = _run(loss, logits, label)
        if fused._state['failed']:
            pytest.skip('torch.compile is unavailable here (eager fallback)')
        torch.testing.assert_close(compiled[0], eager[0], rtol=1e-5,
                                   atol=1e-7)
        torch.testing.assert_close(compiled[1], eager[1], rtol=1e-4,
                                   atol=1e-9)
        # New batch and crop sizes (one image included), new α: no
        # recompilation.
        with torch._dynamo.config.patch(error_on_recompile=True):
            for shape in ((1, 1, 65, 70), (4, 1, 80, 72)):
                _run(loss, *_batch(shape, 2))
            logits2, label2 = _batch((3, 1, 47, 61), 1)
            loss.alpha = 0.7
            compiled2 = _run(loss, logits2, label2)
        fused.set_compile(False)
        eager2 = _run(loss, logits2, label2)
        torch.testing.assert_close(compiled2[0], eager2[0], rtol=1e-5,
                                   atol=1e-7)
        assert not fused._state['failed']
        # DIBE_Dis alone (θ = 1) on the compiled path.
        fused.set_compile(True)
        dis_c = _run(DIBEDisLoss(), logits, label)
        fused.set_compile(False)
        dis_e = _run(DIBEDisLoss(), logits, label)
        torch.testing.assert_close(dis_c[0], dis_e[0], rtol=1e-5, atol=1e-7)
        torch.testing.assert_close(dis_c[1], dis_e[1], rtol=1e-4, atol=1e-9)
        # Per-image aggregation: same, for any batch size.
        per_image = DIBELoss(aggregation='image')
        fused.set_compile(True)
        logits, label = _batch((2, 1, 80, 72), 4)
        img_c = _run(per_image, logits, label)
        with torch._dynamo.config.patch(error_on_recompile=True):
            # (A one-image batch is specialised once: not tested here.)
            for shape in ((3, 1, 90, 70), (5, 1, 64, 70)):
                _run(per_image, *_batch(shape, 3))
        fused.set_compile(False)
        img_e = _run(per_image, logits, label)
        torch.testing.assert_close(img_c[0], img_e[0], rtol=1e-5, atol=1e-7)
        assert not fused._state['failed']
    finally:
        fused.set_compile(None)


@pytest.mark.slow
def test_every_kind_of_kernel_compiles_to_the_eager_numbers():
    """The fused kernels' other branches, compiled: no per-pixel term (a
    region loss), Focal, WBCE (γ = 0) with counts, EL's power of −log p_t
    with counts. Each is one more specialisation of the same two kernels."""
    from mmseg_dibe.losses import (BinaryDiceLoss, BinaryFocalLoss,
                                   ComboLoss, ExpLogLoss)
    logits, label = _batch((2, 1, 64, 66), 5)
    try:
        for loss in (BinaryDiceLoss(), BinaryFocalLoss(), ComboLoss(),
                     ExpLogLoss(gamma_ce=0.5, gamma_dice=2.0)):
            fused.set_compile(True)
            compiled = _run(loss, logits, label)
            if fused._state['failed']:
                pytest.skip('torch.compile is unavailable here')
            fused.set_compile(False)
            eager = _run(loss, logits, label)
            torch.testing.assert_close(compiled[0], eager[0], rtol=1e-5,
                                       atol=1e-7)
            torch.testing.assert_close(compiled[1], eager[1], rtol=1e-4,
                                       atol=1e-9)
        assert not fused._state['failed']
    finally:
        fused.set_compile(None)
