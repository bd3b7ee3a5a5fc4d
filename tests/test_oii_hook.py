"""Tests of ``OIIBisectionHook``: unit tests on a fake runner, then tiny real
trainings (α direction, --resume, two CPU processes)."""
import glob
import logging
import json
import os
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
from mmengine.dist import get_rank
from mmengine.hooks import Hook
from mmengine.logging import MessageHub
from mmengine.registry import MODEL_WRAPPERS
from torch import nn

import mmseg_dibe  # noqa: F401  (registers the hook)
from mmseg.registry import HOOKS
from mmseg_dibe.engine.hooks.oii_bisection_hook import (
    CHECKPOINT_KEY, STATE_FILE, OIIBisectionHook, find_alpha_losses,
    set_loss_alpha)
from utils import REPO, run_tool, write_tiny_config


# ----------------------------------------------------------- fake models
class AlphaLoss(nn.Module):

    def __init__(self, alpha=0.3):
        super().__init__()
        self.alpha = alpha
        self.beta = 1 - alpha


class DerivedBetaLoss(nn.Module):
    """beta is a read-only property derived from alpha."""

    def __init__(self):
        super().__init__()
        self.alpha = 0.3

    @property
    def beta(self):
        return 1 - self.alpha


class CompoundLoss(nn.Module):
    """A loss whose parts carry their own alpha."""

    def __init__(self):
        super().__init__()
        self.alpha = 0.3
        self.dis = AlphaLoss()
        self.other = nn.Identity()


class Head(nn.Module):

    def __init__(self, loss):
        super().__init__()
        self.loss_decode = loss


class Segmentor(nn.Module):

    def __init__(self, decode_loss=None, aux=True):
        super().__init__()
        self.decode_head = Head(decode_loss if decode_loss is not None else
                                nn.ModuleList([AlphaLoss(), nn.L1Loss()]))
        if aux:
            self.auxiliary_head = nn.ModuleList(
                [Head(DerivedBetaLoss()),
                 Head(CompoundLoss())])
        else:
            self.auxiliary_head = None


@MODEL_WRAPPERS.register_module(force=True)
class FakeWrapper(nn.Module):
    """Stands in for (CPU)DistributedDataParallel."""

    def __init__(self, module):
        super().__init__()
        self.module = module


def alphas(model):
    return {name: m.alpha for name, m in find_alpha_losses(model)}


def all_alpha(model, value):
    """Every alpha loss of the model holds ``value``."""
    values = list(alphas(model).values())
    return len(values) > 0 and values == pytest.approx([value] * len(values))


def fake_runner(tmp_path, model=None, it=0):
    return SimpleNamespace(
        model=model if model is not None else Segmentor(),
        iter=it,
        work_dir=str(tmp_path),
        message_hub=MessageHub.get_instance(f'oii_hook_{tmp_path.name}'))


#: The behaviour before warm-up/settle/hold existed: every round after
#: start_round/start_iter decides, α fixed for good once the search is over.
#: The tests of the bisection trace, resume and real trainings use it; the
#: new defaults are tested in test_oii_hook_schedule.py.
LEGACY = dict(warmup=None, settle_rounds=0, reopen_after=0)


def validate(hook, runner, rounds):
    """Start training, then one validation round per ``(iter, OII)``."""
    hook.before_train(runner)
    for it, oii in rounds:
        runner.iter = it
        hook.after_val_epoch(runner, {'OII': oii})


# ------------------------------------------------------------ unit tests
def test_find_and_set_alpha_through_wrapper():
    model = FakeWrapper(Segmentor())
    names = set_loss_alpha(model, 0.7)
    assert names == [
        'decode_head.loss_decode.0', 'auxiliary_head.0.loss_decode',
        'auxiliary_head.1.loss_decode', 'auxiliary_head.1.loss_decode.dis'
    ]
    seg = model.module
    assert seg.decode_head.loss_decode[0].alpha == 0.7
    assert seg.decode_head.loss_decode[0].beta == pytest.approx(0.3)
    assert seg.auxiliary_head[0].loss_decode.beta == pytest.approx(0.3)
    assert seg.auxiliary_head[1].loss_decode.dis.alpha == 0.7
    assert not hasattr(seg.decode_head.loss_decode[1], 'alpha')


def test_appendix_b_trace_on_the_losses(tmp_path):
    hook = HOOKS.build(dict(type='OIIBisectionHook', **LEGACY))
    runner = fake_runner(tmp_path)
    hook.before_train(runner)
    assert all_alpha(runner.model, 0.5)
    seen = []
    for it, oii in ((2, 0.475), (4, 0.322), (6, 0.9)):
        runner.iter = it
        hook.before_train_iter(runner, 0)
        seen.append(runner.message_hub.get_scalar('train/alpha').current())
        hook.after_val_epoch(runner, {'OII': oii, 'IoU': 0.4})
        assert runner.message_hub.get_scalar('val/alpha').current() == \
            pytest.approx(seen[-1])
    # 0.475 > 0.4: raise to 0.7; 0.322 in target: fixed; later rounds ignored.
    assert seen == pytest.approx([0.5, 0.7, 0.7])
    assert all_alpha(runner.model, 0.7)
    assert hook.bisection.converged and hook.rounds == 3
    state = json.loads((tmp_path / STATE_FILE).read_text())
    assert [r['iter'] for r in state['records']] == [2, 4, 6]


def test_log_prints_the_bisections_decision(tmp_path, monkeypatch):
    """The hook logs the BisectionStep's own words, not its own rule."""
    from mmseg_dibe.engine.hooks import oii_bisection_hook
    messages = []
    monkeypatch.setattr(oii_bisection_hook, 'print_log',
                        lambda msg, **kwargs: messages.append(msg))
    validate(OIIBisectionHook(**LEGACY), fake_runner(tmp_path),
             ((2, 0.475), (4, 0.322)))
    assert 'OII=0.4750 at alpha=0.5: above target: α → 0.7' in messages[1]
    assert 'interval [0.5, 0.9], step 1/5' in messages[1]
    assert 'OII=0.3220 at alpha=0.7: OII in target: α fixed' in messages[2]


def test_a_search_pinned_at_an_end_is_logged_as_a_warning(
        tmp_path, monkeypatch):
    """OII below the target at every α down to near ``low``: the round's
    note says the target may be out of reach, at warning level."""
    from mmseg_dibe.engine.hooks import oii_bisection_hook
    logged = []
    monkeypatch.setattr(oii_bisection_hook, 'print_log',
                        lambda msg, **kwargs: logged.append(
                            (kwargs.get('level', logging.INFO), msg)))
    hook = OIIBisectionHook(**LEGACY)
    validate(hook, fake_runner(tmp_path),
             ((2, -0.4), (4, -0.3), (6, -0.5)))
    levels = [level for level, _ in logged[1:]]
    assert levels == [logging.INFO, logging.INFO, logging.WARNING]
    assert 'closing in on the end α = 0.1' in logged[3][1]
    assert 'out of reach of α' in hook.records[-1]['note']
    assert hook.bisection.alpha == pytest.approx(0.15)


def test_warm_up_and_prefixed_metric(tmp_path):
    hook = OIIBisectionHook(start_round=1, start_iter=3, metric='OII',
                            **LEGACY)
    runner = fake_runner(tmp_path)
    hook.before_train(runner)
    runner.iter = 2
    hook.after_val_epoch(runner, {'crack/OII': 0.071})  # round 1: warm-up
    runner.iter = 4
    hook.after_val_epoch(runner, {'crack/OII': 0.071})  # used
    assert hook.bisection.alpha == pytest.approx(0.3)
    assert all_alpha(runner.model, 0.3)


def test_missing_metric_and_nan(tmp_path):
    hook = OIIBisectionHook()
    runner = fake_runner(tmp_path)
    hook.before_train(runner)
    runner.iter = 2
    with pytest.raises(KeyError, match='OIIMetric'):
        hook.after_val_epoch(runner, {'mIoU': 0.5})
    hook.after_val_epoch(runner, {'OII': float('nan')})  # ignored
    assert hook.bisection.steps == 0 and hook.bisection.alpha == 0.5


def test_no_alpha_loss_fails_at_start(tmp_path):
    model = Segmentor(decode_loss=nn.L1Loss(), aux=False)
    with pytest.raises(RuntimeError, match=r"no loss .* \['L1Loss'\]"):
        OIIBisectionHook().before_train(fake_runner(tmp_path, model))


def test_validation_outside_training_is_ignored(tmp_path):
    hook = OIIBisectionHook()
    runner = fake_runner(tmp_path)
    hook.after_val_epoch(runner, {'OII': 0.9})  # runner.val() alone
    assert hook.bisection.steps == 0


def test_checkpoint_roundtrip_and_side_file(tmp_path):
    hook = OIIBisectionHook(**LEGACY)
    runner = fake_runner(tmp_path)
    hook.before_train(runner)
    # mmengine saves the iteration checkpoint BEFORE that iteration's
    # validation: the checkpoint of iter 4 knows round 1 only.
    runner.iter = 2
    hook.after_val_epoch(runner, {'OII': 0.071})  # -> 0.3
    runner.iter = 4
    ckpt = {}
    hook.before_save_checkpoint(runner, ckpt)
    hook.after_val_epoch(runner, {'OII': 0.118})  # -> 0.2
    ckpt = json.loads(json.dumps(ckpt))  # plain data only
    assert ckpt[CHECKPOINT_KEY]['state']['bisection']['alpha'] == \
        pytest.approx(0.3)

    # Resume at iter 4: the side file supplies round 2 -> alpha 0.2.
    resumed = OIIBisectionHook(**LEGACY)
    runner2 = fake_runner(tmp_path, it=4)
    resumed.after_load_checkpoint(runner2, ckpt)
    resumed.before_train(runner2)
    assert resumed.bisection.alpha == pytest.approx(0.2)
    assert all_alpha(runner2.model, 0.2)
    assert resumed.rounds == 2

    # Without the side file (work dir moved): the checkpoint's state.
    os.remove(tmp_path / STATE_FILE)
    resumed = OIIBisectionHook(**LEGACY)
    runner3 = fake_runner(tmp_path, it=4)
    resumed.after_load_checkpoint(runner3, ckpt)
    resumed.before_train(runner3)
    assert resumed.bisection.alpha == pytest.approx(0.3)

    # load_from (iteration 0) starts a fresh search.
    fresh = OIIBisectionHook(**LEGACY)
    runner4 = fake_runner(tmp_path, it=0)
    fresh.after_load_checkpoint(runner4, ckpt)
    fresh.before_train(runner4)
    assert fresh.bisection.alpha == 0.5 and fresh.rounds == 0


def test_resume_ignores_rounds_after_the_checkpoint(tmp_path):
    hook, runner = OIIBisectionHook(**LEGACY), fake_runner(tmp_path)
    validate(hook, runner, ((2, 0.071), (4, 0.118)))
    # Resume from the checkpoint of iter 2 (e.g. a chosen older one).
    resumed = OIIBisectionHook(**LEGACY)
    runner2 = fake_runner(tmp_path, it=2)
    resumed.before_train(runner2)
    assert resumed.bisection.alpha == pytest.approx(0.3)
    assert resumed.rounds == 1


@pytest.mark.parametrize('kwargs', [
    dict(start_round=-1), dict(start_iter=1.5), dict(metric=''),
    dict(target=(0.4, 0.3)), dict(warmup='fixed'), dict(warmup_rounds=0),
    dict(warmup_oii=0), dict(settle_rounds=-1), dict(smooth=0),
    dict(reopen_after=1.0), dict(reopen_width=0), dict(max_reopen=-1)
])
def test_bad_arguments(kwargs):
    with pytest.raises(ValueError):
        OIIBisectionHook(**kwargs)


# ------------------------------------------- probe for end-to-end tests
@HOOKS.register_module(force=True)
class AlphaProbeHook(Hook):
    """Test only: each rank records the α its losses really hold."""

    priority = 'LOW'  # after OIIBisectionHook

    def __init__(self, out_dir):
        self.out_dir = out_dir

    def _write(self, runner, event, **extra):
        values = sorted(set(alphas(runner.model).values()))
        betas = sorted({
            round(m.beta, 9)
            for _, m in find_alpha_losses(runner.model) if hasattr(m, 'beta')
        })
        os.makedirs(self.out_dir, exist_ok=True)
        with open(os.path.join(self.out_dir, f'rank{get_rank()}.jsonl'),
                  'a') as f:
            f.write(json.dumps(dict(event=event, iter=runner.iter,
                                    alpha=values, beta=betas, **extra)) + '\n')

    def before_train(self, runner):
        self._write(runner, 'start')

    def after_val_epoch(self, runner, metrics=None):
        self._write(runner, 'val', metrics=metrics)


def probe_records(out_dir, rank=0):
    path = Path(out_dir) / f'rank{rank}.jsonl'
    return [json.loads(line) for line in path.read_text().splitlines()]


# Never hit: OII is exactly 1 when FP = 0 or TP = 0, and otherwise
# 1 - OII ≈ k·FP/FN >= ~1e-4 with the ~160 target pixels of the tiny
# validation set (FN <= 160). So α moves after every round.
TARGET = (0.999999, 1.0)


def hook_config(tmp_path, data_root, probe_dir, iters, **hook):
    hook = dict(dict(type='OIIBisectionHook', target=TARGET, max_steps=5,
                     **LEGACY), **hook)
    extra = (
        "custom_imports = dict(imports=['mmseg_dibe', 'test_oii_hook'], "
        "allow_failed_imports=False)\n"
        f'custom_hooks = [{hook!r}, '
        f'dict(type="AlphaProbeHook", out_dir={str(probe_dir)!r})]\n')
    return write_tiny_config(tmp_path / 'cfg.py', data_root, iters=iters,
                             val_interval=2, extra=extra)


TESTS_ENV = {'PYTHONPATH': str(REPO / 'tests')}


def check_direction(records):
    """α after each round moved as the spec says for the round's OII."""
    vals = [r for r in records if r['event'] == 'val']
    previous = [r for r in records if r['event'] == 'start'][0]['alpha']
    for rec in vals:
        oii = rec['metrics']['OII']
        (before, ), (after, ) = previous, rec['alpha']
        if oii >= TARGET[1]:
            assert after > before, rec  # too many misses: more weight on FN
        else:
            assert after < before, rec
        assert rec['beta'] == [pytest.approx(1 - after)]
        previous = rec['alpha']


@pytest.fixture(scope='module')
def single_run(tmp_path_factory, tiny_data_root):
    """One 1-process training with the hook: 4 iterations, 2 rounds."""
    root = tmp_path_factory.mktemp('oii_hook_single')
    probe = root / 'probe'
    work = root / 'work'
    cfg = hook_config(root, tiny_data_root, probe, iters=4)
    run_tool('tools/train.py', cfg, '--work-dir', work, env=TESTS_ENV,
             timeout=600)
    return SimpleNamespace(cfg=cfg, work=work, probe=probe,
                           records=probe_records(probe))


@pytest.mark.slow
def test_training_moves_alpha_and_survives_resume(single_run):
    first, work = single_run.records, single_run.work
    assert [r['event'] for r in first] == ['start', 'val', 'val']
    assert first[0]['alpha'] == [0.5]
    check_direction(first)
    alpha_end = first[-1]['alpha']

    # α is logged for the text log and the visualizer backends.
    logs = glob.glob(str(work / '*' / 'vis_data' / '*.json'))
    entries = [json.loads(line) for p in logs for line in open(p)]
    assert any('alpha' in e and 'loss' in e for e in entries)  # train lines
    assert any('alpha' in e and 'OII' in e for e in entries)  # val lines
    ckpt = torch.load(work / 'iter_4.pth', map_location='cpu',
                      weights_only=False)
    assert ckpt['oii_bisection']['state']['rounds'] == 1  # saved before val

    # Resume at iter 4 and train to 6: the α of round 2 is restored even
    # though the iter-4 checkpoint was written before that round.
    run_tool('tools/train.py', single_run.cfg, '--work-dir', work,
             '--resume', '--cfg-options', 'train_cfg.max_iters=6',
             env=TESTS_ENV, timeout=600)
    second = probe_records(single_run.probe)[len(first):]
    assert [r['event'] for r in second] == ['start', 'val']
    assert second[0]['iter'] == 4 and second[0]['alpha'] == alpha_end
    check_direction(second)
    state = json.loads((work / STATE_FILE).read_text())['records'][-1]
    assert state['iter'] == 6 and state['state']['rounds'] == 3
    assert len(state['state']['bisection']['history']) == 3


def _test_metrics(work):
    """Metrics of a tools/test.py run, from mmengine's JSON dump."""
    paths = sorted(glob.glob(str(Path(work) / '*' / '*.json')))
    assert paths, f'no test results in {work}'
    return json.loads(Path(paths[-1]).read_text().splitlines()[-1])


@pytest.mark.slow
def test_two_processes_give_one_process_metrics(single_run, tmp_path):
    # The 1-process validation at iter 4 ran on exactly the weights and BN
    # statistics saved in iter_4.pth; OIIMetric on 2 processes (each rank
    # half of the images, results gathered) must give the same numbers.
    val = single_run.records[-1]['metrics']
    run_tool('tools/dist_test.sh', single_run.cfg,
             single_run.work / 'iter_4.pth', 2, '--work-dir', tmp_path,
             env=dict(TESTS_ENV, PORT='29733'), timeout=600)
    dist = _test_metrics(tmp_path)
    for key in ('TP', 'FP', 'FN'):
        assert dist[key] == val[key], key
    for key in ('IoU', 'PA', 'Recall', 'Dice', 'OII', 'FP/FN'):
        assert dist[key] == pytest.approx(val[key], rel=1e-12, nan_ok=True), key


@pytest.mark.slow
def test_two_process_training_same_alpha_on_both_ranks(
        tmp_path, tiny_data_root):
    probe = tmp_path / 'probe'
    cfg = hook_config(tmp_path, tiny_data_root, probe, iters=2)
    cfg.write_text(cfg.read_text() +
                   'train_cfg = dict(max_iters=2, val_interval=1)\n')
    run_tool('tools/dist_train.sh', cfg, 2, '--work-dir', tmp_path / 'work',
             env=dict(TESTS_ENV, PORT='29731'), timeout=600)
    rank0, rank1 = probe_records(probe, 0), probe_records(probe, 1)
    assert [r['event'] for r in rank0] == ['start', 'val', 'val']
    # Same α on the losses of both ranks after every round, and the
    # metrics each rank saw are the same (gathered over both ranks).
    assert [r['alpha'] for r in rank0] == [r['alpha'] for r in rank1]
    assert [r.get('metrics') for r in rank0] == [
        r.get('metrics') for r in rank1
    ]
    check_direction(rank0)
