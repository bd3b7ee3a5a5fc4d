"""Predict binary defect masks on new images and score them (tools/infer.py).

Built on mmseg's own inference API (``mmseg.apis.init_model`` and
``inference_model``), so a config and checkpoint that work here also work
with mmseg's ``demo/image_demo.py``. Importing this package imports
``mmseg.apis``; ``import mmseg_dibe`` does not import it.
"""
from .predict import (ImageResult, build_model, collect_inputs, error_overlay,
                      image_counts, infer, mask_overlay, predict_batches,
                      read_gt_mask, score_row, write_csv)

__all__ = [
    'ImageResult', 'build_model', 'collect_inputs', 'error_overlay',
    'image_counts', 'infer', 'mask_overlay', 'predict_batches',
    'read_gt_mask', 'score_row', 'write_csv'
]
