"""Statistics over seeds: runs that differ only in the seed are one row,
each metric shown as mean ± sample standard deviation."""
import math
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
