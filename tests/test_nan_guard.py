"""A NaN loss stops the training, naming the iteration and the loss term."""
import pytest

from utils import REPO, run_tool, write_tiny_config

ENV = {'OMP_NUM_THREADS': '1', 'MMSEG_DIBE_COMPILE': '0',
       'PYTHONPATH': str(REPO / 'tests' / 'support')}


def test_nan_guard_names_iteration_and_terms():
    import torch

    from mmseg_dibe.engine import NaNGuardHook

    class _Runner:
        iter = 6
    hook = NaNGuardHook()
    hook.after_train_iter(_Runner(), 0, outputs=dict(
        loss=torch.tensor(1.0), **{'decode.loss_dibe': torch.tensor(1.0)}))
    with pytest.raises(FloatingPointError) as err:
        hook.after_train_iter(_Runner(), 0, outputs={
            'loss': torch.tensor(float('nan')),
            'decode.loss_dibe': torch.tensor(0.5),
            'aux.loss_dibe': torch.tensor(float('inf')),
            'decode.acc_seg': torch.tensor(float('nan'))})
    msg = str(err.value)
    assert 'iteration 7' in msg
    assert 'aux.loss_dibe=inf' in msg and 'loss=nan' in msg
    assert 'decode.loss_dibe' not in msg and 'acc_seg' not in msg


@pytest.mark.slow
def test_training_with_nan_loss_stops_naming_it(tmp_path, tiny_data_root):
    cfg = write_tiny_config(
        tmp_path / 'nan.py', tiny_data_root, iters=6, extra=(
            'custom_imports = dict(imports=["mmseg_dibe", "nan_loss"], '
            'allow_failed_imports=False)\n'
            'model = dict(decode_head=dict(loss_decode=[\n'
            '    dict(type="DIBELoss", alpha=0.3, lam=0.75, gamma=2.0,\n'
            '         theta=0.5),\n'
            '    dict(type="NaNAfterLoss", start=2)]))\n'))
    proc = run_tool('tools/train.py', cfg, '--work-dir', tmp_path / 'work',
                    env=ENV, check=False, timeout=600)
    assert proc.returncode != 0
    out = proc.stdout + proc.stderr
    assert 'FloatingPointError: non-finite loss at iteration 3' in out, \
        out[-3000:]
    assert 'decode.loss_nanprobe=nan' in out
    assert 'aux.loss' not in out.split('FloatingPointError')[-1]
