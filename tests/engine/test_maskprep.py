"""close_mask = OpenCV's elliptical dilate-then-erode, checked on drawn masks with kernels
derived by hand from getStructuringElement's documented MORPH_ELLIPSE construction."""
import numpy as np
import pytest

from matanyone_engine.errors import InputError
from matanyone_engine.maskprep import close_mask, dilate_binary, ellipse_kernel, erode_binary

# r = size // 2, c = size // 2; row i: dy = i - r, dx = round(c * sqrt((r^2 - dy^2) / r^2)),
# ones on [max(c - dx, 0), min(c + dx + 1, size)).
HAND = {
    1: [[1]],
    3: [[0, 1, 0],
        [1, 1, 1],
        [0, 1, 0]],
    4: [[0, 0, 1, 0],   # dy=-2: dx=0 -> [2,3)
        [1, 1, 1, 1],   # dy=-1: dx=round(2*0.866)=2 -> [0,4)
        [1, 1, 1, 1],
        [1, 1, 1, 1]],
    5: [[0, 0, 1, 0, 0],
        [1, 1, 1, 1, 1],
        [1, 1, 1, 1, 1],
        [1, 1, 1, 1, 1],
        [0, 0, 1, 0, 0]],
    10: [[0, 0, 0, 0, 0, 1, 0, 0, 0, 0],   # dy=-5: dx=0
         [0, 0, 1, 1, 1, 1, 1, 1, 1, 0],   # dy=-4: dx=round(5*0.6)=3 -> [2,9)
         [0, 1, 1, 1, 1, 1, 1, 1, 1, 1],   # dy=-3: dx=4 -> [1,10)
         [1, 1, 1, 1, 1, 1, 1, 1, 1, 1],   # dy=-2: dx=round(4.58)=5 -> [0,10)
         [1, 1, 1, 1, 1, 1, 1, 1, 1, 1],
         [1, 1, 1, 1, 1, 1, 1, 1, 1, 1],
         [1, 1, 1, 1, 1, 1, 1, 1, 1, 1],
         [1, 1, 1, 1, 1, 1, 1, 1, 1, 1],   # dy=2
         [0, 1, 1, 1, 1, 1, 1, 1, 1, 1],   # dy=3
         [0, 0, 1, 1, 1, 1, 1, 1, 1, 0]],  # dy=4
}


@pytest.mark.parametrize("size", sorted(HAND))
def test_ellipse_kernel_matches_hand_derivation(size):
    np.testing.assert_array_equal(ellipse_kernel(size), np.array(HAND[size], np.uint8))


def test_dilate_single_pixel_gives_reflected_kernel_around_anchor():
    m = np.zeros((9, 9), bool)
    m[4, 4] = True
    out = dilate_binary(m, 4)
    # out[y,x] = any m[y+i-2, x+j-2] over kernel ones -> set where (4-y+2, 4-x+2) is a kernel one
    expected = np.zeros((9, 9), bool)
    k = ellipse_kernel(4)
    for i in range(4):
        for j in range(4):
            if k[i, j]:
                expected[4 - i + 2, 4 - j + 2] = True
    np.testing.assert_array_equal(out, expected)


def test_borders_never_win():
    full = np.ones((6, 7), bool)
    np.testing.assert_array_equal(erode_binary(full, 5), full)  # outside = +inf for erode
    empty = np.zeros((6, 7), bool)
    np.testing.assert_array_equal(dilate_binary(empty, 5), empty)  # outside = -inf for dilate
    edge = np.zeros((6, 7), bool)
    edge[:, :3] = True
    eroded = erode_binary(edge, 3)
    assert eroded[:, 0].all() and eroded[1:-1, 1].all() and not eroded[:, 2].any()


def test_close_fills_a_hole_and_keeps_the_outline():
    m = np.zeros((40, 40), np.uint8)
    m[10:30, 10:30] = 255
    m[19:21, 19:21] = 0          # a 2x2 hole
    out = close_mask(m, dilate=5, erode=5)
    assert out.dtype == np.uint8 and set(np.unique(out)) <= {0, 255}
    assert (out[10:30, 10:30] == 255).all()
    assert (out[:9] == 0).all() and (out[31:] == 0).all()
    np.testing.assert_array_equal(close_mask(m, dilate=0, erode=0), m)


def test_binarisation_rules():
    m = np.zeros((20, 20), np.uint8)
    m[5:15, 5:15] = 128          # grey: set for dilate (!= 0) but not for erode (== 255)
    assert (close_mask(m, dilate=0, erode=3) == 0).all()
    assert (close_mask(m, dilate=3, erode=0)[5:15, 5:15] == 255).all()
    assert (close_mask(m, dilate=3, erode=3)[5:15, 5:15] == 255).all()
    with pytest.raises(InputError):
        close_mask(m.astype(np.float32))
    with pytest.raises(InputError):
        close_mask(m, dilate=-1)
