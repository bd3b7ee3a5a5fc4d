"""OII-guided bisection of α (Section 3.1.2, Fig. 4 and Appendix B).

The one implementation shared by the online hook
(:class:`~mmseg_dibe.engine.hooks.OIIBisectionHook`) and the offline search
tool (``tools/oii_search.py``). It is a pure state machine: it never trains or
evaluates anything, it is told the OII measured with its current proposal and
answers with the next one.

Direction (``docs/spec.md``): α weights the missed targets (FN), β = 1 − α
the false alarms (FP). Raising α removes FN and adds FP, which lowers OII. So
OII above the target interval raises α (search ``[α, high]``) and OII below it
lowers α (search ``[low, α]``). This is the only place that states the rule:
every caller (hook log, search tables, benchmark) prints the
:class:`BisectionStep` that :meth:`OIIBisection.update` returns.
"""
import math
from typing import Any, Dict, List, NamedTuple, Optional, Sequence, Tuple

#: :attr:`BisectionStep.direction` values.
IN_TARGET = 'in target'
RAISE_ALPHA = 'raise alpha'
LOWER_ALPHA = 'lower alpha'
#: A search whose interval has shrunk to this share of ``[low, high]``
#: against one of its ends, every OII of it on the side that asks for
#: that end, warns that the target may be out of reach of α: three
#: halvings the same way. Measured on MTSDD Blowhole (U-Net, 600 it):
#: even α = 0.1, the default lower end, still gave OII -0.39 (seed 0),
#: and the hook crept towards 0.1 without ever saying why.
EDGE_SHARE = 1 / 8


class BisectionStep(NamedTuple):
    """What one evaluation did to the search (returned by
    :meth:`OIIBisection.update`).

    Attributes:
        step (int): Number of the evaluation (1 for the first).
        alpha (float): The α that was evaluated.
        oii (float): The OII measured with it.
        direction (str): ``'in target'``, ``'raise alpha'`` (OII at or above
            the target) or ``'lower alpha'`` (OII at or below it).
        next_alpha (float | None): The next α to evaluate; ``None`` once the
            search is over.
        low (float): Lower end of the interval after this step.
        high (float): Upper end of the interval after this step.
        done (bool): The search is over.
        converged (bool): It is over because OII fell in the target.
        selected (float | None): The selected α once the search is over:
            the one whose OII fell in the target, else the evaluated α whose
            OII came closest to it.
        edge (float | None): The end of the search interval (``low`` or
            ``high`` the search was built with) that the search is closing
            in on while every OII of it asked to go that way (see
            :data:`EDGE_SHARE`): the target may be out of reach of α.
            ``None`` otherwise.
    """
    step: int
    alpha: float
    oii: float
    direction: str
    next_alpha: Optional[float]
    low: float
    high: float
    done: bool
    converged: bool
    selected: Optional[float]
    edge: Optional[float] = None

    def describe(self) -> str:
        """The decision in words, as the hook log and the tables show it."""
        if self.converged:
            return 'OII in target: α fixed'
        side = 'above' if self.direction == RAISE_ALPHA else 'below'
        if self.done:
            text = f'steps used up: α fixed at {self.selected:g} (closest)'
        else:
            text = f'{side} target: α → {self.next_alpha:g}'
        if self.edge is not None:
            text += (f'; OII was {side} the target at every α of this '
                     'search, which '
                     + ('ended next to' if self.done else 'is closing in on')
                     + f' the end α = '
                     f'{self.edge:g}: the target may be out of reach of α '
                     '(widen the α interval, or calibrate the decision '
                     'threshold after training)')
        return text


class OIIBisection:
    """Bisection of α in ``[low, high]`` until OII falls in ``target``.

    The first proposal is the midpoint of ``[low, high]``. After each
    evaluation (:meth:`update`):

    * OII strictly inside ``(m0, m1)``: stop, α is found;
    * OII ≥ m1: the interval becomes ``[α, high]``;
    * OII ≤ m0: the interval becomes ``[low, α]``;

    and the next proposal is the new midpoint. At most ``max_steps``
    evaluations are made; the interval halves at each one. Once the search is
    over, :meth:`reopen` starts a new one on a given interval around the
    current α (used by the online hook when the model drifts out of the
    target); the history and :meth:`trace` cover all searches.

    Args:
        low (float): Lower end ``a`` of the search interval. Defaults to 0.1.
        high (float): Upper end ``b``. Defaults to 0.9.
        target (Sequence[float]): Target OII interval ``(m0, m1)``, open at
            both ends. Defaults to ``(0.3, 0.4)`` (the paper's choice for
            THC448; it is data dependent).
        max_steps (int): Most evaluations to make. Defaults to 5.

    Example:
        >>> search = OIIBisection()
        >>> search.alpha
        0.5
        >>> step = search.update(0.475)  # Appendix B, example 1
        >>> step.direction, step.next_alpha
        ('raise alpha', 0.7)
        >>> step = search.update(0.322)
        >>> step.next_alpha is None, step.converged, step.describe()
        (True, True, 'OII in target: α fixed')
    """

    def __init__(self,
                 low: float = 0.1,
                 high: float = 0.9,
                 target: Sequence[float] = (0.3, 0.4),
                 max_steps: int = 5) -> None:
        low, high = float(low), float(high)
        if not (math.isfinite(low) and math.isfinite(high) and low < high):
            raise ValueError('OIIBisection: need finite low < high, got '
                             f'low={low}, high={high}')
        if not 0 <= low or not high <= 1:
            raise ValueError('OIIBisection: α weights FN and β = 1 − α '
                             'weights FP, so [low, high] must lie in [0, 1]; '
                             f'got [{low}, {high}]')
        if len(target) != 2:
            raise ValueError('OIIBisection: target must be a pair (m0, m1), '
                             f'got {target!r}')
        m0, m1 = float(target[0]), float(target[1])
        if not (-1 <= m0 < m1 <= 1):
            raise ValueError('OIIBisection: target (m0, m1) needs '
                             f'-1 <= m0 < m1 <= 1 (OII range), got ({m0}, '
                             f'{m1})')
        if isinstance(max_steps, bool) or not isinstance(max_steps, int) \
                or max_steps < 1:
            raise ValueError('OIIBisection: max_steps must be an int >= 1, '
                             f'got {max_steps!r}')
        self.low0, self.high0 = low, high
        self.target: Tuple[float, float] = (m0, m1)
        self.max_steps = max_steps
        self.reset()

    def reset(self) -> None:
        """Forget every evaluation and start again at the midpoint."""
        self.low, self.high = self.low0, self.high0
        self.alpha: float = (self.low + self.high) / 2
        self.history: List[Dict[str, float]] = []
        self.done = False
        self.converged = False
        #: One ``dict(step, low, high)`` per :meth:`reopen`: the number of
        #: evaluations made before it and the interval it re-opened.
        self.reopens: List[Dict[str, float]] = []

    @property
    def steps(self) -> int:
        """int: Number of evaluations made so far."""
        return len(self.history)

    @property
    def search_steps(self) -> int:
        """int: Evaluations of the current search (since the last
        :meth:`reopen`; all of them if there was none)."""
        return self.steps - (self.reopens[-1]['step'] if self.reopens else 0)

    @property
    def search_history(self) -> List[Dict[str, float]]:
        """list[dict]: The ``history`` entries of the current search."""
        return self.history[self.steps - self.search_steps:]

    def reopen(self, low: float, high: float) -> None:
        """Start a new search on ``[low, high]`` from the current α.

        Used after the search is over when OII has left the target (the
        model drifted): the history is kept, the interval becomes ``[low,
        high]`` (clipped to the configured one), :attr:`alpha` stays the
        current α (which must lie in it) and the next :meth:`update`
        evaluates it as the first step of the new search, with a fresh
        budget of ``max_steps`` evaluations.

        Raises:
            RuntimeError: If the search is not over.
            ValueError: If the current α is not inside ``[low, high]``.
        """
        if not self.done:
            raise RuntimeError('OIIBisection.reopen: the search is not over')
        low = max(float(low), self.low0)
        high = min(float(high), self.high0)
        if not low <= self.alpha <= high or not low < high:
            raise ValueError(f'OIIBisection.reopen: alpha={self.alpha} must '
                             f'lie in a non-empty [low, high], got [{low}, '
                             f'{high}]')
        self.reopens.append(dict(step=self.steps, low=low, high=high))
        self.low, self.high = low, high
        self.done = self.converged = False

    def stop(self, alpha: float) -> None:
        """End the current search at ``alpha``, not converged.

        Used when the target is out of reach of α
        (:attr:`BisectionStep.edge`): further steps would only move α closer
        to the end of the interval, which changes the model without bringing
        OII to the target. The history is kept; :meth:`reopen` may start a
        new search later.

        Args:
            alpha (float): The α to keep, inside ``[low0, high0]``.

        Raises:
            ValueError: If ``alpha`` lies outside the configured interval.
        """
        alpha = float(alpha)
        if not self.low0 <= alpha <= self.high0:
            raise ValueError(f'OIIBisection.stop: alpha={alpha} lies outside '
                             f'[{self.low0}, {self.high0}]')
        self.alpha = alpha
        self.done, self.converged = True, False

    def in_target(self, value: float) -> bool:
        """Whether an OII value lies strictly inside the target interval."""
        return self.target[0] < value < self.target[1]

    def distance(self, value: float) -> float:
        """Distance of an OII value to the target interval (0 inside)."""
        if self.in_target(value):
            return 0.0
        return max(self.target[0] - value, value - self.target[1], 0.0)

    def update(self, value: float) -> BisectionStep:
        """Record the OII measured with :attr:`alpha`; propose the next α.

        Args:
            value (float): OII of a model trained with the current
                :attr:`alpha`.

        Returns:
            BisectionStep: The decision. Its ``next_alpha`` is the next α to
            evaluate, or ``None`` once the search is over (OII inside the
            target, or ``max_steps`` used). After that, :attr:`alpha` is the
            selected α (``selected``): the one whose OII fell in the target,
            else the evaluated one whose OII came closest to it.

        Raises:
            RuntimeError: If the search is already over.
            ValueError: If ``value`` is not a finite number (NaN means the
                validation set had no pixel to count).
        """
        if self.done:
            raise RuntimeError('OIIBisection.update: the search is over '
                               f'(alpha={self.alpha}); call reset() to start '
                               'again')
        value = float(value)
        if not math.isfinite(value):
            raise ValueError(f'OIIBisection.update: OII must be finite, got '
                             f'{value} at alpha={self.alpha} (NaN: TP, FP '
                             'and FN were all 0)')
        evaluated = self.alpha
        self.history.append(dict(alpha=evaluated, oii=value))
        if self.in_target(value):
            direction = IN_TARGET
            self.done = self.converged = True
        else:
            # OII too high (too many FN) -> more weight on FN -> larger α.
            if value >= self.target[1]:
                direction = RAISE_ALPHA
                self.low = evaluated
            else:
                direction = LOWER_ALPHA
                self.high = evaluated
            if self.search_steps >= self.max_steps:
                self.done = True
                # Closest of the current search (after a reopen, older
                # evaluations were made on an earlier model).
                best = min(self.search_history,
                           key=lambda h: self.distance(h['oii']))
                self.alpha = best['alpha']
            else:
                self.alpha = (self.low + self.high) / 2
        return BisectionStep(
            step=self.steps,
            alpha=evaluated,
            oii=value,
            direction=direction,
            next_alpha=None if self.done else self.alpha,
            low=self.low,
            high=self.high,
            done=self.done,
            converged=self.converged,
            selected=self.alpha if self.done else None,
            edge=self._edge(direction))

    def _edge(self, direction: str) -> Optional[float]:
        """The end of ``[low0, high0]`` the current search is pinned
        against (see :attr:`BisectionStep.edge`), else None."""
        if direction == IN_TARGET:
            return None
        # (a relative tolerance: three halvings of [0.1, 0.9] give 0.2 - 0.1)
        share = EDGE_SHARE * (self.high0 - self.low0) * (1 + 1e-9)
        if self.high - self.low > share:
            return None
        # Every evaluation of this search (since the last reopen) went the
        # same way as this one, and the interval still touches that end.
        ours = self.search_history
        if direction == LOWER_ALPHA:
            same_way = all(h['oii'] <= self.target[0] for h in ours)
            return self.low0 if same_way and self.low == self.low0 else None
        same_way = all(h['oii'] >= self.target[1] for h in ours)
        return self.high0 if same_way and self.high == self.high0 else None

    def trace(self) -> List[BisectionStep]:
        """The :class:`BisectionStep` of every evaluation so far, replayed
        from :attr:`history` (so a search restored by
        :meth:`load_state_dict`, old states included, reports its steps)."""
        replay = OIIBisection(self.low0, self.high0, self.target,
                              self.max_steps)
        reopens = {int(r['step']): r for r in self.reopens}
        steps = []
        for number, h in enumerate(self.history):
            if number in reopens:
                replay.reopen(reopens[number]['low'], reopens[number]['high'])
            steps.append(replay.update(h['oii']))
        return steps

    def state_dict(self) -> Dict[str, Any]:
        """The whole state as plain Python values (JSON serialisable)."""
        return dict(
            low0=self.low0,
            high0=self.high0,
            target=list(self.target),
            max_steps=self.max_steps,
            low=self.low,
            high=self.high,
            alpha=self.alpha,
            history=[dict(h) for h in self.history],
            done=self.done,
            converged=self.converged,
            reopens=[dict(r) for r in self.reopens])

    @classmethod
    def from_state_dict(cls, state: Dict[str, Any]) -> 'OIIBisection':
        """A bisection with the settings and state saved by
        :meth:`state_dict` (e.g. to read back its :meth:`trace`)."""
        search = cls(state['low0'], state['high0'], state['target'],
                     int(state['max_steps']))
        search.load_state_dict(state)
        return search

    def load_state_dict(self, state: Dict[str, Any]) -> None:
        """Restore a state saved by :meth:`state_dict`.

        The configured interval, target and ``max_steps`` must match the
        saved ones: resuming a search with other settings would silently mix
        two different searches.

        Raises:
            ValueError: If the settings differ from the saved ones.
        """
        saved = (float(state['low0']), float(state['high0']),
                 tuple(float(t) for t in state['target']),
                 int(state['max_steps']))
        mine = (self.low0, self.high0, self.target, self.max_steps)
        if saved != mine:
            raise ValueError(
                'OIIBisection.load_state_dict: the saved search used '
                f'(low, high, target, max_steps)={saved}, this one {mine}')
        self.low, self.high = float(state['low']), float(state['high'])
        self.alpha = float(state['alpha'])
        self.history = [
            dict(alpha=float(h['alpha']), oii=float(h['oii']))
            for h in state['history']
        ]
        self.done = bool(state['done'])
        self.converged = bool(state['converged'])
        # States saved before reopen() existed have no 'reopens'.
        self.reopens = [
            dict(step=int(r['step']), low=float(r['low']),
                 high=float(r['high'])) for r in state.get('reopens', [])
        ]

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(low={self.low0}, '
                f'high={self.high0}, target={self.target}, '
                f'max_steps={self.max_steps}; alpha={self.alpha}, '
                f'steps={self.steps}, done={self.done})')
