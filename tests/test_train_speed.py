"""benchmarks/train_speed.py's measurement code: the timed loop is
train_step cut into phases, variants are measured and compared, the long run
records every iteration, subnormals and slow phases are found."""
import pytest
import torch

from mmseg_dibe.benchmarking import train_speed as ts
from mmseg_dibe.functional import fused
from utils import DEMO_CONFIG


@pytest.fixture
def eager_kernels():
    fused.set_compile(False)  # speed: the compiled path has its own tests
    yield
    fused.set_compile(None)


@pytest.fixture
def cfg(tiny_data_root, tmp_path):
    return ts.load_train_config(
        str(DEMO_CONFIG), str(tiny_data_root), str(tmp_path), seed=0,
        cfg_options={'train_dataloader.batch_size': 2})


def test_count_subnormal():
    tiny = torch.finfo(torch.float32).tiny
    x = torch.tensor([0.0, tiny, tiny / 4, -tiny / 1e3, 1.0, 1e-45])
    assert ts.count_subnormal(x) == 3  # tiny/4, -tiny/1e3, 1e-45
    assert ts.count_subnormal(torch.arange(3)) == 0  # integers


def test_slow_phases_finds_a_slow_stretch():
    times = [0.1] * 200
    times[120:160] = [1.5] * 40
    times[50] = 5.0  # one slow iteration is not a phase
    (phase, ) = ts.slow_phases(times, factor=3, window=10)
    first, last, ratio = phase
    assert (first, last) == (121, 160)
    assert ratio == pytest.approx(15)
    assert ts.slow_phases([0.1] * 100) == []


def test_manual_step_equals_train_step(cfg, eager_kernels):
    manual, ref = ts.check_manual_step(cfg)
    assert manual == pytest.approx(ref, rel=1e-6)


def test_measure_variants_and_summary(cfg, eager_kernels):
    variants = [ts.Variant('default'),
                ts.Variant('flush_denormal', flush_denormal=True),
                ts.Variant('channels_last', channels_last=True),
                ts.Variant('bad threads', threads=-3)]
    threads = torch.get_num_threads()
    results = ts.measure_variants(cfg, variants, iters=2, warmup=1, rounds=2)
    assert torch.get_num_threads() == threads  # settings restored
    rows = {r['name']: r for r in ts.summarize(results)}
    for name in ('default', 'flush_denormal', 'channels_last'):
        row = rows[name]
        assert row['n'] == 2 and row['error'] is None
        assert set(row['phases_ms']) == set(ts.PHASES)
        assert row['it_s'] > 0
    assert rows['default']['ratio'] == pytest.approx(1)
    # Same seed, same weights, same batches: the same loss.
    assert rows['flush_denormal']['loss'] == pytest.approx(
        rows['default']['loss'], rel=1e-5)
    assert rows['channels_last']['loss'] == pytest.approx(
        rows['default']['loss'], rel=1e-3)
    assert rows['bad threads']['n'] == 0 and rows['bad threads']['error']
    text = ts.format_summary(list(rows.values()))
    assert 'bad threads' in text and 'failed' in text
    assert 'backward' in ts.format_phases(list(rows.values()))


def test_long_run_records_every_iteration(cfg, eager_kernels):
    cfg.train_cfg.max_iters = 3
    cfg.train_cfg.val_interval = 3
    cfg.default_hooks.checkpoint.interval = 3
    result = ts.long_run(cfg, flush_denormal=True, threads=1, sample_every=2)
    assert len(result['times']) == 3
    assert [s['iter'] for s in result['samples']] == [0, 2]
    assert all(s['activations'] >= 0 and s['momentum'] >= 0
               for s in result['samples'])
    assert 'slow phases' in ts.format_long_run(result)
