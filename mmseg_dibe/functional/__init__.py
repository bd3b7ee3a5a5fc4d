"""Pure functions of the paper's mathematics: tensors in, tensors out.

Nothing here touches a registry or mmengine; the registered losses, metric
and hook are thin wrappers around these functions.
"""
from .counts import hard_counts, soft_counts, valid_mask
from .oii import oii
# Losses (issue 3): region terms, per-pixel terms, fused fast path.
from .fused import binary_dibe_stats
from .pixel import dibe_dis_terms, explog_ce_terms, focal_terms, wbce_terms
from .region import dice_coefficient, region_loss, tversky_index

__all__ = ['hard_counts', 'soft_counts', 'valid_mask', 'oii']
__all__ += [
    'binary_dibe_stats', 'dibe_dis_terms', 'explog_ce_terms', 'focal_terms',
    'wbce_terms', 'dice_coefficient', 'region_loss', 'tversky_index'
]
