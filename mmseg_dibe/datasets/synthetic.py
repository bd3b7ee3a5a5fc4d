"""The synthetic "hidden crack" dataset written by ``tools/data/make_synthetic.py``."""
from mmseg.registry import DATASETS

from .base import BinarySegDataset


@DATASETS.register_module()
class SyntheticCrackDataset(BinarySegDataset):
    """Synthetic thin, low-contrast cracks on a textured background.

    A stand-in for the paper's THC data (whose public copy is partial) that
    every machine can generate: see ``tools/data/make_synthetic.py``. Images
    are grey PNGs, masks 0/1 PNGs, in mmseg's layout.
    """

    METAINFO = dict(classes=('background', 'crack'),
                    palette=[[0, 0, 0], [255, 0, 0]])
