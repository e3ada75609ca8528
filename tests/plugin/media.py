"""Test media made on the spot: image sequences written with OpenImageIO and ProRes movies
encoded with PyAV, plus `assert_plate_untouched`. Every maker returns the exact pixel values
it wrote, so tests compare against known sources.

    pattern, pixels = make_exr_sequence(tmp_path, frames=3, h=32, w=48)   # 1001-1003
    rgb = make_prores(tmp_path / "clip.mov", frames=4, h=32, w=48, profile="422hq")
"""
from __future__ import annotations

import contextlib
import hashlib
import os
from pathlib import Path
from typing import Dict, Iterable, Optional, Sequence, Tuple

import numpy as np
import pytest


def source_image(h: int, w: int, seed: int = 0, channels: int = 3) -> np.ndarray:
    """A smooth, frame-distinct float32 HxWxC image in [0, 1] (ramps plus a soft blob)."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    u, v = xx / max(w - 1, 1), yy / max(h - 1, 1)
    phase = 0.37 * seed
    blob = np.exp(-(((u - 0.5 - 0.1 * np.sin(phase)) ** 2 + (v - 0.5) ** 2) / 0.05))
    planes = [0.05 + 0.9 * u, 0.05 + 0.9 * v, 0.1 + 0.8 * blob, 0.2 + 0.6 * (1 - u) * v]
    planes += [0.5 * (u + v)] * max(0, channels - len(planes))
    return np.clip(np.stack(planes[:channels], axis=-1), 0.0, 1.0).astype(np.float32)


def write_image(path, pixels: np.ndarray, *, dtype: str = "half", channels: Optional[Sequence[str]] = None,
                data_window: Optional[Tuple[int, int, int, int]] = None,
                display_window: Optional[Tuple[int, int, int, int]] = None,
                bits: Optional[int] = None, attributes: Optional[Dict[str, object]] = None) -> None:
    """Write one image with OpenImageIO.

    Args:
        pixels: float32 HxWxC, the data window's pixels.
        dtype: 'half', 'float', 'uint8', 'uint16'.
        channels: channel names (default R, G, B[, A] or Y).
        data_window / display_window: (x, y, width, height); default both = the pixels' size.
        bits: e.g. 10 for 10-bit DPX (stored as uint16 by OIIO).
        attributes: file metadata; a value may be (oiio.TypeDesc, value) for typed attributes.
    """
    import OpenImageIO as oiio
    pixels = np.asarray(pixels, np.float32)
    if pixels.ndim == 2:
        pixels = pixels[:, :, None]
    h, w, c = pixels.shape
    spec = oiio.ImageSpec(w, h, c, dtype)
    if channels is None:
        channels = {1: ["Y"], 2: ["Y", "A"], 3: ["R", "G", "B"], 4: ["R", "G", "B", "A"]}.get(
            c, [f"C{i}" for i in range(c)])
    spec.channelnames = tuple(channels)
    if "A" in channels:
        spec.alpha_channel = list(channels).index("A")
    if data_window is not None:
        spec.x, spec.y = data_window[0], data_window[1]
        assert (data_window[2], data_window[3]) == (w, h)
    if display_window is not None:
        spec.full_x, spec.full_y, spec.full_width, spec.full_height = display_window
    else:
        spec.full_x, spec.full_y, spec.full_width, spec.full_height = spec.x, spec.y, w, h
    if bits:
        spec.attribute("oiio:BitsPerSample", bits)
    for key, value in (attributes or {}).items():
        if isinstance(value, tuple) and len(value) == 2 and isinstance(value[0], oiio.TypeDesc):
            spec.attribute(key, value[0], value[1])     # (TypeDesc, value), e.g. a time code
        else:
            spec.attribute(key, value)
    out = oiio.ImageOutput.create(str(path))
    assert out is not None, oiio.geterror()
    assert out.open(str(path), spec), out.geterror()
    assert out.write_image(pixels), out.geterror()
    out.close()


def make_sequence(directory, frames: int = 3, h: int = 32, w: int = 48, *, first: int = 1001,
                  name: str = "shot", ext: str = "exr", padding: int = 4, dtype: str = "half",
                  channels: int = 3, pixels: Optional[np.ndarray] = None, **write_kwargs):
    """Write `name.<frame>.<ext>` for `frames` frames from `first`.

    Returns:
        (pattern with #### padding as str, float32 [T,H,W,C] of the values written).
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    if pixels is None:
        pixels = np.stack([source_image(h, w, seed=i, channels=channels) for i in range(frames)])
    for i in range(frames):
        path = directory / f"{name}.{first + i:0{padding}d}.{ext}"
        write_image(path, pixels[i], dtype=dtype, **write_kwargs)
    return str(directory / f"{name}.{'#' * padding}.{ext}"), pixels.astype(np.float32)


def make_exr_sequence(directory, frames: int = 3, h: int = 32, w: int = 48, first: int = 1001, **kw):
    """EXR sequence (half by default); see `make_sequence`."""
    return make_sequence(directory, frames, h, w, first=first, ext="exr", **kw)


def make_dpx_sequence(directory, frames: int = 3, h: int = 32, w: int = 48, first: int = 1001, **kw):
    """10-bit DPX sequence; see `make_sequence`."""
    kw.setdefault("dtype", "uint16")
    kw.setdefault("bits", 10)
    return make_sequence(directory, frames, h, w, first=first, ext="dpx", **kw)


def make_tiff_sequence(directory, frames: int = 3, h: int = 32, w: int = 48, first: int = 1001, **kw):
    """16-bit TIFF sequence; see `make_sequence`."""
    kw.setdefault("dtype", "uint16")
    return make_sequence(directory, frames, h, w, first=first, ext="tif", **kw)


def make_png_sequence(directory, frames: int = 3, h: int = 32, w: int = 48, first: int = 1001, **kw):
    """8-bit PNG sequence; see `make_sequence`."""
    kw.setdefault("dtype", "uint8")
    return make_sequence(directory, frames, h, w, first=first, ext="png", **kw)


def timecode_attribute(hh: int, mm: int, ss: int, ff: int):
    """An EXR/DPX `smpte:TimeCode` attribute value for `write_image(attributes=...)`."""
    import OpenImageIO as oiio
    bcd = lambda v: ((v // 10) << 4) | (v % 10)  # noqa: E731
    return (oiio.TypeTimeCode, ((bcd(hh) << 24) | (bcd(mm) << 16) | (bcd(ss) << 8) | bcd(ff), 0))


def fps_attribute(num: int, den: int = 1):
    """An EXR `FramesPerSecond` attribute value (rational)."""
    import OpenImageIO as oiio
    return (oiio.TypeRational, (num, den))


# --------------------------------------------------------------------------- movies

_PROFILES = {"422hq": ("HQ", "yuv422p10le"), "422": ("Standard", "yuv422p10le"),
             "4444": ("4444", "yuva444p10le")}


def rgb_to_yuv709_10bit(rgb: np.ndarray):
    """float R'G'B' HxWx3 in [0, 1] -> limited-range BT.709 10-bit Y, Cb, Cr code values (uint16)."""
    kr, kb = 0.2126, 0.0722
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    y = kr * r + (1 - kr - kb) * g + kb * b
    cb = (b - y) / (2 * (1 - kb))
    cr = (r - y) / (2 * (1 - kr))
    to = lambda v, off, rng: np.clip(np.round(off * 4 + rng * 4 * v), 0, 1023).astype(np.uint16)  # noqa: E731
    return to(y, 16, 219), to(cb, 128, 224), to(cr, 128, 224)


def _fill_plane(plane, values: np.ndarray) -> None:
    row = plane.line_size // 2
    buf = np.zeros((plane.height, row), "<u2")
    buf[:, :values.shape[1]] = values
    plane.update(buf.tobytes())


def make_prores(path, frames=4, h: int = 32, w: int = 48, *, profile: str = "422hq", fps: int = 24,
                alpha: Optional[np.ndarray] = None, timecode: Optional[str] = None) -> np.ndarray:
    """Encode a ProRes movie with PyAV from known R'G'B' pixels (BT.709 limited range, 10-bit).

    Args:
        frames: a count (test images are made) or float32 [T,H,W,3] values in [0, 1].
        profile: '422hq', '422' or '4444' (4444 carries `alpha` [T,H,W] if given, else opaque).
    Returns:
        float32 [T,H,W,3]: the R'G'B' values encoded (what a decoder should give back).
    """
    import av
    if isinstance(frames, int):
        rgb = np.stack([source_image(h, w, seed=i) for i in range(frames)])
    else:
        rgb = np.asarray(frames, np.float32)
    t, h, w = rgb.shape[:3]
    prof, pix_fmt = _PROFILES[profile]
    with contextlib.closing(av.open(str(path), "w")) as out:
        if timecode:
            out.metadata["timecode"] = timecode
        stream = out.add_stream("prores_ks", rate=fps)
        stream.width, stream.height, stream.pix_fmt = w, h, pix_fmt
        stream.codec_context.profile = prof
        stream.codec_context.colorspace = 1
        stream.codec_context.color_range = 1
        stream.codec_context.color_primaries = 1
        stream.codec_context.color_trc = 1
        for i in range(t):
            y, cb, cr = rgb_to_yuv709_10bit(rgb[i])
            vf = av.VideoFrame(w, h, pix_fmt)
            if pix_fmt == "yuv422p10le":
                # 4:2:2, chroma co-sited with the even luma columns
                cb, cr = cb[:, 0::2], cr[:, 0::2]
            _fill_plane(vf.planes[0], y)
            _fill_plane(vf.planes[1], cb)
            _fill_plane(vf.planes[2], cr)
            if pix_fmt == "yuva444p10le":
                a = np.ones((h, w), np.float32) if alpha is None else alpha[i]
                _fill_plane(vf.planes[3], np.clip(np.round(a * 1023), 0, 1023).astype(np.uint16))
            vf.pts = i
            vf.colorspace, vf.color_range = 1, 1
            for packet in stream.encode(vf):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return rgb


def make_audio_only_movie(path, seconds: float = 0.2) -> None:
    """A .mov holding only an audio stream (no picture)."""
    import av
    with contextlib.closing(av.open(str(path), "w")) as out:
        stream = out.add_stream("pcm_s16le", rate=48000)
        stream.layout = "mono"
        samples = int(48000 * seconds)
        frame = av.AudioFrame.from_ndarray(np.zeros((1, samples), np.int16), format="s16", layout="mono")
        frame.sample_rate = 48000
        frame.pts = 0
        for packet in stream.encode(frame):
            out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)


# --------------------------------------------------------------------------- assertions

def hash_files(paths: Iterable) -> Dict[str, str]:
    """{path: sha256} of each file."""
    return {str(p): hashlib.sha256(Path(p).read_bytes()).hexdigest() for p in paths}


def files_under(directory) -> Dict[str, str]:
    """{path: sha256} of every file below `directory`."""
    return hash_files(sorted(p for p in Path(directory).rglob("*") if p.is_file()))


@contextlib.contextmanager
def assert_plate_untouched(directory_or_paths):
    """Context manager: every file under the folder (or in the list) is byte-identical, and
    none added or removed among them, after the block."""
    if isinstance(directory_or_paths, (str, os.PathLike)) and Path(directory_or_paths).is_dir():
        before = files_under(directory_or_paths)
        after_fn = lambda: files_under(directory_or_paths)  # noqa: E731
    else:
        paths = [str(p) for p in directory_or_paths]
        before = hash_files(paths)
        after_fn = lambda: hash_files(p for p in paths if Path(p).exists())  # noqa: E731
    yield
    after = after_fn()
    assert after == before, "source plate changed: " + ", ".join(
        sorted(set(before) ^ set(after)) or [p for p in before if before[p] != after.get(p)])


@pytest.fixture(autouse=True)
def plates_untouched(monkeypatch):
    """Autouse where imported: every file any `plugin.plates.open` read in the test is
    byte-identical at the end of the test (hashed when the plate was opened)."""
    from plugin import plates
    opened: Dict[str, str] = {}
    real_open = plates.open

    def recording_open(*args, **kwargs):
        plate = real_open(*args, **kwargs)
        for path in plate.source_paths():
            if path not in opened and os.path.isfile(path):
                opened[path] = hashlib.sha256(Path(path).read_bytes()).hexdigest()
        return plate
    monkeypatch.setattr(plates, "open", recording_open)
    yield opened
    changed = changed_sources(opened)
    assert not changed, f"source plate files changed during the test: {changed}"


def changed_sources(opened: Dict[str, str]) -> list:
    """Paths among {path: sha256} that are gone or differ now."""
    return [p for p, digest in opened.items()
            if not os.path.isfile(p) or hashlib.sha256(Path(p).read_bytes()).hexdigest() != digest]
