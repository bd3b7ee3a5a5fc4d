"""OII, IoU, PA, Recall and Dice of hard predictions (Eq. 13-15, 20, 21)."""
import os.path as osp
from collections import OrderedDict
from typing import Dict, List, Optional, Sequence

import numpy as np
import torch
from mmengine.dist import is_main_process
from mmengine.evaluator import BaseMetric
from mmengine.logging import MMLogger, print_log
from mmengine.utils import mkdir_or_exist
from PIL import Image
from prettytable import PrettyTable

from mmseg.registry import METRICS
from ..functional.counts import hard_counts
from ..functional.oii import oii

#: Ratio metrics reported per class, in table order.
RATIO_KEYS = ('IoU', 'PA', 'Recall', 'Dice', 'OII', 'FP/FN')
#: Count metrics reported per class.
COUNT_KEYS = ('TP', 'FP', 'FN')
#: Per-image statistics reported when ``per_image=True``.
IMAGE_KEYS = ('OII_img_mean', 'OII_img_q1', 'OII_img_median', 'OII_img_q3',
              'no_target_share')


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """``num / den`` as float64: NaN for 0/0, inf for x/0 (x > 0)."""
    with np.errstate(divide='ignore', invalid='ignore'):
        return num.astype(np.float64) / den.astype(np.float64)


def count_metrics(tp: np.ndarray, fp: np.ndarray,
                  fn: np.ndarray) -> Dict[str, np.ndarray]:
    """Every metric of :class:`OIIMetric` from (summed) per-class counts.

    Args:
        tp, fp, fn (np.ndarray): Hard counts, one entry per class.

    Returns:
        dict[str, np.ndarray]: ``IoU = TP/(TP+FP+FN)`` (Eq. 20),
        ``PA = TP/(TP+FP)`` (Eq. 21, precision), ``Recall = TP/(TP+FN)``,
        ``Dice = 2TP/(2TP+FP+FN)``, ``OII`` (Eq. 13-15), ``FP/FN`` (Eq. 14)
        and the counts. A ratio with a zero denominator is NaN (or inf for
        ``FP/FN`` with ``FN = 0 < FP``).
    """
    return OrderedDict([
        ('IoU', _ratio(tp, tp + fp + fn)),
        ('PA', _ratio(tp, tp + fp)),
        ('Recall', _ratio(tp, tp + fn)),
        ('Dice', _ratio(2 * tp, 2 * tp + fp + fn)),
        ('OII', np.asarray(oii(tp.astype(np.float64), fp, fn))),
        ('FP/FN', _ratio(fp, fn)),
        ('TP', tp),
        ('FP', fp),
        ('FN', fn),
    ])


def image_statistics(tp: np.ndarray, fp: np.ndarray,
                     fn: np.ndarray) -> Dict[str, float]:
    """Per-image OII statistics of one class.

    Args:
        tp, fp, fn (np.ndarray): Counts of one class, one entry per image.

    Returns:
        dict[str, float]: Mean and quartiles of the per-image OII over the
        images that contain the class (``TP + FN > 0``; elsewhere OII is
        only −1 for a false alarm or undefined), and the share of images
        without it. NaN where no image contains the class.
    """
    has_target = (tp + fn) > 0
    values = np.asarray(oii(tp[has_target].astype(np.float64),
                            fp[has_target], fn[has_target]))
    if values.size:
        q1, median, q3 = np.quantile(values, [0.25, 0.5, 0.75])
        mean = values.mean()
    else:
        mean = q1 = median = q3 = float('nan')
    share = 1.0 - has_target.mean() if tp.size else float('nan')
    return OrderedDict(
        zip(IMAGE_KEYS, (float(mean), float(q1), float(median), float(q3),
                         float(share))))


def _nanmean(values: np.ndarray) -> float:
    """Mean over the defined (non-NaN) entries; NaN if there are none."""
    values = values[~np.isnan(values)]
    return float(values.mean()) if values.size else float('nan')


def _to_python(value) -> float:
    """NumPy scalar -> Python float.

    Counts too are floats (exact below 2**53): mmengine's message hub turns
    ints into NumPy integers, which its JSON dump of test results drops.
    """
    return float(value)


@METRICS.register_module()
class OIIMetric(BaseMetric):
    """Output imbalance index with IoU, PA, Recall and Dice.

    Each sample contributes its per-class hard counts (TP, FP, FN over the
    pixels whose label is not ``ignore_index``). ``process`` stores one
    result per sample, so mmengine's collection over ranks (which drops the
    sampler's padding by dataset size) stays exact. ``compute_metrics`` sums
    the counts over the whole set *before* taking any ratio: the numbers are
    the same on any number of processes, because integer sums do not depend
    on the order.

    Reported keys (fractions in ``[0, 1]``, OII in ``[−1, 1]``, not
    percentages):

    * binary data (2 classes, ``background_index`` set): the target class's
      ``IoU``, ``PA`` (= precision, Eq. 21), ``Recall``, ``Dice``, ``OII``,
      ``FP/FN`` and the counts ``TP``, ``FP``, ``FN`` (as floats);
    * more classes: the same per class as ``<key>.<class name>`` and the
      means ``mIoU``, ``mPA``, ``mRecall``, ``mDice``, ``mOII`` over the
      evaluated classes (every class except ``background_index``; NaN
      entries, i.e. classes absent from labels and predictions, left out);
    * with ``per_image=True`` also ``OII_img_mean``, ``OII_img_q1``,
      ``OII_img_median``, ``OII_img_q3`` (over the images that contain the
      target) and ``no_target_share`` (share of images without it); for
      several classes suffixed ``.<class name>``.

    A table of the per-class results is logged, as mmseg's ``IoUMetric``
    does. OII is NaN when TP = FP = FN = 0 (nothing to measure); the log
    says so.

    Args:
        ignore_index (int): Label value left out of every count.
            Defaults to 255.
        background_index (int, optional): The class not evaluated (and not
            averaged). ``None`` evaluates every class, also for binary data.
            Defaults to 0.
        per_image (bool): Also report per-image OII statistics.
            Defaults to False.
        collect_device (str): Device used to collect results across ranks,
            ``'cpu'`` or ``'gpu'``. Defaults to ``'cpu'``.
        output_dir (str, optional): Save each prediction as a PNG (class
            indices, 0/1 for binary data) named like the image, as
            ``IoUMetric`` does. Defaults to None.
        format_only (bool): Only save predictions (``output_dir``), compute
            nothing; for test sets without labels. Defaults to False.
        prefix (str, optional): Prefix of every key, ``prefix/key``.
            Defaults to None (plain keys, like mmseg's metrics).
        collect_dir (str, optional): Directory for collecting results across
            ranks with ``collect_device='cpu'``. Defaults to None.
    """

    def __init__(self,
                 ignore_index: int = 255,
                 background_index: Optional[int] = 0,
                 per_image: bool = False,
                 collect_device: str = 'cpu',
                 output_dir: Optional[str] = None,
                 format_only: bool = False,
                 prefix: Optional[str] = None,
                 collect_dir: Optional[str] = None,
                 **kwargs) -> None:
        super().__init__(
            collect_device=collect_device,
            prefix=prefix,
            collect_dir=collect_dir)
        if kwargs:
            raise TypeError(f'OIIMetric got unknown arguments {sorted(kwargs)}')
        if format_only and not output_dir:
            raise ValueError('OIIMetric: format_only=True computes nothing '
                             'and only saves predictions, so it needs '
                             'output_dir')
        if background_index is not None and background_index < 0:
            raise ValueError('OIIMetric: background_index must be a class '
                             f'index >= 0 or None, got {background_index}')
        self.ignore_index = ignore_index
        self.background_index = background_index
        self.per_image = per_image
        self.output_dir = output_dir
        self.format_only = format_only
        if self.output_dir and is_main_process():
            mkdir_or_exist(self.output_dir)

    @property
    def num_classes(self) -> int:
        """int: Number of classes, from the dataset's meta information."""
        if not self.dataset_meta or 'classes' not in self.dataset_meta:
            raise RuntimeError('OIIMetric needs dataset_meta with "classes" '
                               '(the evaluator sets it from the dataset)')
        return len(self.dataset_meta['classes'])

    def process(self, data_batch: dict, data_samples: Sequence[dict]) -> None:
        """Store the per-class counts of each sample; save PNGs if asked.

        Args:
            data_batch (dict): A batch from the dataloader (unused).
            data_samples (Sequence[dict]): Model outputs with
                ``pred_sem_seg`` (already thresholded for binary heads) and,
                unless ``format_only``, ``gt_sem_seg``.
        """
        num_classes = self.num_classes
        for data_sample in data_samples:
            pred = data_sample['pred_sem_seg']['data'].squeeze()
            if not self.format_only:
                if 'gt_sem_seg' not in data_sample:
                    raise KeyError(
                        'OIIMetric: sample '
                        f'{data_sample.get("img_path", "?")} has no '
                        'gt_sem_seg; use format_only=True for unlabelled '
                        'test sets')
                label = data_sample['gt_sem_seg']['data'].squeeze()
                tp, fp, fn = hard_counts(pred.to(label.device), label,
                                         num_classes, self.ignore_index)
                self.results.append(torch.stack([tp, fp, fn]).cpu())
            if self.output_dir is not None:
                self._save_png(data_sample, pred)

    def _save_png(self, data_sample: dict, pred: torch.Tensor) -> None:
        basename = osp.splitext(osp.basename(data_sample['img_path']))[0]
        mask = pred.cpu().numpy().astype(np.int64)
        # Datasets loaded with reduce_zero_label shifted classes down by 1.
        if data_sample.get('reduce_zero_label', False):
            mask = mask + 1
        Image.fromarray(mask.astype(np.uint8)).save(
            osp.abspath(osp.join(self.output_dir, f'{basename}.png')))

    def _evaluated(self, num_classes: int) -> List[int]:
        return [
            c for c in range(num_classes) if c != self.background_index
        ]

    def compute_metrics(self, results: list) -> Dict[str, float]:
        """Metrics from the counts of every sample of the set.

        Args:
            results (list[Tensor]): One ``(3, num_classes)`` tensor of
                (TP, FP, FN) per sample, from all ranks.

        Returns:
            dict[str, float]: The keys listed in the class docstring.
        """
        logger: MMLogger = MMLogger.get_current_instance()
        if self.format_only:
            logger.info(f'predictions saved to {self.output_dir}')
            return OrderedDict()
        class_names = list(self.dataset_meta['classes'])
        num_classes = len(class_names)
        if not results:
            raise RuntimeError('OIIMetric: no sample was evaluated')
        counts = torch.stack(results).numpy().astype(np.int64)  # (N, 3, C)
        tp, fp, fn = counts.sum(axis=0)
        per_class = count_metrics(tp, fp, fn)
        evaluated = self._evaluated(num_classes)
        binary = num_classes == 2 and self.background_index is not None

        metrics = OrderedDict()
        if binary:
            target = evaluated[0]
            for key, values in per_class.items():
                metrics[key] = _to_python(values[target])
        else:
            for key in RATIO_KEYS[:-1]:  # no mean of FP/FN ratios
                metrics['m' + key] = _nanmean(per_class[key][evaluated])
            for c in evaluated:
                for key, values in per_class.items():
                    metrics[f'{key}.{class_names[c]}'] = _to_python(values[c])
        if self.per_image:
            for c in evaluated:
                stats = image_statistics(counts[:, 0, c], counts[:, 1, c],
                                         counts[:, 2, c])
                for key, value in stats.items():
                    metrics[key if binary else f'{key}.{class_names[c]}'] = \
                        value

        self._log_table(logger, class_names, evaluated, per_class)
        return metrics

    @staticmethod
    def _log_table(logger: MMLogger, class_names: List[str],
                   evaluated: List[int],
                   per_class: Dict[str, np.ndarray]) -> None:
        table = PrettyTable()
        table.add_column('Class', [class_names[c] for c in evaluated])
        for key, values in per_class.items():
            if key in COUNT_KEYS:
                column = [str(int(values[c])) for c in evaluated]
            else:
                column = [f'{values[c]:.4f}' for c in evaluated]
            table.add_column(key, column)
        print_log('per class results:', logger)
        print_log('\n' + table.get_string(), logger=logger)
        undefined = [
            class_names[c] for c in evaluated if np.isnan(per_class['OII'][c])
        ]
        if undefined:
            print_log(
                f'OII is undefined (NaN) for {undefined}: TP = FP = FN = 0, '
                'the class is in no label and no prediction',
                logger=logger, level=30)
