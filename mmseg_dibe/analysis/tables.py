"""Model-zoo Markdown tables of summarized runs (one row per config, mean ±
std over seeds).

Columns:

* Mem (GB): the largest ``memory`` scalar of training (MB, mmengine's
  ``torch.cuda.max_memory_allocated``) / 1024. CPU runs log none: ``-``.
* Inf time (fps): ``batch_size / (time - data_time)`` of the validation loop,
  averaged over every validation of the run. ``time`` is mmengine's
  per-iteration wall time and ``data_time`` its data-loading part, so this is
  the throughput of the forward pass plus the metric's ``process`` on the
  device the run used, without data loading (mmseg's ``benchmark.py`` also
  leaves loading out). Indicative only on a shared machine.
* Device: from the log header: ``<n>x <GPU name>`` when CUDA was used, else
  ``CPU`` (``<n>x CPU`` for a distributed CPU run).
"""
import glob
import os
import os.path as osp
from collections import OrderedDict
from typing import Optional, Sequence

from .stats import TABLE_METRICS, fmt_mean_std


def repo_relpath(path: str, repo: str) -> str:
    """``path`` relative to the repository, with ``/`` separators."""
    return osp.relpath(osp.abspath(path), repo).replace(os.sep, '/')


def _link(target: Optional[str], text: str, out_dir: str,
          link_root: Optional[str], repo: str) -> str:
    if not target:
        return '-'
    if link_root:
        rel = repo_relpath(target, repo)
        return f'[{text}]({link_root.rstrip("/")}/{rel})'
    rel = osp.relpath(osp.abspath(target), osp.abspath(out_dir))
    return f'[{text}]({rel.replace(os.sep, "/")})'


def find_source_config(name: str, search_dirs: Sequence[str]) -> \
        Optional[str]:
    """The config file ``<name>.py`` in the repository, if there is one."""
    for root in search_dirs:
        hits = sorted(glob.glob(osp.join(root, '**', name + '.py'),
                                recursive=True))
        if hits:
            return hits[0]
    return None


def markdown_tables(summaries: Sequence[dict], which: Sequence[str],
                    out_dir: str, link_root: Optional[str] = None,
                    best_key: str = 'IoU',
                    config_dirs: Sequence[str] = (),
                    repo: str = '.') -> str:
    """One Markdown table per dataset and per ``which`` (best / last).

    Args:
        summaries (Sequence[dict]): :func:`~.stats.summarize` of each row.
        which (Sequence[str]): ``'best'`` and/or ``'last'`` validation.
        out_dir (str): Directory of the Markdown file (links are relative
            to it).
        link_root (str, optional): URL prefix for links relative to
            ``repo`` instead.
        best_key (str): Metric that decided the best validation.
        config_dirs (Sequence[str]): Where to look for the source config
            of a run (linked instead of its dumped copy).
        repo (str): Repository root.
    """
    header = ('| Method | Backbone | Loss | Crop size | Schedule | Mem (GB) '
              '| Inf time (fps) | Device | Seeds | IoU | PA | OII '
              '| config | log |')
    rule = '|' + '---|' * 14
    datasets = OrderedDict()
    for s in summaries:
        datasets.setdefault(s['dataset'], []).append(s)
    lines = []
    for dataset, rows in datasets.items():
        for kind in which:
            title = (f'best validation (largest {best_key})'
                     if kind == 'best' else 'last validation')
            lines += [f'### {dataset}: {title}', '', header, rule]
            for s in rows:
                source = find_source_config(s['name'], config_dirs)
                config = _link(source or s['config'], 'config', out_dir,
                               link_root, repo)
                if len(s['logs']) == 1:
                    logs = _link(s['logs'][0], 'log', out_dir, link_root, repo)
                else:
                    logs = 'log ' + ' '.join(
                        _link(log, f'{seed}', out_dir, link_root, repo)
                        for seed, log in zip(s['seeds'], s['logs']))
                mem = (f'{s["memory_gb"]:.2f}'
                       if s['memory_gb'] is not None else '-')
                fps = f'{s["fps"]:.1f}' if s['fps'] is not None else '-'
                seeds = ', '.join(str(seed) for seed in s['seeds'])
                metrics = [fmt_mean_std(s[kind][k]) for k in TABLE_METRICS]
                lines.append(
                    '| ' + ' | '.join([
                        s['method'], s['backbone'], s['loss'], s['crop_size'],
                        s['schedule'], mem, fps, s['device'], seeds, *metrics,
                        config, logs
                    ]) + ' |')
            lines.append('')
    return '\n'.join(lines)


def render_report(summaries: Sequence[dict], which: Sequence[str],
                  out_dir: str, link_root=None, best_key='IoU',
                  config_dirs: Sequence[str] = (), repo: str = '.') -> str:
    """The whole Markdown report: an introduction and
    :func:`markdown_tables` (same arguments)."""
    intro = [
        '# Results', '',
        'IoU (Eq. 20), PA (Eq. 21, precision) and OII (Eq. 13-15) of the '
        'target class on the validation set, as fractions. Runs that differ '
        'only in the seed are one row: mean ± sample std over the seeds. '
        'Mem: peak training memory (GPU only). Inf time: validation images '
        'per second without data loading. Generated by '
        '`tools/analysis/report.py`.', ''
    ]
    return '\n'.join(intro) + '\n' + markdown_tables(
        summaries, which, out_dir, link_root, best_key, config_dirs, repo)
