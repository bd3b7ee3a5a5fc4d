"""The CrackForest dataset (CFD): road-surface cracks.

Written by ``tools/dataset_converters/cfd.py`` (160x160 tiles of the 118
annotated 320x480 images by default, PNG images, 0/1 PNG masks).
"""
from mmseg.registry import DATASETS

from .base import BinarySegDataset


@DATASETS.register_module()
class CFDDataset(BinarySegDataset):
    """CrackForest (paper Table 2: 360 / 348 pairs, FG:BG 1:25).

    Args:
        img_suffix (str): Defaults to ``'.png'`` (what the converter writes).
        **kwargs: Passed to :class:`BinarySegDataset`.
    """

    METAINFO = dict(classes=('background', 'crack'),
                    palette=[[0, 0, 0], [255, 0, 0]])

    def __init__(self, img_suffix: str = '.png', **kwargs) -> None:
        super().__init__(img_suffix=img_suffix, **kwargs)
