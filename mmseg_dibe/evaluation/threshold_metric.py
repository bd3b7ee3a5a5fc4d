"""OII, IoU and PA at every prediction threshold from one evaluation pass."""
from collections import OrderedDict
from typing import Dict, List, Optional, Sequence, Union

import numpy as np
import torch
from mmengine.dist import is_main_process
from mmengine.evaluator import BaseMetric
from mmengine.logging import MMLogger, print_log

from mmseg.registry import METRICS
from ..functional.thresholds import check_thresholds, threshold_histograms
from .threshold_calibration import (TABLE_KEYS, choose_all, sweep_table,
                                    write_table)

ACTIVATIONS = ('auto', 'none', 'sigmoid', 'softmax')


@METRICS.register_module()
class OIIThresholdMetric(BaseMetric):
    """Hard counts, IoU, PA and OII at many thresholds, from probabilities.

    For each sample the predicted probabilities (from ``seg_logits``) are
    binned against the thresholds ``t_j``, separately for the target and
    background pixels of each evaluated class (one-vs-rest); summed over the
    set, the histograms give TP, FP and FN of the prediction ``p > t_j``
    (strict, as mmseg's binary heads) at every ``t_j`` (see
    :mod:`mmseg_dibe.functional.thresholds`), and from them the metrics of
    :class:`~mmseg_dibe.evaluation.OIIMetric`: IoU (Eq. 20), PA (Eq. 21) and
    OII (Eq. 13-15 with the spec's edge cases).

    Probabilities:

    * one channel (binary head, ``out_channels=1``): mmseg's
      ``postprocess_result`` already stores ``sigmoid(logit)`` in
      ``seg_logits`` and predicts ``seg_logits > decode_head.threshold``, so
      at the head's threshold the counts equal ``OIIMetric``'s; the channel
      is the probability of class 1, the only class evaluated;
    * several channels: softmax over the channels (raw logits there); class
      ``c`` is predicted where ``p_c > T``, a one-vs-rest rule that differs
      from mmseg's argmax prediction (equal for 2 channels at ``T = 0.5``
      up to ties).

    Each sample stores one histogram, so mmengine's collection over ranks
    (which drops the sampler's padding by dataset size) stays exact, and
    ``compute_metrics`` sums them before taking any ratio.

    Reported keys (prefix ``sweep/``), at the threshold chosen per class by
    :func:`~mmseg_dibe.evaluation.threshold_calibration.choose_threshold`
    (highest IoU, or with ``target`` the highest IoU whose OII is inside it):
    ``threshold``, ``IoU``, ``PA``, ``Recall``, ``Dice``, ``OII``, ``FP/FN``,
    ``TP``, ``FP``, ``FN`` and, with ``target``, ``in_target`` (1.0 or 0.0);
    suffixed ``.<class name>`` when several classes are evaluated. The whole
    table is kept in :attr:`table` (on the main process) and, with
    ``output_dir``, written there as ``threshold_sweep.csv`` / ``.json``.

    Args:
        thresholds (int | Sequence[float]): Number of bins ``K`` (thresholds
            ``j / K``, ``j = 0 ... K``) or strictly increasing thresholds.
            Defaults to 100.
        target (Sequence[float], optional): Target OII interval
            ``(m0, m1)`` for the choice. Defaults to None (highest IoU).
        ignore_index (int): Label value left out of every count.
            Defaults to 255.
        background_index (int, optional): Class not evaluated with several
            channels; ``None`` evaluates every class. Defaults to 0.
        activation (str): ``'auto'`` (identity for one channel, softmax for
            several), ``'none'``, ``'sigmoid'`` or ``'softmax'``: how
            ``seg_logits`` become probabilities. Defaults to ``'auto'``.
        output_dir (str, optional): Directory for the sweep table.
            Defaults to None.
        collect_device (str): ``'cpu'`` or ``'gpu'``. Defaults to ``'cpu'``.
        prefix (str, optional): Key prefix. Defaults to ``'sweep'``.
        collect_dir (str, optional): Directory for collecting results across
            ranks with ``collect_device='cpu'``. Defaults to None.
    """

    default_prefix: Optional[str] = 'sweep'

    def __init__(self,
                 thresholds: Union[int, Sequence[float]] = 100,
                 target: Optional[Sequence[float]] = None,
                 ignore_index: int = 255,
                 background_index: Optional[int] = 0,
                 activation: str = 'auto',
                 output_dir: Optional[str] = None,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None,
                 collect_dir: Optional[str] = None,
                 **kwargs) -> None:
        super().__init__(
            collect_device=collect_device,
            prefix=prefix,
            collect_dir=collect_dir)
        if kwargs:
            raise TypeError('OIIThresholdMetric got unknown arguments '
                            f'{sorted(kwargs)}')
        if activation not in ACTIVATIONS:
            raise ValueError(f'OIIThresholdMetric: activation must be one of '
                             f'{ACTIVATIONS}, got {activation!r}')
        if target is not None:
            target = (float(target[0]), float(target[1]))
            if not -1 <= target[0] < target[1] <= 1:
                raise ValueError('OIIThresholdMetric: target needs -1 <= m0 '
                                 f'< m1 <= 1, got {target}')
        self.thresholds = check_thresholds(thresholds)
        self.target = target
        self.ignore_index = ignore_index
        self.background_index = background_index
        self.activation = activation
        self.output_dir = output_dir
        self.table: Optional[Dict] = None
        self.choices: Optional[Dict] = None

    def _probabilities(self, logits: torch.Tensor) -> torch.Tensor:
        activation = self.activation
        if activation == 'auto':
            activation = 'none' if logits.shape[0] == 1 else 'softmax'
        if activation == 'sigmoid':
            return logits.sigmoid()
        if activation == 'softmax':
            return logits.softmax(dim=0)
        return logits

    def _evaluated(self, channels: int, num_classes: int) -> List[int]:
        if channels == 1:
            if num_classes != 2:
                raise ValueError('OIIThresholdMetric: a one-channel '
                                 'prediction needs 2 classes in '
                                 f'dataset_meta, got {num_classes}')
            return [1]
        if channels != num_classes:
            raise ValueError(f'OIIThresholdMetric: seg_logits has {channels} '
                             f'channels for {num_classes} classes')
        return [c for c in range(num_classes) if c != self.background_index]

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        """Store the slot histograms of each sample.

        Args:
            data_batch: Unused (the samples carry everything).
            data_samples (Sequence[dict]): Model outputs with ``seg_logits``
                (``(C, H, W)``) and ``gt_sem_seg``.
        """
        num_classes = len(self.dataset_meta['classes'])
        for data_sample in data_samples:
            if 'seg_logits' not in data_sample:
                raise KeyError('OIIThresholdMetric: a sample has no '
                               'seg_logits (the predicted scores)')
            if 'gt_sem_seg' not in data_sample:
                raise KeyError('OIIThresholdMetric: sample '
                               f'{data_sample.get("img_path", "?")} has no '
                               'gt_sem_seg')
            logits = data_sample['seg_logits']['data']
            label = data_sample['gt_sem_seg']['data'].squeeze(0)
            classes = self._evaluated(logits.shape[0], num_classes)
            prob = self._probabilities(logits)
            if logits.shape[0] != 1:
                prob = prob[classes]
            hist = threshold_histograms(prob, label.to(prob.device),
                                        classes, self.thresholds,
                                        self.ignore_index, num_classes)
            self.results.append(dict(classes=tuple(classes), hist=hist.cpu()))

    def compute_metrics(self, results: list) -> Dict[str, float]:
        """The chosen row per class; the whole sweep in :attr:`table`.

        Args:
            results (list[dict]): Per sample, from all ranks: ``classes``
                (the evaluated class indices) and ``hist``, their
                ``(len(classes), 2, K + 1)`` histograms.

        Returns:
            dict[str, float]: The keys listed in the class docstring.
        """
        if not results:
            raise RuntimeError('OIIThresholdMetric: no sample was evaluated')
        class_names = list(self.dataset_meta['classes'])
        classes = results[0]['classes']
        if any(r['classes'] != classes for r in results):
            raise ValueError('OIIThresholdMetric: samples were evaluated on '
                             'different classes (mixed channel counts?)')
        hist = torch.stack([r['hist'] for r in results]).sum(dim=0).numpy()
        names = [class_names[c] for c in classes]
        self.table = sweep_table(hist, self.thresholds, names)
        self.choices = choose_all(self.table, self.target)
        single = len(names) == 1
        metrics = OrderedDict()
        for name in names:
            choice = self.choices[name]
            suffix = '' if single else f'.{name}'
            j = choice['index']
            metrics['threshold' + suffix] = (float('nan') if j is None else
                                             choice['threshold'])
            for key in TABLE_KEYS:
                metrics[key + suffix] = (float('nan') if j is None else float(
                    self.table['classes'][name][key][j]))
            if self.target is not None:
                metrics['in_target' + suffix] = (
                    float('nan') if j is None else float(choice['in_target']))
        if self.output_dir is not None and is_main_process():
            write_table(self.table, self.output_dir, self.choices)
        logger: MMLogger = MMLogger.get_current_instance()
        for name in names:
            choice = self.choices[name]
            row = self.table['classes'][name]
            j = choice['index']
            if j is None:
                print_log(f'threshold sweep of {name}: {choice["reason"]}',
                          logger=logger, level=30)
                continue
            print_log(
                f'threshold sweep ({len(self.thresholds)} thresholds) of '
                f'{name}: T = {choice["threshold"]:g} ({choice["reason"]}), '
                f'IoU {row["IoU"][j]:.4f}, PA {row["PA"][j]:.4f}, '
                f'OII {row["OII"][j]:.4f}', logger=logger)
        return metrics
