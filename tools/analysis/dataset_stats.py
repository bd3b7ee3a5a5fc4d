"""Table 2 of the paper for a converted dataset; suggested lambda and crop.

Reads ``DATA_ROOT/ann_dir/{train,val}/*.png`` (0/1 masks, as the converters
write them; pairs are counted where the image of the same stem exists in
``img_dir``) and prints, per split and in total: pairs, FG:BG, the imbalance
level, and the images without any defect pixel.

Imbalance levels follow the paper's Table 2, whose datasets are FG:BG
1:2228 (extreme), 1:584 and 1:333 (high), 1:191 and 1:113 (medium) and 1:25
(low), and its introduction ("extremely imbalanced: lower than 1:1000"):

=========  ===============  ==================
level      BG / FG          suggested lambda
=========  ===============  ==================
extreme    >= 1000          0.9
high       [250, 1000)      0.75
medium     [100, 250)       0.6
low        < 100            0.5
=========  ===============  ==================

lambda weights the defect class in the distribution terms (WBCE, Focal,
DIBE_Dis, DIBE). The paper only says it "should approach 1 as the target gets
rarer" and uses 0.25 / 0.75; the table above is this project's heuristic
starting point for a grid search, not a result of the paper.

Suggested crop size. The paper trains every model on samples of the size
the data come in, or on the few fixed-size crops it prepared once (THC448,
THC224, THC112; 256x256 on MTSDD; 160x160 tiles on CFD), and its Discussion
argues *against* cropping further to ease the imbalance: smaller crops lower
the FG:BG ratio (THC448 1:2228 -> THC112 1:191) but multiply the forward
passes at inference and do not match real use; the DIBE losses are meant to
cope with the imbalance instead. So the suggestion is the largest crop that
still fits the typical training image:

    crop = median shorter side of the training images, rounded down to a
           multiple of 32 (U-Net downsamples four times and the configs pad
           test images to a multiple of 32), clipped to [64, 512]

(512 bounds the memory of the paper's batch of 16 at full width; images much
larger than that are better cut once with ``folder.py --tile`` than cropped
at random.) Set it as ``crop_size`` in ``configs/custom/`` and ``lam`` to the
suggested lambda.

Usage::

    python tools/analysis/dataset_stats.py data/mt_blowhole [--json OUT.json]
"""
import argparse
import json
import sys
from pathlib import Path

import numpy as np
from PIL import Image

SPLITS = ('train', 'val')
LEVELS = (  # (lower bound of BG/FG, level, suggested lambda)
    (1000.0, 'extreme', 0.9),
    (250.0, 'high', 0.75),
    (100.0, 'medium', 0.6),
    (0.0, 'low', 0.5),
)


def imbalance_level(fg: int, bg: int):
    """(level, suggested lambda) for the pixel counts; ratio BG/FG."""
    if fg == 0:
        return 'no foreground', None
    ratio = bg / fg
    for bound, level, lam in LEVELS:
        if ratio >= bound:
            return level, lam
    raise AssertionError('unreachable')


CROP_MULTIPLE = 32
CROP_RANGE = (64, 512)


def suggest_crop_size(shorter_sides) -> int:
    """Median shorter image side, rounded down to a multiple of 32, clipped
    to [64, 512] (see the module docstring); None without images."""
    sides = sorted(int(s) for s in shorter_sides)
    if not sides:
        return None
    median = float(np.median(sides))
    crop = int(median // CROP_MULTIPLE) * CROP_MULTIPLE
    return int(min(max(crop, CROP_RANGE[0]), CROP_RANGE[1]))


def image_sides(root: Path, split: str) -> list:
    """Shorter side of every image in ``img_dir/<split>`` (header only)."""
    img_dir = root / 'img_dir' / split
    sides = []
    if not img_dir.is_dir():
        return sides
    for p in sorted(img_dir.iterdir()):
        try:
            with Image.open(p) as img:
                sides.append(min(img.size))
        except Exception as exc:  # a broken file is reported, not counted
            print(f'warning: cannot read {p}: {exc}', file=sys.stderr)
    return sides


def split_stats(root: Path, split: str) -> dict:
    ann_dir = root / 'ann_dir' / split
    img_dir = root / 'img_dir' / split
    if not ann_dir.is_dir():
        return dict(pairs=0, fg=0, bg=0, empty=0, unpaired=[], bad=[])
    image_stems = {p.stem for p in img_dir.iterdir()} if img_dir.is_dir() \
        else set()
    fg = bg = pairs = empty = 0
    unpaired, bad = [], []
    for p in sorted(ann_dir.glob('*.png')):
        if p.stem not in image_stems:
            unpaired.append(str(p))
            continue
        m = np.asarray(Image.open(p))
        values = np.unique(m)
        if not set(values.tolist()) <= {0, 1}:
            bad.append(f'{p} holds {values.tolist()}')
            continue
        n = int((m == 1).sum())
        pairs += 1
        fg += n
        bg += int(m.size) - n
        empty += n == 0
    return dict(pairs=pairs, fg=fg, bg=bg, empty=empty, unpaired=unpaired,
                bad=bad)


def ratio_str(fg: int, bg: int) -> str:
    return f'1:{bg / fg:.0f}' if fg else '-'


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description="Table 2 of the paper for a converted dataset.")
    parser.add_argument('data_root', type=Path,
                        help='root holding img_dir/ and ann_dir/')
    parser.add_argument('--json', type=Path, default=None,
                        help='also write the numbers to this JSON file')
    args = parser.parse_args(argv)
    if not (args.data_root / 'ann_dir').is_dir():
        print(f'error: {args.data_root}/ann_dir not found; DATA_ROOT must be '
              'a converted dataset (img_dir/, ann_dir/)', file=sys.stderr)
        return 2

    stats = {s: split_stats(args.data_root, s) for s in SPLITS}
    total = dict(
        pairs=sum(v['pairs'] for v in stats.values()),
        fg=sum(v['fg'] for v in stats.values()),
        bg=sum(v['bg'] for v in stats.values()),
        empty=sum(v['empty'] for v in stats.values()))
    for s in SPLITS:
        for path in stats[s]['unpaired']:
            print(f'warning: {path} has no image; not counted',
                  file=sys.stderr)
        for msg in stats[s]['bad']:
            print(f'warning: {msg}; not a 0/1 mask, not counted',
                  file=sys.stderr)
    if total['pairs'] == 0:
        print(f'error: no image/mask pair under {args.data_root}',
              file=sys.stderr)
        return 1

    level, lam = imbalance_level(total['fg'], total['bg'])
    name = args.data_root.name
    print(f'{"Dataset":<16}{"train":>7}{"val":>7}{"total":>7}  '
          f'{"FG:BG":<10}imbalance level')
    print(f'{name:<16}{stats["train"]["pairs"]:>7}{stats["val"]["pairs"]:>7}'
          f'{total["pairs"]:>7}  {ratio_str(total["fg"], total["bg"]):<10}'
          f'{level}')
    print()
    for s in SPLITS:
        v = stats[s]
        print(f'{s:<6} FG:BG {ratio_str(v["fg"], v["bg"]):<9} '
              f'images without defect: {v["empty"]}/{v["pairs"]}')
    if lam is None:
        print('suggested lambda: - (no defect pixel at all)')
    else:
        print(f'suggested lambda: {lam} ({level} imbalance; a starting '
              'point for the grid search, see the docstring)')
    sides = image_sides(args.data_root, 'train') or image_sides(
        args.data_root, 'val')
    crop = suggest_crop_size(sides)
    if crop is not None:
        print(f'suggested crop size: {crop}x{crop} (median shorter image '
              f'side {float(np.median(sides)):.0f} px, rounded down to a '
              f'multiple of {CROP_MULTIPLE}, within {list(CROP_RANGE)})')
    if args.json:
        out = dict(dataset=name, level=level, suggested_lambda=lam,
                   suggested_crop_size=crop,
                   total={k: total[k] for k in ('pairs', 'fg', 'bg', 'empty')},
                   **{s: {k: stats[s][k]
                          for k in ('pairs', 'fg', 'bg', 'empty')}
                      for s in SPLITS})
        args.json.write_text(json.dumps(out, indent=2))
    return 0


if __name__ == '__main__':
    sys.exit(main())
