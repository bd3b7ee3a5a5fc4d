"""Binary masks, overlays and per-image scores for new images.

For every input image ``<name>.<ext>`` :func:`infer` writes, under ``OUT``::

    masks/<name>.png       uint8 0/1, the prediction at the image's own size
    masks_vis/<name>.png   the same mask as 0/255 (viewable)
    overlays/<name>.png    the image with predicted defect pixels in red

and, with ground truth (``gt_dir``)::

    errors/<name>.png      the image with TP green, FP red (false alarm),
                           FN blue (missed defect)
    metrics.csv            image, TP, FP, FN, IoU, PA, OII per image, then a
                           TOTAL row computed from the counts summed over
                           the set (as OIIMetric does), not from averages

IoU = TP/(TP+FP+FN) (Eq. 20), PA = TP/(TP+FP) (Eq. 21) and OII (Eq. 13-15,
:func:`mmseg_dibe.functional.oii`, with the edge cases of docs/spec.md:
0 for a perfect non-empty prediction, 1 when nothing is hit, NaN when image
and prediction are both empty). Undefined ratios are written as ``nan``.

Ground-truth masks are read the way the folder converter reads masks
(:func:`mmseg_dibe.datasets.folder.mask_to_binary`): a 0/1 mask as is,
a 0/255 or grey or colour mask thresholded (128 by default), so both the
converted ``ann_dir/val`` and the raw annotation folder can be given.

The model is built and run with mmseg's ``init_model`` and
``inference_model``; images of one size are batched together (mmseg's data
preprocessor stacks a batch only when its images share a size).
"""
import csv
import glob
import math
import sys
from pathlib import Path
from typing import (Callable, Dict, Iterable, Iterator, List, NamedTuple,
                    Optional, Sequence, Tuple)

import numpy as np
import torch

from ..datasets.folder import (IMAGE_EXTENSIONS, MaskRule, SkipFile,
                               decode_image, mask_to_binary)
from ..functional import hard_counts, oii

#: BGR colours (mmcv images are BGR).
RED = (0, 0, 255)
GREEN = (0, 200, 0)
BLUE = (255, 64, 0)
CSV_FIELDS = ('image', 'TP', 'FP', 'FN', 'IoU', 'PA', 'OII')


class ImageResult(NamedTuple):
    """One predicted image."""
    path: Path
    image: np.ndarray  # BGR uint8, H x W x 3
    mask: np.ndarray  # uint8 0/1, H x W


def _stderr(message: str) -> None:
    print(f'\n{message}', file=sys.stderr, flush=True)


def collect_inputs(inputs: Sequence[str],
                   exts: Sequence[str] = IMAGE_EXTENSIONS) -> List[Path]:
    """Files, folders (their image files, not recursive) and glob patterns.

    Raises:
        ValueError: naming an input that matches nothing, or two inputs
            with the same file name (their outputs would overwrite each
            other).
    """
    exts = tuple(e.lower() for e in exts)
    found: List[Path] = []
    for item in inputs:
        p = Path(item)
        if p.is_file():
            matches = [p]
        elif p.is_dir():
            matches = sorted(f for f in p.iterdir()
                             if f.is_file() and f.suffix.lower() in exts)
        else:
            matches = sorted(
                Path(f) for f in glob.glob(str(item), recursive=True)
                if Path(f).is_file() and Path(f).suffix.lower() in exts)
        if not matches:
            raise ValueError(f'input {item!r} is no image file, no folder '
                             'with images and no glob pattern that matches '
                             'an image')
        found += matches
    unique: List[Path] = []
    seen: Dict[Path, None] = {}
    by_stem: Dict[str, Path] = {}
    for p in found:
        key = p.resolve()
        if key in seen:
            continue
        seen[key] = None
        if p.stem in by_stem:
            raise ValueError(
                f'{by_stem[p.stem]} and {p} have the same name {p.stem!r}; '
                'their outputs would overwrite each other, infer them in '
                'two runs with different --out')
        by_stem[p.stem] = p
        unique.append(p)
    return unique


def build_model(config, checkpoint: Optional[str], device: str = 'cpu',
                threshold: Optional[float] = None,
                cfg_options: Optional[dict] = None):
    """mmseg's ``init_model`` with the binary head's threshold set.

    Args:
        config (str | Path | mmengine.Config): model config.
        checkpoint (str, optional): weights.
        device (str): ``'cpu'``, ``'cuda:0'``, ...
        threshold (float, optional): ``model.decode_head.threshold`` (and the
            auxiliary heads'), i.e. ``ŷ = 1[σ(logit) > threshold]``; only for
            binary heads (``out_channels=1``).
        cfg_options (dict, optional): more config overrides.

    Raises:
        ValueError: for a threshold outside (0, 1) or a non-binary head.
    """
    from mmengine.config import Config
    from mmengine.model import revert_sync_batchnorm
    from mmseg.apis import init_model

    cfg = config if isinstance(config, Config) else Config.fromfile(
        str(config))
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    if threshold is not None:
        threshold = float(threshold)
        if not 0.0 < threshold < 1.0:
            raise ValueError(f'threshold must lie in (0, 1), got '
                             f'{threshold}')
        head = cfg.model.get('decode_head')
        channels = head.get('out_channels') if isinstance(head, dict) \
            else None
        if channels != 1:
            raise ValueError(
                'a threshold applies to a binary decode head '
                f'(out_channels=1); this config has out_channels={channels}')
        head['threshold'] = threshold
        aux = cfg.model.get('auxiliary_head')
        for a in (aux if isinstance(aux, (list, tuple)) else [aux]):
            if isinstance(a, dict) and a.get('out_channels') == 1:
                a['threshold'] = threshold
    model = init_model(cfg, checkpoint, device=device)
    if str(device).startswith('cpu'):
        model = revert_sync_batchnorm(model)
    return model


def _read_bgr(path: Path) -> np.ndarray:
    import mmcv
    try:
        img = mmcv.imread(str(path), flag='color')
    except Exception as exc:
        raise SkipFile(f'cannot read image: {exc}') from exc
    if img is None:
        raise SkipFile('cannot decode image')
    return img


def _run(model, batch: List[Tuple[Path, np.ndarray]]
         ) -> List[ImageResult]:
    from mmseg.apis import inference_model
    results = inference_model(model, [img for _, img in batch])
    out = []
    for (path, img), res in zip(batch, results):
        mask = res.pred_sem_seg.data[0].cpu().numpy()
        if mask.shape != img.shape[:2]:
            raise RuntimeError(f'{path}: prediction of size {mask.shape} '
                               f'for an image of size {img.shape[:2]}')
        if mask.size and mask.max() > 1:
            raise RuntimeError(
                f'{path}: predicted classes {np.unique(mask).tolist()}; '
                'tools/infer.py is for binary models (classes 0 and 1)')
        out.append(ImageResult(path, img, mask.astype(np.uint8)))
    return out


def predict_batches(model, paths: Sequence[Path], batch_size: int = 4,
                    on_skip: Callable[[Path, str], None] = None,
                    on_done: Callable[[], None] = None
                    ) -> Iterator[ImageResult]:
    """Predict every readable image; same-size images share a batch.

    An unreadable image is passed to ``on_skip(path, reason)`` and the rest
    go on. ``on_done()`` is called once per input (a progress bar). Results
    come in batch order, not necessarily input order.
    """
    if batch_size < 1:
        raise ValueError(f'batch_size must be >= 1, got {batch_size}')
    buckets: Dict[Tuple[int, ...], List[Tuple[Path, np.ndarray]]] = {}
    for path in paths:
        try:
            img = _read_bgr(path)
        except SkipFile as exc:
            if on_skip is not None:
                on_skip(path, str(exc))
            if on_done is not None:
                on_done()
            continue
        bucket = buckets.setdefault(img.shape, [])
        bucket.append((path, img))
        if len(bucket) == batch_size:
            del buckets[img.shape]
            for r in _run(model, bucket):
                yield r
                if on_done is not None:
                    on_done()
    for bucket in buckets.values():
        for r in _run(model, bucket):
            yield r
            if on_done is not None:
                on_done()


def mask_overlay(image: np.ndarray, mask: np.ndarray, color=RED,
                 opacity: float = 0.5) -> np.ndarray:
    """``image`` (BGR) with the pixels of ``mask`` blended towards
    ``color``."""
    out = image.astype(np.float32).copy()
    sel = mask.astype(bool)
    out[sel] = (1 - opacity) * out[sel] + opacity * np.asarray(
        color, np.float32)
    return out.round().astype(np.uint8)


def error_overlay(image: np.ndarray, pred: np.ndarray, gt: np.ndarray,
                  opacity: float = 0.6) -> np.ndarray:
    """TP green, FP red, FN blue over ``image`` (BGR)."""
    pred, gt = pred.astype(bool), gt.astype(bool)
    out = mask_overlay(image, pred & gt, GREEN, opacity)
    out = mask_overlay(out, pred & ~gt, RED, opacity)
    return mask_overlay(out, ~pred & gt, BLUE, opacity)


def image_counts(pred: np.ndarray, gt: np.ndarray) -> Tuple[int, int, int]:
    """Hard TP, FP, FN of the defect class (class 1) of one image."""
    tp, fp, fn = hard_counts(
        torch.from_numpy(pred.astype(np.int64)),
        torch.from_numpy(gt.astype(np.int64)), num_classes=2,
        ignore_index=None)
    return int(tp[1]), int(fp[1]), int(fn[1])


def score_row(name: str, tp: int, fp: int, fn: int) -> Dict:
    """A CSV row: counts, IoU (Eq. 20), PA (Eq. 21), OII (Eq. 13-15)."""
    def ratio(num, den):
        return num / den if den else math.nan

    return dict(image=name, TP=tp, FP=fp, FN=fn,
                IoU=ratio(tp, tp + fp + fn), PA=ratio(tp, tp + fp),
                OII=float(oii(tp, fp, fn)))


def total_row(rows: Iterable[Dict]) -> Dict:
    """The TOTAL row: the counts summed over the rows, ratios from them."""
    rows = list(rows)
    return score_row('TOTAL', sum(r['TP'] for r in rows),
                     sum(r['FP'] for r in rows), sum(r['FN'] for r in rows))


def write_csv(path: Path, rows: Sequence[Dict]) -> Dict:
    """Per-image rows sorted by name, then TOTAL; returns the TOTAL row."""
    rows = sorted(rows, key=lambda r: r['image'])
    total = total_row(rows)

    def fmt(v):
        if isinstance(v, float):
            return 'nan' if math.isnan(v) else f'{v:.6f}'
        return v

    with open(path, 'w', newline='') as f:
        writer = csv.DictWriter(f, fieldnames=CSV_FIELDS)
        writer.writeheader()
        for r in rows + [total]:
            writer.writerow({k: fmt(r[k]) for k in CSV_FIELDS})
    return total


def find_gt(gt_dir: Path, stem: str, suffix: str = '',
            exts: Sequence[str] = IMAGE_EXTENSIONS) -> Path:
    """``gt_dir/<stem><suffix>.<ext>``.

    Raises:
        SkipFile: when there is none, or several.
    """
    exts = [e if e.startswith('.') else '.' + e for e in exts]
    cands = [gt_dir / f'{stem}{suffix}{e}' for e in exts]
    cands += [gt_dir / f'{stem}{suffix}{e.upper()}' for e in exts]
    found = sorted({p for p in cands if p.is_file()})
    if not found:
        raise SkipFile(f'no ground truth {stem}{suffix}.* in {gt_dir}')
    if len(found) > 1:
        raise SkipFile('several ground truths: ' +
                       ', '.join(p.name for p in found))
    return found[0]


def read_gt_mask(path: Path, rule: MaskRule = MaskRule()) -> np.ndarray:
    """A ground-truth mask as 0/1 (see the module docstring)."""
    return mask_to_binary(decode_image(path), rule)


def _save(path: Path, array: np.ndarray) -> None:
    import mmcv
    if not mmcv.imwrite(array, str(path)):
        raise OSError(f'cannot write {path}')


def infer(config,
          checkpoint: Optional[str],
          inputs: Sequence[str],
          out_dir,
          threshold: Optional[float] = None,
          gt_dir=None,
          gt_suffix: str = '',
          gt_exts: Sequence[str] = IMAGE_EXTENSIONS,
          gt_rule: MaskRule = MaskRule(),
          device: Optional[str] = None,
          batch_size: int = 4,
          cfg_options: Optional[dict] = None,
          show_progress: bool = True,
          log: Callable[[str], None] = _stderr) -> Dict:
    """Predict ``inputs`` and write masks, overlays and (with ``gt_dir``)
    error overlays and ``metrics.csv`` under ``out_dir``.

    ``cfg_options`` are config overrides (e.g. sliding-window inference
    for very large images: ``{'model.test_cfg': dict(mode='slide',
    crop_size=(512, 512), stride=(384, 384))}``).

    Returns:
        dict with ``written`` (image paths), ``skipped`` ((path, reason)),
        ``rows`` (per-image score dicts) and ``total`` (TOTAL row or None).

    Raises:
        ValueError: bad inputs, threshold or ``gt_dir``.
    """
    paths = collect_inputs(inputs)
    if gt_dir is not None:
        gt_dir = Path(gt_dir)
        if not gt_dir.is_dir():
            raise ValueError(f'ground-truth folder {gt_dir} does not exist')
    if device is None:
        device = 'cuda:0' if torch.cuda.is_available() else 'cpu'
    model = build_model(config, checkpoint, device=device,
                        threshold=threshold, cfg_options=cfg_options)
    out_dir = Path(out_dir)
    subs = ['masks', 'masks_vis', 'overlays'] + (['errors']
                                                 if gt_dir else [])
    for sub in subs:
        (out_dir / sub).mkdir(parents=True, exist_ok=True)

    written: List[str] = []
    skipped: List[Tuple[str, str]] = []
    rows: List[Dict] = []

    def skip(path, reason):
        skipped.append((str(path), reason))
        log(f'skipped {path}: {reason}')

    bar = None
    if show_progress:
        from mmengine.utils import ProgressBar
        bar = ProgressBar(len(paths))
    for res in predict_batches(model, paths, batch_size, on_skip=skip,
                               on_done=bar.update if bar else None):
        stem = res.path.stem
        _save(out_dir / 'masks' / f'{stem}.png', res.mask)
        _save(out_dir / 'masks_vis' / f'{stem}.png', res.mask * 255)
        _save(out_dir / 'overlays' / f'{stem}.png',
              mask_overlay(res.image, res.mask))
        written.append(str(res.path))
        if gt_dir is None:
            continue
        try:
            gt_path = find_gt(gt_dir, stem, gt_suffix, gt_exts)
            gt = read_gt_mask(gt_path, gt_rule)
        except SkipFile as exc:
            skip(res.path, f'prediction written, not scored: {exc}')
            continue
        if gt.shape != res.mask.shape:
            skip(gt_path, f'ground truth size {gt.shape[1]}x{gt.shape[0]} '
                 f'differs from image size {res.mask.shape[1]}x'
                 f'{res.mask.shape[0]}; prediction written, not scored')
            continue
        _save(out_dir / 'errors' / f'{stem}.png',
              error_overlay(res.image, res.mask, gt))
        rows.append(score_row(stem, *image_counts(res.mask, gt)))
    if bar is not None:
        sys.stdout.write('\n')
    total = None
    if gt_dir is not None and rows:
        total = write_csv(out_dir / 'metrics.csv', rows)
    return dict(written=written, skipped=skipped, rows=rows, total=total,
                device=device)
