"""Convert a folder of your own images and masks to mmseg layout.

Pairs ``IMAGES/<name>.<ext>`` with ``MASKS/<name><suffix>.<ext>`` and writes
``OUT/img_dir/{train,val}/<name>.png`` and
``OUT/ann_dir/{train,val}/<name>.png`` (0 = background, 1 = defect), the
layout ``BinarySegDataset`` and ``configs/custom/unet-s5-d16_dibe_custom.py``
read. The logic lives in
:mod:`mmseg_dibe.datasets.folder`.

Masks may be 0/1, 0/255, grey with anti-aliased edges (``--mask-threshold``,
default 128), palette PNGs (``--foreground-value INDEX``) or colour
annotations (``--foreground-color 255,0,0``). The split is drawn by
``--val-ratio`` and ``--seed``, or kept when IMAGES and MASKS both hold
``train/`` and ``val/``. ``--tile N`` cuts large images into NxN tiles.

Usage::

    python tools/dataset_converters/folder.py my_images my_masks \
        data/my_defects --mask-suffix _mask --val-ratio 0.2 --seed 0
"""
import argparse
import sys
from pathlib import Path

from mmseg_dibe.datasets.folder import (IMAGE_EXTENSIONS, MaskRule,
                                        convert_folder, format_summary,
                                        parse_color)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Pair images with masks by name and write mmseg layout '
        'with 0/1 masks.')
    parser.add_argument('images', type=Path, help='folder of images')
    parser.add_argument('masks', type=Path,
                        help='folder of masks (may be IMAGES with '
                        '--mask-suffix)')
    parser.add_argument('out', type=Path,
                        help='output root; receives img_dir/{train,val} and '
                        'ann_dir/{train,val}')
    parser.add_argument('--mask-suffix', default='',
                        help="the mask of NAME.ext is NAME<suffix>.ext, "
                        "e.g. '_mask' (default: same name)")
    parser.add_argument('--img-ext', nargs='+',
                        default=list(IMAGE_EXTENSIONS),
                        help='image extensions (default: %(default)s)')
    parser.add_argument('--mask-ext', nargs='+',
                        default=list(IMAGE_EXTENSIONS),
                        help='mask extensions (default: %(default)s)')
    parser.add_argument('--mask-threshold', type=int, default=128,
                        help='a mask that is not 0/1 is defect where its '
                        'value (brightest channel for colour) is >= this '
                        '(default 128)')
    parser.add_argument('--foreground-value', type=int, nargs='+',
                        default=None,
                        help='defect where the mask value (grey level or '
                        'palette index) is one of these')
    parser.add_argument('--foreground-color', type=str, default=None,
                        help="defect where the mask pixel has exactly this "
                        "colour: 'R,G,B' or '#rrggbb'")
    parser.add_argument('--tile', type=int, default=0,
                        help='cut images into TILE x TILE tiles (border '
                        'tiles overlap so that no pixel is lost); 0 keeps '
                        'whole images (default)')
    parser.add_argument('--val-ratio', type=float, default=0.2,
                        help='share of source images in val (default 0.2; '
                        'ignored when the sources have train/ and val/)')
    parser.add_argument('--seed', type=int, default=0,
                        help='seed of the train/val split')
    parser.add_argument('--overwrite', action='store_true',
                        help='replace OUT/img_dir and OUT/ann_dir when OUT '
                        'is not empty')
    args = parser.parse_args(argv)
    if not 0 <= args.mask_threshold <= 255:
        parser.error(f'--mask-threshold must lie in [0, 255], got '
                     f'{args.mask_threshold}')
    if args.tile < 0:
        parser.error(f'--tile must be >= 0, got {args.tile}')
    if not 0.0 < args.val_ratio < 1.0:
        parser.error(f'--val-ratio must lie in (0, 1), got {args.val_ratio}')
    if args.foreground_value is not None and args.foreground_color:
        parser.error('give --foreground-value or --foreground-color, not '
                     'both')
    if args.foreground_color:
        try:
            args.foreground_color = parse_color(args.foreground_color)
        except ValueError as exc:
            parser.error(f'--foreground-color: {exc}')
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    rule = MaskRule(
        threshold=args.mask_threshold,
        foreground_values=(tuple(args.foreground_value)
                           if args.foreground_value is not None else None),
        foreground_color=args.foreground_color)
    try:
        summary = convert_folder(
            args.images, args.masks, args.out, mask_suffix=args.mask_suffix,
            img_exts=args.img_ext, mask_exts=args.mask_ext, rule=rule,
            tile=args.tile, val_ratio=args.val_ratio, seed=args.seed,
            overwrite=args.overwrite)
    except (ValueError, FileExistsError, RuntimeError) as exc:
        print(f'error: {exc}', file=sys.stderr)
        return 2 if not isinstance(exc, RuntimeError) else 1
    print()
    print(format_summary(summary, args.out))
    if sum(summary.pairs.values()) == 0:
        print('error: no pair was converted', file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
