"""The viewer's baked display LUT: for each (config, colourspace, display, view) a 97^3 3D LUT
made once by evaluating the exact OCIO processor on a grid, behind a shaper suited to the input,
applied with OCIO's tetrahedral 3D-LUT code (see `plugin.color` and README "Colour")."""
from __future__ import annotations

import functools
import time
from typing import Optional, Tuple

import numpy as np

from plugin import color
from plugin.errors import ColorError


LUT_SIZE = 97
# Scene-linear shaper: log2(x + 2^LOG_MIN) mapped from LOG_MIN..LOG_MAX onto the LUT, i.e. 10
# stops either side of mid-grey (0.18 = 2^-2.47) with a smooth toe down to 0. Values below 0 take
# the LUT's first grid plane, values above 2^LOG_MAX (181) its last: every SDR view has reached
# its top there. 1.0 falls on a grid point (60 steps above LOG_MIN), where un-tone-mapped views
# clip: a kink between grid points would cost up to 2/255 there.
# 97 points: 0.21 stops a step keeps near-neutral pixels within 1/255 of the exact ACES 2.0
# view; applying the LUT costs about the same at 65 or 97, only the one-off bake grows (~0.5 s).
LOG_MIN, LOG_MAX = -12.5, 7.5
# The LUT is used only where it is this many times faster than the exact processor (timed on the
# bake's own grid): a cheap view keeps its exact result (un-clamped views with strong channel
# cross-talk, e.g. un-tone-mapped sRGB of saturated ACEScg highlights, do not interpolate well).
LUT_MIN_SPEEDUP = 2.0


class BakedDisplay:
    """One baked display/view: the CPU processor the viewer uses and how it was made.

    kind: 'scene-linear' (log2 shaper) or 'range' (straight map of [low, high] onto the LUT).
    uses_lut: False when the LUT was not worth it (`speedup`, exact time / LUT time on the grid,
    under LUT_MIN_SPEEDUP: simple views such as un-tone-mapped sRGB are as fast exact); `cpu`
    is then the exact processor.
    """

    def __init__(self, cpu, kind: str, low: float, high: float, size: int, bake_s: float,
                 uses_lut: bool = True, speedup: float = 0.0):
        self.cpu, self.kind, self.low, self.high, self.size, self.bake_s = cpu, kind, low, high, size, bake_s
        self.uses_lut, self.speedup = uses_lut, speedup

    def __repr__(self):
        return (f"BakedDisplay({self.kind}, [{self.low:g}, {self.high:g}], {self.size}^3, "
                f"baked in {self.bake_s * 1000:.0f} ms, {self.speedup:.1f}x faster than exact, "
                f"{'LUT' if self.uses_lut else 'exact'} in use)")


def _is_scene_linear(cfg, src: str) -> bool:
    cs = cfg.getColorSpace(src)
    encoding = cs.getEncoding()
    if encoding:
        return encoding == "scene-linear"
    if cfg.getColorSpace("scene_linear") is None:
        return False
    # No encoding declared: linear when OCIO maps it to scene_linear by a matrix (f(2x) = 2 f(x)).
    try:
        cpu = cfg.getProcessor(src, "scene_linear").getDefaultCPUProcessor()
    except Exception:  # noqa: BLE001 - OCIO's own exception type
        return False
    probe = np.array([[0.01, 0.02, 0.04], [0.18, 0.3, 0.5], [1.0, 2.0, 4.0]], np.float32)
    a, b = probe.copy(), probe * np.float32(2.0)
    cpu.applyRGB(a)
    cpu.applyRGB(b)
    return bool(np.allclose(b, 2.0 * a, rtol=1e-4, atol=1e-7))


def _encoded_range(cfg, src: str) -> Tuple[float, float]:
    """The values a non-linear colourspace takes for scene values 0..2^LOG_MAX
    (e.g. ACEScct ~0.07..1.3), widened to include [0, 1]."""
    low, high = 0.0, 1.0
    if cfg.getColorSpace("scene_linear") is not None:
        try:
            cpu = cfg.getProcessor("scene_linear", src).getDefaultCPUProcessor()
            ends = np.array([[0.0] * 3, [2.0 ** LOG_MAX] * 3], np.float32)
            cpu.applyRGB(ends)
            if np.all(np.isfinite(ends)):
                low, high = min(low, float(ends.min())), max(high, float(ends.max()))
        except Exception:  # noqa: BLE001 - no conversion: keep [0, 1]
            pass
    return low, high


def _time_on(cpu, sample: np.ndarray) -> float:
    """Best of three single-thread runs (seconds)."""
    best = float("inf")
    for _ in range(3):
        buf = sample.copy()
        start = time.perf_counter()
        color._apply_in_thread(cpu, buf)
        best = min(best, time.perf_counter() - start)
    return best


@functools.lru_cache(maxsize=16)
def _bake(config_path: str, mtime: float, origin: str, src: str, display: str, view: str,
          size: int = LUT_SIZE) -> BakedDisplay:
    import PyOpenColorIO as ocio
    start = time.perf_counter()
    cfg = color._load_config(config_path, mtime, origin)
    exact = color._cpu_processor(config_path, mtime, origin, src, display, view, 0.0, 1.0)
    t = np.linspace(0.0, 1.0, size)
    if _is_scene_linear(cfg, src):
        kind, low, high = "scene-linear", 0.0, 2.0 ** LOG_MAX - 2.0 ** LOG_MIN
        axis = np.exp2(LOG_MIN + t * (LOG_MAX - LOG_MIN)) - 2.0 ** LOG_MIN
        shaper = ocio.LogAffineTransform()
        shaper.setBase(2.0)
        shaper.setLinSideOffsetValue([2.0 ** LOG_MIN] * 3)
        shaper.setLogSideSlopeValue([1.0 / (LOG_MAX - LOG_MIN)] * 3)
        shaper.setLogSideOffsetValue([-LOG_MIN / (LOG_MAX - LOG_MIN)] * 3)
    else:
        kind = "range"
        low, high = _encoded_range(cfg, src)
        axis = low + t * (high - low)
        scale = 1.0 / (high - low)
        shaper = ocio.MatrixTransform()
        shaper.setMatrix([scale, 0, 0, 0, 0, scale, 0, 0, 0, 0, scale, 0, 0, 0, 0, 1])
        shaper.setOffset([-low * scale] * 3 + [0.0])
    axis = axis.astype(np.float32)
    # Grid in OCIO's 3D-LUT order: red slowest, blue fastest.
    r, g, b = np.meshgrid(axis, axis, axis, indexing="ij")
    grid = np.stack([r, g, b], axis=-1).reshape(size * size, size, 3)
    values = color._apply(exact, grid)
    np.nan_to_num(values, copy=False, nan=0.0, posinf=1.0, neginf=0.0)
    lut = ocio.Lut3DTransform(gridSize=size)
    lut.setData(np.ascontiguousarray(values, dtype=np.float32).reshape(-1))
    lut.setInterpolation(ocio.INTERP_TETRAHEDRAL)
    try:
        cpu = cfg.getProcessor(ocio.GroupTransform([shaper, lut])).getDefaultCPUProcessor()
    except Exception as err:  # noqa: BLE001 - OCIO's own exception type
        reason = " ".join(str(err).split())[:200]
        raise ColorError(f"cannot bake the viewer LUT for {src!r} to display {display!r} view {view!r} "
                         f"({reason}); use the exact processor") from None
    speedup = _time_on(exact, grid[:size * 8]) / max(_time_on(cpu, grid[:size * 8]), 1e-9)
    uses_lut = speedup >= LUT_MIN_SPEEDUP
    return BakedDisplay(cpu if uses_lut else exact, kind, low, high, size, time.perf_counter() - start,
                        uses_lut, speedup)


def baked_display(colourspace: str, *, display: Optional[str] = None, view: Optional[str] = None,
                  config: Optional[str] = None) -> BakedDisplay:
    """The cached baked 3D LUT of colourspace -> display/view (made on first use)."""
    key, src, d, v = color._display_target(colourspace, display, view, config)
    return _bake(*key, src, d, v)


def _baked_display(frame: np.ndarray, colourspace: str, display: Optional[str], view: Optional[str],
                   exposure: float, config: Optional[str]) -> np.ndarray:
    """frame -> display/view through the baked LUT, exposure (stops) applied exactly in scene-linear."""
    baked = baked_display(colourspace, display=display, view=view, config=config)
    if exposure == 0.0:
        return color._apply(baked.cpu, frame)
    gain = np.float32(2.0 ** exposure)
    if baked.kind == "scene-linear":
        # A gain commutes with the matrix to the scene_linear role: same as exposure there.
        out = np.array(frame, dtype=np.float32, order="C", copy=True)
        out *= gain
        return color._apply(baked.cpu, out)
    cfg = color.get_config(config)
    if cfg.getColorSpace("scene_linear") is None:
        return color._apply(color.display_processor(colourspace, display=display, view=view, exposure=exposure,
                                        config=config), frame)
    # Log/other plates: exactly to scene_linear, exposure there, then the scene_linear LUT.
    linear = color.convert(frame, colourspace, "scene_linear", config=config)
    linear *= gain
    return _baked_display(linear, "scene_linear", display, view, 0.0, config)
