"""Machinery shared by the dataset converters (``mtsdd.py``, ``cfd.py``,
``thc.py``).

Every converter writes MMSegmentation's layout::

    OUT/img_dir/{train,val}/<name>.<ext>
    OUT/ann_dir/{train,val}/<name>.png     # uint8, 0 = background, 1 = defect

and follows the same contract, implemented here once:

* the source tree is only read, never written (OUT may not lie inside SRC
  nor SRC inside OUT);
* a non-empty OUT is refused unless ``--overwrite`` is given, and the refusal
  touches nothing;
* a corrupt or unpaired file is named on stderr and skipped, the conversion
  goes on, and a summary of the skipped files closes the run;
* a progress bar runs over the pairs;
* the FG:BG pixel ratio of every split is printed at the end.

This module is imported by the converters as ``_common`` (the script's own
folder is on ``sys.path`` when a converter runs as a script).
"""
import argparse
import random
import shutil
import sys
from pathlib import Path
from typing import (Dict, Iterable, Iterator, List, NoReturn, Optional,
                    Sequence, Tuple)

import numpy as np
from PIL import Image

SPLITS = ('train', 'val')
IMG_DIR = 'img_dir'
ANN_DIR = 'ann_dir'


class ConversionError(Exception):
    """A problem with one source file; the converter skips the file."""


def add_common_args(parser: argparse.ArgumentParser) -> None:
    """Add the arguments every converter shares: SRC, OUT, --overwrite."""
    parser.add_argument('src', type=Path, help='the dataset as published')
    parser.add_argument(
        'out', type=Path,
        help='output root; receives img_dir/{train,val} and '
        'ann_dir/{train,val}')
    parser.add_argument(
        '--overwrite', action='store_true',
        help='replace OUT/img_dir and OUT/ann_dir when OUT is not empty '
        '(without it a non-empty OUT is refused and left untouched)')


def fail(message: str, code: int = 2) -> NoReturn:
    """Print ``message`` on stderr and exit with ``code``."""
    print(f'error: {message}', file=sys.stderr)
    sys.exit(code)


def prepare_out(src: Path, out: Path, overwrite: bool) -> None:
    """Check SRC and OUT and create the (empty) output layout.

    Exits non-zero before touching anything when SRC is missing, when OUT and
    SRC overlap (the source must never be modified) or when OUT is not empty
    and ``overwrite`` is False.
    """
    src = src.resolve()
    out = out.resolve()
    if not src.is_dir():
        fail(f'source folder {src} does not exist')
    if out == src or src in out.parents or out in src.parents:
        fail(f'OUT {out} and SRC {src} overlap; the source is never '
             'written, choose an OUT outside it')
    if out.exists() and not out.is_dir():
        fail(f'OUT {out} exists and is not a folder')
    if out.is_dir() and any(out.iterdir()):
        if not overwrite:
            fail(f'OUT {out} is not empty; pass --overwrite to replace its '
                 f'{IMG_DIR}/ and {ANN_DIR}/')
        # Only what a converter writes is removed: other files a user keeps
        # beside the data (notes, work dirs) survive --overwrite.
        for sub in (IMG_DIR, ANN_DIR):
            if (out / sub).is_dir():
                shutil.rmtree(out / sub)
    for sub in (IMG_DIR, ANN_DIR):
        for split in SPLITS:
            (out / sub / split).mkdir(parents=True, exist_ok=True)


def seeded_split(keys: Iterable[str], num_val: int,
                 seed: int) -> Dict[str, str]:
    """Assign each key to 'train' or 'val', deterministically.

    The keys are sorted first, so the result depends only on the set of keys,
    ``num_val`` and ``seed`` (not on file-system listing order).

    Args:
        keys: names of the source items (images, or source images whose
            tiles must stay in one split).
        num_val: how many keys go to 'val'.
        seed: seed of the shuffle.

    Returns:
        dict key -> 'train' | 'val'.
    """
    keys = sorted(set(keys))
    if not 0 <= num_val <= len(keys):
        raise ValueError(f'num_val={num_val} is outside [0, {len(keys)}]')
    order = list(keys)
    random.Random(seed).shuffle(order)
    val = set(order[:num_val])
    return {k: ('val' if k in val else 'train') for k in keys}


def num_val_from_ratio(total: int, val_ratio: float) -> int:
    """Round ``total * val_ratio``, keeping one item on each side if
    possible."""
    if not 0.0 < val_ratio < 1.0:
        raise ValueError(f'val ratio must lie in (0, 1), got {val_ratio}')
    n = int(round(total * val_ratio))
    if total >= 2:
        n = min(max(n, 1), total - 1)
    return n


def open_image(path: Path) -> Image.Image:
    """Open and fully decode an image, naming the file when it is corrupt."""
    try:
        with Image.open(path) as img:
            img.load()
            return img.copy()
    except Exception as exc:  # PIL raises many types for broken files
        raise ConversionError(f'cannot decode image: {exc}') from exc


def grey_mask(img: Image.Image) -> np.ndarray:
    """A mask image as a 2-D uint8 array.

    A colour mask counts each pixel by its brightest channel, not by its
    luminance: a pure red annotation (255, 0, 0) has luminance 76 and would
    vanish under a threshold of 128.
    """
    if img.mode in ('RGB', 'RGBA', 'P', 'CMYK', 'YCbCr'):
        return np.asarray(img.convert('RGB')).max(axis=2)
    if img.mode == 'LA':
        img = img.convert('L')
    arr = np.asarray(img)
    if arr.ndim != 2:
        raise ConversionError(f'mask has shape {arr.shape}, expected 2-D')
    if arr.dtype == bool:
        arr = arr.astype(np.uint8)
    return arr


def threshold_mask(mask: np.ndarray, threshold: int = 128) -> np.ndarray:
    """0/1 mask: 1 where ``mask >= threshold``."""
    return (mask >= threshold).astype(np.uint8)


class Converter:
    """Writes pairs into OUT, records skips and FG/BG counts, reports.

    Args:
        out: the output root (created by :func:`prepare_out`).
        img_ext: extension of the written images, with the dot.
    """

    def __init__(self, out: Path, img_ext: str) -> None:
        self.out = Path(out)
        self.img_ext = img_ext
        self.pairs = {s: 0 for s in SPLITS}
        self.fg = {s: 0 for s in SPLITS}
        self.bg = {s: 0 for s in SPLITS}
        self.skipped: List[Tuple[str, str]] = []

    def skip(self, path, reason: str) -> None:
        """Name a corrupt or unpaired file on stderr and remember it."""
        self.skipped.append((str(path), reason))
        # Leading newline: the progress bar leaves the cursor mid-line.
        print(f'\nskipped {path}: {reason}', file=sys.stderr, flush=True)

    def write(self, split: str, name: str, mask01: np.ndarray,
              image: Optional[Image.Image] = None,
              copy_from: Optional[Path] = None) -> None:
        """Write one pair.

        Args:
            split: 'train' or 'val'.
            name: file stem shared by image and mask.
            mask01: 2-D uint8 array holding only 0 and 1.
            image: decoded image to save (PNG/JPEG by ``img_ext``), or
            copy_from: a source image copied byte for byte (no re-encoding
                loss for JPEG sources).
        """
        assert split in SPLITS, split
        assert mask01.ndim == 2 and mask01.max(initial=0) <= 1
        img_path = self.out / IMG_DIR / split / (name + self.img_ext)
        ann_path = self.out / ANN_DIR / split / (name + '.png')
        if copy_from is not None:
            shutil.copyfile(copy_from, img_path)
        else:
            image.save(img_path)
        Image.fromarray(mask01.astype(np.uint8), mode='L').save(ann_path)
        fg = int(mask01.sum())
        self.pairs[split] += 1
        self.fg[split] += fg
        self.bg[split] += int(mask01.size) - fg

    def report(self) -> int:
        """Print the per-split summary; return the exit code (1 if nothing
        was converted)."""
        print()
        print(f'wrote {self.out}')
        print(f'{"split":<7}{"pairs":>7}  FG:BG')
        for split in SPLITS + ('total', ):
            if split == 'total':
                pairs = sum(self.pairs.values())
                fg, bg = sum(self.fg.values()), sum(self.bg.values())
            else:
                pairs, fg, bg = self.pairs[split], self.fg[split], \
                    self.bg[split]
            print(f'{split:<7}{pairs:>7}  {fg_bg_ratio(fg, bg)}')
        if self.skipped:
            print(f'{len(self.skipped)} file(s) skipped (named above on '
                  'stderr)')
        if sum(self.pairs.values()) == 0:
            print('error: no pair was converted', file=sys.stderr)
            return 1
        return 0


def fg_bg_ratio(fg: int, bg: int) -> str:
    """Format a pixel ratio as the paper's Table 2 does, e.g. ``1:333``."""
    if fg == 0:
        return 'no foreground pixel'
    return f'1:{bg / fg:.0f}'


def progress(items: Sequence, file=sys.stdout) -> Iterator:
    """Iterate ``items`` under mmengine's progress bar."""
    from mmengine.utils import ProgressBar
    bar = ProgressBar(len(items), file=file)
    for item in items:
        yield item
        bar.update()
    file.write('\n')
