"""Online OII guidance of α inside one training run (Fig. 4, online)."""
import json
import logging
import math
import os.path as osp
from typing import Any, Dict, List, Optional, Sequence, Tuple

from mmengine.dist import broadcast_object_list, is_main_process
from mmengine.hooks import Hook
from mmengine.logging import print_log
from torch import nn

from mmseg.registry import HOOKS
from ...guidance.bisection import OIIBisection
from ..atomic_io import atomic_write_text
from ...guidance.heads import iter_head_losses

#: Name of the side file the hook keeps in the work directory (see
#: :class:`OIIBisectionHook`, "Resuming").
STATE_FILE = 'oii_bisection_state.json'
#: Key of the hook's state in mmengine checkpoints.
CHECKPOINT_KEY = 'oii_bisection'


def find_alpha_losses(model: nn.Module) -> List[Tuple[str, nn.Module]]:
    """Every loss module of the decode and auxiliary heads with an ``alpha``.

    Args:
        model (nn.Module): A segmentor, possibly wrapped (DDP, ...).

    Returns:
        list[tuple[str, nn.Module]]: ``(qualified name, module)``, including
        sub-modules of compound losses that carry their own ``alpha``.
    """
    found = []
    for head_loss in iter_head_losses(model):
        for sub_name, module in head_loss.loss.named_modules():
            if hasattr(module, 'alpha'):
                name = '.'.join(
                    n for n in (head_loss.module_name, sub_name) if n)
                found.append((name, module))
    return found


def set_loss_alpha(model: nn.Module, alpha: float) -> List[str]:
    """Set ``alpha`` (and ``beta = 1 − alpha``) on the model's losses.

    ``beta`` is only written where it does not already follow from the new
    ``alpha`` (losses that derive it, e.g. ``DIBELoss``, refuse a write).

    Args:
        model (nn.Module): A segmentor, possibly wrapped.
        alpha (float): The new α (weight of missed targets, FN).

    Returns:
        list[str]: Names of the modules that were changed.
    """
    alpha = float(alpha)
    names = []
    for name, module in find_alpha_losses(model):
        module.alpha = alpha
        beta = getattr(module, 'beta', None)
        if isinstance(beta, (int, float)) and abs(beta - (1 - alpha)) > 1e-12:
            prop = getattr(type(module), 'beta', None)
            if not (isinstance(prop, property) and prop.fset is None):
                module.beta = 1.0 - alpha
        names.append(name)
    return names


#: Phases of :class:`OIIBisectionHook` (``state['phase']``).
WARMUP, SEARCH, HOLD = 'warm-up', 'search', 'hold'
#: Phase after a search stopped because the target is out of reach of α
#: (``out_of_reach='return'``): α stays, the search never re-opens.
STOPPED = 'stopped'
#: Values of ``OIIBisectionHook(out_of_reach=...)``.
OUT_OF_REACH = ('continue', 'return')


@HOOKS.register_module()
class OIIBisectionHook(Hook):
    """Move α of the losses by OII bisection after validation rounds.

    The online form of the paper's guidance (Fig. 4): instead of one training
    per α, one training whose α changes between validation rounds. The
    first α is the midpoint of ``[low, high]``; after a decision on OII
    above the target interval α moves up (more weight on missed targets,
    FN), below it α moves down (``docs/spec.md``: α weights FN, β = 1 − α
    weights FP). One training is a drifting, noisy measurement of OII, not
    the converged trainings of the offline search, so the hook goes through
    three phases and only some rounds decide:

    1. **Warm-up** (``warmup='auto'``): while the model does not yet predict
       the target, OII swings between 1 (nothing predicted) and −1 (a flood
       of false alarms) whatever α is, and a bisection step taken there
       halves the interval the wrong way for good (measured: 3 fixed
       warm-up rounds drove α to 0.2, never to come back). So the warm-up
       lasts until ``warmup_rounds`` consecutive rounds had ``TP > 0`` and
       ``|OII| < warmup_oii``; those rounds are still warm-up, the next one
       is the first that can decide. ``TP`` is read from the metrics
       (``OIIMetric`` logs it next to ``OII``, same prefix/suffix); where it
       is missing, OII alone is used (by the spec's boundary cases ``|OII|
       < 1`` already implies ``TP > 0``). ``start_round`` / ``start_iter``
       still apply as a further lower bound; ``warmup=None`` keeps only
       them (the behaviour before ``warmup`` existed).
    2. **Search**: bisection (:class:`~mmseg_dibe.guidance.OIIBisection`).
       After each change of α the next ``settle_rounds`` rounds are skipped:
       their model was trained mostly with the previous α (measured: OII
       0.633 one round after α 0.5 → 0.7, −0.381 one round later at a
       nearby α). Then ``smooth`` rounds at the same α are averaged and the
       mean decides. Default 1: OII drifts as the model learns, so older
       rounds describe an older model, and each extra round costs a
       round per decision out of the few a training has; the settle round
       already removes the largest bias and the hold phase below needs
       ``reopen_after`` rounds before it acts on a single noisy value.
       When every decision of a search went the same way and its interval
       has shrunk against ``low`` or ``high`` (``BisectionStep.edge``), the
       round is logged as a warning that the target may be out of reach of
       α (measured on MTSDD Blowhole: OII −0.39 at α = 0.1, seed 0): widen
       the interval or calibrate the threshold after training. With
       ``out_of_reach='return'`` the search also stops there: α goes back to
       where that search started (the midpoint for the first search) and
       stays for the rest of training (phase ``stopped``, no re-opening),
       leaving the target to threshold calibration. The default
       ``'continue'`` bisects on towards the end of the interval.
    3. **Hold**: once OII is inside the target (or ``max_steps`` decisions
       were used, then α is the one whose OII came closest), α stays fixed
       but OII is still watched: the goal is the OII at the *end* of
       training, and the model keeps drifting. When ``reopen_after``
       consecutive rounds are outside the target and their mean is too,
       the search re-opens around the current α: a new bisection on ``[α −
       w, α + w] ∩ [low, high]`` (``w = reopen_width``) whose first step is
       that mean at the current α, so α moves at once by ``w/2`` towards
       the side OII indicates. At most ``max_reopen`` times, so the hook
       cannot oscillate for ever on a target narrower than the noise.

    α is written to every loss module of ``decode_head`` and
    ``auxiliary_head`` (single heads, ``nn.ModuleList`` of heads or of
    losses, DDP-wrapped models) that has an ``alpha`` attribute, and
    ``beta = 1 − alpha`` where the loss has a settable ``beta``. It is logged
    as ``train/alpha`` every iteration and as ``val/alpha`` (the α that
    produced the round's OII), so it shows in the text log, the JSON log and
    every visualizer backend. Every round logs its phase and what it did
    (warm-up count, settle, smoothing, the bisection's own
    :class:`~mmseg_dibe.guidance.bisection.BisectionStep` description,
    hold, re-open); the same text is kept as ``note`` in the round's record.

    Distributed training: mmengine already broadcasts the metrics of rank 0
    to all ranks; the hook still broadcasts the values it uses from rank 0,
    so every rank runs the same state machine and sets the same α.

    Resuming: the state is saved in every checkpoint (key
    ``oii_bisection``). Because mmengine saves the iteration checkpoint
    *before* the validation of the same iteration, rank 0 also keeps the
    state after each round in ``WORK_DIR/oii_bisection_state.json``; on
    ``--resume`` at iteration N the hook restores the latest state recorded
    at an iteration <= N from either source (states saved before the
    phases existed load too). Loading weights with ``load_from`` (without
    resume) starts a fresh search.

    Args:
        low (float): Lower end of the α interval. Defaults to 0.1.
        high (float): Upper end of the α interval. Defaults to 0.9.
        target (Sequence[float]): Target OII interval ``(m0, m1)``.
            Defaults to ``(0.3, 0.4)``.
        max_steps (int): Most bisection decisions per search (the first and
            each re-opened one). Defaults to 5.
        start_round (int): Number of first validation rounds that are always
            warm-up. Defaults to 0.
        start_iter (int): Validation rounds before this training iteration
            (``runner.iter``) are always warm-up. Defaults to 0.
        metric (str): Metric key holding OII; a key with a prefix
            (``prefix/OII``) matches too. Defaults to ``'OII'``.
        warmup (str | None): ``'auto'``: warm-up until the model predicts
            the target (see above); ``None``: only ``start_round`` /
            ``start_iter``. Defaults to ``'auto'``.
        warmup_rounds (int): Consecutive predicting rounds that end the
            auto warm-up. Defaults to 2 (one such round can be a lucky
            flicker in the transient).
        warmup_oii (float): A round predicts the target when ``TP > 0`` and
            ``|OII| < warmup_oii``. Defaults to 1.0 (a stricter bound, e.g.
            0.98, also skips the flood-of-false-alarms rounds but never ends
            the warm-up for a model whose OII is legitimately that extreme).
        settle_rounds (int): Rounds skipped after each change of α.
            Defaults to 1.
        smooth (int): Rounds at one α (after settling) whose mean OII makes
            a decision. Defaults to 1.
        reopen_after (int): Consecutive out-of-target rounds in the hold
            phase that re-open the search; 0 never re-opens (α fixed for
            good, as before). Defaults to 2.
        reopen_width (float, optional): Half width ``w`` of a re-opened
            interval. Defaults to None: a quarter of ``high − low`` (0.2
            for [0.1, 0.9]: α first moves by 0.1).
        max_reopen (int): Most re-opened searches. Defaults to 3.
        out_of_reach (str): What a search pinned against an end of ``[low,
            high]`` does: ``'continue'`` (warn and bisect on) or
            ``'return'`` (warn, stop, α back to the search's first α).
            Defaults to ``'continue'``.
    """

    priority = 'NORMAL'  # after RuntimeInfoHook, before Logger/Checkpoint

    def __init__(self,
                 low: float = 0.1,
                 high: float = 0.9,
                 target: Sequence[float] = (0.3, 0.4),
                 max_steps: int = 5,
                 start_round: int = 0,
                 start_iter: int = 0,
                 metric: str = 'OII',
                 warmup: Optional[str] = 'auto',
                 warmup_rounds: int = 2,
                 warmup_oii: float = 1.0,
                 settle_rounds: int = 1,
                 smooth: int = 1,
                 reopen_after: int = 2,
                 reopen_width: Optional[float] = None,
                 max_reopen: int = 3,
                 out_of_reach: str = 'continue') -> None:
        self.bisection = OIIBisection(low, high, target, max_steps)
        for name, value, least in (('start_round', start_round, 0),
                                   ('start_iter', start_iter, 0),
                                   ('warmup_rounds', warmup_rounds, 1),
                                   ('settle_rounds', settle_rounds, 0),
                                   ('smooth', smooth, 1),
                                   ('reopen_after', reopen_after, 0),
                                   ('max_reopen', max_reopen, 0)):
            if isinstance(value, bool) or not isinstance(value, int) \
                    or value < least:
                raise ValueError(f'OIIBisectionHook: {name} must be an int '
                                 f'>= {least}, got {value!r}')
        if not isinstance(metric, str) or not metric:
            raise ValueError('OIIBisectionHook: metric must be a metric key, '
                             f'got {metric!r}')
        if warmup not in ('auto', None):
            raise ValueError("OIIBisectionHook: warmup must be 'auto' or "
                             f'None, got {warmup!r}')
        if not 0 < float(warmup_oii) <= 1:
            raise ValueError('OIIBisectionHook: warmup_oii must be in (0, 1]'
                             f', got {warmup_oii!r}')
        if out_of_reach not in OUT_OF_REACH:
            raise ValueError('OIIBisectionHook: out_of_reach must be one of '
                             f'{OUT_OF_REACH}, got {out_of_reach!r}')
        if reopen_width is None:
            reopen_width = (self.bisection.high0 - self.bisection.low0) / 4
        if not float(reopen_width) > 0:
            raise ValueError('OIIBisectionHook: reopen_width must be > 0, '
                             f'got {reopen_width!r}')
        self.start_round = start_round
        self.start_iter = start_iter
        self.metric = metric
        self.warmup = warmup
        self.warmup_rounds = warmup_rounds
        self.warmup_oii = float(warmup_oii)
        self.settle_rounds = settle_rounds
        self.smooth = smooth
        self.reopen_after = reopen_after
        self.reopen_width = float(reopen_width)
        self.max_reopen = max_reopen
        self.out_of_reach = out_of_reach
        self._reset_phase()
        self.records: List[Dict[str, Any]] = []
        self._warn = False  # log this round's note as a warning
        self._loaded_records: List[Dict[str, Any]] = []
        self._training = False

    def _reset_phase(self) -> None:
        self.rounds = 0  # validation rounds seen during training
        self.phase = WARMUP
        self.warmup_streak = 0  # consecutive predicting rounds (auto)
        self.settle_left = 0  # rounds still skipped after a change of α
        self.window: List[float] = []  # usable OII values at the current α
        self.out_streak: List[float] = []  # hold: consecutive out-of-target

    # ----------------------------------------------------------- state
    def _state(self) -> Dict[str, Any]:
        return dict(rounds=self.rounds, bisection=self.bisection.state_dict(),
                    phase=self.phase, warmup_streak=self.warmup_streak,
                    settle_left=self.settle_left, window=list(self.window),
                    out_streak=list(self.out_streak))

    def _load_state(self, state: Dict[str, Any]) -> None:
        self._reset_phase()
        self.rounds = int(state['rounds'])
        self.bisection.load_state_dict(state['bisection'])
        if 'phase' in state:
            self.phase = state['phase']
            self.warmup_streak = int(state['warmup_streak'])
            self.settle_left = int(state['settle_left'])
            self.window = [float(v) for v in state['window']]
            self.out_streak = [float(v) for v in state['out_streak']]
        else:
            # A state saved before the phases existed: the search has begun
            # if it made a step (then the warm-up is over); an old search
            # that ended holds from now on.
            b = self.bisection
            self.phase = HOLD if b.done else SEARCH if b.steps else WARMUP

    @property
    def reopened(self) -> int:
        """int: Number of re-opened searches so far."""
        return len(self.bisection.reopens)

    def state_dict(self) -> Dict[str, Any]:
        """Plain-Python state: current state and one record per round."""
        return dict(state=self._state(), records=list(self.records))

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        checkpoint[CHECKPOINT_KEY] = self.state_dict()

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        # Only remembered here: whether this is a resume (restore) or a
        # load_from (fresh search) is known at before_train.
        saved = checkpoint.get(CHECKPOINT_KEY)
        self._loaded_records = list(saved['records']) if saved else []

    def _state_file(self, runner) -> str:
        return osp.join(runner.work_dir, STATE_FILE)

    def _write_state_file(self, runner) -> None:
        if not is_main_process():
            return
        # Atomic: a reader (or a killed run) never sees half a file.
        atomic_write_text(self._state_file(runner),
                          json.dumps(dict(records=self.records), indent=1))

    def _restore(self, runner) -> None:
        """Restore the latest state recorded at an iteration <= runner.iter."""
        records = list(self._loaded_records)
        path = self._state_file(runner)
        if is_main_process() and osp.isfile(path):
            with open(path) as f:
                records += json.load(f)['records']
        records = [r for r in records if r['iter'] <= runner.iter]
        # A record may be both in the checkpoint and in the side file.
        unique = {(r['iter'], r['state']['rounds']): r for r in records}
        records = [unique[k] for k in sorted(unique)]
        # Rank 0 may have read the side file; all ranks use its choice.
        chosen = [records if records else None]
        broadcast_object_list(chosen)
        if chosen[0] is None:
            return
        self.records = chosen[0]
        self._load_state(self.records[-1]['state'])

    # ------------------------------------------------------------ hooks
    def before_train(self, runner) -> None:
        found = find_alpha_losses(runner.model)
        if not found:
            losses = [
                type(head_loss.loss).__name__
                for head_loss in iter_head_losses(runner.model)
            ]
            raise RuntimeError(
                'OIIBisectionHook: no loss of decode_head or auxiliary_head '
                f'has an `alpha` attribute (losses found: {losses}); use a '
                'loss with alpha (e.g. DIBELoss, DIBEDisLoss, a Tversky '
                'loss) or remove the hook')
        if runner.iter > 0:  # resumed; load_from alone starts at iter 0
            self._restore(runner)
        self._loaded_records = []
        self._training = True
        names = set_loss_alpha(runner.model, self.bisection.alpha)
        print_log(
            f'OIIBisectionHook: alpha={self.bisection.alpha:.6g} (beta = 1 - '
            f'alpha) on {names}; search {self.bisection!r}',
            logger='current')

    def after_train(self, runner) -> None:
        self._training = False

    def before_train_iter(self, runner, batch_idx: int,
                          data_batch=None) -> None:
        runner.message_hub.update_scalar('train/alpha', self.bisection.alpha)

    def _find_key(self, metrics: Dict[str, Any]) -> str:
        if self.metric in metrics:
            return self.metric
        matches = [k for k in metrics if k.endswith('/' + self.metric)]
        if len(matches) != 1:
            raise KeyError(
                f'OIIBisectionHook: metric {self.metric!r} '
                f'{"is ambiguous" if matches else "not found"} in the '
                f'validation results {sorted(metrics)}; add OIIMetric to '
                'val_evaluator or set `metric` to the right key')
        return matches[0]

    def _find_metric(self, metrics: Dict[str, Any]) -> float:
        return metrics[self._find_key(metrics)]

    def _read(self, metrics: Dict[str, Any]) -> Tuple[float, Optional[float]]:
        """OII and TP of the round (TP None where OIIMetric has no such key,
        e.g. ``mOII``), identical on every rank."""
        key = self._find_key(metrics)
        head, sep, last = key.rpartition('/')
        tp_key = head + sep + last.replace('OII', 'TP', 1)
        tp = metrics.get(tp_key) if tp_key != key else None
        values = [float(metrics[key]), None if tp is None else float(tp)]
        broadcast_object_list(values)  # identical decisions on every rank
        return values[0], values[1]

    def after_val_epoch(self, runner, metrics: Optional[Dict] = None) -> None:
        if not self._training:
            return  # a stand-alone runner.val() must not move α
        self.rounds += 1
        runner.message_hub.update_scalar('val/alpha', self.bisection.alpha)
        alpha = self.bisection.alpha
        self._warn = False
        note = self._guide(runner, metrics or {})
        print_log(
            f'OIIBisectionHook: round {self.rounds} (iter {runner.iter}), '
            f'alpha={alpha:.6g}: {note}', logger='current',
            level=logging.WARNING if self._warn else logging.INFO)
        # Every round is recorded (also warm-up ones: the round counter must
        # survive a resume).
        self.records.append(
            dict(iter=runner.iter, state=self._state(), note=note))
        self._write_state_file(runner)

    def _set_alpha(self, runner, old: float) -> None:
        """Write the bisection's α to the losses; settle if it changed."""
        if self.bisection.alpha != old:
            set_loss_alpha(runner.model, self.bisection.alpha)
            self.settle_left = self.settle_rounds
        self.window = []

    def _guide(self, runner, metrics: Dict) -> str:
        """Advance the state machine by one round; the log text."""
        if self.phase == WARMUP:
            note = self._warmup(runner, metrics)
            if note is not None:
                return note
        if self.phase == HOLD and self.reopen_after == 0:
            return 'hold: α fixed'
        value, _ = self._read(metrics)
        if self.phase == STOPPED:
            return (f'stopped: OII={value:.4f}; the target is out of reach '
                    'of α, α fixed (calibrate the decision threshold after '
                    'training)')
        if math.isnan(value):
            self._warn = True
            return ('OII is NaN (no target pixel and no prediction in the '
                    'validation set): round ignored')
        if self.settle_left > 0:
            self.settle_left -= 1
            return (f'settle: OII={value:.4f} not used (round '
                    f'{self.settle_rounds - self.settle_left}/'
                    f'{self.settle_rounds} after a change of α)')
        if self.phase == HOLD:
            return self._hold(runner, value)
        self.window.append(value)
        if len(self.window) < self.smooth:
            return (f'smoothing: OII={value:.4f} ({len(self.window)}/'
                    f'{self.smooth} rounds at this α)')
        return self._decide(runner, sum(self.window) / len(self.window))

    def _warmup(self, runner, metrics: Dict) -> Optional[str]:
        """None when this round is the first one past the warm-up."""
        fixed = (self.rounds <= self.start_round
                 or runner.iter < self.start_iter)
        if self.warmup is None:
            if fixed:
                return (f'warm-up (start_round={self.start_round}, '
                        f'start_iter={self.start_iter})')
            self.phase = SEARCH
            return None
        ready = self.warmup_streak >= self.warmup_rounds
        if ready and not fixed:
            self.phase = SEARCH
            return None
        value, tp = self._read(metrics)
        predicting = (math.isfinite(value) and abs(value) < self.warmup_oii
                      and (tp is None or tp > 0))
        self.warmup_streak = self.warmup_streak + 1 if predicting else 0
        tp_text = '' if tp is None else f'TP={tp:g}, '
        return (f'warm-up ({tp_text}OII={value:.4f}: '
                f'{"" if predicting else "not "}predicting; '
                f'{min(self.warmup_streak, self.warmup_rounds)}/'
                f'{self.warmup_rounds} consecutive predicting rounds'
                + (f'; start_round={self.start_round}, start_iter='
                   f'{self.start_iter}' if fixed else '') + ')')

    def _describe(self, step, value: float, prefix: str = '',
                  rounds: Optional[int] = None) -> str:
        # A search pinned against an end of [low, high] is worth a warning:
        # the target may be out of reach of α (BisectionStep.edge).
        self._warn = self._warn or step.edge is not None
        b = self.bisection
        rounds = self.smooth if rounds is None else rounds
        smoothed = f' (mean of {rounds} rounds)' if rounds > 1 else ''
        return (f'{prefix}OII={value:.4f}{smoothed} at alpha='
                f'{step.alpha:.6g}: {step.describe()} (interval '
                f'[{step.low:.6g}, {step.high:.6g}], step {b.search_steps}/'
                f'{b.max_steps}' + (f', search {self.reopened + 1}'
                                    if self.reopened else '') + ')')

    def _decide(self, runner, value: float, prefix: str = '',
                rounds: Optional[int] = None) -> str:
        """One bisection step on ``value``; move α and the phase."""
        b = self.bisection
        old = b.alpha
        step = b.update(value)
        note = self._describe(step, value, prefix, rounds)
        if step.edge is not None and self.out_of_reach == 'return':
            start = b.search_history[0]['alpha']
            b.stop(start)
            self.phase = STOPPED
            note += (f'; out_of_reach=\'return\': search stopped, α back to '
                     f'{start:.6g} for the rest of training')
        elif step.done:
            self.phase = HOLD
        self.out_streak = []
        self._set_alpha(runner, old)
        return note

    def _hold(self, runner, value: float) -> str:
        b = self.bisection
        if b.in_target(value):
            self.out_streak = []
            return f'hold: OII={value:.4f} in target, α fixed'
        # Only the last reopen_after rounds matter (bounded in the state).
        self.out_streak = (self.out_streak + [value])[-max(
            self.reopen_after, 1):]
        count = len(self.out_streak)
        if count < self.reopen_after:
            return (f'hold: OII={value:.4f} out of target ({count}/'
                    f'{self.reopen_after} rounds before re-opening)')
        mean = sum(self.out_streak) / count
        if b.in_target(mean):
            self.out_streak = self.out_streak[1:]
            return (f'hold: OII={value:.4f} out of target, but the mean of '
                    f'the last {count} rounds ({mean:.4f}) is inside: α '
                    'fixed')
        if self.reopened >= self.max_reopen:
            return (f'hold: OII={value:.4f} out of target; re-opened '
                    f'{self.reopened}/{self.max_reopen} times already: α '
                    'fixed')
        raise_alpha = mean >= b.target[1]
        if (raise_alpha and b.alpha >= b.high0) or (not raise_alpha
                                                    and b.alpha <= b.low0):
            return (f'hold: OII={value:.4f} out of target, but α is at the '
                    f'{"upper" if raise_alpha else "lower"} end: α fixed')
        b.reopen(b.alpha - self.reopen_width, b.alpha + self.reopen_width)
        self.phase = SEARCH
        prefix = (f're-open {self.reopened}/{self.max_reopen} on '
                  f'[{b.low:.6g}, {b.high:.6g}] after {count} rounds out of '
                  'target: ')
        return self._decide(runner, mean, prefix, rounds=count)
