"""Pure functions of the paper's mathematics: tensors in, tensors out.

Nothing here touches a registry or mmengine; the registered losses, metric
and hook are thin wrappers around these functions. Each loss equation is one
function (the table is in ``docs/spec.md``): per-pixel terms in
:mod:`.pixel`, region terms in :mod:`.region`, compound losses in
:mod:`.compound`, and the fused binary sums all of them are computed from in
:mod:`.fused`.
"""
from .counts import hard_counts, soft_counts, valid_mask
from .oii import oii
# Threshold sweep: counts at every threshold from per-bin histograms.
from .thresholds import (check_thresholds, sweep_counts, threshold_grid,
                         threshold_histograms, threshold_slots)
# Losses: per-pixel terms, region terms, compound losses, fused fast path.
from .compound import combo_loss, dibe_loss, exp_log_loss, hybrid_focal_loss
from .fused import binary_dibe_stats, binary_stats
from .pixel import (PixelTerm, dibe_dis_terms, explog_ce_terms, focal_terms,
                    pixel_terms, reduce_pixel_terms, wbce_terms)
from .region import (aggregate_counts, dibe_reg_loss, dice_coefficient,
                     dice_loss, focal_tversky_loss, log_dice_loss,
                     region_loss, region_mean, tversky_index, tversky_loss)

__all__ = ['hard_counts', 'soft_counts', 'valid_mask', 'oii']
__all__ += [
    'check_thresholds', 'sweep_counts', 'threshold_grid',
    'threshold_histograms', 'threshold_slots'
]
__all__ += [
    'combo_loss', 'dibe_loss', 'exp_log_loss', 'hybrid_focal_loss',
    'binary_dibe_stats', 'binary_stats', 'PixelTerm', 'dibe_dis_terms',
    'explog_ce_terms', 'focal_terms', 'pixel_terms', 'reduce_pixel_terms',
    'wbce_terms', 'aggregate_counts', 'dibe_reg_loss', 'dice_coefficient',
    'dice_loss', 'focal_tversky_loss', 'log_dice_loss', 'region_loss',
    'region_mean', 'tversky_index', 'tversky_loss'
]
