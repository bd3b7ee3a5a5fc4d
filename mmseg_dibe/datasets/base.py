"""Binary defect datasets in mmseg's layout, with a check of the mask values.

Every dataset of the plugin is binary: class 0 is background, class 1 the
defect, and the annotation PNGs hold exactly those two values. A raw 0/255
mask fed as is would otherwise be read by mmseg as "every defect pixel is
ignored" (255 is mmseg's ignore index) and train a model that never sees a
defect, without any error. :class:`LoadBinaryAnnotations` refuses such a file
and names it.
"""
import copy
from typing import Sequence

import numpy as np
from mmseg.datasets import BaseSegDataset
from mmseg.datasets.transforms import LoadAnnotations
from mmseg.registry import DATASETS, TRANSFORMS


@TRANSFORMS.register_module()
class LoadBinaryAnnotations(LoadAnnotations):
    """Load a segmentation mask and check that it holds only allowed values.

    Same keys and options as mmseg's ``LoadAnnotations``; after loading, the
    unique values of ``gt_seg_map`` must be a subset of ``allowed_values``.

    Args:
        allowed_values (Sequence[int]): Label values a mask may hold.
            Defaults to ``(0, 1)``. Add 255 only for datasets whose masks
            mark "ignore" regions on purpose.
        **kwargs: Passed to mmseg's ``LoadAnnotations``.

    Raises:
        ValueError: naming the mask file and the values found, when a mask
            holds any other value (a raw 0/255 mask, say).
    """

    def __init__(self, allowed_values: Sequence[int] = (0, 1), **kwargs):
        super().__init__(**kwargs)
        self.allowed_values = tuple(int(v) for v in allowed_values)

    def _load_seg_map(self, results: dict) -> None:
        super()._load_seg_map(results)
        values = np.unique(results['gt_seg_map'])
        unexpected = np.setdiff1d(values, self.allowed_values)
        if unexpected.size:
            raise ValueError(
                f'mask {results.get("seg_map_path")} holds values '
                f'{values.tolist()}; only {list(self.allowed_values)} are '
                f'allowed (unexpected: {unexpected.tolist()}). Convert raw '
                f'0/255 masks to 0/1 with the dataset converters in '
                f'tools/dataset_converters/.')

    def __repr__(self) -> str:
        return (super().__repr__()[:-1] +
                f', allowed_values={self.allowed_values})')


@DATASETS.register_module()
class BinarySegDataset(BaseSegDataset):
    """A binary (background / defect) dataset in mmseg's layout.

    ``img_dir/{train,val}/*<img_suffix>`` with same-stem masks
    ``ann_dir/{train,val}/*.png`` holding 0 (background) and 1 (defect).
    ``reduce_zero_label`` is always ``False``: 0 is a real class here.

    Any ``LoadAnnotations`` step in the pipeline is replaced by
    :class:`LoadBinaryAnnotations` (same arguments), so that configs written
    with mmseg's usual pipeline still get the mask-value check.

    Args:
        img_suffix (str): Image file suffix. Defaults to ``'.png'``.
        seg_map_suffix (str): Mask file suffix. Defaults to ``'.png'``.
        **kwargs: Passed to mmseg's ``BaseSegDataset``.
    """

    METAINFO = dict(classes=('background', 'defect'),
                    palette=[[0, 0, 0], [255, 0, 0]])

    def __init__(self,
                 img_suffix: str = '.png',
                 seg_map_suffix: str = '.png',
                 **kwargs) -> None:
        if kwargs.get('reduce_zero_label'):
            raise ValueError(
                f'{type(self).__name__}: reduce_zero_label=True would turn '
                f'the background class into ignored pixels; binary defect '
                f'masks need reduce_zero_label=False')
        kwargs['reduce_zero_label'] = False
        kwargs['pipeline'] = self._with_mask_check(kwargs.get('pipeline', []))
        super().__init__(
            img_suffix=img_suffix, seg_map_suffix=seg_map_suffix, **kwargs)

    @staticmethod
    def _with_mask_check(pipeline):
        checked = []
        for step in pipeline:
            if isinstance(step, dict) and step.get('type') in (
                    'LoadAnnotations', 'mmseg.LoadAnnotations',
                    LoadAnnotations):
                step = copy.deepcopy(step)
                step['type'] = 'LoadBinaryAnnotations'
            checked.append(step)
        return checked
