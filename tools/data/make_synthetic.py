"""Write the synthetic "hidden crack" binary dataset in mmseg's layout.

    python tools/data/make_synthetic.py data/synthetic_crack \
        [--num-train 200 --num-val 50 --size 256 --ratio 0.001 --seed 0]

OUT/img_dir/{train,val}/synth_XXXXX.png (grey) and OUT/ann_dir/{train,val}/
synth_XXXXX.png (0 = background, 1 = crack). The same arguments always give
the same files. Prints the measured FG:BG ratio of each split.
"""
import argparse
import os
import os.path as osp

import numpy as np
from PIL import Image

from mmseg_dibe.datasets.synthesis import (CrackStyle, render_sample,
                                           split_budgets)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('out', help='output dataset root')
    parser.add_argument('--num-train', type=int, default=200)
    parser.add_argument('--num-val', type=int, default=50)
    parser.add_argument('--size', type=int, default=256,
                        help='image side in pixels')
    parser.add_argument('--ratio', type=float, default=0.001,
                        help='target FG:BG pixel ratio (0.001 = 1:1000)')
    parser.add_argument('--empty-fraction', type=float, default=0.2,
                        help='share of images without any crack')
    parser.add_argument('--seed', type=int, default=0)
    args = parser.parse_args(argv)
    if args.size < 16:
        parser.error(f'--size {args.size} is too small (minimum 16)')
    if not 0 < args.ratio < 1:
        parser.error(f'--ratio {args.ratio} must be in (0, 1)')
    if args.num_train < 1 or args.num_val < 1:
        parser.error('--num-train and --num-val must be at least 1')
    if not 0 <= args.empty_fraction < 1:
        parser.error(f'--empty-fraction {args.empty_fraction} must be in '
                     f'[0, 1)')
    return args


def write_split(out, split, num, size, ratio, seed, style):
    img_dir = osp.join(out, 'img_dir', split)
    ann_dir = osp.join(out, 'ann_dir', split)
    os.makedirs(img_dir, exist_ok=True)
    os.makedirs(ann_dir, exist_ok=True)
    fg = 0
    empty = 0
    for index, budget in enumerate(
            split_budgets(seed, split, num, size, ratio, style)):
        img, mask = render_sample(seed, split, index, size, int(budget),
                                  style)
        name = f'synth_{index:05d}.png'
        Image.fromarray(img).save(osp.join(img_dir, name))
        Image.fromarray(mask).save(osp.join(ann_dir, name))
        fg += int(mask.sum())
        empty += int(not mask.any())
    bg = num * size * size - fg
    return fg, bg, empty


def main(argv=None):
    args = parse_args(argv)
    style = CrackStyle(empty_fraction=args.empty_fraction)
    for split, num in (('train', args.num_train), ('val', args.num_val)):
        fg, bg, empty = write_split(args.out, split, num, args.size,
                                    args.ratio, args.seed, style)
        ratio = f'1:{bg / fg:.0f}' if fg else 'no foreground'
        print(f'{split}: {num} images of {args.size}x{args.size} '
              f'({empty} without target), FG:BG = {ratio}')
    print(f'dataset written to {args.out}')


if __name__ == '__main__':
    main()
