"""Reading, summarizing and rendering the results of training runs.

The logic behind ``tools/analysis/report.py``, ``tools/analysis/
plot_curves.py`` and ``benchmarks/compare_losses.py``, one concept per
module: :mod:`.workdir` (work directories and their logs), :mod:`.stats`
(mean ± std over seeds), :mod:`.tables` (Markdown), :mod:`.metafile`
(mmseg's metafile), :mod:`.curves` (figures; matplotlib imported lazily).
"""
from .metafile import update_metafile
from .stats import (TABLE_METRICS, fmt_mean_std, group_runs, mean_std,
                    summarize)
from .tables import markdown_tables, render_report
from .workdir import (ConfigOnly, Run, find_work_dirs, load_runs,
                      read_final_metrics, read_json_lines)

__all__ = [
    'ConfigOnly', 'Run', 'TABLE_METRICS', 'find_work_dirs', 'fmt_mean_std',
    'group_runs', 'load_runs', 'markdown_tables', 'mean_std',
    'read_final_metrics', 'read_json_lines', 'render_report', 'summarize',
    'update_metafile'
]
