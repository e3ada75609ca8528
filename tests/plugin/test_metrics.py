"""plugin.metrics against values worked out by hand (definitions: shared/reference/metrics.md)."""
import math

import numpy as np
import pytest

from plugin import metrics as M
from plugin.evaluate import score_arrays


def _rng_alpha(rng, shape, top=255):
    """8-bit alpha values k/255 with k in [0, top]."""
    return (rng.integers(0, top + 1, size=shape).astype(np.float32) / np.float32(255)).astype(np.float32)


# ---------------------------------------------------------------- whole-sequence cases

@pytest.mark.parametrize("mode", ["lr", "hr"])
def test_identical_sequences_score_zero(mode):
    rng = np.random.default_rng(1)
    gt = _rng_alpha(rng, (4, 24, 40))
    res = score_arrays(gt.copy(), gt, mode=mode)
    assert set(res.totals) == set(M.METRICS_BY_MODE[mode])
    assert ("conn" in res.totals) == (mode == "lr")  # Conn only at low resolution
    for metric, values in res.per_frame.items():
        assert values == [0.0] * 4, metric


@pytest.mark.parametrize("mode", ["lr", "hr"])
def test_constant_offset(mode):
    c = 51 / 255  # a multiple of 1/255, so 8-bit quantisation leaves P = G + c exactly
    rng = np.random.default_rng(2)
    gt = _rng_alpha(rng, (5, 20, 30), top=255 - 51)  # G + c stays inside [0, 1]
    gt[:, 0, 0], gt[:, -1, -1] = 0.0, (255 - 51) / 255  # same min/max per frame: lr min-max keeps P ~ G
    pred = gt + np.float32(c)
    res = score_arrays(pred, gt, mode=mode)
    for i in range(5):
        assert res.per_frame["mad"][i] == pytest.approx(1e3 * c, rel=1e-5)
        assert res.per_frame["mse"][i] == pytest.approx(1e3 * c * c, rel=1e-5)
        assert res.per_frame["dtssd"][i] == pytest.approx(0.0, abs=1e-3)
    assert res.totals["mad"] == pytest.approx(1e3 * 0.2, rel=1e-5)
    assert res.totals["mse"] == pytest.approx(1e3 * 0.04, rel=1e-5)
    assert res.totals["grad"] == pytest.approx(0.0, abs=1e-9)  # same edges, shifted level


def test_dtssd_is_zero_on_first_frame_and_counted():
    c = 10 / 255
    gt = np.zeros((3, 8, 8), np.float32)
    pred = gt.copy()
    pred[1] = c  # the prediction jumps on frame 1 and stays
    pred[2] = c
    res = score_arrays(pred, gt, mode="hr")
    # frame 1: (P1 - P0) - (G1 - G0) = c everywhere -> RMS = c -> x1e2
    assert res.per_frame["dtssd"] == pytest.approx([0.0, 100 * c, 0.0], rel=1e-5)
    assert res.totals["dtssd"] == pytest.approx(100 * c / 3, rel=1e-5)  # frame 0's zero is in the mean
    assert res.dtssd_after_first == pytest.approx(100 * c / 2, rel=1e-5)


# ---------------------------------------------------------------- 8-bit quantisation

def test_quantize_8bit_rounds_half_to_even_and_clips():
    values = np.array([0.0, 0.5 / 255, 1.5 / 255, 2.5 / 255, 127.5 / 255, 0.2, 1.2, -0.1, 1.0], np.float32)
    expected = np.array([0, 0, 2, 2, 128, 51, 255, 0, 255], np.float32) / np.float32(255)
    q = M.quantize_8bit(values)
    assert q.dtype == np.float32
    np.testing.assert_array_equal(q, expected)


def test_predictions_are_quantised_before_scoring_unless_asked():
    gt = np.full((1, 6, 6), 100 / 255, np.float32)
    pred = gt + np.float32(0.4 / 255)  # rounds back onto the GT's 8-bit level
    assert score_arrays(pred, gt, mode="hr").totals["mad"] == 0.0
    floating = score_arrays(pred, gt, mode="hr", quantize=False)
    assert floating.totals["mad"] == pytest.approx(1e3 * 0.4 / 255, rel=1e-4)
    assert floating.quantized is False


# ---------------------------------------------------------------- Grad

def _g(x, s=1.4):
    return math.exp(-x * x / (2 * s * s)) / (s * math.sqrt(2 * math.pi))


def _dg(x, s=1.4):
    return -x * _g(x, s) / (s * s)


def test_grad_kernel_is_9x9_dog_with_unit_norm():
    k = M.grad_kernel()
    assert k.shape == (9, 9)
    assert np.sum(k ** 2) == pytest.approx(1.0)
    norm = math.sqrt(sum(_g(i) ** 2 for i in range(-4, 5)) * sum(_dg(j) ** 2 for j in range(-4, 5)))
    # row = smoothing along y, column = derivative along x
    assert k[4, 5] == pytest.approx(_g(0) * _dg(1) / norm)
    assert k[0, 8] == pytest.approx(_g(-4) * _dg(4) / norm)
    assert k[4, 4] == 0.0


def test_grad_of_a_step_edge_matches_the_hand_sum():
    h, w, edge = 16, 32, 16
    gt = np.zeros((h, w), np.float32)
    pred = np.zeros((h, w), np.float32)
    pred[:, edge:] = 1.0
    # G is flat -> |grad G| = 0; P is constant along y -> Gy = 0 (replicate border), so
    # Gx(x) = sum_u Kx-column-sum(u) * P(x + u) = (sum_v g(v)) / norm * sum_{u >= edge - x} g'(u),
    # non-zero only for the 8 columns whose 9-wide window straddles the edge.
    sg = sum(_g(v) for v in range(-4, 5))
    norm = math.sqrt(sum(_g(v) ** 2 for v in range(-4, 5)) * sum(_dg(u) ** 2 for u in range(-4, 5)))
    per_row = 0.0
    for x in range(w):
        gx = sg / norm * sum(_dg(u) for u in range(-4, 5) if x + u >= edge)
        per_row += gx * gx
    expected = h * per_row / 1e3
    assert expected == pytest.approx(0.31345, abs=1e-4)  # 16 rows x 19.59 / 1e3, for the record
    assert M.grad(pred, gt, normalize=False) == pytest.approx(expected, rel=1e-9)
    # the image already spans 0..1, so the lr min-max normalisation changes nothing here
    assert M.grad(pred, gt, normalize=True) == pytest.approx(expected, rel=1e-9)
    # and the sum doubles with twice the rows: Grad is a sum, not a mean
    tall = np.concatenate([pred, pred]), np.concatenate([gt, gt])
    assert M.grad(*tall, normalize=False) == pytest.approx(2 * expected, rel=1e-9)


def test_lr_grad_min_max_normalises_each_frame():
    gt = np.zeros((10, 20), np.float32)
    gt[:, 10:] = 1.0
    dim = gt * np.float32(0.5)  # the same edge at half height
    assert M.grad(dim, gt, normalize=True) == pytest.approx(0.0, abs=1e-12)
    assert M.grad(dim, gt, normalize=False) > 0.0
    flat = np.full((10, 20), 0.7, np.float32)  # constant -> zeros after min-max, as cv2.normalize does
    np.testing.assert_array_equal(M.minmax_normalize(flat), np.zeros((10, 20)))


# ---------------------------------------------------------------- Conn

def test_conn_two_regions_by_hand():
    gt = np.array([[1.0, 1.0, 0.0, 1.0]], np.float32)
    pred = np.array([[1.0, 1.0, 0.0, 0.5]], np.float32)
    # t=0.1: both >= t at pixels {0,1} and {3}; largest component {0,1}; pixels 2,3 get L = t0 = 0.
    # pixels 0,1 stay in the component up to t=1.0, so L = 1 there. L = [1, 1, 0, 0].
    # d_P = [0, 0, 0, 0.5] -> phi_P = [1, 1, 1, 0.5]; d_G = [0, 0, 0, 1] -> phi_G = [1, 1, 1, 0].
    assert M.conn(pred, gt) == pytest.approx(0.5 / 1e3, rel=1e-6)


def test_conn_intermediate_levels_by_hand():
    gt = np.array([[0.6, 0.6, 0.6]], np.float32)
    pred = np.array([[0.6, 0.35, 0.6]], np.float32)
    # t=0.1..0.3: all three connected. t=0.4: {0} and {2}, tie -> first: pixels 1, 2 get L = 0.3.
    # t=0.7: nothing left, pixel 0 gets L = 0.6. L = [0.6, 0.3, 0.3].
    # d_P = [0, 0.05, 0.3] -> phi_P = [1, 1, 0.7]; d_G = [0, 0.3, 0.3] -> phi_G = [1, 0.7, 0.7].
    assert M.conn(pred, gt) == pytest.approx(0.3 / 1e3, rel=1e-5)


def test_conn_uses_4_connectivity():
    # a diagonal pair is two components with 4-connectivity: the second pixel drops at t=0.1
    gt = np.array([[1.0, 0.0], [0.0, 1.0]], np.float32)
    pred = gt.copy()
    pred[1, 1] = 0.8
    # L = [[1, 0], [0, 0]]; pixel (1,1): d_P = 0.8 -> phi 0.2, d_G = 1 -> phi 0; Conn = 0.2
    assert M.conn(pred, gt) == pytest.approx(0.2 / 1e3, rel=1e-5)


# ---------------------------------------------------------------- core region (ours)

def test_core_mask_of_a_drawn_square():
    seg = np.zeros((64, 64), np.float32)
    seg[20:44, 20:44] = 1.0  # 24x24 square
    core = M.core_mask(seg)
    # 21x21 window, half 10: eroded = rows/cols 30..33 (4x4); dilated = 10..53 (44x44)
    expected = np.ones((64, 64), bool)
    expected[10:54, 10:54] = False
    expected[30:34, 30:34] = True
    np.testing.assert_array_equal(core, expected)
    assert core.sum() == 16 + 64 * 64 - 44 * 44


def test_core_mask_keeps_a_subject_cut_by_the_frame_edge():
    seg = np.zeros((40, 40), np.float32)
    seg[:, :20] = 0.9  # binarised at 0.5; touches the left edge
    core = M.core_mask(seg)
    assert core[:, :10].all()  # the border replicates, so the subject's core reaches the edge
    assert not core[:, 10:30].any()
    assert core[:, 30:].all()


def test_core_metrics_by_hand():
    seg = np.zeros((2, 64, 64), np.float32)
    seg[:, 20:44, 20:44] = 1.0
    pred = seg.copy()
    pred[:, 25, 25] = 0.5  # in the unknown band: not scored
    pred[1, 31, 31] = 0.0  # in the eroded core of frame 1: scored
    res = score_arrays(pred, seg, mode="lr", core=True)
    n_core = 16 + 64 * 64 - 44 * 44
    assert res.metrics == ("mad", "mse", "dtssd")
    assert res.per_frame["mad"] == pytest.approx([0.0, 1e3 / n_core])
    assert res.per_frame["mse"] == pytest.approx([0.0, 1e3 / n_core])
    # frame pair: the difference is 1 at one of the n_core pixels that are core on both frames
    assert res.per_frame["dtssd"] == pytest.approx([0.0, 100 * math.sqrt(1 / n_core)])
    assert "ours" in res.column("mad") and "our reading" in res.protocol_label()


def test_sequence_scorer_refuses_unknown_mode():
    with pytest.raises(ValueError):
        M.SequenceScorer(mode="4k")


def test_separable_gradient_equals_the_9x9_kernel_with_replicate_border():
    from scipy import ndimage
    img = np.random.default_rng(3).random((30, 45))
    k = M.grad_kernel()
    gx = ndimage.correlate(img, k, mode="nearest")
    gy = ndimage.correlate(img, k.T, mode="nearest")
    np.testing.assert_allclose(M.gradient_magnitude(img), np.sqrt(gx ** 2 + gy ** 2), rtol=0, atol=1e-12)
