"""Choosing the prediction threshold of a trained model with OII.

α bisection (:mod:`mmseg_dibe.guidance.bisection`) moves the balance of
missed targets and false alarms by *training* again; the threshold ``T`` of
a binary head moves it after training, for free: raising ``T`` predicts fewer
target pixels (FP down, FN up), so OII goes up. One validation pass with
:class:`~mmseg_dibe.evaluation.OIIThresholdMetric` gives TP, FP, FN, IoU, PA
and OII at every ``T`` of a grid (the sweep table); this module picks one.

Choice rule (:func:`choose_threshold`):

* ``target=(m0, m1)``: among the thresholds whose OII lies strictly inside
  ``(m0, m1)`` (as for α bisection), the one with the highest IoU. If none
  does, the threshold whose OII is closest to the interval (distance
  ``max(m0 − OII, OII − m1)``; then the higher IoU), reported as not in the
  target. A threshold above every probability (nothing predicted: TP = FP
  = 0, so OII = 1 and IoU = 0) is that fallback only when no threshold
  that predicts something is defined: its OII can be the closest (measured
  on MTSDD Blowhole: 1 at T = 1 against −0.37 at T = 0.9999 for a target
  (0.3, 0.4)), but a detector that finds nothing is no calibration.
* no target: the threshold with the highest IoU.

Thresholds where OII or IoU is undefined (TP = FP = FN = 0) are never
chosen; remaining ties go to the lowest threshold.
"""
import csv
import json
import math
import os
import os.path as osp
from collections import OrderedDict
from typing import Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch

from ..functional.thresholds import check_thresholds, sweep_counts
from .oii_metric import count_metrics

#: Columns of the sweep table, in order (per class).
TABLE_KEYS = ('TP', 'FP', 'FN', 'IoU', 'PA', 'Recall', 'Dice', 'OII',
              'FP/FN')


def sweep_table(hist: np.ndarray, thresholds: Sequence[float],
                class_names: Sequence[str]) -> Dict:
    """Metrics at every threshold from summed slot histograms.

    Args:
        hist (np.ndarray): ``(len(class_names), 2, len(thresholds) + 1)``
            histograms summed over the set (see
            :func:`~mmseg_dibe.functional.thresholds.threshold_histograms`).
        thresholds (Sequence[float]): The thresholds of the histograms.
        class_names (Sequence[str]): Name of each evaluated class.

    Returns:
        dict: ``{'thresholds': [...], 'classes': {name: {key: ndarray}}}``
        with the keys of :data:`TABLE_KEYS` (each of length
        ``len(thresholds)``; the metrics of :func:`count_metrics`, i.e.
        OII of Eq. 13-15 with the spec's edge cases, IoU of Eq. 20, PA of
        Eq. 21).
    """
    tp, fp, fn = (c.numpy() for c in sweep_counts(torch.as_tensor(hist)))
    classes = OrderedDict()
    for i, name in enumerate(class_names):
        metrics = count_metrics(tp[i], fp[i], fn[i])
        classes[name] = OrderedDict((k, np.asarray(metrics[k]))
                                    for k in TABLE_KEYS)
    return dict(thresholds=[float(t) for t in thresholds], classes=classes)


def choose_threshold(thresholds: Sequence[float],
                     iou: np.ndarray,
                     oii: np.ndarray,
                     target: Optional[Sequence[float]] = None) -> Dict:
    """Pick a threshold from a sweep by the rule of the module docstring.

    Args:
        thresholds (Sequence[float]): Increasing thresholds.
        iou (np.ndarray): IoU at each threshold.
        oii (np.ndarray): OII at each threshold.
        target (Sequence[float], optional): Target OII interval
            ``(m0, m1)``; ``None`` maximises IoU.

    Returns:
        dict: ``index``, ``threshold``, ``in_target`` (``None`` without a
        target) and ``reason`` (one sentence).

    Raises:
        ValueError: If no threshold has a defined IoU and OII.
    """
    iou = np.asarray(iou, dtype=np.float64)
    oii = np.asarray(oii, dtype=np.float64)
    if not len(thresholds) == iou.size == oii.size:
        raise ValueError('thresholds, iou and oii must have one length')
    defined = np.isfinite(iou) & np.isfinite(oii)
    if not defined.any():
        raise ValueError('no threshold has a defined IoU and OII (TP = FP = '
                         'FN = 0 everywhere: no target and no prediction)')
    candidates = np.flatnonzero(defined)
    in_target = None
    if target is None:
        best = candidates[np.argmax(iou[candidates])]
        reason = 'highest IoU'
    else:
        m0, m1 = float(target[0]), float(target[1])
        if not m0 < m1:
            raise ValueError(f'target needs m0 < m1, got ({m0}, {m1})')
        inside = candidates[(oii[candidates] > m0) & (oii[candidates] < m1)]
        if inside.size:
            best = inside[np.argmax(iou[inside])]
            in_target = True
            reason = f'highest IoU with OII inside ({m0:g}, {m1:g})'
        else:
            # TP = FP = 0 <=> IoU = 0 and OII = 1 (FN > 0, or OII would be
            # undefined).
            predicting = candidates[~((iou[candidates] == 0)
                                      & (oii[candidates] == 1))]
            pool = predicting if predicting.size else candidates
            distance = np.maximum(
                np.maximum(m0 - oii[pool], oii[pool] - m1), 0.0)
            # lexsort: last key first; ties -> lowest threshold (stable).
            order = np.lexsort((-iou[pool], distance))
            best = pool[order[0]]
            in_target = False
            reason = (f'no threshold has OII inside ({m0:g}, {m1:g}); OII '
                      f'closest to it')
            gap = _jump_over(thresholds, oii, candidates, m0, m1)
            if gap is not None:
                # Saturated probabilities (measured: a DIBE U-Net on MTSDD
                # Blowhole, OII -0.19 at T = 0.99 and 1 at T = 1) put the
                # whole crossing inside one bin: more bins find it. The
                # reason is printed by the tool and logged by
                # OIIThresholdMetric, so it names the knob of each.
                bins = _bins_to_split(gap)
                reason += (f'; OII jumps over the target between T = '
                           f'{gap[0]:g} and T = {gap[1]:g}: more thresholds '
                           f'there can reach it (e.g. --bins {bins} of '
                           f'tools/calibrate_threshold.py, thresholds={bins} '
                           f'of OIIThresholdMetric)')
    best = int(best)
    return dict(index=best, threshold=float(thresholds[best]),
                in_target=in_target, reason=reason)


def _jump_over(thresholds: Sequence[float], oii: np.ndarray,
               candidates: np.ndarray, m0: float,
               m1: float) -> Optional[Tuple[float, float]]:
    """The first pair of neighbouring defined thresholds whose OII lies on
    opposite sides of ``(m0, m1)`` (a crossing that falls between them),
    or None."""
    for j, k in zip(candidates[:-1], candidates[1:]):
        a, b = oii[j], oii[k]
        if (a <= m0 and b >= m1) or (a >= m1 and b <= m0):
            return float(thresholds[j]), float(thresholds[k])
    return None


def _bins_to_split(gap: Tuple[float, float]) -> int:
    """A number of bins ``K`` (a power of ten) whose grid ``j / K`` puts
    about 100 thresholds between the two of ``gap``: measured on MTSDD
    Blowhole, a crossing inside 0.99-1 needed K = 10000 (T 0.9985-0.9998)
    and one inside 0.9999-1 (seed 6) was still missed by it."""
    width = max(gap[1] - gap[0], 1e-12)
    return 10 ** max(1, math.ceil(math.log10(100 / width) - 1e-9))


def choose_all(table: Dict,
               target: Optional[Sequence[float]] = None) -> Dict[str, Dict]:
    """:func:`choose_threshold` for every class of a sweep table.

    A class without any defined threshold (in no label and predicted
    nowhere) gets ``index`` and ``threshold`` None instead of an error,
    so one absent class does not stop an evaluation.
    """
    choices = OrderedDict()
    for name, m in table['classes'].items():
        defined = np.isfinite(m['IoU']) & np.isfinite(m['OII'])
        if defined.any():
            choices[name] = choose_threshold(table['thresholds'], m['IoU'],
                                             m['OII'], target)
        else:
            choices[name] = dict(index=None, threshold=None,
                                 in_target=None,
                                 reason='undefined: TP = FP = FN = 0 at '
                                 'every threshold')
    return choices


def _cell(value) -> float:
    value = float(value)
    return value if math.isfinite(value) else None


def table_rows(table: Dict) -> List[Dict]:
    """The sweep table as flat rows: class, threshold and every column."""
    rows = []
    for name, metrics in table['classes'].items():
        for j, threshold in enumerate(table['thresholds']):
            row = OrderedDict(**{'class': name, 'threshold': threshold})
            for key in TABLE_KEYS:
                row[key] = float(metrics[key][j])
            rows.append(row)
    return rows


def format_table(table: Dict, choices: Optional[Dict] = None) -> str:
    """Plain-text table (one block per class), the chosen row marked ``*``."""
    lines = []
    for name, metrics in table['classes'].items():
        chosen = (choices or {}).get(name, {}).get('index')
        lines.append(f'class {name}:')
        lines.append(f'  {"threshold":>9} {"TP":>10} {"FP":>10} {"FN":>10} '
                     f'{"IoU":>7} {"PA":>7} {"OII":>7}')
        for j, threshold in enumerate(table['thresholds']):
            mark = '*' if j == chosen else ' '
            lines.append(
                f'{mark} {threshold:9.4f} {int(metrics["TP"][j]):10d} '
                f'{int(metrics["FP"][j]):10d} {int(metrics["FN"][j]):10d} '
                f'{metrics["IoU"][j]:7.4f} {metrics["PA"][j]:7.4f} '
                f'{metrics["OII"][j]:7.4f}')
    return '\n'.join(lines)


def write_table(table: Dict, out_dir: str,
                choices: Optional[Dict] = None,
                stem: str = 'threshold_sweep') -> List[str]:
    """Write the sweep as ``STEM.csv`` and ``STEM.json`` in ``out_dir``.

    The JSON holds ``thresholds``, per class every column (undefined values
    as ``null``) and, if given, the choice per class.

    Returns:
        list[str]: The two paths.
    """
    os.makedirs(out_dir, exist_ok=True)
    csv_path = osp.join(out_dir, f'{stem}.csv')
    json_path = osp.join(out_dir, f'{stem}.json')
    rows = table_rows(table)
    with open(csv_path, 'w', newline='') as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    doc = dict(
        thresholds=table['thresholds'],
        classes={
            name: {k: [_cell(v) for v in values]
                   for k, values in metrics.items()}
            for name, metrics in table['classes'].items()
        })
    if choices is not None:
        doc['choice'] = choices
    with open(json_path, 'w') as f:
        json.dump(doc, f, indent=1)
    return [csv_path, json_path]


def plot_sweep(table: Dict, path: str,
               choices: Optional[Dict] = None,
               target: Optional[Sequence[float]] = None) -> str:
    """Draw OII and IoU against the threshold (one panel per class).

    matplotlib (Agg backend) is imported here, only when a plot is drawn.

    Returns:
        str: ``path``.
    """
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    names = list(table['classes'])
    fig, axes = plt.subplots(1, len(names), figsize=(5.5 * len(names), 4),
                             squeeze=False)
    thresholds = table['thresholds']
    for ax, name in zip(axes[0], names):
        metrics = table['classes'][name]
        ax.plot(thresholds, metrics['OII'], label='OII', color='tab:red')
        ax.plot(thresholds, metrics['IoU'], label='IoU', color='tab:blue')
        if target is not None:
            ax.axhspan(target[0], target[1], color='tab:red', alpha=0.12,
                       label='target OII')
        choice = (choices or {}).get(name)
        if choice is not None:
            ax.axvline(choice['threshold'], color='k', linestyle='--',
                       label=f'T = {choice["threshold"]:g}')
        ax.axhline(0, color='grey', linewidth=0.5)
        ax.set_xlim(min(thresholds), max(thresholds))
        ax.set_ylim(-1.05, 1.05)
        ax.set_xlabel('threshold T (predict target where p > T)')
        ax.set_title(name)
        ax.legend(loc='best', fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def threshold_cfg_options(model_cfg: Dict, threshold: float) -> List[str]:
    """``--cfg-options`` entries that set ``threshold`` on the model's heads.

    The decode head, and the auxiliary head(s) when the model has any (a
    list gives ``model.auxiliary_head.<i>.threshold``).

    Returns:
        list[str]: e.g. ``['model.decode_head.threshold=0.37',
        'model.auxiliary_head.threshold=0.37']``. ``repr`` of the float
        reads back as the same number.
    """
    value = repr(float(threshold))
    options = [f'model.decode_head.threshold={value}']
    aux = model_cfg.get('auxiliary_head', None)
    if isinstance(aux, (list, tuple)):
        options += [
            f'model.auxiliary_head.{i}.threshold={value}'
            for i in range(len(aux))
        ]
    elif aux is not None:
        options.append(f'model.auxiliary_head.threshold={value}')
    return options


def _evaluator_option(evaluator, key: str, default):
    """``key`` of the (first) metric config of ``evaluator`` that sets it."""
    metrics = evaluator if isinstance(evaluator, (list, tuple)) else [
        evaluator
    ]
    for metric in metrics:
        if isinstance(metric, dict) and key in metric:
            return metric[key]
    return default


def calibrate_threshold(cfg,
                        checkpoint: str,
                        thresholds: Union[int, Sequence[float]] = 100,
                        target: Optional[Sequence[float]] = None,
                        out_dir: Optional[str] = None,
                        split: str = 'val') -> Optional[Dict]:
    """One evaluation pass of a checkpoint with the threshold sweep metric.

    The ``split`` (``'val'`` or ``'test'``) dataloader of ``cfg`` is run by
    mmengine's Runner as a test loop (so distributed launches and every
    model wrapper work as in ``tools/test.py``, and no validation hook such
    as checkpoint saving or α bisection acts) with
    :class:`~mmseg_dibe.evaluation.OIIThresholdMetric` as the only
    evaluator. ``ignore_index`` and ``background_index`` are taken from the
    config's evaluator of that split when it sets them. The head's own
    threshold (binary heads) is added to the grid, so the table has the row
    ``OIIMetric`` reports with the config as it is.

    Args:
        cfg (mmengine.Config): A loaded config (``work_dir`` and
            ``launcher`` set, see :func:`mmseg_dibe.engine.cli.load_config`).
        checkpoint (str): Checkpoint to evaluate.
        thresholds (int | Sequence[float]): Number of bins or thresholds.
        target (Sequence[float], optional): Target OII interval; ``None``
            maximises IoU.
        out_dir (str, optional): Where the table (CSV, JSON), the plot
            (``threshold_sweep.png``) and ``calibration.json`` go.
        split (str): ``'val'`` or ``'test'``.

    Returns:
        dict | None: On the main process ``table``, ``choices`` (per class),
        ``binary_head`` (whether a threshold applies to the model),
        ``config_threshold`` (the head's, or None), ``cfg_options`` (per
        class, the ``--cfg-options`` entries; only for binary heads) and
        ``files``; ``None`` on the other ranks.
    """
    from mmengine.dist import is_main_process
    from mmengine.runner import Runner

    if split not in ('val', 'test'):
        raise ValueError(f"split must be 'val' or 'test', got {split!r}")
    if f'{split}_dataloader' not in cfg or cfg[f'{split}_dataloader'] is None:
        raise KeyError(f'the config has no {split}_dataloader')
    grid = check_thresholds(thresholds)
    head = cfg.model.get('decode_head', None) or {}
    binary_head = head.get('out_channels', head.get('num_classes')) == 1
    config_threshold = head.get('threshold', None) if binary_head else None
    if binary_head and config_threshold is None:
        config_threshold = 0.3  # mmseg's default for out_channels=1
    # The metric gets the number of bins where it can: the runner dumps its
    # config, and formatting an explicit list of 10^6 thresholds took 11 of
    # the 15 minutes of a --bins 1000000 calibration (MTSDD Blowhole).
    spec = thresholds
    if config_threshold is not None and float(config_threshold) not in grid:
        grid = sorted(grid + [float(config_threshold)])
        spec = grid
    evaluator = cfg.get(f'{split}_evaluator', None)
    metric = dict(
        type='OIIThresholdMetric',
        thresholds=spec,
        target=None if target is None else list(target),
        ignore_index=_evaluator_option(evaluator, 'ignore_index', 255),
        background_index=_evaluator_option(evaluator, 'background_index', 0),
        output_dir=out_dir)
    cfg.test_dataloader = cfg[f'{split}_dataloader']
    cfg.test_evaluator = metric
    if cfg.get('test_cfg', None) is None:
        cfg.test_cfg = dict(type='TestLoop')
    cfg.load_from = checkpoint
    runner = Runner.from_cfg(cfg)
    runner.test()
    if not is_main_process():
        return None
    sweep = runner.test_loop.evaluator.metrics[0]
    table, choices = sweep.table, sweep.choices
    files = []
    if out_dir is not None:
        files += [osp.join(out_dir, 'threshold_sweep.csv'),
                  osp.join(out_dir, 'threshold_sweep.json')]
        files.append(plot_sweep(table, osp.join(out_dir,
                                                'threshold_sweep.png'),
                                choices, target))
    options = OrderedDict(
        (name, threshold_cfg_options(cfg.model, choice['threshold']))
        for name, choice in choices.items()
        if choice['index'] is not None) if binary_head else None
    result = dict(table=table, choices=choices, binary_head=binary_head,
                  config_threshold=(None if config_threshold is None else
                                    float(config_threshold)),
                  target=None if target is None else list(target),
                  cfg_options=options, files=files)
    if out_dir is not None:
        path = osp.join(out_dir, 'calibration.json')
        with open(path, 'w') as f:
            json.dump({k: v for k, v in result.items() if k != 'table'}, f,
                      indent=1)
        files.append(path)
    return result


def format_report(result: Dict) -> str:
    """The text :func:`calibrate_threshold`'s tool prints: the table, the
    choice, the config's own threshold and the ``--cfg-options`` line."""
    table, choices = result['table'], result['choices']
    lines = [format_table(table, choices), '']
    thresholds = table['thresholds']
    for name, choice in choices.items():
        row = table['classes'][name]
        j = choice['index']
        if j is None:
            lines.append(f'{name}: no threshold chosen ({choice["reason"]})')
            continue
        lines.append(
            f'{name}: chosen T = {choice["threshold"]!r} ({choice["reason"]})'
            f': IoU {row["IoU"][j]:.4f}, PA {row["PA"][j]:.4f}, '
            f'OII {row["OII"][j]:.4f}, TP {int(row["TP"][j])}, '
            f'FP {int(row["FP"][j])}, FN {int(row["FN"][j])}')
        if result['config_threshold'] is not None:
            k = thresholds.index(result['config_threshold'])
            lines.append(
                f'{name}: the config\'s T = {thresholds[k]!r}: IoU '
                f'{row["IoU"][k]:.4f}, PA {row["PA"][k]:.4f}, '
                f'OII {row["OII"][k]:.4f}')
    if result['cfg_options'] is not None:
        for name, options in result['cfg_options'].items():
            lines.append('apply it with: --cfg-options ' + ' '.join(options))
    else:
        lines.append('the decode head predicts by argmax (out_channels > 1): '
                     'no threshold applies; the table thresholds each '
                     "class's softmax probability one-vs-rest")
    for path in result['files']:
        lines.append(f'wrote {path}')
    return '\n'.join(lines)
