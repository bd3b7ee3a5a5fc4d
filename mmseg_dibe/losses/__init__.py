"""Registered losses (mmseg ``MODELS`` registry): the DIBE family and the
paper's baselines. Names differ from mmseg's own, so nothing is overridden.
Every loss's names (registry type, paper name, config-file token,
``loss_name``, equation) are in one table, :data:`.catalog.LOSSES`.
"""
from . import catalog
from .base import AlphaBetaMixin, BaseSegLoss
from .catalog import BY_PAPER_NAME, BY_TOKEN, LOSSES, LossInfo, loss_info
from .compound import ComboLoss, ExpLogLoss, HybridFocalLoss
from .dibe import DIBEDisLoss, DIBELoss, DIBERegLoss
from .distribution import BinaryFocalLoss, WBCELoss
from .region import BinaryDiceLoss, BinaryTverskyLoss, FocalTverskyLoss

__all__ = [
    'catalog', 'LossInfo', 'LOSSES', 'BY_TOKEN', 'BY_PAPER_NAME',
    'loss_info', 'AlphaBetaMixin', 'BaseSegLoss', 'DIBEDisLoss',
    'DIBERegLoss', 'DIBELoss', 'WBCELoss', 'BinaryFocalLoss',
    'BinaryDiceLoss', 'BinaryTverskyLoss', 'FocalTverskyLoss', 'ComboLoss',
    'ExpLogLoss', 'HybridFocalLoss'
]
