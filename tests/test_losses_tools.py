"""The loss tools: figures, benchmark, and a short demo training with
DIBELoss that must not produce NaN."""
import json
import math

import pytest

from utils import run_tool, write_tiny_config


def test_plot_loss_curves_writes_pngs(tmp_path):
    out = tmp_path / 'figs'
    run_tool('tools/analysis/plot_loss_curves.py', out, timeout=300)
    for name in ('fig5_dibe_dis_gradient.png',
                 'fig11_ft_vs_dibe_reg_loss.png',
                 'fig13_ft_vs_dibe_reg_gradient.png'):
        data = (out / name).read_bytes()
        assert data[:8] == b'\x89PNG\r\n\x1a\n' and len(data) > 10_000


def test_benchmark_prints_table():
    proc = run_tool('benchmarks/losses.py', '--device', 'cpu', '--shape', 2,
                    1, 32, 32, '--rounds', 2, '--no-compile', timeout=300,
                    check=False)
    assert '| DIBELoss |' in proc.stdout, proc.stderr[-3000:]
    assert '| BCE (F.binary_cross_entropy_with_logits) | ' in proc.stdout
    assert '| DIBERegLoss | DIBE_Reg |' in proc.stdout


def test_benchmark_goals_cover_every_loss_and_name_the_missed_ones():
    import torch

    from mmseg_dibe.benchmarking import loss_speed
    from mmseg_dibe.losses import LOSSES

    assert set(loss_speed.GOALS) == {t for t, i in LOSSES.items() if i.ours}
    assert [r.name for r in loss_speed.candidates()[1:]] == [
        t for t, i in LOSSES.items() if i.ours]

    def row(name, ratio, same_as=None):
        return dict(name=name, ms=1.0, ratio=ratio, mem=0.0, first_s=0.0,
                    same_as=same_as)

    results = [row(loss_speed.BCE_NAME, 1.0), row('BinaryDiceLoss', 0.5),
               row('BinaryFocalLoss', 0.95), row('BinaryTverskyLoss', 0.55),
               row('MONAI TverskyLoss', 0.5, 'BinaryTverskyLoss')]
    cpu = torch.device('cpu')
    # Focal above 0.9; Tversky under its goal but slower than a reference.
    assert loss_speed.missed_goals(cpu, results) == [
        'BinaryFocalLoss', 'BinaryTverskyLoss']
    assert loss_speed.missed_goals(torch.device('cuda'), results) == []
    table = loss_speed.format_table(cpu, (8, 1, 448, 448), results)
    assert '| BinaryDiceLoss | Dice | 1.0 | 0.50 | <= 0.6 ✓ |' in table
    assert '| BinaryTverskyLoss | Tversky | 1.0 | 0.55 | <= 0.6 ✗ | ' \
        'MONAI TverskyLoss 0.50 |' in table
    with pytest.raises(ValueError, match='binary'):
        loss_speed.bench(cpu, (2, 3, 8, 8), 1)


@pytest.mark.slow
def test_demo_training_with_dibe_loss_has_finite_losses(tmp_path,
                                                        tiny_data_root):
    cfg = write_tiny_config(
        tmp_path / 'cfg.py', tiny_data_root, iters=4,
        extra="model = dict(decode_head=dict(loss_decode=dict("
              "type='DIBELoss', alpha=0.3, lam=0.75, gamma=2.0, "
              "theta=0.5)))")
    work = tmp_path / 'work'
    run_tool('tools/train.py', cfg, '--work-dir', work, timeout=600)
    logs = list(work.rglob('vis_data/scalars.json'))
    assert logs, 'no scalars.json written'
    seen = 0
    for line in logs[0].read_text().splitlines():
        entry = json.loads(line)
        keys = [k for k in entry if k.endswith('loss_dibe')]
        if keys:  # 'decode.loss_dibe', 'aux.loss_dibe'
            seen += 1
            assert all(math.isfinite(entry[k]) for k in keys), entry
            assert math.isfinite(entry['loss'])
    assert seen >= 1
