"""Datasets and data transforms (registered in mmseg's registries)."""
from .base import BinarySegDataset, LoadBinaryAnnotations
from .synthetic import SyntheticCrackDataset
from .cfd import CFDDataset
from .mtsdd import MTSDDDataset
from .thc import THCDataset

__all__ = ['BinarySegDataset', 'LoadBinaryAnnotations', 'SyntheticCrackDataset',
           'CFDDataset', 'MTSDDDataset', 'THCDataset']
