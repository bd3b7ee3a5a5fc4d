"""The tiny-hidden-crack datasets THC448 / THC224 / THC112 of the paper.

Written by ``tools/dataset_converters/thc.py`` from the published copy
(github KLIVIS/DIBE): solar-cell electroluminescence crops of 448, 224 or
112 pixels, PNG images, 0/1 PNG masks.
"""
from mmseg.registry import DATASETS

from .base import BinarySegDataset


@DATASETS.register_module()
class THCDataset(BinarySegDataset):
    """THC448 / THC224 / THC112 (paper Table 2: FG:BG 1:2228, 1:584, 1:191).

    One class serves the three sizes: they differ only in the crop size the
    converter was run with (``--size``) and so in their input imbalance.

    Args:
        img_suffix (str): Defaults to ``'.png'`` (the published format).
        **kwargs: Passed to :class:`BinarySegDataset`.
    """

    METAINFO = dict(classes=('background', 'crack'),
                    palette=[[0, 0, 0], [255, 0, 0]])

    def __init__(self, img_suffix: str = '.png', **kwargs) -> None:
        super().__init__(img_suffix=img_suffix, **kwargs)
