"""Datasets and data transforms (registered in mmseg's registries)."""
from .base import BinarySegDataset, LoadBinaryAnnotations
from .synthetic import SyntheticCrackDataset

__all__ = ['BinarySegDataset', 'LoadBinaryAnnotations', 'SyntheticCrackDataset']
