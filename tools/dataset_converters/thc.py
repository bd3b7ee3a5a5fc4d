"""Convert the tiny-hidden-crack datasets (THC448 / THC224 / THC112) to mmseg
layout.

Source layout, as published (github KLIVIS/DIBE)::

    SRC/THC<S>/train_dataset_<S>/<n>_<aug>.png   <aug> in filp, Contrast,
    SRC/THC<S>/train_label_<S>/<n>_<aug>.png     Brightness, Saturation
    SRC/THC<S>/val_dataset_<S>/img_<k>.png
    SRC/THC<S>/val_label_<S>/img_<k>.png

for S in 448, 224, 112 (``--size``). SRC may be the repository root or the
``THC<S>`` folder itself. The published train folders are already augmented
(flip and photometric copies, ``filp`` spelled as published);
``--skip-augmented`` keeps only the files without such a suffix.

The published split is kept. The public copy is partial: an image without its
label (or a label without its image) is named and skipped.

Labels: a label holding only 0 and 1 is taken as is; any other label (0/255,
anti-aliased grey, colour) is thresholded at 128 (``--threshold``), a colour
label by the brightest channel of each pixel.

Usage::

    python tools/dataset_converters/thc.py DIBE data/thc448 --size 448
"""
import argparse
import re
import sys

from _common import (ConversionError, Converter, add_common_args, grey_mask,
                     open_image, prepare_out, progress, threshold_mask)

SIZES = (448, 224, 112)
AUGMENTED = re.compile(r'_(filp|flip|Contrast|Brightness|Saturation)$',
                       re.IGNORECASE)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Convert THC448/224/112 into mmseg layout with 0/1 '
        'masks.')
    add_common_args(parser)
    parser.add_argument('--size', type=int, choices=SIZES, default=448,
                        help='which THC dataset (default 448)')
    parser.add_argument('--threshold', type=int, default=128,
                        help='threshold for labels that are not already '
                        '0/1 (default 128)')
    parser.add_argument('--skip-augmented', action='store_true',
                        help='drop the published augmented train copies')
    args = parser.parse_args(argv)
    if not 0 < args.threshold <= 255:
        parser.error(f'--threshold must lie in [1, 255], got {args.threshold}')
    return args


def to01(mask, threshold):
    """0/1 labels are kept; anything else is thresholded."""
    if mask.max(initial=0) <= 1:
        return mask.astype('uint8')
    return threshold_mask(mask, threshold)


def main(argv=None) -> int:
    args = parse_args(argv)
    s = args.size
    root = args.src
    if root.name != f'THC{s}':
        root = root / f'THC{s}'
    folders = {}
    for split in ('train', 'val'):
        folders[split] = (root / f'{split}_dataset_{s}',
                          root / f'{split}_label_{s}')
        for d in folders[split]:
            if not d.is_dir():
                print(f'error: {d} not found; SRC must be the DIBE '
                      f'repository root or its THC{s} folder',
                      file=sys.stderr)
                return 2
    prepare_out(args.src, args.out, args.overwrite)
    conv = Converter(args.out, img_ext='.png')

    jobs = []
    for split, (img_dir, lbl_dir) in folders.items():
        images = {p.stem: p for p in img_dir.glob('*.png')}
        labels = {p.stem: p for p in lbl_dir.glob('*.png')}
        for stem in sorted(images.keys() - labels.keys()):
            conv.skip(images[stem], 'image without its label')
        for stem in sorted(labels.keys() - images.keys()):
            conv.skip(labels[stem], 'label without its image')
        for stem in sorted(images.keys() & labels.keys()):
            if args.skip_augmented and AUGMENTED.search(stem):
                continue
            jobs.append((split, stem, images[stem], labels[stem]))

    print(f'converting THC{s}: {len(jobs)} pairs')
    for split, stem, img_path, lbl_path in progress(jobs):
        try:
            img = open_image(img_path)
        except ConversionError as exc:
            conv.skip(img_path, str(exc))
            continue
        try:
            mask = grey_mask(open_image(lbl_path))
        except ConversionError as exc:
            conv.skip(lbl_path, str(exc))
            continue
        if mask.shape != (img.height, img.width):
            conv.skip(lbl_path, f'label size {mask.shape[::-1]} differs '
                      f'from image size {img.size}')
            continue
        conv.write(split, stem, to01(mask, args.threshold),
                   copy_from=img_path)
    return conv.report()


if __name__ == '__main__':
    sys.exit(main())
