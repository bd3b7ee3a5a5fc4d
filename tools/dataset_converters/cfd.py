"""Convert the CrackForest dataset (CFD) to mmseg layout.

Source layout, as published (github cuilimeng/CrackForest-dataset)::

    SRC/image/<k>.jpg          155 RGB road images, 320x480
    SRC/groundTruth/<k>.mat    118 of them have one: MATLAB struct
                               groundTruth[0, 0] with fields
                               Segmentation (uint8, 320x480) and Boundaries

Only the images with a ground truth are used. ``Segmentation`` labels:
1 = background, 2 = crack, and in some files 3 = background enclosed by
cracks and 4 = a detached crack piece. ``--crack-labels`` chooses which
labels are foreground; the default ``2 4`` counts every crack pixel (3 is
background by its meaning).

Crops: the paper's Table 2 lists 708 CFD pairs = 118 images x 6, i.e. the
320x480 images cut into a 2x3 grid of 160x160 tiles (``--crop 160``, the
default; ``--crop 0`` keeps whole images). The split is drawn per *source
image* so that tiles of one road image never land in both splits; 58 val
images (``--num-val``) give the paper's 360 train / 348 val tiles.

Usage::

    python tools/dataset_converters/cfd.py CrackForest-dataset data/cfd
"""
import argparse
import sys

import numpy as np

from _common import (ConversionError, Converter, add_common_args, fail,
                     open_image, prepare_out, progress, seeded_split)

DEFAULT_CRACK_LABELS = (2, 4)
PAPER_NUM_VAL = 58  # of 118 images -> 348 val / 360 train 160x160 tiles


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Convert CrackForest into mmseg layout with 0/1 masks.')
    add_common_args(parser)
    parser.add_argument(
        '--crack-labels', type=int, nargs='+',
        default=list(DEFAULT_CRACK_LABELS),
        help='Segmentation labels counted as crack (default: 2 4)')
    parser.add_argument(
        '--crop', type=int, default=160,
        help='tile size; images are cut into a grid of CROPxCROP tiles '
        '(default 160: 6 tiles per image as in the paper); 0 keeps whole '
        'images')
    parser.add_argument(
        '--num-val', type=int, default=None,
        help='source images in val (default: 58 of 118 as in the paper, '
        'the same share for other counts)')
    parser.add_argument('--seed', type=int, default=0,
                        help='seed of the train/val shuffle')
    args = parser.parse_args(argv)
    bad = [v for v in args.crack_labels if v not in (1, 2, 3, 4)]
    if bad:
        parser.error(f'--crack-labels: unknown label(s) {bad}; CFD labels '
                     'are 1 (background), 2 (crack), 3 (enclosed '
                     'background), 4 (detached crack)')
    if args.crop < 0:
        parser.error(f'--crop must be >= 0, got {args.crop}')
    return args


def read_segmentation(path) -> np.ndarray:
    """``groundTruth[0, 0]['Segmentation']`` of a CFD .mat file."""
    from scipy.io import loadmat
    try:
        mat = loadmat(str(path))
        seg = np.asarray(mat['groundTruth'][0, 0]['Segmentation'])
    except Exception as exc:  # corrupt file or another structure
        raise ConversionError(
            f'cannot read groundTruth[0, 0].Segmentation: {exc}') from exc
    if seg.ndim != 2:
        raise ConversionError(f'Segmentation has shape {seg.shape}, '
                              'expected 2-D')
    return seg


def tiles(height: int, width: int, crop: int):
    """Top-left corners of the non-overlapping CROPxCROP grid (a remainder
    narrower than CROP is dropped; CFD's 320x480 divides by 160)."""
    if crop == 0:
        return [(0, 0, height, width)]
    return [(y, x, crop, crop) for y in range(0, height - crop + 1, crop)
            for x in range(0, width - crop + 1, crop)]


def main(argv=None) -> int:
    args = parse_args(argv)
    img_dir, gt_dir = args.src / 'image', args.src / 'groundTruth'
    for d in (img_dir, gt_dir):
        if not d.is_dir():
            print(f'error: {d} not found; SRC must hold image/ and '
                  'groundTruth/', file=sys.stderr)
            return 2
    prepare_out(args.src, args.out, args.overwrite)
    conv = Converter(args.out, img_ext='.png')

    images = {p.stem: p for p in img_dir.glob('*.jpg')}
    gts = {p.stem: p for p in gt_dir.glob('*.mat')}
    no_gt = sorted(images.keys() - gts.keys())
    if no_gt:
        # Expected for the published copy (155 images, 118 ground truths):
        # one summary line, not 37 warnings.
        print(f'{len(no_gt)} image(s) without ground truth are not used: '
              f'{", ".join(no_gt)}', file=sys.stderr)
    for stem in sorted(gts.keys() - images.keys()):
        conv.skip(gts[stem], 'ground truth without a same-name .jpg image')
    stems = sorted(images.keys() & gts.keys())
    if not stems:
        print(f'error: no image/groundTruth pair in {args.src}',
              file=sys.stderr)
        return 1
    num_val = args.num_val
    if num_val is None:
        num_val = int(round(len(stems) * PAPER_NUM_VAL / 118))
    if not 0 <= num_val <= len(stems):
        fail(f'--num-val {num_val} is outside [0, {len(stems)}]')
    split_of = seeded_split(stems, num_val, args.seed)
    crack = np.array(sorted(set(args.crack_labels)))

    print(f'converting CFD: {len(stems)} pairs, crack labels '
          f'{crack.tolist()}, crop {args.crop or "none"}')
    for stem in progress(stems):
        try:
            img = open_image(images[stem]).convert('RGB')
        except ConversionError as exc:
            conv.skip(images[stem], str(exc))
            continue
        try:
            seg = read_segmentation(gts[stem])
        except ConversionError as exc:
            conv.skip(gts[stem], str(exc))
            continue
        if seg.shape != (img.height, img.width):
            conv.skip(gts[stem], f'Segmentation size {seg.shape[::-1]} '
                      f'differs from image size {img.size}')
            continue
        mask = np.isin(seg, crack).astype(np.uint8)
        boxes = tiles(img.height, img.width, args.crop)
        if not boxes:
            conv.skip(images[stem], f'smaller than --crop {args.crop}')
            continue
        for i, (y, x, h, w) in enumerate(boxes):
            name = stem if args.crop == 0 else f'{stem}_{i}'
            conv.write(split_of[stem], name, mask[y:y + h, x:x + w],
                       image=img.crop((x, y, x + w, y + h)))
    return conv.report()


if __name__ == '__main__':
    sys.exit(main())
