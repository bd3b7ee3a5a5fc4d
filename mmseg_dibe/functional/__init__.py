"""Pure functions of the paper's mathematics: tensors in, tensors out.

Nothing here touches a registry or mmengine; the registered losses, metric
and hook are thin wrappers around these functions.
"""
from .counts import hard_counts, soft_counts, valid_mask
from .oii import oii

__all__ = ['hard_counts', 'soft_counts', 'valid_mask', 'oii']
