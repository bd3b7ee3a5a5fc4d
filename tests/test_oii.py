"""Tests of ``mmseg_dibe.functional.oii`` (Eq. 13-15, docs/spec.md edge cases)."""
import math

import numpy as np
import pytest
import torch

from mmseg_dibe.functional.oii import oii


def reference_oii(tp, fp, fn):
    """Eq. 13-15 written literally, with x = FP/FN (independent reference)."""
    x = fp / fn
    k = 1 - 2 / math.pi * math.atan((fp + fn) / (5 * tp))
    if x <= 1:
        return 1 - k / (x + 1 / x - 1)
    return k / (x + 1 / x - 1) - 1


# Table 1 of the paper: TP:FP:FN, FP/FN, IoU, PA, OII. Row 3 prints 0.334;
# the formula gives 0.344 (a typo in the paper, see docs/spec.md).
TABLE1 = [
    ((2, 0.5, 0.5), 0.667, 0.800, 0.064),
    ((2, 1, 1), 0.500, 0.667, 0.126),
    ((2, 3, 3), 0.250, 0.400, 0.344),
    ((2, 5, 1), 0.250, 0.286, -0.844),
    ((2, 4, 2), 0.250, 0.333, -0.563),
    ((2, 2, 4), 0.250, 0.500, 0.563),
    ((2, 1, 5), 0.250, 0.667, 0.844),
    ((2, 1, 2), 0.400, 0.667, 0.457),
    ((2, 1, 0.5), 0.571, 0.667, -0.397),
    ((2, 1, 0.2), 0.625, 0.667, -0.780),
]


@pytest.mark.parametrize('counts,iou,pa,expected', TABLE1)
def test_table1(counts, iou, pa, expected):
    tp, fp, fn = counts
    assert oii(tp, fp, fn) == pytest.approx(expected, abs=1e-3)
    assert oii(tp, fp, fn) == pytest.approx(reference_oii(tp, fp, fn),
                                            abs=1e-12)
    # The other columns of the table, as a check of the row reading.
    assert tp / (tp + fp + fn) == pytest.approx(iou, abs=1e-3)
    assert tp / (tp + fp) == pytest.approx(pa, abs=1e-3)


def test_table1_row3_is_a_typo():
    assert abs(oii(2, 3, 3) - 0.334) > 5e-3


def test_table1_vectorised_matches_scalar():
    counts = torch.tensor([row[0] for row in TABLE1], dtype=torch.float64)
    out = oii(counts[:, 0], counts[:, 1], counts[:, 2])
    assert isinstance(out, torch.Tensor) and out.shape == (len(TABLE1), )
    expected = torch.tensor([row[3] for row in TABLE1], dtype=torch.float64)
    assert torch.allclose(out, expected, atol=1e-3)


@pytest.mark.parametrize('tp,fp,fn,expected', [
    (5, 0, 0, 0.0),  # perfect prediction
    (5, 0, 3, 1.0),  # only misses: limit x -> 0
    (5, 3, 0, -1.0),  # only false alarms: limit x -> inf
    (0, 3, 0, 1.0),  # IoU = 0: set to 1 (the paper), even when FP > FN
    (0, 0, 3, 1.0),
    (0, 3, 4, 1.0),
])
def test_edge_cases(tp, fp, fn, expected):
    assert oii(tp, fp, fn) == expected


def test_undefined_is_nan():
    assert math.isnan(oii(0, 0, 0))
    out = oii(torch.tensor([0, 1]), torch.tensor([0, 0]), torch.tensor([0, 0]))
    assert torch.isnan(out[0]) and out[1] == 0


def test_edge_limits_are_continuous():
    # The fixed edge values are the limits of the formula.
    assert oii(5, 1e-9, 3) == pytest.approx(1.0, abs=1e-8)
    assert oii(5, 3, 1e-9) == pytest.approx(-1.0, abs=1e-8)


def test_sign_and_range():
    rng = np.random.default_rng(0)
    tp, fp, fn = (rng.integers(1, 10**6, size=2000) for _ in range(3))
    out = oii(tp, fp, fn)
    assert isinstance(out, np.ndarray) and out.dtype == np.float64
    assert np.all(out[fn > fp] > 0)
    assert np.all(out[fp > fn] < 0)
    assert np.all(np.abs(out) <= 1)
    ref = np.array([reference_oii(*map(float, c)) for c in zip(tp, fp, fn)])
    np.testing.assert_allclose(out, ref, rtol=0, atol=1e-12)


def test_monotone_non_increasing_in_x_with_jump_at_one():
    # Fixed TP and FP + FN (so k is fixed): OII falls as x = FP/FN grows.
    for tp in (0.5, 2.0, 50.0):
        total = 6.0
        fp = np.linspace(0, total, 6001)
        values = oii(np.full_like(fp, tp), fp, total - fp)
        assert np.all(np.diff(values) <= 1e-12)
        k = 1 - 2 / math.pi * math.atan(total / (5 * tp))
        # Downward jump at x = 1: from 1 - k to k - 1.
        assert oii(tp, 3, 3) == pytest.approx(1 - k)
        assert oii(tp, 3 + 1e-9, 3 - 1e-9) == pytest.approx(k - 1, abs=1e-6)


def test_magnitude_grows_with_errors_over_tp():
    # Fixed x, growing (FP + FN)/TP: |OII| grows (Table 1 rows 1-3).
    tp = np.linspace(100, 0.01, 500)
    for fp, fn in ((1, 1), (1, 3), (3, 1)):
        values = np.abs(oii(tp, fp, fn))
        assert np.all(np.diff(values) >= 0)


def test_symmetry():
    # Swapping FP and FN mirrors OII (except exactly at x = 1).
    assert oii(3, 2, 7) == pytest.approx(-oii(3, 7, 2))


def test_huge_counts_no_overflow():
    big = 10**12
    assert oii(big, big, 2 * big) == pytest.approx(oii(1, 1, 2), abs=1e-12)
    assert oii(torch.tensor(3 * 10**18), 10**18, 10**18) == pytest.approx(
        oii(3, 1, 1))


def test_types_and_dtypes():
    assert isinstance(oii(2, 1, 1), float)
    assert isinstance(oii(np.int64(2), 1, 1), float)
    out32 = oii(torch.tensor([2.0]), torch.tensor([1.0]), 1)
    assert out32.dtype == torch.float32
    out64 = oii(torch.tensor([2]), torch.tensor([1]), torch.tensor([1]))
    assert out64.dtype == torch.float64
    # Broadcasting.
    assert oii(torch.ones(3, 1), torch.ones(1, 4), 2).shape == (3, 4)


def test_negative_counts_rejected():
    with pytest.raises(ValueError, match='fp must be non-negative'):
        oii(1, -1, 2)
    with pytest.raises(ValueError, match='tp'):
        oii(torch.tensor([1, -2]), 0, 0)


def test_nan_propagates():
    assert math.isnan(oii(float('nan'), 1, 0))
    assert math.isnan(oii(1, float('nan'), 0))


def test_exported():
    import mmseg_dibe
    assert mmseg_dibe.oii is oii
