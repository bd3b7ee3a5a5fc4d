"""Statistics over seeds: runs that differ only in the seed are one row,
each metric shown as mean ± sample standard deviation."""
import math
import statistics
from collections import OrderedDict
from typing import List, Sequence

from .workdir import Run, finite

#: Metrics shown in the tables, in this order.
TABLE_METRICS = ('IoU', 'PA', 'OII')


def mean_std(values: Sequence[float]):
    """Mean and sample standard deviation (0 for one value) of the finite
    values; ``(None, None)`` when there are none."""
    values = [float(v) for v in values if finite(v)]
    if not values:
        return None, None
    mean = sum(values) / len(values)
    if len(values) == 1:
        return mean, 0.0
    var = sum((v - mean) ** 2 for v in values) / (len(values) - 1)
    return mean, math.sqrt(var)


def fmt_mean_std(values: Sequence[float], digits: int = 3) -> str:
    """``mean ± std`` of the finite values (only the mean for one value,
    ``-`` for none)."""
    mean, std = mean_std(values)
    if mean is None:
        return '-'
    if sum(1 for v in values if finite(v)) == 1:
        return f'{mean:.{digits}f}'
    return f'{mean:.{digits}f} ± {std:.{digits}f}'


def group_runs(runs: Sequence[Run]) -> List[List[Run]]:
    """Group runs whose configs differ only in the seed (input order kept)."""
    groups: 'OrderedDict[str, List[Run]]' = OrderedDict()
    for run in runs:
        groups.setdefault(run.group_key(), []).append(run)
    return [sorted(g, key=lambda r: (r.seed is None, r.seed))
            for g in groups.values()]


def summarize(group: Sequence[Run], best_key: str = 'IoU') -> dict:
    """The numbers of one table row (one config, one or more seeds)."""
    first = group[0]
    best = [r.best(best_key) for r in group]
    last = [r.last() for r in group]
    mems = [r.memory_gb() for r in group]
    fps = [r.fps() for r in group]
    summary = dict(
        name=first.name, dataset=first.dataset(), method=first.method(),
        backbone=first.backbone(), loss=first.loss(),
        crop_size=first.crop_size(), schedule=first.schedule(),
        batch_size=first.batch_size(), device=first.device(),
        seeds=[r.seed for r in group], work_dirs=[r.work_dir for r in group],
        logs=[r.log_path for r in group], config=first.config_path,
        memory_gb=max((m for m in mems if m is not None), default=None),
        fps=mean_std([f for f in fps if f is not None])[0],
        best={}, last={}, best_iter=[r['iter'] for r in best if r],
        last_iter=[r['iter'] for r in last if r])
    for key in TABLE_METRICS:
        summary['best'][key] = [r.get(key) for r in best if r]
        summary['last'][key] = [r.get(key) for r in last if r]
    return summary


def plateau(val_records: Sequence[dict], max_iters: int, key: str = 'IoU',
            tol: float = 0.01, last_frac: float = 0.25,
            min_best: float = 0.01) -> dict:
    """Whether a training's validation ``key`` had stopped moving.

    Definition (the loss comparison's): the run *plateaued* when the
    validation ``key`` changed by less than ``tol`` (absolute) over the
    last ``last_frac`` of the training: from the last validation at or
    before iteration ``(1 - last_frac) * max_iters`` to the last
    validation. A run whose best ``key`` stayed below ``min_best`` never
    predicted the target and has not plateaued: it is flat at zero because
    it has not started learning (``learned`` False).

    Args:
        val_records (Sequence[dict]): Validation records with ``iter`` and
            ``key`` (:attr:`Run.val`), in training order.
        max_iters (int): The training's iterations.
        key (str): The metric. Default: ``'IoU'``.
        tol (float): Largest change that still counts as a plateau.
        last_frac (float): The share of the training at its end that is
            examined, in ``(0, 1)``.
        min_best (float): Below this best value the run counts as not
            started (not plateaued).

    Returns:
        dict: ``plateaued`` (bool, or None when fewer than two validations
        span the window), ``change`` (last minus window start), ``from_iter``
        and ``to_iter``, and ``best_iter`` / ``best`` (the best validation of
        the run), ``learned`` (best ``key`` at least ``min_best``).

    Raises:
        ValueError: If ``last_frac`` or ``tol`` is out of range.
    """
    if not 0 < last_frac < 1:
        raise ValueError(f'last_frac must be in (0, 1), got {last_frac}')
    if tol <= 0:
        raise ValueError(f'tol must be positive, got {tol}')
    records = [r for r in val_records if finite(r.get(key))]
    out = dict(plateaued=None, change=None, from_iter=None, to_iter=None,
               best_iter=None, best=None, learned=None)
    if not records:
        return out
    best = max(records, key=lambda r: r[key])
    out.update(best_iter=best['iter'], best=best[key],
               learned=best[key] >= min_best)
    start_iter = (1 - last_frac) * max_iters
    before = [r for r in records if r['iter'] <= start_iter]
    last = records[-1]
    if not before or before[-1] is last:
        return out
    start = before[-1]
    change = last[key] - start[key]
    out.update(plateaued=bool(out['learned']) and abs(change) < tol,
               change=change, from_iter=start['iter'], to_iter=last['iter'])
    return out


#: Rounds from this fraction of the training on are "late" for
#: :func:`late_jitter` (where an OII guidance's last decisions fall).
LATE_FRACTION = 0.6


def late_jitter(val_records: Sequence[dict], max_iters: int,
                late: float = LATE_FRACTION, key: str = 'OII'):
    """How much OII moves from one validation round to the next late in a
    training while α stays the same: noise that no choice of α removes, to
    be set against the width of an OII target interval.

    Args:
        val_records (Sequence[dict]): Validation records in training order
            with ``iter``, ``key`` and, where α changed during the training
            (``OIIBisectionHook``), ``alpha``.
        max_iters (int): The training's iterations.
        late (float): Pairs of consecutive rounds count when the first is at
            or after ``late * max_iters``.
        key (str): The metric. Default: ``'OII'``.

    Returns:
        float | None: The median ``|key(k+1) − key(k)|`` over those pairs
        at one α; None when there is no such pair (e.g. a run kept with its
        final validation only).
    """
    changes = []
    for a, b in zip(val_records, val_records[1:]):
        if a['iter'] < late * max_iters or not (finite(a.get(key))
                                                 and finite(b.get(key))):
            continue
        alphas = (a.get('alpha'), b.get('alpha'))
        if None not in alphas and abs(alphas[0] - alphas[1]) > 1e-9:
            continue
        changes.append(abs(b[key] - a[key]))
    return statistics.median(changes) if changes else None


def paired_differences(values: dict, of: str, others: Sequence[str]) -> dict:
    """Per-seed differences of one loss against the best other one.

    "Best other" is the loss among ``others`` with the highest mean over
    the seeds it shares with ``of``; the comparison is paired by seed (the
    same seed gives the same initial weights and data order to every loss).

    Args:
        values (dict): ``{loss: {seed: value}}``.
        of (str): The loss compared.
        others (Sequence[str]): The candidates for the best other loss.

    Returns:
        dict or None: ``best_other``, ``seeds``, ``diffs`` (per seed,
        ``of`` minus best other), ``mean`` / ``std`` of the diffs, ``wins``
        (seeds where ``of`` is higher), ``losses`` (seeds where it is
        lower); None when no other loss shares a seed with ``of``.
    """
    mine = {s: v for s, v in values.get(of, {}).items() if finite(v)}
    best_other, best_mean = None, None
    for other in others:
        if other == of:
            continue
        shared = [values.get(other, {}).get(s) for s in mine]
        shared = [v for v in shared if finite(v)]
        if len(shared) < len(mine) or not shared:
            continue
        m = sum(shared) / len(shared)
        if best_mean is None or m > best_mean:
            best_other, best_mean = other, m
    if best_other is None:
        return None
    seeds = sorted(mine)
    diffs = [mine[s] - values[best_other][s] for s in seeds]
    mean, std = mean_std(diffs)
    return dict(best_other=best_other, seeds=seeds, diffs=diffs, mean=mean,
                std=std, wins=sum(d > 0 for d in diffs),
                losses=sum(d < 0 for d in diffs))
