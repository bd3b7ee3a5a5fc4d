"""Tests of the phases of ``OIIBisectionHook`` (warm-up, settle, smoothing,
hold and re-open) on a fake runner: a sequence of validation metrics per
round, no training."""
import json

import pytest

from mmseg_dibe.engine.hooks.oii_bisection_hook import (CHECKPOINT_KEY,
                                                        HOLD, SEARCH,
                                                        STATE_FILE, STOPPED,
                                                        WARMUP,
                                                        OIIBisectionHook)
from test_oii_hook import all_alpha, fake_runner


def metrics(oii, tp=10.0, prefix=''):
    out = {f'{prefix}OII': oii, f'{prefix}IoU': 0.5}
    if tp is not None:
        out[f'{prefix}TP'] = float(tp)
        out[f'{prefix}FP'] = out[f'{prefix}FN'] = 5.0
    return out


def run(hook, runner, rounds, start=True):
    """One validation round per entry (OII, or (OII, TP)); the α used in
    each round (``val/alpha``)."""
    if start:
        hook.before_train(runner)
    used = []
    for value in rounds:
        oii, tp = value if isinstance(value, tuple) else (value, 10.0)
        runner.iter += 10
        used.append(hook.bisection.alpha)
        hook.after_val_epoch(runner, metrics(oii, tp))
        assert runner.message_hub.get_scalar('val/alpha').current() == \
            pytest.approx(used[-1])
    return used


def notes(hook):
    return [r['note'] for r in hook.records]


# ------------------------------------------------------------- warm-up
def test_auto_warmup_ignores_the_transient(tmp_path):
    hook, runner = OIIBisectionHook(), fake_runner(tmp_path)
    used = run(hook, runner, [
        (1.0, 0),  # nothing predicted
        (1.0, 0),
        (-1.0, 40),  # flood of false alarms: |OII| = 1
        (0.9, 12),  # predicting 1/2
        (1.0, 0),  # back to nothing: the count starts again
        (0.8, 15),  # 1/2
        (0.7, 20),  # 2/2: the warm-up is over after this round
        (0.9, 30),  # first decision: above the target, α 0.5 -> 0.7
    ])
    assert used == pytest.approx([0.5] * 8)
    assert hook.bisection.alpha == pytest.approx(0.7)
    assert all_alpha(runner.model, 0.7)
    assert hook.bisection.steps == 1 and hook.phase == SEARCH
    assert [r['state']['phase'] for r in hook.records] == [WARMUP] * 7 + [
        SEARCH]
    assert 'TP=0, OII=1.0000: not predicting; 0/2' in notes(hook)[0]
    assert 'predicting; 2/2 consecutive' in notes(hook)[6]
    assert 'above target: α → 0.7' in notes(hook)[7]


def test_warmup_uses_tp_and_a_prefixed_key(tmp_path):
    hook, runner = OIIBisectionHook(), fake_runner(tmp_path)
    hook.before_train(runner)
    # TP = 0 with |OII| < 1 cannot come from OIIMetric, but TP decides.
    for _ in range(3):
        hook.after_val_epoch(runner, metrics(0.5, 0, prefix='crack/'))
    assert hook.phase == WARMUP and hook.warmup_streak == 0
    for _ in range(2):
        hook.after_val_epoch(runner, metrics(0.5, 3, prefix='crack/'))
    hook.after_val_epoch(runner, metrics(0.5, 3, prefix='crack/'))
    assert hook.bisection.alpha == pytest.approx(0.7)


@pytest.mark.parametrize('key,tp_key', [('OII.crack', 'TP.crack'),
                                        ('mOII', None)])
def test_warmup_count_key_of_other_metrics(tmp_path, key, tp_key):
    hook, runner = OIIBisectionHook(metric=key), fake_runner(tmp_path)
    hook.before_train(runner)
    for oii in (1.0, 0.5, 0.5, 0.9):
        values = {key: oii, 'mIoU': 0.3}
        if tp_key:
            values[tp_key] = 4.0
        hook.after_val_epoch(runner, values)
    # Without a TP key OII alone decides (|OII| < 1 implies TP > 0).
    assert hook.bisection.steps == 1
    assert hook.bisection.alpha == pytest.approx(0.7)


def test_start_round_is_a_further_lower_bound(tmp_path):
    hook, runner = OIIBisectionHook(start_round=4), fake_runner(tmp_path)
    used = run(hook, runner, [0.9, 0.9, 0.9, 0.9, 0.9])
    assert hook.bisection.steps == 1 and used == pytest.approx([0.5] * 5)
    assert 'start_round=4' in notes(hook)[3]
    # And the auto warm-up still applies after start_iter.
    hook, runner = OIIBisectionHook(start_iter=15), fake_runner(tmp_path)
    run(hook, runner, [0.9, 0.9, 0.9])  # iters 10, 20, 30
    assert hook.bisection.steps == 1


# ------------------------------------------------------ settle, smooth
def test_settle_round_after_a_change_is_skipped(tmp_path):
    hook = OIIBisectionHook(warmup=None)  # settle_rounds=1 by default
    runner = fake_runner(tmp_path)
    used = run(hook, runner, [0.9, -0.9, 0.9, 0.9])
    # 0.9 -> 0.7; -0.9 measured one round after the change: not used;
    # 0.9 -> 0.8; the next round settles again.
    assert used == pytest.approx([0.5, 0.7, 0.7, 0.8])
    assert hook.bisection.alpha == pytest.approx(0.8)
    assert [h['oii'] for h in hook.bisection.history] == [0.9, 0.9]
    assert notes(hook)[1].startswith('settle: OII=-0.9000 not used (round '
                                     '1/1 after a change of α)')
    assert hook.settle_left == 0  # the last round was the settle round

    hook = OIIBisectionHook(warmup=None, settle_rounds=2)
    run(hook, fake_runner(tmp_path), [0.9, -0.9, -0.9, 0.9])
    assert hook.bisection.alpha == pytest.approx(0.8)


def test_smoothing_decides_on_the_mean(tmp_path):
    hook = OIIBisectionHook(warmup=None, settle_rounds=0, smooth=2)
    used = run(hook, fake_runner(tmp_path), [0.9, 0.0, 0.1, 0.2])
    # mean(0.9, 0.0) = 0.45 above: 0.7; mean(0.1, 0.2) = 0.15: 0.6.
    assert used == pytest.approx([0.5, 0.5, 0.7, 0.7])
    assert hook.bisection.alpha == pytest.approx(0.6)
    assert [h['oii'] for h in hook.bisection.history] == pytest.approx(
        [0.45, 0.15])
    assert 'smoothing: OII=0.9000 (1/2 rounds at this α)' in notes(hook)[0]
    assert 'OII=0.4500 (mean of 2 rounds) at alpha=0.5' in notes(hook)[1]


# -------------------------------------------------------- hold, re-open
def test_hold_reopens_after_leaving_the_target(tmp_path):
    hook = OIIBisectionHook(warmup=None)
    runner = fake_runner(tmp_path)
    used = run(hook, runner, [
        0.35,  # in target at 0.5: hold
        0.5,  # out 1/2
        0.35,  # back inside: the count starts again
        0.45, 0.25,  # out twice, but on both sides: mean 0.35 inside
        0.5, 0.6,  # out twice above (mean 0.55): re-open on [0.3, 0.7]
        0.1,  # settle round after α 0.5 -> 0.6
        0.35,  # in target at 0.6: hold again
    ])
    assert used == pytest.approx([0.5] * 7 + [0.6, 0.6])
    assert hook.phase == HOLD and hook.bisection.converged
    assert hook.reopened == 1
    assert hook.bisection.reopens == [dict(step=1, low=0.3, high=0.7)]
    assert all_alpha(runner.model, 0.6)
    text = notes(hook)
    assert text[0].startswith('OII=0.3500 at alpha=0.5: OII in target')
    assert text[1] == ('hold: OII=0.5000 out of target (1/2 rounds before '
                       're-opening)')
    assert 'mean of the last 2 rounds (0.3500) is inside' in text[4]
    assert text[6].startswith(
        're-open 1/3 on [0.3, 0.7] after 2 rounds out of target: OII=0.5500 '
        '(mean of 2 rounds) at alpha=0.5: above target: α → 0.6 (interval '
        '[0.5, 0.7], step 1/5, search 2)')
    assert text[7].startswith('settle')
    # The bisection's trace replays both searches.
    trace = hook.bisection.trace()
    assert [s.describe() for s in trace] == [
        'OII in target: α fixed', 'above target: α → 0.6',
        'OII in target: α fixed']


def test_reopen_is_bounded(tmp_path):
    hook = OIIBisectionHook(warmup=None, settle_rounds=0, max_reopen=1)
    used = run(hook, fake_runner(tmp_path),
               [0.35, 0.9, 0.9, 0.35] + [-0.9] * 6)
    # One re-open (0.5 -> 0.6), in target, then out for good: α stays.
    assert used[-1] == pytest.approx(0.6)
    assert hook.reopened == 1 and hook.phase == HOLD
    assert 're-opened 1/1 times already: α fixed' in notes(hook)[-1]
    assert len(hook.out_streak) == 2  # bounded in the state


def test_reopen_after_zero_keeps_alpha_for_good(tmp_path):
    hook = OIIBisectionHook(warmup=None, reopen_after=0)
    run(hook, fake_runner(tmp_path), [0.35, 0.9, 0.9, 0.9])
    assert hook.bisection.alpha == 0.5 and hook.reopened == 0
    assert notes(hook)[1:] == ['hold: α fixed'] * 3


def test_steps_used_up_settle_then_hold_and_reopen(tmp_path):
    hook = OIIBisectionHook(warmup=None, max_steps=2)
    used = run(hook, fake_runner(tmp_path),
               [0.45, 0.5, 0.45, 0.9, 0.9, 0.9])
    # 0.45 at 0.5 -> 0.7; settle; 0.45 at 0.7: steps used up, closest is
    # 0.7 (0.45 both; the first closest is 0.5). α changes: settle, then
    # hold, out twice: re-open around α.
    assert used[:4] == pytest.approx([0.5, 0.7, 0.7, 0.5])
    assert 'steps used up' in notes(hook)[2]
    assert notes(hook)[3].startswith('settle')
    assert notes(hook)[4].startswith('hold: OII=0.9000 out of target (1/2')
    assert notes(hook)[5].startswith('re-open 1/3 on [0.3, 0.7]')
    assert hook.bisection.alpha == pytest.approx(0.6)


def test_no_reopen_past_the_interval_end(tmp_path):
    hook = OIIBisectionHook(warmup=None, low=0.1, high=0.9, settle_rounds=0,
                            max_steps=1)
    run(hook, fake_runner(tmp_path), [0.35])
    hook.bisection.alpha = 0.9  # as if the search had ended at the upper end
    run(hook, fake_runner(tmp_path), [0.9, 0.9], start=False)
    assert 'α is at the upper end: α fixed' in notes(hook)[-1]
    assert hook.reopened == 0


# ------------------------------------------------------- out of reach
#: OII below the target at every α: the third decision pins the search
#: against low = 0.1 (interval [0.1, 0.2]).
BELOW = [-0.4, -0.3, -0.5, 0.9, 0.9, 0.9, 0.9]


def test_out_of_reach_continue_bisects_on(tmp_path):
    hook = OIIBisectionHook(warmup=None, settle_rounds=0)
    used = run(hook, fake_runner(tmp_path), BELOW[:4])
    assert used == pytest.approx([0.5, 0.3, 0.2, 0.15])
    assert 'out of reach of α' in notes(hook)[2]
    assert hook.phase == SEARCH


def test_out_of_reach_return_stops_at_the_first_alpha(tmp_path):
    """out_of_reach='return': the pinned step ends the search, α goes back
    to the search's first α and stays there, whatever OII does later (no
    settle, no re-opening)."""
    hook = OIIBisectionHook(out_of_reach='return')  # the other defaults
    runner = fake_runner(tmp_path)
    # auto warm-up: 2 predicting rounds; each decision is followed by one
    # settle round.
    used = run(hook, runner, [0.5, 0.5, -0.4, -0.2, -0.3, -0.1, -0.5]
               + BELOW[3:])
    assert used == pytest.approx([0.5] * 3 + [0.3] * 2 + [0.2] * 2
                                 + [0.5] * 4)
    assert "out_of_reach='return': search stopped, α back to 0.5" in \
        notes(hook)[6]
    assert notes(hook)[7].startswith('stopped: OII=0.9000; the target is '
                                     'out of reach of α')
    assert hook.phase == STOPPED and hook.reopened == 0
    assert hook.bisection.done and not hook.bisection.converged
    assert all_alpha(runner.model, 0.5)


def test_out_of_reach_return_survives_resume(tmp_path):
    (tmp_path / 'full').mkdir()
    settings = dict(warmup=None, settle_rounds=0, out_of_reach='return')
    full = OIIBisectionHook(**settings)
    used_full = run(full, fake_runner(tmp_path / 'full'), BELOW)
    first = OIIBisectionHook(**settings)
    runner = fake_runner(tmp_path)
    run(first, runner, BELOW[:4])
    ckpt = {}
    first.before_save_checkpoint(runner, ckpt)
    (tmp_path / STATE_FILE).unlink()
    resumed = OIIBisectionHook(**settings)
    runner2 = fake_runner(tmp_path, it=runner.iter)
    resumed.after_load_checkpoint(runner2, json.loads(json.dumps(ckpt)))
    assert run(resumed, runner2, BELOW[4:]) == used_full[4:] == [0.5] * 3
    assert resumed.phase == STOPPED
    assert all_alpha(runner2.model, 0.5)


def test_out_of_reach_must_be_known():
    with pytest.raises(ValueError, match='out_of_reach'):
        OIIBisectionHook(out_of_reach='stop')


# ------------------------------------------------------------- resume
SEQUENCE = [(1.0, 0), 0.2, 0.5, 0.9, -0.5, 0.9, 0.35, 0.6, 0.7, 0.1, 0.38,
            0.38]


@pytest.mark.parametrize('cut', [3, 4, 5, 7, 8, 10])
def test_resume_is_exact_at_any_round(tmp_path, cut):
    """A resumed training makes the same decisions as an uninterrupted one,
    also when the checkpoint was saved mid-warm-up/settle/hold."""
    (tmp_path / 'full').mkdir()
    full = OIIBisectionHook()
    used_full = run(full, fake_runner(tmp_path / 'full'), SEQUENCE)

    first = OIIBisectionHook()
    runner = fake_runner(tmp_path)
    run(first, runner, SEQUENCE[:cut])
    ckpt = {}
    first.before_save_checkpoint(runner, ckpt)
    ckpt = json.loads(json.dumps(ckpt))
    (tmp_path / STATE_FILE).unlink()  # the checkpoint alone must do

    resumed = OIIBisectionHook()
    runner2 = fake_runner(tmp_path, it=runner.iter)
    resumed.after_load_checkpoint(runner2, ckpt)
    used = run(resumed, runner2, SEQUENCE[cut:])
    assert used_full[cut:] == used
    assert resumed.state_dict() == json.loads(json.dumps(full.state_dict()))
    assert resumed.state_dict()['state']['phase'] == HOLD


def test_old_state_without_phases_loads(tmp_path):
    """States saved before warm-up/settle/hold existed (rounds and
    bisection only) resume: the phase follows from the bisection."""
    old = OIIBisectionHook(**dict(warmup=None, settle_rounds=0,
                                  reopen_after=0))
    runner = fake_runner(tmp_path)
    run(old, runner, [0.9])
    ckpt = {}
    old.before_save_checkpoint(runner, ckpt)
    records = ckpt[CHECKPOINT_KEY]['records']
    for r in records:  # strip everything an old hook did not save
        r.pop('note')
        r['state'] = dict(rounds=r['state']['rounds'],
                          bisection=r['state']['bisection'])
        r['state']['bisection'].pop('reopens')
    (tmp_path / STATE_FILE).unlink()

    resumed = OIIBisectionHook()
    runner2 = fake_runner(tmp_path, it=runner.iter)
    resumed.after_load_checkpoint(runner2, ckpt)
    resumed.before_train(runner2)
    assert resumed.phase == SEARCH and resumed.rounds == 1
    assert all_alpha(runner2.model, 0.7)
    run(resumed, runner2, [0.9], start=False)  # no settle info: decides
    assert resumed.bisection.alpha == pytest.approx(0.8)

    (tmp_path / STATE_FILE).unlink()  # written by `resumed`
    for r in records:  # an old search that ended: hold from now on
        r['state']['bisection'].update(done=True, converged=True)
    done = OIIBisectionHook()
    done.after_load_checkpoint(runner2, ckpt)
    done.before_train(fake_runner(tmp_path, it=runner.iter))
    assert done.phase == HOLD
    fresh = OIIBisectionHook()
    fresh.after_load_checkpoint(runner2, dict(
        oii_bisection=dict(records=[dict(iter=1, state=dict(
            rounds=1, bisection=OIIBisectionHook().bisection.state_dict()))
        ])))
    fresh.before_train(fake_runner(tmp_path, it=runner.iter))
    assert fresh.phase == WARMUP and fresh.rounds == 1
