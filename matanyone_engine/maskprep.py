"""Mask clean-up as the official drivers do it: dilate then erode (a closing) with OpenCV's
elliptical structuring element, written here without OpenCV.

`ellipse_kernel(r)` follows the documented construction of
`cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (r, r))`: with R = r // 2 (integer) and C = R,
row i (dy = i - R) is filled on columns [max(C - dx, 0), min(C + dx + 1, r)) where
dx = round(C * sqrt((R^2 - dy^2) / R^2)) (round half to even) and |dy| <= R; the anchor is the
centre (R, R), so even sizes are not symmetric. Borders behave as OpenCV's defaults: pixels
outside the image never win (dilate pads with -inf, erode with +inf).
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from .errors import InputError


def ellipse_kernel(size: int) -> np.ndarray:
    """OpenCV's MORPH_ELLIPSE element of size (size, size) as uint8 0/1, anchor (size//2, size//2)."""
    if size < 1:
        raise InputError(f"mask clean-up kernel size must be at least 1, got {size}")
    r = size // 2
    c = size // 2
    inv_r2 = 1.0 / (r * r) if r else 0.0
    k = np.zeros((size, size), np.uint8)
    for i in range(size):
        dy = i - r
        if abs(dy) <= r:
            dx = int(np.rint(c * np.sqrt((r * r - dy * dy) * inv_r2)))
            j1 = max(c - dx, 0)
            j2 = min(c + dx + 1, size)
            k[i, j1:j2] = 1
    return k


def _any_under(binary: torch.Tensor, kernel: np.ndarray) -> torch.Tensor:
    """out[y,x] = any(binary[y+i-a, x+j-a] for kernel[i,j] == 1), outside the image = False."""
    kh, kw = kernel.shape
    ay, ax = kh // 2, kw // 2
    weight = torch.from_numpy(kernel.astype(np.float32)).view(1, 1, kh, kw)
    x = F.pad(binary.float().view(1, 1, *binary.shape), (ax, kw - 1 - ax, ay, kh - 1 - ay))
    return F.conv2d(x, weight)[0, 0] > 0.5


def dilate_binary(binary: np.ndarray, size: int) -> np.ndarray:
    """Binary dilation (bool HxW) with the elliptical element; outside pixels never set a pixel."""
    with torch.inference_mode():
        return _any_under(torch.from_numpy(np.ascontiguousarray(binary, dtype=bool)), ellipse_kernel(size)).numpy()


def erode_binary(binary: np.ndarray, size: int) -> np.ndarray:
    """Binary erosion (bool HxW) with the elliptical element; outside pixels never clear a pixel."""
    with torch.inference_mode():
        inv = torch.from_numpy(~np.ascontiguousarray(binary, dtype=bool))
        return ~_any_under(inv, ellipse_kernel(size)).numpy()


def close_mask(mask: np.ndarray, dilate: int = 10, erode: int = 10) -> np.ndarray:
    """The official first-frame mask preparation.

    Args:
        mask: HxW uint8 (0..255).
        dilate, erode: elliptical kernel sizes; 0 skips that step. Dilate binarises `mask != 0`,
            erode binarises `== 255` (the official order and rules).
    Returns:
        HxW uint8: 0/255 when either step runs, else a copy of the mask.
    """
    m = np.asarray(mask)
    if m.ndim != 2:
        raise InputError(f"mask must be HxW, got shape {m.shape}")
    if m.dtype != np.uint8:
        raise InputError(f"mask must be uint8 0..255 for clean-up, got {m.dtype}")
    if dilate < 0 or erode < 0:
        raise InputError(f"mask clean-up sizes must be 0 or more, got dilate {dilate}, erode {erode}")
    out = m.copy()
    if dilate > 0:
        out = dilate_binary(out != 0, int(dilate)).astype(np.uint8) * 255
    if erode > 0:
        out = erode_binary(out == 255, int(erode)).astype(np.uint8) * 255
    return out
