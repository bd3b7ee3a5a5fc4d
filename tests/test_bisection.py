"""Tests of ``OIIBisection`` (Fig. 4, Appendix B of the paper)."""
import json

import pytest

from mmseg_dibe.guidance.bisection import BisectionStep, OIIBisection


def test_appendix_b_example_1():
    # DIBE_Dis + SegNet: OII 0.475 at 0.5 -> 0.7; OII 0.322 -> stop.
    search = OIIBisection(0.1, 0.9, (0.3, 0.4), max_steps=5)
    assert search.alpha == pytest.approx(0.5)
    assert search.update(0.475).next_alpha == pytest.approx(0.7)
    assert not search.done
    assert search.update(0.322).next_alpha is None
    assert search.done and search.converged
    assert search.alpha == pytest.approx(0.7)
    assert [h['alpha'] for h in search.history] == pytest.approx([0.5, 0.7])


def test_appendix_b_example_2():
    # Tversky + U-Net: 0.071 at 0.5 -> 0.3; 0.118 -> 0.2; 0.382 -> stop.
    search = OIIBisection()
    assert search.update(0.071).next_alpha == pytest.approx(0.3)
    assert search.update(0.118).next_alpha == pytest.approx(0.2)
    assert search.update(0.382).next_alpha is None
    assert search.converged and search.alpha == pytest.approx(0.2)
    assert search.steps == 3


def test_direction_follows_spec():
    # OII above the target -> raise alpha (more weight on FN).
    search = OIIBisection(0.0, 1.0, (-0.1, 0.1), max_steps=10)
    assert search.update(0.9).next_alpha > 0.5
    search = OIIBisection(0.0, 1.0, (-0.1, 0.1), max_steps=10)
    assert search.update(-0.9).next_alpha < 0.5


def test_interval_halves_and_boundaries_are_outside():
    search = OIIBisection(0.1, 0.9, (0.3, 0.4), max_steps=10)
    widths = []
    for value in (0.4, 0.3, 0.4, 0.3):  # the open ends count as outside
        widths.append(search.high - search.low)
        search.update(value)
    widths.append(search.high - search.low)
    for a, b in zip(widths, widths[1:]):
        assert b == pytest.approx(a / 2)
    assert not search.done


def test_steps_used_up_selects_closest():
    search = OIIBisection(0.1, 0.9, (0.3, 0.4), max_steps=3)
    assert search.update(0.9).next_alpha == pytest.approx(0.7)
    assert search.update(0.45).next_alpha == pytest.approx(0.8)
    assert search.update(0.41).next_alpha is None
    assert search.done and not search.converged
    # 0.8 gave OII 0.41, the closest to (0.3, 0.4).
    assert search.alpha == pytest.approx(0.8)
    with pytest.raises(RuntimeError, match='search is over'):
        search.update(0.35)


def test_converges_on_a_monotone_response():
    # A synthetic model: OII falls linearly with alpha, in target for
    # alpha in (0.61, 0.66): bisection must find it in <= max_steps.
    def response(alpha):
        return 0.4 - (alpha - 0.61) * 2

    search = OIIBisection(max_steps=6)
    alpha = search.alpha
    while alpha is not None:
        alpha = search.update(response(alpha)).next_alpha
    assert search.converged
    assert 0.61 < search.alpha < 0.66
    assert [h['alpha'] for h in search.history] == pytest.approx(
        [0.5, 0.7, 0.6, 0.65])


def test_state_dict_roundtrip_is_json():
    search = OIIBisection()
    search.update(0.071)
    state = json.loads(json.dumps(search.state_dict()))
    other = OIIBisection()
    other.load_state_dict(state)
    assert other.alpha == search.alpha and other.history == search.history
    assert other.update(0.118).next_alpha == pytest.approx(0.2)
    with pytest.raises(ValueError, match='saved search used'):
        OIIBisection(target=(0.2, 0.4)).load_state_dict(state)


def test_reset():
    search = OIIBisection()
    search.update(0.35)
    search.reset()
    assert not search.done and search.history == [] and search.alpha == 0.5


@pytest.mark.parametrize('kwargs,match', [
    (dict(low=0.9, high=0.1), 'low < high'),
    (dict(low=-0.1), r'\[0, 1\]'),
    (dict(target=(0.4, 0.3)), 'm0 < m1'),
    (dict(target=(0.3, )), 'pair'),
    (dict(max_steps=0), 'max_steps'),
    (dict(max_steps=2.0), 'max_steps'),
])
def test_bad_settings(kwargs, match):
    with pytest.raises(ValueError, match=match):
        OIIBisection(**kwargs)


def test_nan_oii_rejected():
    with pytest.raises(ValueError, match='finite'):
        OIIBisection().update(float('nan'))


def test_exported():
    import mmseg_dibe
    assert mmseg_dibe.OIIBisection is OIIBisection


def test_update_reports_its_decision():
    search = OIIBisection(0.1, 0.9, (0.3, 0.4), max_steps=3)
    first = search.update(0.9)
    assert isinstance(first, BisectionStep)
    assert (first.step, first.alpha, first.oii) == (1, 0.5, 0.9)
    # OII above the target: raise alpha, search [0.5, 0.9].
    assert first.direction == 'raise alpha'
    assert (first.low, first.high) == (0.5, 0.9)
    assert first.next_alpha == pytest.approx(0.7)
    assert not first.done and first.selected is None
    assert first.describe() == 'above target: α → 0.7'
    second = search.update(0.2)
    assert second.direction == 'lower alpha'
    assert second.describe() == 'below target: α → 0.6'
    last = search.update(0.45)
    assert last.done and not last.converged and last.next_alpha is None
    assert last.selected == pytest.approx(0.6)  # OII 0.45 closest
    assert last.describe() == 'steps used up: α fixed at 0.6 (closest)'
    hit = OIIBisection().update(0.35)
    assert hit.direction == 'in target' and hit.converged
    assert hit.describe() == 'OII in target: α fixed'


def test_trace_replays_a_restored_state():
    """An old state (history of alpha/oii only) reports the same steps."""
    search = OIIBisection(max_steps=3)
    steps = [search.update(v) for v in (0.9, 0.2, 0.45)]
    old_state = json.loads(json.dumps(search.state_dict()))
    restored = OIIBisection(max_steps=3)
    restored.load_state_dict(old_state)
    assert restored.trace() == steps
    assert OIIBisection.from_state_dict(old_state).trace() == steps


def test_reopen_starts_a_new_search_around_alpha():
    search = OIIBisection(max_steps=2)
    search.update(0.35)  # in target at 0.5
    with pytest.raises(ValueError, match='must lie'):
        search.reopen(0.6, 0.8)
    search.reopen(0.3, 0.7)
    assert not search.done and search.alpha == 0.5
    assert search.search_steps == 0 and search.steps == 1
    step = search.update(0.6)  # above: [0.5, 0.7] -> 0.6
    assert (step.low, step.high, step.next_alpha) == pytest.approx(
        (0.5, 0.7, 0.6))
    last = search.update(0.45)  # budget of the new search used up
    # Closest of the new search only (0.35 at 0.5 was the old model).
    assert last.done and last.selected == pytest.approx(0.6)
    with pytest.raises(RuntimeError, match='not over'):
        OIIBisection().reopen(0.1, 0.9)
    # Clipped to the configured interval; the trace replays the reopen.
    search.reopen(0.5, 1.0)
    assert search.reopens[-1] == dict(step=3, low=0.5, high=0.9)
    search.update(0.1)
    state = json.loads(json.dumps(search.state_dict()))
    assert OIIBisection.from_state_dict(state).trace() == search.trace()
    assert [s.describe() for s in search.trace()] == [
        'OII in target: α fixed', 'above target: α → 0.6',
        'steps used up: α fixed at 0.6 (closest)',
        'below target: α → 0.55']


def test_state_without_reopens_loads():
    search = OIIBisection()
    search.update(0.071)
    state = search.state_dict()
    del state['reopens']  # saved before reopen() existed
    other = OIIBisection.from_state_dict(state)
    assert other.reopens == [] and other.search_steps == 1
    assert other.update(0.118).next_alpha == pytest.approx(0.2)


def test_stop_ends_the_search_unconverged():
    search = OIIBisection(0.1, 0.9, (0.3, 0.4))
    for oii in (-0.4, -0.3, -0.5):
        search.update(oii)
    search.stop(0.5)
    assert (search.alpha, search.done, search.converged) == (0.5, True, False)
    restored = OIIBisection.from_state_dict(search.state_dict())
    assert (restored.alpha, restored.done) == (0.5, True)
    with pytest.raises(RuntimeError, match='over'):
        search.update(0.35)
    with pytest.raises(ValueError, match=r'alpha=0.95 lies outside'):
        search.stop(0.95)


def test_a_search_pinned_against_an_end_warns():
    """Three decisions the same way (interval 1/8 of [low, high] against an
    end): the step names that end; mixed decisions or a reopened interval
    away from the end do not."""
    search = OIIBisection(0.1, 0.9, (0.3, 0.4), max_steps=4)
    edges = [search.update(oii).edge for oii in (-0.4, -0.3, -0.5, -0.39)]
    assert edges == [None, None, 0.1, 0.1]
    assert 'closing in on the end α = 0.1' in search.trace()[2].describe()
    last = search.trace()[3].describe()
    assert last.startswith('steps used up: α fixed at 0.3 (closest)')
    assert 'ended next to the end α = 0.1' in last
    assert 'out of reach of α' in last
    upward = OIIBisection(0.1, 0.9, (0.3, 0.4))
    assert [upward.update(oii).edge for oii in (0.8, 0.5, 0.6)] == [
        None, None, 0.9]
    mixed = OIIBisection(0.1, 0.9, (0.3, 0.4))
    assert [mixed.update(oii).edge
            for oii in (-0.4, 0.5, -0.6, -0.45)] == [None] * 4
    assert mixed.update(0.1).describe() == \
        'steps used up: α fixed at 0.3 (closest)'
    # A reopened search counts its own evaluations only, and warns only
    # where its interval still touches the original end.
    reopened = OIIBisection(0.1, 0.9, (0.3, 0.4), max_steps=1)
    reopened.update(0.35)
    reopened.reopen(0.15, 0.55)
    assert reopened.update(-0.2).edge is None  # [0.15, 0.35]: not at 0.1
