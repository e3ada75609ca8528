"""Alpha-matte quality metrics exactly as the video-matting papers compute them.

RVM's `evaluation/evaluate_{lr,hr}.py` and MatAnyone's `eval_yt_{lr,hr}.py` define the
numbers in MatAnyone's Table 1; `../shared/reference/metrics.md` describes them. This
module re-implements them in numpy + scipy (no torch, no OpenCV):

==========  =====================================================  ==============  ==========
metric      per frame (P prediction, G ground truth, HxW in [0,1])  reported as     resolution
==========  =====================================================  ==============  ==========
MAD         mean |P - G|                                           x 1e3           mean
MSE         mean (P - G)^2                                         x 1e3           mean
Grad        sum (|grad P| - |grad G|)^2, DoG sigma 1.4, 9x9        / 1e3           **sum**
Conn        sum |phi(P) - phi(G)|, thresholds 0, 0.1 .. 1          / 1e3           **sum**
dtSSD       RMS of (P_t - P_t-1) - (G_t - G_t-1); 0 on frame 0     x 1e2           mean
==========  =====================================================  ==============  ==========

Grad and Conn are sums, so they grow with the pixel count: never compare them across
resolutions. In "lr" mode (the 512x288 scripts) Grad min-max normalises each frame
first and Conn is computed; in "hr" mode (the 1920x1080 scripts) neither.

The core-region metrics (`core_mask`, `CORE_*`) are **our reading** of the MatAnyone
paper's real-video protocol, for which no code is published; every output labels them.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Dict, List, Optional

import numpy as np
from scipy import ndimage

# Scale factors of the published tables (value reported = raw value * factor).
SCALE: Dict[str, float] = {"mad": 1e3, "mse": 1e3, "grad": 1e-3, "conn": 1e-3, "dtssd": 1e2}
UNITS: Dict[str, str] = {"mad": "x1e3", "mse": "x1e3", "grad": "/1e3 (sum)", "conn": "/1e3 (sum)",
                         "dtssd": "x1e2"}
LABELS: Dict[str, str] = {"mad": "MAD", "mse": "MSE", "grad": "Grad", "conn": "Conn", "dtssd": "dtSSD"}
MODES = ("lr", "hr")
METRICS_BY_MODE = {"lr": ("mad", "mse", "grad", "dtssd", "conn"), "hr": ("mad", "mse", "grad", "dtssd")}
CORE_METRICS = ("mad", "mse", "dtssd")
CORE_KERNEL = 21  # the paper's "kernel size 21"; square window and border handling are ours
CORE_LABEL = "core-region (our reading of MatAnyone Sec. 4.3; no published code)"

# Grad: Rhemann et al.'s derivative-of-Gaussian filter as the scripts build it.
GRAD_SIGMA = 1.4
GRAD_EPSILON = 1e-2
# Conn: threshold step and the d >= 0.15 cut-off of phi.
CONN_STEP = 0.1
CONN_THETA = 0.15


def quantize_8bit(alpha: np.ndarray) -> np.ndarray:
    """What the papers scored: alpha saved as 8-bit PNG and read back.

    Args:
        alpha: float array in [0, 1], any shape.

    Returns:
        float32 array, same shape: `round(clip(alpha * 255, 0, 255)) / 255` (round half to even).
    """
    a = np.asarray(alpha, dtype=np.float32)
    return (np.round(np.clip(a * np.float32(255.0), 0.0, 255.0)) / np.float32(255.0)).astype(np.float32)


def snap_8bit(alpha: np.ndarray, tolerance: float = 1e-6) -> np.ndarray:
    """GT on 8-bit levels (every value within `tolerance` of some k/255) exactly onto k/255.

    The scripts read GT as uint8 / 255; image libraries convert 8-bit files to float with
    their own rounding (one float32 ulp off k/255), which would otherwise show as a tiny
    error between identical mattes. Other GT (16-bit, float EXR) is returned unchanged.

    Returns:
        float32 array, same shape.
    """
    a = np.asarray(alpha, dtype=np.float32)
    q = quantize_8bit(a)
    return q if float(np.max(np.abs(q - a), initial=0.0)) <= tolerance else a


def mad(pred: np.ndarray, gt: np.ndarray) -> float:
    """Mean absolute difference x 1e3. pred, gt: float HxW in [0, 1]."""
    return float(np.mean(np.abs(_f64(pred) - _f64(gt)))) * SCALE["mad"]


def mse(pred: np.ndarray, gt: np.ndarray) -> float:
    """Mean squared difference x 1e3 (the papers use the same factor as MAD)."""
    return float(np.mean((_f64(pred) - _f64(gt)) ** 2)) * SCALE["mse"]


def grad_kernel(sigma: float = GRAD_SIGMA, epsilon: float = GRAD_EPSILON) -> np.ndarray:
    """The x-derivative-of-Gaussian kernel Kx (rows smooth along y, columns differentiate along x).

    Half size h = ceil(sigma * sqrt(-2 ln(sqrt(2 pi) sigma epsilon))) = 4 for the defaults,
    so 9x9; divided by its Frobenius norm. Ky is its transpose.

    Returns:
        float64 (2h+1, 2h+1).
    """
    half = int(math.ceil(sigma * math.sqrt(-2.0 * math.log(math.sqrt(2.0 * math.pi) * sigma * epsilon))))
    x = np.arange(-half, half + 1, dtype=np.float64)
    gauss = np.exp(-x ** 2 / (2.0 * sigma ** 2)) / (sigma * math.sqrt(2.0 * math.pi))
    dgauss = -x * gauss / sigma ** 2
    kx = np.outer(gauss, dgauss)
    return kx / np.sqrt(np.sum(kx ** 2))


# Kx = outer(g, g') / norm is separable: filtering by rows then columns gives the same sums
# with 18 instead of 81 products per pixel, and replicate borders clamp each axis alike.
def _separable_factors(sigma: float = GRAD_SIGMA, epsilon: float = GRAD_EPSILON):
    half = (grad_kernel(sigma, epsilon).shape[0] - 1) // 2
    x = np.arange(-half, half + 1, dtype=np.float64)
    gauss = np.exp(-x ** 2 / (2.0 * sigma ** 2)) / (sigma * math.sqrt(2.0 * math.pi))
    dgauss = -x * gauss / sigma ** 2
    norm = math.sqrt(float(np.sum(gauss ** 2)) * float(np.sum(dgauss ** 2)))  # Frobenius norm of the outer product
    return gauss, dgauss / norm


_SMOOTH, _DERIV = _separable_factors()


def minmax_normalize(img: np.ndarray) -> np.ndarray:
    """`cv2.normalize(img, None, 1., 0., NORM_MINMAX)`: stretch to [0, 1]; a constant image -> zeros."""
    a = _f64(img)
    lo, hi = float(a.min()), float(a.max())
    if hi <= lo:
        return np.zeros_like(a)
    return (a - lo) / (hi - lo)


def gradient_magnitude(img: np.ndarray) -> np.ndarray:
    """|grad img| with the 9x9 DoG kernels, border replicate. float64 HxW."""
    a = _f64(img)
    gx = ndimage.correlate1d(ndimage.correlate1d(a, _DERIV, axis=1, mode="nearest"), _SMOOTH, axis=0, mode="nearest")
    gy = ndimage.correlate1d(ndimage.correlate1d(a, _SMOOTH, axis=1, mode="nearest"), _DERIV, axis=0, mode="nearest")
    return np.sqrt(gx ** 2 + gy ** 2)


def grad(pred: np.ndarray, gt: np.ndarray, *, normalize: bool = True) -> float:
    """Gradient error / 1e3, a **sum** over pixels.

    Args:
        pred, gt: float HxW in [0, 1].
        normalize: min-max normalise each image first (the 512x288 "lr" scripts do; "hr" does not).
    """
    if normalize:
        pred, gt = minmax_normalize(pred), minmax_normalize(gt)
    diff = gradient_magnitude(pred) - gradient_magnitude(gt)
    return float(np.sum(diff ** 2)) * SCALE["grad"]


def _largest_component(mask: np.ndarray) -> np.ndarray:
    """The largest 4-connected component of a bool mask (first label on ties; empty if none)."""
    labels, count = ndimage.label(mask)  # default structure: the 4-connected cross
    if count == 0:
        return np.zeros(mask.shape, dtype=bool)
    sizes = np.bincount(labels.ravel())
    sizes[0] = 0
    return labels == int(np.argmax(sizes))


def conn(pred: np.ndarray, gt: np.ndarray, *, step: float = CONN_STEP) -> float:
    """Connectivity error / 1e3, a **sum** over pixels (computed at low resolution only).

    For thresholds t_k = k * step (built with `np.arange` as the scripts do), each pixel's
    round-down level L is the last threshold before it leaves the largest 4-connected
    component of (P >= t_k) & (G >= t_k); pixels never leaving get 1. Then
    phi(A) = 1 - d [d >= 0.15] with d = A - L, and Conn = sum |phi(P) - phi(G)|.

    Args:
        pred, gt: float32 HxW in [0, 1].
    """
    p = np.asarray(pred, dtype=np.float32)
    g = np.asarray(gt, dtype=np.float32)
    thresholds = np.arange(0, 1 + step, step)
    level = -np.ones_like(g)  # float32 as in the scripts, so L holds float32 thresholds
    for k in range(1, len(thresholds)):
        omega = _largest_component((g >= thresholds[k]) & (p >= thresholds[k]))
        level[(level == -1) & ~omega] = thresholds[k - 1]
    level[level == -1] = 1
    d_p = p - level
    d_g = g - level
    phi_p = 1 - d_p * (d_p >= CONN_THETA)
    phi_g = 1 - d_g * (d_g >= CONN_THETA)
    return float(np.sum(np.abs(_f64(phi_p) - _f64(phi_g)))) * SCALE["conn"]


def dtssd(pred: np.ndarray, pred_prev: np.ndarray, gt: np.ndarray, gt_prev: np.ndarray) -> float:
    """Temporal coherence x 1e2: RMS of (P_t - P_t-1) - (G_t - G_t-1). All float HxW."""
    d = (_f64(pred) - _f64(pred_prev)) - (_f64(gt) - _f64(gt_prev))
    return math.sqrt(float(np.sum(d ** 2)) / d.size) * SCALE["dtssd"]


# ---------------------------------------------------------------- core region (ours)

def core_mask(segmentation: np.ndarray, kernel: int = CORE_KERNEL) -> np.ndarray:
    """Pixels of known alpha in a segmentation mask's trimap (our reading of the paper).

    The mask is binarised at 0.5, then dilated and eroded with a square `kernel` x `kernel`
    window (borders replicate the edge pixel, so a subject cut by the frame edge keeps its
    core there); the trimap's unknown band is dilated-and-not-eroded and the core is the rest.

    Args:
        segmentation: float HxW in [0, 1].

    Returns:
        bool HxW: True where the trimap is 0 or 1.
    """
    fg = np.asarray(segmentation) >= 0.5
    dilated = ndimage.maximum_filter(fg, size=kernel, mode="nearest")
    eroded = ndimage.minimum_filter(fg, size=kernel, mode="nearest")
    return eroded | ~dilated


def _masked_mean(values: np.ndarray, mask: np.ndarray) -> float:
    count = int(np.count_nonzero(mask))
    return float(np.sum(values[mask])) / count if count else 0.0


# ---------------------------------------------------------------- sequence scoring

@dataclass
class FrameScores:
    """One frame's values, already scaled as the tables report them."""

    frame: int
    values: Dict[str, float]


@dataclass
class SequenceScorer:
    """Scores a sequence one frame at a time, keeping only the previous frame (any length).

    Args:
        mode: "lr" (512x288 scripts: Grad min-max normalised, Conn) or "hr" (1920x1080 scripts).
        core: score core regions of a segmentation mask given as GT (our reading; MAD/MSE/dtSSD).
        quantize: 8-bit quantise each prediction first, as the published numbers were.
        core_kernel: window size for the core trimap.
    """

    mode: str = "lr"
    core: bool = False
    quantize: bool = True
    core_kernel: int = CORE_KERNEL
    frames: List[FrameScores] = field(default_factory=list)
    _prev: Optional[tuple] = field(default=None, repr=False)

    def __post_init__(self):
        if self.mode not in MODES:
            raise ValueError(f"mode {self.mode!r}: use one of {', '.join(MODES)}")

    @property
    def metrics(self) -> tuple:
        return CORE_METRICS if self.core else METRICS_BY_MODE[self.mode]

    def add(self, frame: int, pred: np.ndarray, gt: np.ndarray) -> FrameScores:
        """Score the next frame.

        Args:
            frame: its frame number (kept with the values).
            pred, gt: float32 HxW in [0, 1], same shape (the caller checks).

        Returns:
            The frame's scaled values.
        """
        p = quantize_8bit(pred) if self.quantize else np.asarray(pred, dtype=np.float32)
        g = snap_8bit(gt)
        if self.core:
            values, state = self._core_values(p, g)
        else:
            values, state = self._full_values(p, g)
        self._prev = state
        scores = FrameScores(frame, values)
        self.frames.append(scores)
        return scores

    def _full_values(self, p, g):
        values = {"mad": mad(p, g), "mse": mse(p, g), "grad": grad(p, g, normalize=self.mode == "lr")}
        values["dtssd"] = 0.0 if self._prev is None else dtssd(p, self._prev[0], g, self._prev[1])
        if self.mode == "lr":
            values["conn"] = conn(p, g)
        return values, (p, g)

    def _core_values(self, p, g):
        seg = (g >= 0.5).astype(np.float32)
        core = core_mask(g, self.core_kernel)
        diff = _f64(p) - _f64(seg)
        values = {"mad": _masked_mean(np.abs(diff), core) * SCALE["mad"],
                  "mse": _masked_mean(diff ** 2, core) * SCALE["mse"], "dtssd": 0.0}
        if self._prev is not None:
            p0, s0, core0 = self._prev
            d = (_f64(p) - _f64(p0)) - (_f64(seg) - _f64(s0))
            values["dtssd"] = math.sqrt(_masked_mean(d ** 2, core & core0)) * SCALE["dtssd"]
        return values, (p, seg, core)

    def totals(self) -> Dict[str, float]:
        """Mean of each metric over every scored frame (dtSSD's frame-0 zero included, as published)."""
        if not self.frames:
            return {}
        return {m: float(np.mean([f.values[m] for f in self.frames])) for m in self.metrics}

    def dtssd_after_first(self) -> Optional[float]:
        """dtSSD averaged over real frame pairs only (t >= 1); None for a single frame."""
        if len(self.frames) < 2:
            return None
        return float(np.mean([f.values["dtssd"] for f in self.frames[1:]]))


def _f64(a) -> np.ndarray:
    return np.asarray(a, dtype=np.float64)
