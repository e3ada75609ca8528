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
exact, outside the LUT (`plugin.color_lut`). Colourspace guesses live in `plugin.color_guess`. `display_frame(..., exact=True)` gives the exact processor's image.
"""
from __future__ import annotations

import difflib
import functools
import os
import threading
from typing import Callable, Dict, List, Optional, Tuple

import numpy as np

from plugin.color_guess import guess_colourspace
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
    from plugin import settings
    chosen = settings.current().ocio_config  # a broken settings file is its one-line error
    if chosen:
        return chosen, "settings"
    return BUILTIN_CONFIG, "built-in"


# How each origin of `config_source` reads in messages: an explicit config is the shot's own
# (from the shot file, or --ocio-config that writes it there).
_ORIGIN_LABELS = {"argument": "the shot file or --ocio-config", "$OCIO": "$OCIO",
                  "settings": "the settings file", "built-in": "OCIO's built-in configs"}


def _config_key(path: str) -> Tuple[str, float]:
    # A config file edited on disk is reloaded: its mtime is part of the cache key.
    try:
        return path, os.path.getmtime(path)
    except OSError:
        return path, 0.0


@functools.lru_cache(maxsize=8)
def _load_config(path: str, mtime: float, origin: str):
    import PyOpenColorIO as ocio
    where = _ORIGIN_LABELS.get(origin, origin)
    if not path.startswith("ocio://") and os.path.isdir(path):
        inside = sorted(n for n in os.listdir(path) if n.lower().endswith(".ocio"))[:3]
        hint = f" (it holds {', '.join(inside)})" if inside else ""
        raise ColorError(f"OCIO config {path} (from {where}) is a folder, not a config file{hint}; "
                         f"give the .ocio file itself")
    if not path.startswith("ocio://") and not os.path.isfile(path):
        raise ColorError(f"OCIO config {path} (from {where}) does not exist; fix the path or unset "
                         f"it to use OCIO's built-in studio config")
    try:
        cfg = ocio.Config.CreateFromFile(path)
        cfg.validate()
    except Exception as err:  # noqa: BLE001 - OCIO raises its own Exception type
        reason = " ".join(str(err).split())[:160]
        raise ColorError(f"OCIO config {path} (from {where}) cannot be loaded ({reason}); fix it "
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
    return f"{cfg.getName() or path} ({path}, from {_ORIGIN_LABELS.get(origin, origin)})"


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
    _in_bands(functools.partial(_apply_in_thread, cpu), out, parallel)
    return out


def _in_bands(fn: Callable[[np.ndarray], None], out: np.ndarray, parallel: bool) -> None:
    """Run an in-place per-pixel `fn` over `out`: whole in this thread, or in row bands on the
    pool when `parallel` and the frame is big."""
    workers = min(8, os.cpu_count() or 1) if parallel else 1
    if workers < 2 or out.shape[0] * out.shape[1] < _PARALLEL_MIN_PIXELS or out.shape[0] < 2 * workers:
        fn(out)  # in place, whole buffer
        return
    bands = np.array_split(out, 2 * workers, axis=0)   # row bands of a C-contiguous array: contiguous views
    for _ in _pool().map(fn, bands):
        pass


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
    convert = network_input_bands(colourspace, config=config, display=display, view=view, fast=fast)
    out = np.array(frame, dtype=np.float32, order="C", copy=True)
    _in_bands(convert, out, parallel)
    return out


def network_input_bands(colourspace: str, *, config: Optional[str] = None, display: Optional[str] = None,
                        view: Optional[str] = None, fast: bool = False) -> Callable[[np.ndarray], None]:
    """`to_network_input` as an in-place function of any C-contiguous float32 band of rows of a
    frame: every step works pixel by pixel, so a frame converted band by band is the same bits
    as converted whole (the job's readers share a frame's bands with the engine's thread)."""
    if is_display_referred(colourspace, config):
        if display is not None or view is not None:
            display_processor(colourspace, display=display, view=view, config=config)  # still checked
        transform = None
    elif fast:
        from plugin import color_lut
        transform = functools.partial(_apply_in_thread, color_lut.baked_display(
            colourspace, display=display, view=view, config=config).cpu)
    else:
        transform = functools.partial(_apply_in_thread, display_processor(colourspace, display=display,
                                                                          view=view, config=config))

    def convert(band: np.ndarray) -> None:
        if transform is not None:
            if band.ndim != 3 or band.shape[2] != 3:
                raise ValueError(f"expected an HxWx3 frame, got shape {band.shape}")
            transform(band)
        np.nan_to_num(band, copy=False, nan=0.0, posinf=1.0, neginf=0.0)
        np.clip(band, 0.0, 1.0, out=band)
    return convert


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
        from plugin import color_lut
        out = color_lut._baked_display(frame, colourspace, display, view, float(exposure), config)
        if gamma != 1.0:
            np.clip(out, 0.0, None, out=out)
            np.power(out, np.float32(1.0 / gamma), out=out)
    np.nan_to_num(out, copy=False, nan=0.0, posinf=1.0, neginf=0.0)
    np.clip(out, 0.0, 1.0, out=out)
    return out, displays_and_views(config)


def __getattr__(name):
    """The viewer LUT's public names live in `plugin.color_lut`; they stay reachable here."""
    if name in ("BakedDisplay", "baked_display", "LUT_SIZE"):
        from plugin import color_lut
        return getattr(color_lut, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
