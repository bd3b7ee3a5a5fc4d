"""Predict defect masks on images of any size; score them with ground truth.

Usage::

    python tools/infer.py CONFIG CHECKPOINT INPUT [INPUT ...] --out DIR \
        [--threshold T] [--gt-dir MASKS [--gt-suffix _mask]] \
        [--device cuda:0] [--batch-size 4]

INPUT: image files, folders of images or glob patterns (quote them).
Writes DIR/masks (0/1 PNG), DIR/masks_vis (0/255), DIR/overlays and, with
``--gt-dir``, DIR/errors (TP green, FP red, FN blue) and DIR/metrics.csv
(per-image TP, FP, FN, IoU, PA, OII and a TOTAL row from the summed counts).
An unreadable image is named and skipped. The logic is
:func:`mmseg_dibe.inference.infer`, on mmseg's ``init_model`` /
``inference_model``.
"""
import argparse
import sys
from pathlib import Path

from mmengine.config import DictAction


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Binary defect masks, overlays and scores for images.')
    parser.add_argument('config', help='model config')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('inputs', nargs='+',
                        help='image files, folders or glob patterns')
    parser.add_argument('--out', required=True, type=Path,
                        help='output folder')
    parser.add_argument('--threshold', type=float, default=None,
                        help="binary head's threshold in (0, 1): defect "
                        'where sigmoid(logit) > T (default: the config\'s, '
                        'usually 0.5)')
    parser.add_argument('--gt-dir', type=Path, default=None,
                        help='ground-truth masks (0/1, or 0/255 and grey, '
                        'thresholded like the folder converter); adds '
                        'error overlays and metrics.csv')
    parser.add_argument('--gt-suffix', default='',
                        help="the mask of NAME.ext is NAME<suffix>.*, e.g. "
                        "'_mask' (default: same name)")
    parser.add_argument('--gt-ext', nargs='+', default=None,
                        help='ground-truth extensions (default: png jpg jpeg '
                        'bmp tif tiff); e.g. png where images and masks '
                        'share a folder and a name')
    parser.add_argument('--gt-threshold', type=int, default=128,
                        help='threshold for ground truth that is not 0/1 '
                        '(default 128)')
    parser.add_argument('--device', default=None,
                        help='cpu, cuda:0, ... (default: cuda:0 if '
                        'available)')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction, default=None,
        help='override config values, e.g. model.test_cfg.mode=slide '
        'model.test_cfg.crop_size="(512,512)" '
        'model.test_cfg.stride="(384,384)" for very large images')
    parser.add_argument('--batch-size', type=int, default=4,
                        help='images per forward pass; same-size images are '
                        'batched together (default 4)')
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    from mmseg_dibe.datasets.folder import MaskRule
    from mmseg_dibe.inference import infer
    try:
        result = infer(args.config, args.checkpoint, args.inputs, args.out,
                       threshold=args.threshold, gt_dir=args.gt_dir,
                       gt_suffix=args.gt_suffix,
                       **({} if args.gt_ext is None else dict(
                           gt_exts=args.gt_ext)),
                       gt_rule=MaskRule(threshold=args.gt_threshold),
                       device=args.device, batch_size=args.batch_size,
                       cfg_options=args.cfg_options)
    except (ValueError, FileNotFoundError) as exc:
        print(f'error: {exc}', file=sys.stderr)
        return 2
    print(f'wrote {len(result["written"])} prediction(s) to {args.out} '
          f'(device {result["device"]})')
    if result['skipped']:
        print(f'{len(result["skipped"])} file(s) skipped (named above on '
              'stderr)')
    total = result['total']
    if total is not None:
        print(f'{len(result["rows"])} image(s) scored: TP {total["TP"]} '
              f'FP {total["FP"]} FN {total["FN"]} IoU {total["IoU"]:.4f} '
              f'PA {total["PA"]:.4f} OII {total["OII"]:.4f} '
              f'({args.out / "metrics.csv"})')
    if not result['written']:
        print('error: no image could be predicted', file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
