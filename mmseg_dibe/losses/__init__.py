"""Registered losses (mmseg ``MODELS`` registry): the DIBE family and the
paper's baselines. Names differ from mmseg's own, so nothing is overridden.
"""
from .base import AlphaBetaMixin, BaseSegLoss
from .compound import ComboLoss, ExpLogLoss, HybridFocalLoss
from .dibe import DIBEDisLoss, DIBELoss, DIBERegLoss
from .distribution import BinaryFocalLoss, WBCELoss
from .region import BinaryDiceLoss, BinaryTverskyLoss, FocalTverskyLoss

__all__ = [
    'AlphaBetaMixin', 'BaseSegLoss', 'DIBEDisLoss', 'DIBERegLoss',
    'DIBELoss', 'WBCELoss', 'BinaryFocalLoss', 'BinaryDiceLoss',
    'BinaryTverskyLoss', 'FocalTverskyLoss', 'ComboLoss', 'ExpLogLoss',
    'HybridFocalLoss'
]
