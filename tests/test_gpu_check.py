"""tools/gpu_check.py: the pass/fail table, its exit code, and the CPU run
of every check."""
import re
import time

import pytest
import torch

from mmseg_dibe import selfcheck
from utils import REPO, load_script, run_tool


def _ok(ctx):
    return [selfcheck.CheckResult('fine', '1.0', True)]


def _bad(ctx):
    return [selfcheck.CheckResult('broken', '2.0', False, 'too large')]


def _raises(ctx):
    raise ValueError('boom')


def _ctx():
    return selfcheck.CheckContext(device='cpu', repo_root=str(REPO))


def test_exit_code_and_table():
    rows = selfcheck.run_checks(_ctx(), [_ok])
    assert selfcheck.exit_code(rows) == 0
    rows = selfcheck.run_checks(_ctx(), [_ok, _bad])
    assert selfcheck.exit_code(rows) == 1
    table = selfcheck.format_table(rows)
    assert re.search(r'^fine\s+1\.0\s+PASS', table, re.M)
    assert re.search(r'^broken\s+2\.0\s+FAIL\s+too large', table, re.M)
    assert '1/2 passed, 1 FAILED' in table
    assert selfcheck.exit_code([]) == 1  # nothing checked is no pass


def test_raising_check_is_a_fail_row_and_the_rest_still_run():
    rows = selfcheck.run_checks(_ctx(), [_raises, _ok])
    assert [r.passed for r in rows] == [False, True]
    assert rows[0].name == '_raises'
    assert 'ValueError: boom' in rows[0].detail
    assert selfcheck.exit_code(rows) == 1


def test_tool_exits_1_when_a_check_fails(monkeypatch, capsys):
    monkeypatch.setattr(selfcheck, 'CHECKS', {'good': _ok, 'bad': _bad})
    tool = load_script('tools/gpu_check.py')
    with pytest.raises(SystemExit) as exc:
        tool.main(['--device', 'cpu'])
    assert exc.value.code == 1
    out = capsys.readouterr().out
    assert 'FAIL' in out and 'PASS' in out
    with pytest.raises(SystemExit) as exc:
        tool.main(['--device', 'cpu', '--checks', 'good'])
    assert exc.value.code == 0


@pytest.mark.skipif(torch.cuda.is_available(), reason='a GPU is present')
def test_cuda_requested_without_gpu_exits_2():
    proc = run_tool('tools/gpu_check.py', '--device', 'cuda', check=False,
                    timeout=120)
    assert proc.returncode == 2
    assert '--device cpu' in proc.stderr


def test_amp_row_fails_a_loss_with_non_finite_results():
    """The autocast row of a loss that overflows for saturated logits
    fails and names the cases; a well-behaved loss passes."""

    class Overflow(torch.nn.Module):

        def forward(self, x, label, ignore_index=255):
            return torch.exp(x.float()).mean()

    class Finite(torch.nn.Module):

        def forward(self, x, label, ignore_index=255):
            return torch.nn.functional.softplus(x.float()).mean()

    ctx = _ctx()
    assert ctx.autocast_dtypes == [torch.bfloat16]
    row = selfcheck.amp_row(ctx, 'overflow', Overflow())
    assert not row.passed
    assert 'perfect ±100' in row.detail and 'random' not in row.detail
    assert selfcheck.amp_row(ctx, 'finite', Finite()).passed


@pytest.mark.slow
def test_gpu_check_on_cpu_all_pass(tiny_data_root):
    """The self-check on the CPU: every row PASS, exit code 0.

    Shortened to stay near a minute on a small machine: the compile check
    on DIBELoss only (each loss compiles its own kernels, ~20 s apiece on 2
    cores with a cold cache), 4 and 2 training iterations, and the training
    subprocesses on the eager kernels (run_tool's MMSEG_DIBE_COMPILE=0), the
    session's tiny dataset. The autocast rows cover every loss.
    """
    start = time.perf_counter()
    proc = run_tool('tools/gpu_check.py', '--device', 'cpu',
                    '--compile-losses', 'DIBELoss', '--train-iters', 4,
                    '--dist-iters', 2, '--data-root', tiny_data_root,
                    check=False, timeout=600)
    elapsed = time.perf_counter() - start
    table = proc.stdout
    assert proc.returncode == 0, table + proc.stderr[-3000:]
    rows = [line for line in table.splitlines()
            if re.search(r'\s(PASS|FAIL)(\s|$)', line)]
    names = [r.split('  ')[0] for r in rows]
    # (a) one row per loss of ours, (b) one per loss + mmseg's BCE, (c), (d)
    assert [n for n in names if n.startswith('compile==eager')] == [
        'compile==eager DIBELoss'
    ]
    # every loss of ours and mmseg's sigmoid CrossEntropyLoss
    assert sum(n.startswith('autocast bfloat16') for n in names) == 12
    assert any(n.startswith('train 4 it fp32') for n in names)
    assert any(n.startswith('dist_train.sh 1 process') for n in names)
    assert all(' PASS' in r and ' FAIL' not in r for r in rows), table
    print(f'gpu_check --device cpu: {elapsed:.0f} s')
