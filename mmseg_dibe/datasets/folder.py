"""Turn a folder of a user's own images and masks into mmseg's layout.

This is the logic behind ``tools/dataset_converters/folder.py``::

    IMAGES/<name>.<ext>                 IMAGES/{train,val}/<name>.<ext>
    MASKS/<name><suffix>.<ext>    or    MASKS/{train,val}/<name><suffix>.<ext>

becomes::

    OUT/img_dir/{train,val}/<name>.png      # the image (8-bit grey or RGB)
    OUT/ann_dir/{train,val}/<name>.png      # uint8, 0 = background, 1 = defect

which is what :class:`~mmseg_dibe.datasets.BinarySegDataset` reads.

Masks are read as (first match wins):

* ``foreground_color=(r, g, b)``: pixels of exactly that colour are defect;
* ``foreground_values=[v, ...]``: pixels whose value (grey level, or palette
  *index* of a palette PNG) is one of them are defect;
* otherwise a mask holding only 0 and 1 is taken as is, and any other mask
  (0/255, anti-aliased grey edges, colour annotations) is thresholded:
  defect where the value is ``>= threshold`` (128 by default). A colour mask
  counts each pixel by its brightest channel, so a pure red annotation
  (luminance 76) is not lost.

A mask that has non-zero pixels but none that the rule turns into defect is
refused (named, skipped): that is a threshold or value that does not fit the
data, not an empty mask. Nothing of the source is ever written; a non-empty
OUT is refused unless ``overwrite=True``; an unpaired, corrupt or mismatched
file is named and skipped and the conversion goes on.
"""
import random
import shutil
import sys
from pathlib import Path
from typing import (Callable, Dict, Iterable, List, NamedTuple, Optional,
                    Sequence, Tuple)

import numpy as np
from PIL import Image

SPLITS = ('train', 'val')
IMAGE_EXTENSIONS = ('.png', '.jpg', '.jpeg', '.bmp', '.tif', '.tiff')


class SkipFile(Exception):
    """A problem with one source file: it is named and skipped."""


class MaskRule(NamedTuple):
    """How a mask file becomes a 0/1 array (see the module docstring)."""
    threshold: int = 128
    foreground_values: Optional[Tuple[int, ...]] = None
    foreground_color: Optional[Tuple[int, int, int]] = None


class Pair(NamedTuple):
    """One image and its mask, and the split it came from (or ``None``)."""
    name: str
    image: Path
    mask: Path
    split: Optional[str]


class ConversionSummary(NamedTuple):
    """What a conversion wrote, per split."""
    pairs: Dict[str, int]
    fg: Dict[str, int]
    bg: Dict[str, int]
    skipped: List[Tuple[str, str]]


def parse_color(text: str) -> Tuple[int, int, int]:
    """``'255,0,0'``, ``'255 0 0'`` or ``'#ff0000'`` -> ``(255, 0, 0)``.

    Raises:
        ValueError: naming the text when it is not a colour.
    """
    t = text.strip()
    try:
        if t.startswith('#') and len(t) == 7:
            rgb = tuple(int(t[i:i + 2], 16) for i in (1, 3, 5))
        else:
            rgb = tuple(int(v) for v in t.replace(',', ' ').split())
    except ValueError:
        rgb = ()
    if len(rgb) != 3 or not all(0 <= v <= 255 for v in rgb):
        raise ValueError(f'{text!r} is not a colour; give R,G B in 0-255 '
                         "(e.g. '255,0,0') or '#rrggbb'")
    return rgb


def _normalise_exts(exts: Iterable[str]) -> Tuple[str, ...]:
    return tuple(e.lower() if e.startswith('.') else '.' + e.lower()
                 for e in exts)


def _files(folder: Path, exts: Sequence[str]) -> List[Path]:
    return sorted(p for p in folder.iterdir()
                  if p.is_file() and p.suffix.lower() in exts)


def find_pairs(images: Path,
               masks: Path,
               mask_suffix: str = '',
               img_exts: Sequence[str] = IMAGE_EXTENSIONS,
               mask_exts: Sequence[str] = IMAGE_EXTENSIONS
               ) -> Tuple[List[Pair], List[Tuple[str, str]]]:
    """Pair ``IMAGES/<name>.<ext>`` with ``MASKS/<name><mask_suffix>.<ext>``.

    When both folders hold ``train/`` and ``val/`` sub-folders, the split is
    kept (``Pair.split`` set); otherwise the files at the top level are used
    (``Pair.split`` is ``None``). IMAGES and MASKS may be the same folder if
    ``mask_suffix`` tells masks from images, or disjoint extensions do
    (MTSDD: ``<name>.jpg`` beside ``<name>.png``).

    Returns:
        (pairs, problems): problems are ``(path, reason)`` of unpaired or
        ambiguous files, to be named to the user.

    Raises:
        ValueError: when a folder is missing, when only one of the two folders
            has train/val sub-folders, or when IMAGES and MASKS are the same
            folder without a mask suffix.
    """
    images, masks = Path(images), Path(masks)
    img_exts, mask_exts = _normalise_exts(img_exts), _normalise_exts(
        mask_exts)
    for what, d in (('IMAGES', images), ('MASKS', masks)):
        if not d.is_dir():
            raise ValueError(f'{what} folder {d} does not exist')
    split_img = all((images / s).is_dir() for s in SPLITS)
    split_mask = all((masks / s).is_dir() for s in SPLITS)
    if split_img != split_mask:
        has, lacks = (images, masks) if split_img else (masks, images)
        raise ValueError(
            f'{has} has train/ and val/ sub-folders but {lacks} does not; '
            'give both with the same split, or neither')
    if split_img:
        folders = [(images / s, masks / s, s) for s in SPLITS]
    else:
        folders = [(images, masks, None)]
    pairs: List[Pair] = []
    problems: List[Tuple[str, str]] = []
    for img_dir, mask_dir, split in folders:
        same = img_dir.resolve() == mask_dir.resolve()
        shared_exts = set(img_exts) & set(mask_exts)
        if same and not mask_suffix and shared_exts:
            raise ValueError(
                f'IMAGES and MASKS are the same folder {img_dir}; pass '
                '--mask-suffix (e.g. _mask) to tell the masks apart, or '
                'disjoint --img-ext and --mask-ext (e.g. jpg and png)')
        mask_files = _files(mask_dir, mask_exts)
        by_stem: Dict[str, List[Path]] = {}
        for p in mask_files:
            if mask_suffix and not p.stem.endswith(mask_suffix):
                continue
            stem = p.stem[:len(p.stem) - len(mask_suffix)] if mask_suffix \
                else p.stem
            by_stem.setdefault(stem, []).append(p)
        img_by_stem: Dict[str, List[Path]] = {}
        for p in _files(img_dir, img_exts):
            if same and mask_suffix and p.stem.endswith(mask_suffix):
                continue  # a mask beside its image
            img_by_stem.setdefault(p.stem, []).append(p)
        for stem, found in sorted(img_by_stem.items()):
            if len(found) > 1:
                problems += [(str(p), f'{len(found)} images share the name '
                              f'{stem!r}; rename one') for p in found]
                continue
            cands = by_stem.get(stem, [])
            if not cands:
                problems.append(
                    (str(found[0]), f'no mask {stem}{mask_suffix}.* in '
                     f'{mask_dir}'))
            elif len(cands) > 1:
                problems.append((str(found[0]), 'several masks match: ' +
                                 ', '.join(p.name for p in cands)))
            else:
                pairs.append(Pair(stem, found[0], cands[0], split))
        for stem in sorted(by_stem.keys() - img_by_stem.keys()):
            for p in by_stem[stem]:
                problems.append(
                    (str(p), f'mask without an image {stem}.* in {img_dir}'))
    return pairs, problems


def decode_image(path: Path) -> Image.Image:
    """Open and fully decode an image file.

    Raises:
        SkipFile: naming the decoder's complaint when the file is corrupt.
    """
    try:
        with Image.open(path) as img:
            img.load()
            return img.copy()
    except Exception as exc:  # PIL raises many types for broken files
        raise SkipFile(f'cannot decode: {exc}') from exc


def read_image(path: Path) -> Image.Image:
    """An image as 8-bit grey (``L``) or ``RGB``, naming it when it cannot be
    used."""
    img = decode_image(path)
    if img.mode in ('L', 'RGB'):
        return img
    if img.mode in ('1', 'P', 'LA', 'RGBA', 'CMYK', 'YCbCr', 'PA'):
        grey = img.mode in ('1', 'LA')
        return img.convert('L' if grey else 'RGB')
    raise SkipFile(f'image mode {img.mode!r} (16-bit or float) is not '
                   'supported; save it as 8-bit grey or RGB')


def mask_to_binary(img: Image.Image, rule: MaskRule = MaskRule()
                   ) -> np.ndarray:
    """A decoded mask image as a 2-D uint8 0/1 array (module docstring).

    Raises:
        SkipFile: when the mask does not fit the rule (naming the values).
    """
    if rule.foreground_color is not None:
        rgb = np.asarray(img.convert('RGB'))
        return np.all(rgb == np.asarray(rule.foreground_color, np.uint8),
                      axis=2).astype(np.uint8)
    if img.mode == 'P':
        raw = np.asarray(img)  # palette indices
    elif img.mode in ('RGB', 'RGBA', 'CMYK', 'YCbCr', 'PA'):
        raw = np.asarray(img.convert('RGB')).max(axis=2)
    else:
        if img.mode == 'LA':
            img = img.convert('L')
        raw = np.asarray(img)
        if raw.dtype == bool:
            raw = raw.astype(np.uint8)
    if raw.ndim != 2:
        raise SkipFile(f'mask has shape {raw.shape}, expected 2-D')
    values = np.unique(raw)
    if rule.foreground_values is not None:
        return np.isin(raw, rule.foreground_values).astype(np.uint8)
    if set(values.tolist()) <= {0, 1}:
        return raw.astype(np.uint8)
    if img.mode == 'P':
        # Indices are not brightness: threshold the colours instead.
        raw = np.asarray(img.convert('RGB')).max(axis=2)
    mask = (raw >= rule.threshold).astype(np.uint8)
    if not mask.any() and raw.max() > 0:
        shown = values.tolist()[:8]
        raise SkipFile(
            f'mask holds values {shown}{"..." if values.size > 8 else ""} '
            f'but none reaches --mask-threshold {rule.threshold}: every '
            'pixel would be background; pass --foreground-value or a lower '
            '--mask-threshold')
    return mask


def tile_boxes(height: int, width: int, tile: int
               ) -> List[Tuple[int, int, int, int]]:
    """``(y, x, h, w)`` of ``tile``-sized tiles covering the whole image.

    Tiles are laid on a grid from the top-left corner; where the image is
    not a multiple of ``tile`` the last row/column is aligned to the border
    (it overlaps its neighbour) so that no pixel is dropped. A side shorter
    than ``tile`` gives one tile of that side. ``tile = 0``: the whole image.
    """
    if tile < 0:
        raise ValueError(f'tile must be >= 0, got {tile}')
    if tile == 0:
        return [(0, 0, height, width)]

    def starts(size):
        if size <= tile:
            return [0]
        s = list(range(0, size - tile + 1, tile))
        if s[-1] + tile < size:
            s.append(size - tile)
        return s

    th, tw = min(tile, height), min(tile, width)
    return [(y, x, th, tw) for y in starts(height) for x in starts(width)]


def seeded_split(keys: Iterable[str], val_ratio: float,
                 seed: int) -> Dict[str, str]:
    """Assign each key to 'train' or 'val' deterministically.

    The keys are sorted before a seeded shuffle, so the split depends only on
    the set of names, the ratio and the seed. With two keys or more, each
    split gets at least one.

    Raises:
        ValueError: when ``val_ratio`` is outside (0, 1).
    """
    if not 0.0 < val_ratio < 1.0:
        raise ValueError(f'val ratio must lie in (0, 1), got {val_ratio}')
    keys = sorted(set(keys))
    n = int(round(len(keys) * val_ratio))
    if len(keys) >= 2:
        n = min(max(n, 1), len(keys) - 1)
    order = list(keys)
    random.Random(seed).shuffle(order)
    val = set(order[:n])
    return {k: ('val' if k in val else 'train') for k in keys}


def prepare_out(sources: Sequence[Path], out: Path, overwrite: bool) -> None:
    """Create the empty output layout, refusing anything unsafe.

    Raises:
        ValueError: when OUT overlaps a source folder (the source is never
            written) or exists as a file.
        FileExistsError: when OUT is not empty and ``overwrite`` is False
            (nothing is touched). With ``overwrite`` only OUT/img_dir and
            OUT/ann_dir are removed; other files kept beside them survive.
    """
    out = Path(out).resolve()
    for src in sources:
        src = Path(src).resolve()
        if out == src or src in out.parents or out in src.parents:
            raise ValueError(f'OUT {out} and source {src} overlap; the '
                             'source is never written, choose an OUT '
                             'outside it')
    if out.exists() and not out.is_dir():
        raise ValueError(f'OUT {out} exists and is not a folder')
    if out.is_dir() and any(out.iterdir()):
        if not overwrite:
            raise FileExistsError(
                f'OUT {out} is not empty; pass --overwrite to replace its '
                'img_dir/ and ann_dir/')
        for sub in ('img_dir', 'ann_dir'):
            if (out / sub).is_dir():
                shutil.rmtree(out / sub)
    for sub in ('img_dir', 'ann_dir'):
        for split in SPLITS:
            (out / sub / split).mkdir(parents=True, exist_ok=True)


def _stderr(message: str) -> None:
    # Leading newline: a progress bar leaves the cursor mid-line.
    print(f'\n{message}', file=sys.stderr, flush=True)


def convert_folder(images: Path,
                   masks: Path,
                   out: Path,
                   mask_suffix: str = '',
                   img_exts: Sequence[str] = IMAGE_EXTENSIONS,
                   mask_exts: Sequence[str] = IMAGE_EXTENSIONS,
                   rule: MaskRule = MaskRule(),
                   tile: int = 0,
                   val_ratio: float = 0.2,
                   seed: int = 0,
                   overwrite: bool = False,
                   show_progress: bool = True,
                   log: Callable[[str], None] = _stderr
                   ) -> ConversionSummary:
    """Convert IMAGES + MASKS into ``OUT/{img_dir,ann_dir}/{train,val}``.

    Args:
        images, masks: source folders (may be the same with ``mask_suffix``).
        out: output root.
        mask_suffix: the mask of ``<name>.<ext>`` is ``<name><suffix>.*``.
        img_exts, mask_exts: extensions to look at (case-insensitive).
        rule: how masks become 0/1 (:class:`MaskRule`).
        tile: cut every pair into ``tile x tile`` tiles (0: whole images);
            tiles are named ``<name>_<y>_<x>`` and a source image's tiles
            always land in one split.
        val_ratio, seed: deterministic split by source image; ignored when
            the sources have train/ and val/ sub-folders (that split is kept).
        overwrite: replace a non-empty OUT's img_dir/ and ann_dir/.
        show_progress: mmengine progress bar over the pairs (stdout).
        log: receives one line per skipped file.

    Returns:
        ConversionSummary: pairs, FG and BG pixels per split and the skipped
        files with their reasons.

    Raises:
        ValueError, FileExistsError: bad folders or OUT (nothing written);
            RuntimeError when no pair was found at all.
    """
    pairs, problems = find_pairs(images, masks, mask_suffix, img_exts,
                                 mask_exts)
    skipped: List[Tuple[str, str]] = []

    def skip(path, reason):
        skipped.append((str(path), reason))
        log(f'skipped {path}: {reason}')

    for path, reason in problems:
        skip(path, reason)
    if not pairs:
        raise RuntimeError(
            f'no image/mask pair found in {images} and {masks} (mask '
            f'suffix {mask_suffix!r}, image extensions {list(img_exts)}, '
            f'mask extensions {list(mask_exts)})')
    prepare_out([images, masks], out, overwrite)
    out = Path(out)
    if pairs[0].split is None:
        split_of = seeded_split([p.name for p in pairs], val_ratio, seed)
    else:
        split_of = {}
    counts = {k: {s: 0 for s in SPLITS} for k in ('pairs', 'fg', 'bg')}
    bar = None
    if show_progress:
        from mmengine.utils import ProgressBar
        bar = ProgressBar(len(pairs))
    for pair in pairs:
        split = pair.split or split_of[pair.name]
        bad = None
        try:
            img = read_image(pair.image)
        except SkipFile as exc:
            bad = (pair.image, str(exc))
        if bad is None:
            try:
                mask = mask_to_binary(decode_image(pair.mask), rule)
            except SkipFile as exc:
                bad = (pair.mask, str(exc))
        if bad is None and mask.shape != (img.height, img.width):
            bad = (pair.mask, f'mask size {mask.shape[1]}x{mask.shape[0]} '
                   f'differs from image size {img.width}x{img.height}')
        if bad is not None:
            skip(*bad)
        else:
            boxes = tile_boxes(img.height, img.width, tile)
            for y, x, h, w in boxes:
                name = pair.name if tile == 0 else f'{pair.name}_{y}_{x}'
                m = mask[y:y + h, x:x + w]
                img.crop((x, y, x + w, y + h)).save(
                    out / 'img_dir' / split / f'{name}.png')
                Image.fromarray(m, mode='L').save(
                    out / 'ann_dir' / split / f'{name}.png')
                fg = int(m.sum())
                counts['pairs'][split] += 1
                counts['fg'][split] += fg
                counts['bg'][split] += int(m.size) - fg
        if bar is not None:
            bar.update()
    if bar is not None:
        sys.stdout.write('\n')
    return ConversionSummary(counts['pairs'], counts['fg'], counts['bg'],
                             skipped)


def fg_bg_ratio(fg: int, bg: int) -> str:
    """A pixel ratio as the paper's Table 2 writes it, e.g. ``1:333``."""
    if fg == 0:
        return 'no foreground pixel'
    return f'1:{bg / fg:.0f}'


def format_summary(summary: ConversionSummary, out: Path) -> str:
    """The per-split table the converter prints (pairs and FG:BG)."""
    lines = [f'wrote {out}', f'{"split":<7}{"pairs":>7}  FG:BG']
    for split in SPLITS + ('total', ):
        if split == 'total':
            n = sum(summary.pairs.values())
            fg, bg = sum(summary.fg.values()), sum(summary.bg.values())
        else:
            n, fg, bg = (summary.pairs[split], summary.fg[split],
                         summary.bg[split])
        lines.append(f'{split:<7}{n:>7}  {fg_bg_ratio(fg, bg)}')
    if summary.skipped:
        lines.append(f'{len(summary.skipped)} file(s) skipped (named above '
                     'on stderr)')
    return '\n'.join(lines)
