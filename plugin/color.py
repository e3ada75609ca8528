"""Colour through OpenColorIO: which config, what a plate's colourspace probably is, the
network's input image, and the viewer's display image.

Config choice, read at call time (never at import): an explicit `config` argument (the shot's),
else `$OCIO`, else the settings file's `ocio_config`, else OCIO's built-in studio config
(`ocio://studio-config-latest`).

"What the network sees" (DESIGN): plate colourspace -> the config's default display and view
(or a chosen one) -> clamp to [0, 1]. Display-referred plates (sRGB/Rec.709 video encodings,
PNG/JPEG, ProRes) pass through unchanged. Processors are cached; pixels go through OCIO's CPU
processor on the whole float32 buffer at once. The network's image is always the exact processor.

The viewer's image (`display_frame`) goes through a baked display transform by default: for each
(config, colourspace, display, view) a 97^3 3D LUT is made once by evaluating the exact OCIO
processor on a grid, behind a shaper suited to the input (scene-linear: log2 over 10 stops
either side of mid-grey, 0.21 stops a grid step, a grid point on 1.0 where simple views clip;
log and other encodings: a straight map of their range), and applied with OCIO's tetrahedral 3D-LUT code. Exposure (before the view, in scene-linear) and gamma (after) stay
exact, outside the LUT. `display_frame(..., exact=True)` gives the exact processor's image.
"""
from __future__ import annotations

import difflib
import functools
import os
import threading
import time
from typing import Dict, List, Optional, Tuple

import numpy as np

from plugin.errors import ColorError

BUILTIN_CONFIG = "ocio://studio-config-latest"


# --------------------------------------------------------------------------- config

def config_source(config: Optional[str] = None) -> Tuple[str, str]:
    """(config path or URI, where it came from: 'argument' | '$OCIO' | 'settings' | 'built-in').

    The environment overrides the settings file, as for every other setting (DESIGN,
    Settings); a shot's own config is the argument and wins over both.
    """
    if config:
        return os.fspath(config), "argument"
    env = os.environ.get("OCIO", "").strip()
    if env:
        return env, "$OCIO"
    try:
        from plugin import settings
        chosen = settings.load().ocio_config
    except Exception:  # noqa: BLE001 - a broken settings file falls back to the built-in config
        chosen = None
    if chosen:
        return chosen, "settings"
    return BUILTIN_CONFIG, "built-in"


def _config_key(path: str) -> Tuple[str, float]:
    # A config file edited on disk is reloaded: its mtime is part of the cache key.
    try:
        return path, os.path.getmtime(path)
    except OSError:
        return path, 0.0


@functools.lru_cache(maxsize=8)
def _load_config(path: str, mtime: float, origin: str):
    import PyOpenColorIO as ocio
    if not path.startswith("ocio://") and not os.path.isfile(path):
        raise ColorError(f"OCIO config {path} (from {origin}) does not exist; fix the path or unset "
                         f"it to use OCIO's built-in studio config")
    try:
        cfg = ocio.Config.CreateFromFile(path)
        cfg.validate()
    except Exception as err:  # noqa: BLE001 - OCIO raises its own Exception type
        reason = " ".join(str(err).split())[:200]
        raise ColorError(f"OCIO config {path} (from {origin}) cannot be loaded ({reason}); fix it "
                         f"or unset it to use OCIO's built-in studio config") from None
    return cfg


def get_config(config: Optional[str] = None):
    """The OCIO config object in use (cached). Raises ColorError for a missing/broken config."""
    path, origin = config_source(config)
    return _load_config(*_config_key(path), origin)


def config_name(config: Optional[str] = None) -> str:
    """A short description of the config in use, for `info` and metadata."""
    path, origin = config_source(config)
    cfg = get_config(config)
    return f"{cfg.getName() or path} ({path}, {origin})"


# --------------------------------------------------------------------------- names

def _all_names(cfg) -> List[str]:
    names = []
    for cs in cfg.getColorSpaces():
        names.append(cs.getName())
        names.extend(cs.getAliases())
    names.extend(cfg.getRoleNames())
    return names


def resolve_colourspace(name: str, config: Optional[str] = None) -> str:
    """The config's own name for `name` (a colourspace, alias or role).

    Raises:
        ColorError: unknown name, with the closest names of the config.
    """
    cfg = get_config(config)
    cs = cfg.getColorSpace(name) if name else None
    if cs is None:
        by_lower = {}
        for n in _all_names(cfg):
            by_lower.setdefault(n.lower(), n)
        lowered = (name or "").lower()
        close = [by_lower[n] for n in difflib.get_close_matches(lowered, list(by_lower), n=4, cutoff=0.5)]
        close += [n for n in by_lower.values() if lowered and lowered in n.lower() and n not in close]
        close = close[:4]
        hint = f"did you mean {', '.join(repr(c) for c in close)}?" if close else \
            "run `matanyone-plugin info` to list the config's colourspaces"
        raise ColorError(f"colourspace {name!r} is not in the OCIO config {cfg.getName() or ''}; {hint}")
    return cs.getName()


def colourspaces(config: Optional[str] = None) -> List[str]:
    """Every colourspace name of the config."""
    return [cs.getName() for cs in get_config(config).getColorSpaces()]


def is_display_referred(colourspace: str, config: Optional[str] = None) -> bool:
    """True for plates already encoded for a display (SDR video/sRGB encodings, display-referred
    spaces) or raw data: these reach the network unchanged."""
    import PyOpenColorIO as ocio
    cfg = get_config(config)
    cs = cfg.getColorSpace(resolve_colourspace(colourspace, config))
    if cs.getReferenceSpaceType() == ocio.REFERENCE_SPACE_DISPLAY:
        return True
    return cs.getEncoding() in ("sdr-video", "data") or cs.isData()


def displays_and_views(config: Optional[str] = None) -> Dict[str, List[str]]:
    """{display: [views]} of the config, default display first."""
    cfg = get_config(config)
    default = cfg.getDefaultDisplay()
    names = [default] + [d for d in cfg.getDisplays() if d != default]
    return {d: list(cfg.getViews(d)) for d in names}


def default_display_view(config: Optional[str] = None, display: Optional[str] = None) -> Tuple[str, str]:
    cfg = get_config(config)
    d = display or cfg.getDefaultDisplay()
    return d, cfg.getDefaultView(d)


def _check_display_view(cfg, display: str, view: str) -> None:
    displays = list(cfg.getDisplays())
    if display not in displays:
        close = difflib.get_close_matches(display, displays, n=3, cutoff=0.3)
        raise ColorError(f"display {display!r} is not in the OCIO config; "
                         f"choose one of {', '.join(repr(d) for d in (close or displays))}")
    views = list(cfg.getViews(display))
    if view not in views:
        raise ColorError(f"view {view!r} is not offered for display {display!r}; "
                         f"choose one of {', '.join(repr(v) for v in views)}")


# --------------------------------------------------------------------------- guesses

def _first_known(cfg, candidates) -> Optional[str]:
    for name in candidates:
        cs = cfg.getColorSpace(name)
        if cs is not None:
            return cs.getName()
    return None


_SRGB = ("srgb_tx", "sRGB Encoded Rec.709 (sRGB)", "sRGB - Texture", "Utility - sRGB - Texture",
         "sRGB", "srgb", "texture_paint", "color_picking")
_VIDEO = ("g24_rec709", "rec709_display", "Gamma 2.4 Rec.709 - Texture", "Rec.1886 Rec.709 - Display",
          "Utility - Rec.709 - Display", "Rec.709", "rec709")
_LOG = ("compositing_log", "ACEScct", "arri_logc4", "ARRI LogC4", "logc3ei800_alexawide", "color_timing")
_CINEON = ("ADX10", "Input - ADX - ADX10", "cineon", "lg10")
# EXR chromaticities (red x, red y) -> colourspace candidates
_PRIMARIES = (((0.713, 0.293), ("ACEScg", "lin_ap1", "scene_linear")),
              ((0.7347, 0.2653), ("ACES2065-1", "lin_ap0", "aces_interchange")),
              ((0.64, 0.33), ("lin_rec709", "Linear Rec.709 (sRGB)", "scene_linear")))


def _fallback(cfg) -> str:
    return _first_known(cfg, ("scene_linear", "default")) or cfg.getColorSpaceNames()[0]


def _guess_scene_linear(cfg, plate) -> str:
    chroma = plate.metadata.get("chromaticities")
    if isinstance(chroma, tuple) and len(chroma) >= 2:
        for (rx, ry), candidates in _PRIMARIES:
            if abs(chroma[0] - rx) < 0.005 and abs(chroma[1] - ry) < 0.005:
                found = _first_known(cfg, candidates)
                if found:
                    return found
    if plate.metadata.get("acesImageContainerFlag"):
        found = _first_known(cfg, ("aces_interchange", "ACES2065-1"))
        if found:
            return found
    return _fallback(cfg)


def _by_file_rule(cfg, plate) -> Optional[str]:
    probe = f"plate{plate.extension}"
    if cfg.filepathOnlyMatchesDefaultRule(probe):
        return None
    found = cfg.getColorSpaceFromFilepath(probe)
    name = found[0] if isinstance(found, tuple) else found
    return name if name and cfg.getColorSpace(name) is not None else None


def _guess_log(cfg, plate) -> str:
    transfer = str(plate.metadata.get("dpx:Transfer", "")).lower()
    if "linear" == transfer:
        return _fallback(cfg)
    if "printing density" in transfer:
        found = _first_known(cfg, _CINEON)
        if found:
            return found
    if "709" in transfer or "video" in transfer:
        found = _first_known(cfg, _VIDEO)
        if found:
            return found
    return _by_file_rule(cfg, plate) or _first_known(cfg, _LOG) or _fallback(cfg)


def _guess_display(candidates):
    def guess(cfg, plate) -> str:
        return _first_known(cfg, candidates) or _fallback(cfg)
    return guess


def _guess_movie(cfg, plate) -> str:
    return _by_file_rule(cfg, plate) or _first_known(cfg, _VIDEO) or _first_known(cfg, _SRGB) or _fallback(cfg)


def _guess_tiff(cfg, plate) -> str:
    if plate.pixel_type in ("half", "float", "double"):
        return _guess_scene_linear(cfg, plate)
    return _first_known(cfg, _SRGB) or _fallback(cfg)


# Extension -> rule. EXR: scene-linear (chromaticities when present); DPX/Cineon: log per
# the file's transfer and the config's rules/roles; video and 8/16-bit stills: display-referred.
_GUESSES = {
    ".exr": _guess_scene_linear, ".sxr": _guess_scene_linear, ".hdr": _guess_scene_linear,
    ".dpx": _guess_log, ".cin": _guess_log,
    ".tif": _guess_tiff, ".tiff": _guess_tiff,
    ".png": _guess_display(_SRGB), ".jpg": _guess_display(_SRGB), ".jpeg": _guess_display(_SRGB),
    ".tga": _guess_display(_SRGB), ".sgi": _guess_display(_SRGB),
    ".mov": _guess_movie, ".mp4": _guess_movie, ".m4v": _guess_movie, ".mxf": _guess_movie,
    ".mkv": _guess_movie, ".avi": _guess_movie,
}


def guess_colourspace(plate, config: Optional[str] = None) -> str:
    """The colourspace a plate most likely is in, as a name of the config in use.

    A colourspace named in the file's own metadata wins when the config knows it.
    """
    cfg = get_config(config)
    for key in ("colorspace", "ColorSpace", "oiio:ColorSpace"):
        value = plate.metadata.get(key)
        if isinstance(value, str) and value and cfg.getColorSpace(value) is not None:
            # OIIO labels every 8-bit PNG/JPEG sRGB itself; that agrees with the rule anyway.
            return cfg.getColorSpace(value).getName()
    rule = _GUESSES.get(getattr(plate, "extension", ""), None)
    return rule(cfg, plate) if rule else _fallback(cfg)


# --------------------------------------------------------------------------- processors

@functools.lru_cache(maxsize=64)
def _cpu_processor(config_path: str, mtime: float, origin: str, src: str, display: str, view: str,
                   exposure: float, gamma: float):
    import PyOpenColorIO as ocio
    cfg = _load_config(config_path, mtime, origin)
    dvt = ocio.DisplayViewTransform(src=src, display=display, view=view)
    try:
        if exposure == 0.0 and gamma == 1.0:
            proc = cfg.getProcessor(dvt)
        else:
            pipe = ocio.LegacyViewingPipeline()
            pipe.setDisplayViewTransform(dvt)
            if exposure != 0.0:
                pipe.setLinearCC(ocio.ExposureContrastTransform(exposure=exposure, pivot=0.18,
                                                                style=ocio.EXPOSURE_CONTRAST_LINEAR))
            if gamma != 1.0:
                pipe.setDisplayCC(ocio.ExposureContrastTransform(gamma=1.0 / gamma, pivot=1.0,
                                                                 style=ocio.EXPOSURE_CONTRAST_VIDEO))
            proc = pipe.getProcessor(cfg)
    except Exception as err:  # noqa: BLE001 - OCIO's own exception type
        reason = " ".join(str(err).split())[:200]
        raise ColorError(f"OCIO cannot convert {src!r} to display {display!r} view {view!r} "
                         f"({reason}); choose another display/view or colourspace") from None
    return proc.getDefaultCPUProcessor()


@functools.lru_cache(maxsize=64)
def _cpu_pair_cached(config_path, mtime, origin, src, dst):
    cfg = _load_config(config_path, mtime, origin)
    return cfg.getProcessor(src, dst).getDefaultCPUProcessor()


_POOL = None
_POOL_LOCK = threading.Lock()
_PARALLEL_MIN_PIXELS = 1 << 16


def _pool():
    """Threads for big frames: OCIO releases the GIL while it works, so bands of rows run in
    parallel (made on first use, never at import)."""
    global _POOL
    with _POOL_LOCK:
        if _POOL is None:
            from concurrent.futures import ThreadPoolExecutor
            _POOL = ThreadPoolExecutor(max_workers=max(1, min(8, os.cpu_count() or 1)),
                                       thread_name_prefix="ocio")
        return _POOL


_SIMD_PROBE = np.ones(64, np.float32)


def _reset_vector_state() -> None:
    """Clear the CPU's wide-register state in this thread before OCIO runs.

    OpenImageIO's readers return with the upper halves of the AVX registers marked in use; OCIO's
    SSE code then pays a penalty on every instruction until an AVX routine clears them
    (VZEROUPPER): the ACES 2.0 view of a 512x288 frame took 0.55 s right after a plate read
    instead of 0.08 s. numpy's AVX loops end with that instruction; this one costs a microsecond.
    """
    np.minimum.reduce(_SIMD_PROBE)


def _apply_in_thread(cpu, buffer: np.ndarray) -> None:
    _reset_vector_state()
    cpu.applyRGB(buffer)


def _apply(cpu, frame: np.ndarray, parallel: bool = True) -> np.ndarray:
    out = np.array(frame, dtype=np.float32, order="C", copy=True)
    if out.ndim != 3 or out.shape[2] != 3:
        raise ValueError(f"expected an HxWx3 frame, got shape {out.shape}")
    workers = min(8, os.cpu_count() or 1) if parallel else 1
    if workers < 2 or out.shape[0] * out.shape[1] < _PARALLEL_MIN_PIXELS or out.shape[0] < 2 * workers:
        _apply_in_thread(cpu, out)  # in place, whole buffer
        return out
    bands = np.array_split(out, 2 * workers, axis=0)   # row bands of a C-contiguous array: contiguous views
    for _ in _pool().map(functools.partial(_apply_in_thread, cpu), bands):
        pass
    return out


def convert(frame: np.ndarray, src: str, dst: str, *, config: Optional[str] = None) -> np.ndarray:
    """Colourspace -> colourspace (float32 HxWx3, not clamped)."""
    path, origin = config_source(config)
    get_config(config)
    src, dst = resolve_colourspace(src, config), resolve_colourspace(dst, config)
    return _apply(_cpu_pair_cached(*_config_key(path), origin, src, dst), frame)


def display_processor(colourspace: str, *, display: Optional[str] = None, view: Optional[str] = None,
                      exposure: float = 0.0, gamma: float = 1.0, config: Optional[str] = None):
    """The cached OCIO CPU processor: colourspace -> display/view (with viewer exposure in
    stops and display gamma)."""
    key, src, d, v = _display_target(colourspace, display, view, config)
    return _cpu_processor(*key, src, d, v, float(exposure), float(gamma))


def _display_target(colourspace: str, display: Optional[str], view: Optional[str], config: Optional[str]):
    """(config cache key, source colourspace, display, view), checked: what every display path needs."""
    path, origin = config_source(config)
    cfg = get_config(config)
    src = resolve_colourspace(colourspace, config)
    d, v = default_display_view(config, display)
    v = view or v
    _check_display_view(cfg, d, v)
    return (*_config_key(path), origin), src, d, v


def to_network_input(frame: np.ndarray, colourspace: str, *, config: Optional[str] = None,
                     display: Optional[str] = None, view: Optional[str] = None,
                     fast: bool = False, parallel: bool = True) -> np.ndarray:
    """The image the network sees.

    Args:
        frame: float32 HxWx3 plate pixels in `colourspace`.
        colourspace: the plate's colourspace (name, alias or role of the config).
        display, view: the OCIO display/view (default: the config's default).
        fast: opt-in baked 3D LUT instead of the exact processor (see `display_frame`); the
            pipeline keeps the default, exact.
        parallel: split a large frame over a pool of threads; False works in the calling thread
            (the job's readers, which are parallel over frames already).
    Returns:
        float32 HxWx3 in [0, 1]: display-referred plates unchanged (clamped) whatever the
        display/view, others through the display/view transform, then clamped.
    """
    if is_display_referred(colourspace, config):
        if display is not None or view is not None:
            display_processor(colourspace, display=display, view=view, config=config)  # still checked
        out = np.array(frame, dtype=np.float32, order="C", copy=True)
    elif fast:
        out = _baked_display(frame, colourspace, display, view, 0.0, config)
    else:
        out = _apply(display_processor(colourspace, display=display, view=view, config=config), frame, parallel)
    np.nan_to_num(out, copy=False, nan=0.0, posinf=1.0, neginf=0.0)
    np.clip(out, 0.0, 1.0, out=out)
    return out


def display_frame(frame: np.ndarray, colourspace: str, display: Optional[str] = None,
                  view: Optional[str] = None, exposure: float = 0.0, gamma: float = 1.0,
                  config: Optional[str] = None, *, exact: bool = False
                  ) -> Tuple[np.ndarray, Dict[str, List[str]]]:
    """The viewer's image: plate -> display/view with exposure (stops) and gamma, clamped.

    By default through the baked 3D LUT of the display/view (fast enough to scrub 1080p;
    within about 1/255 of the exact processor for ordinary pixels, see README.md, "Colour");
    `exact=True` uses OCIO's exact processor (slow for views such as ACES 2.0).

    Returns:
        (float32 HxWx3 in [0, 1], {display: [views]} of the config).
    """
    if is_display_referred(colourspace, config):
        # Already display-ready (what the network gets too): exposure and gamma only.
        if display is not None or view is not None:
            display_processor(colourspace, display=display, view=view, config=config)  # still checked
        out = np.array(frame, dtype=np.float32, order="C", copy=True)
        if exposure:
            out *= np.float32(2.0 ** exposure)
        if gamma != 1.0:
            np.clip(out, 0.0, None, out=out)
            np.power(out, np.float32(1.0 / gamma), out=out)
    elif exact:
        out = _apply(display_processor(colourspace, display=display, view=view, exposure=exposure,
                                       gamma=gamma, config=config), frame)
    else:
        out = _baked_display(frame, colourspace, display, view, float(exposure), config)
        if gamma != 1.0:
            np.clip(out, 0.0, None, out=out)
            np.power(out, np.float32(1.0 / gamma), out=out)
    np.nan_to_num(out, copy=False, nan=0.0, posinf=1.0, neginf=0.0)
    np.clip(out, 0.0, 1.0, out=out)
    return out, displays_and_views(config)


# --------------------------------------------------------------------------- baked display LUT

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
        _apply_in_thread(cpu, buf)
        best = min(best, time.perf_counter() - start)
    return best


@functools.lru_cache(maxsize=16)
def _bake(config_path: str, mtime: float, origin: str, src: str, display: str, view: str,
          size: int = LUT_SIZE) -> BakedDisplay:
    import PyOpenColorIO as ocio
    start = time.perf_counter()
    cfg = _load_config(config_path, mtime, origin)
    exact = _cpu_processor(config_path, mtime, origin, src, display, view, 0.0, 1.0)
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
    values = _apply(exact, grid)
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
    key, src, d, v = _display_target(colourspace, display, view, config)
    return _bake(*key, src, d, v)


def _baked_display(frame: np.ndarray, colourspace: str, display: Optional[str], view: Optional[str],
                   exposure: float, config: Optional[str]) -> np.ndarray:
    """frame -> display/view through the baked LUT, exposure (stops) applied exactly in scene-linear."""
    baked = baked_display(colourspace, display=display, view=view, config=config)
    if exposure == 0.0:
        return _apply(baked.cpu, frame)
    gain = np.float32(2.0 ** exposure)
    if baked.kind == "scene-linear":
        # A gain commutes with the matrix to the scene_linear role: same as exposure there.
        out = np.array(frame, dtype=np.float32, order="C", copy=True)
        out *= gain
        return _apply(baked.cpu, out)
    cfg = get_config(config)
    if cfg.getColorSpace("scene_linear") is None:
        return _apply(display_processor(colourspace, display=display, view=view, exposure=exposure,
                                        config=config), frame)
    # Log/other plates: exactly to scene_linear, exposure there, then the scene_linear LUT.
    linear = convert(frame, colourspace, "scene_linear", config=config)
    linear *= gain
    return _baked_display(linear, "scene_linear", display, view, 0.0, config)
