"""Convert the Magnetic-tile surface defect dataset (MTSDD) to mmseg layout.

Source layout, as published (github abin24/Magnetic-tile-defect-datasets.)::

    SRC/MT_<Subset>/Imgs/<name>.jpg    grey image, sizes vary per image
    SRC/MT_<Subset>/Imgs/<name>.png    its mask, same size

Subsets: Blowhole, Break, Crack, Fray, Uneven, Free (MT_Free masks are all
empty). One subset per call; each becomes a binary dataset
``('background', <subset>)``.

Masks are not clean 0/255: JPEG-like grey levels 1..254 occur along the
defect borders. A pixel is foreground when its mask value is >= 128
(``--threshold``), i.e. the mask is read as "more defect than not".

Split: MTSDD has none. The images are split per image with a seeded shuffle;
``--val-ratio`` defaults to 0.41, the val share of the paper's Table 2
(Blowhole 101/70, Crack 46/31). The paper's counts come from crops it does not
specify, so the pair counts here are those of the whole images (Blowhole
115 -> 68 train / 47 val; Crack 57 -> 34 / 23).

Usage::

    python tools/dataset_converters/mtsdd.py Magnetic-tile-defect-datasets. \\
        data/mt_blowhole --subset Blowhole
"""
import argparse
import sys

from _common import (ConversionError, Converter, add_common_args,
                     grey_mask, num_val_from_ratio, open_image, prepare_out,
                     progress, seeded_split, threshold_mask)

SUBSETS = ('Blowhole', 'Break', 'Crack', 'Fray', 'Uneven', 'Free')


def subset_name(value: str) -> str:
    """Accept 'Blowhole', 'blowhole' or 'MT_Blowhole'."""
    key = value[3:] if value.lower().startswith('mt_') else value
    for name in SUBSETS:
        if name.lower() == key.lower():
            return name
    raise argparse.ArgumentTypeError(
        f'unknown MTSDD subset {value!r}; choose one of {", ".join(SUBSETS)}')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Convert one MTSDD subset into mmseg layout with 0/1 '
        'masks.')
    add_common_args(parser)
    parser.add_argument('--subset', type=subset_name, required=True,
                        help=f'one of {", ".join(SUBSETS)}')
    parser.add_argument('--threshold', type=int, default=128,
                        help='mask value from which a pixel is defect '
                        '(default 128)')
    parser.add_argument('--val-ratio', type=float, default=0.41,
                        help='share of images in val (default 0.41, the '
                        "paper's Table 2 share)")
    parser.add_argument('--seed', type=int, default=0,
                        help='seed of the train/val shuffle')
    args = parser.parse_args(argv)
    if not 0 < args.threshold <= 255:
        parser.error(f'--threshold must lie in [1, 255], got {args.threshold}')
    if not 0.0 < args.val_ratio < 1.0:
        parser.error(f'--val-ratio must lie in (0, 1), got {args.val_ratio}')
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    src_dir = args.src / f'MT_{args.subset}' / 'Imgs'
    if not src_dir.is_dir():
        print(f'error: {src_dir} not found; SRC must be the MTSDD root '
              'holding MT_<Subset>/Imgs', file=sys.stderr)
        return 2
    prepare_out(args.src, args.out, args.overwrite)
    conv = Converter(args.out, img_ext='.jpg')

    images = {p.stem: p for p in src_dir.glob('*.jpg')}
    masks = {p.stem: p for p in src_dir.glob('*.png')}
    for stem in sorted(images.keys() - masks.keys()):
        conv.skip(images[stem], 'image without a same-name .png mask')
    for stem in sorted(masks.keys() - images.keys()):
        conv.skip(masks[stem], 'mask without a same-name .jpg image')
    stems = sorted(images.keys() & masks.keys())
    if not stems:
        print(f'error: no image/mask pair in {src_dir}', file=sys.stderr)
        return 1
    # The split is drawn over the paired names, before decoding, so a
    # corrupt file removes only itself and never reshuffles the others.
    split_of = seeded_split(
        stems, num_val_from_ratio(len(stems), args.val_ratio), args.seed)

    print(f'converting MT_{args.subset}: {len(stems)} pairs')
    for stem in progress(stems):
        try:
            img = open_image(images[stem])
        except ConversionError as exc:
            conv.skip(images[stem], str(exc))
            continue
        try:
            mask = grey_mask(open_image(masks[stem]))
        except ConversionError as exc:
            conv.skip(masks[stem], str(exc))
            continue
        if mask.shape != (img.height, img.width):
            conv.skip(masks[stem], f'mask size {mask.shape[::-1]} differs '
                      f'from image size {img.size}')
            continue
        conv.write(split_of[stem], stem, threshold_mask(mask, args.threshold),
                   copy_from=images[stem])
    return conv.report()


if __name__ == '__main__':
    sys.exit(main())
