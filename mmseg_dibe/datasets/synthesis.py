"""Deterministic synthetic "hidden crack" images (numpy only).

What it imitates of electroluminescence images of solar cells (the paper's
THC data): a textured, unevenly lit background with grain and dark spots
that are *not* defects, and thin (one pixel), low-contrast, branching crack
curves that are. The foreground share is set per split so that the FG:BG
ratio lands near the requested one, with a share of images holding no
target at all (as in MT_Free or most THC crops).

Every image depends only on ``(seed, split, index)``, so a dataset is the same
on every machine and can be extended without changing earlier images.
"""
from dataclasses import dataclass
from typing import Tuple

import numpy as np
from PIL import Image

_SPLIT_IDS = {'train': 0, 'val': 1, 'test': 2}


@dataclass(frozen=True)
class CrackStyle:
    """Appearance parameters of the synthetic data.

    Args:
        contrast (tuple[float, float]): Range of the crack's darkening in grey
            levels (the background grain has a standard deviation of about
            ``grain``, so cracks are barely above the noise).
        grain (float): Standard deviation of the pixel-level noise.
        empty_fraction (float): Share of images without any crack.
        branch_prob (float): Chance per step that a crack spawns a branch.
    """
    contrast: Tuple[float, float] = (14.0, 24.0)
    grain: float = 5.0
    empty_fraction: float = 0.2
    branch_prob: float = 0.03


def _smooth_noise(rng: np.random.Generator, size: int, cells: int) -> np.ndarray:
    """Value noise: a random ``cells``² grid bilinearly upsampled to ``size``²."""
    grid = rng.standard_normal((cells + 1, cells + 1)).astype(np.float32)
    img = Image.fromarray(grid, mode='F').resize((size, size),
                                                 Image.BILINEAR)
    return np.asarray(img, dtype=np.float32)


def render_background(rng: np.random.Generator, size: int,
                      style: CrackStyle) -> np.ndarray:
    """A textured, unevenly lit grey background (float32, about 40..220)."""
    img = np.full((size, size), 128.0, dtype=np.float32)
    # Multi-scale texture: large crystal-grain patches down to fine mottling.
    for cells, amp in ((3, 22.0), (max(4, size // 24), 9.0),
                       (max(8, size // 6), 4.0)):
        img += amp * _smooth_noise(rng, size, cells)
    # Uneven illumination: a linear ramp in a random direction.
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / size
    angle = rng.uniform(0, 2 * np.pi)
    img += rng.uniform(15, 35) * (np.cos(angle) * xx + np.sin(angle) * yy -
                                  0.5)
    # Dark spots that are not defects (the hard negatives).
    for _ in range(rng.integers(0, 4)):
        cy, cx = rng.uniform(0, size, 2)
        radius = rng.uniform(1.5, 4.0)
        spot = np.exp(-((yy * size - cy)**2 + (xx * size - cx)**2) /
                      (2 * radius**2))
        img -= rng.uniform(10, 25) * spot
    img += rng.normal(0.0, style.grain, (size, size)).astype(np.float32)
    return img


def draw_cracks(rng: np.random.Generator, size: int, budget: int,
                style: CrackStyle) -> np.ndarray:
    """Rasterise branching random-walk curves until ``budget`` pixels are set.

    Returns:
        np.ndarray: ``bool`` mask of shape ``(size, size)``.
    """
    mask = np.zeros((size, size), dtype=bool)
    count = 0
    pending = []  # branches waiting to grow: (y, x, heading, length)
    guard = 0
    while count < budget and guard < 200:
        guard += 1
        if not pending:
            pending.append((rng.uniform(0, size), rng.uniform(0, size),
                            rng.uniform(0, 2 * np.pi),
                            int(rng.uniform(0.3, 1.0) * size)))
        y, x, heading, length = pending.pop()
        for _ in range(length):
            heading += rng.normal(0.0, 0.12)
            y += 0.7 * np.sin(heading)
            x += 0.7 * np.cos(heading)
            iy, ix = int(round(y)), int(round(x))
            if not (0 <= iy < size and 0 <= ix < size):
                break
            if not mask[iy, ix]:
                mask[iy, ix] = True
                count += 1
                if count >= budget:
                    break
            if rng.random() < style.branch_prob:
                side = rng.choice((-1.0, 1.0))
                pending.append((y, x, heading + side * rng.uniform(0.4, 1.2),
                                int(length * rng.uniform(0.2, 0.5))))
    return mask


def render_sample(seed: int, split: str, index: int, size: int,
                  budget: int, style: CrackStyle = CrackStyle()
                  ) -> Tuple[np.ndarray, np.ndarray]:
    """One image (uint8) and its 0/1 mask (uint8); ``budget=0``: no crack."""
    rng = np.random.default_rng([seed, _SPLIT_IDS.get(split, 3), index])
    img = render_background(rng, size, style)
    mask = (draw_cracks(rng, size, budget, style) if budget > 0 else
            np.zeros((size, size), dtype=bool))
    if mask.any():
        # A soft, slightly blurred darkening: the crack is 1 px in the mask
        # but its intensity bleeds into the neighbours, as in EL images.
        line = mask.astype(np.float32)
        halo = np.zeros_like(line)
        for dy, dx in ((0, 1), (0, -1), (1, 0), (-1, 0)):
            halo += np.roll(line, (dy, dx), axis=(0, 1))
        profile = np.clip(line + 0.25 * halo, 0.0, 1.0)
        img -= rng.uniform(*style.contrast) * profile
    return (np.clip(img, 0, 255).astype(np.uint8), mask.astype(np.uint8))


def split_budgets(seed: int, split: str, num: int, size: int, ratio: float,
                  style: CrackStyle = CrackStyle()) -> np.ndarray:
    """Crack pixel budget of every image of a split (0 = image without target).

    The budgets add up to ``ratio / (1 + ratio)`` of the split's pixels, shared
    unevenly (x0.5 .. x1.5) among the images that have a target.
    """
    rng = np.random.default_rng([seed, _SPLIT_IDS.get(split, 3), 10**6])
    has_target = rng.random(num) >= style.empty_fraction
    if num and not has_target.any():
        has_target[0] = True
    total_fg = ratio / (1.0 + ratio) * num * size * size
    share = rng.uniform(0.5, 1.5, num) * has_target
    budgets = np.zeros(num, dtype=np.int64)
    if share.sum() > 0:
        budgets = np.maximum(np.rint(total_fg * share / share.sum()), 3)
        budgets = (budgets * has_target).astype(np.int64)
    return budgets
