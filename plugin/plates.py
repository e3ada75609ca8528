"""Plates in: image sequences (EXR, DPX, TIFF, PNG, JPEG via OpenImageIO) and movies
(ProRes and other PyAV-decodable video in .mov/.mp4/.mxf), read one frame at a time as
float32 RGB at display-window size. A suffix registry picks the reader.

    with plates.open("plates/sh010.####.exr") as plate:
        rgb = plate.read(plate.first)        # float32 HxWx3, source frame numbers

Never writes anything: plates are read-only here.
"""
from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from fractions import Fraction
from typing import Callable, Dict, List, Optional, Tuple

import numpy as np

from plugin import framepattern
from plugin.errors import PlateError


@dataclass(frozen=True)
class Window:
    """A pixel rectangle in image coordinates (x right, y down), as EXR windows are."""

    x: int
    y: int
    width: int
    height: int

    def as_tuple(self) -> Tuple[int, int, int, int]:
        return (self.x, self.y, self.width, self.height)


class Plate:
    """What every reader offers; see `open`.

    Attributes:
        path: the pattern (`shot.####.exr`) or movie path as given.
        frames: source frame numbers, ascending, no gaps.
        width, height: display-window size (what `read` returns).
        display_window, data_window: `Window`s (equal for movies).
        channels: channel names of the file (e.g. ('R', 'G', 'B', 'A')).
        pixel_type: 'half', 'float', 'uint8', 'uint10', 'uint12', 'uint16', ...
        fps: frames per second (float) or None; timecode: 'HH:MM:SS:FF' or None.
        metadata: a dict of the first frame's file attributes (strings and numbers).
    """

    is_movie = False

    def __init__(self):
        self.path = ""
        self.frames: List[int] = []
        self.width = self.height = 0
        self.display_window = self.data_window = Window(0, 0, 0, 0)
        self.channels: Tuple[str, ...] = ()
        self.pixel_type = ""
        self.fps: Optional[float] = None
        self.timecode: Optional[str] = None
        self.metadata: Dict[str, object] = {}
        self.extension = ""
        self._colourspace_guess: Optional[str] = None

    @property
    def first(self) -> int:
        return self.frames[0]

    @property
    def last(self) -> int:
        return self.frames[-1]

    @property
    def colourspace_guess(self) -> str:
        """The colourspace name the plate most likely is in (current OCIO config)."""
        if self._colourspace_guess is None:
            from plugin import color
            self._colourspace_guess = color.guess_colourspace(self)
        return self._colourspace_guess

    def source_paths(self) -> List[str]:
        """Every file the plate reads (writers refuse to write over these)."""
        raise NotImplementedError

    def read(self, frame: int) -> np.ndarray:
        """Source frame `frame` as float32 HxWx3 RGB at display-window size."""
        raise NotImplementedError

    def read_alpha(self, frame: int) -> np.ndarray:
        """Source frame `frame`'s alpha (A, or the single channel) as float32 HxW."""
        raise NotImplementedError

    def close(self) -> None:
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _check_frame(self, frame: int) -> None:
        if frame not in self._frame_set:
            raise PlateError(
                f"{self.path}: frame {frame} is outside the plate ({self.first}-{self.last}); "
                f"pick a frame in that range")

    @property
    def _frame_set(self):
        cached = getattr(self, "_frames_cache", None)
        if cached is None or cached[0] is not self.frames:
            cached = (self.frames, frozenset(self.frames))
            self._frames_cache = cached
        return cached[1]

    def describe(self) -> List[Tuple[str, str]]:
        """(label, value) rows for `matanyone-plugin info`."""
        dw, dd = self.display_window, self.data_window
        rows = [
            ("plate", self.path),
            ("kind", "movie" if self.is_movie else "image sequence"),
            ("frames", f"{self.first}-{self.last} ({len(self.frames)} frames)"),
            ("size", f"{self.width}x{self.height}"),
            ("display window", f"x {dw.x} y {dw.y} {dw.width}x{dw.height}"),
            ("data window", f"x {dd.x} y {dd.y} {dd.width}x{dd.height}"),
            ("channels", ", ".join(self.channels)),
            ("pixel type", self.pixel_type),
            ("fps", f"{self.fps:g}" if self.fps else "unknown"),
            ("timecode", self.timecode or "unknown"),
        ]
        if self.is_movie:
            rows.insert(2, ("codec", str(self.metadata.get("codec", "unknown"))))
        return rows


# --------------------------------------------------------------------------- image sequences

_RGB_NAMES = (("r", "red"), ("g", "green"), ("b", "blue"))
_ALPHA_NAMES = ("a", "alpha")


def _pixel_type(spec) -> str:
    name = str(spec.format)
    bits = spec.get_int_attribute("oiio:BitsPerSample", 0)
    if name.startswith("uint") and bits and bits not in (8, 16, 32):
        return f"uint{bits}"
    return name


def _timecode_string(value) -> Optional[str]:
    """EXR/DPX SMPTE time codes come as a BCD-packed int pair; strings pass through."""
    if value is None:
        return None
    if isinstance(value, str):
        return value or None
    try:
        packed = int(value[0]) if isinstance(value, (tuple, list)) else int(value)
    except (TypeError, ValueError, IndexError):
        return None
    if packed in (0, 0xFFFFFFFF):
        return None
    def bcd(shift, mask):
        v = (packed >> shift) & mask
        return (v >> 4) * 10 + (v & 0xF)
    hh, mm, ss, ff = bcd(24, 0x3F), bcd(16, 0x7F), bcd(8, 0x7F), bcd(0, 0x3F)
    return f"{hh:02d}:{mm:02d}:{ss:02d}:{ff:02d}"


def _fps_of(spec) -> Optional[float]:
    for key in ("FramesPerSecond", "dpx:FrameRate", "Exif:FrameRate"):
        value = spec.getattribute(key)
        if value is None:
            continue
        try:
            if isinstance(value, (tuple, list)) and len(value) == 2:
                fps = float(Fraction(int(value[0]), int(value[1])))
            elif isinstance(value, str):
                fps = float(Fraction(value.strip()))
            else:
                fps = float(value)
        except (TypeError, ValueError, ZeroDivisionError):
            continue
        if fps > 0 and np.isfinite(fps):
            return fps
    return None


def _plain_metadata(spec) -> Dict[str, object]:
    out: Dict[str, object] = {}
    for attr in spec.extra_attribs:
        value = attr.value
        if isinstance(value, (str, int, float)):
            out[attr.name] = value
        elif isinstance(value, (tuple, list)) and len(value) <= 16:
            out[attr.name] = tuple(value)
    return out


def _find_channel(names: List[str], wanted, layer: Optional[str] = None) -> Optional[int]:
    """Index of the channel named one of `wanted` (case-insensitive), in `layer` if given
    (`beauty.R` is channel R of layer beauty; '' is the unnamed layer)."""
    lowered = [n.lower() for n in names]
    for w in wanted:
        for i, n in enumerate(lowered):
            head, _, tail = n.rpartition(".")
            if tail == w and (layer is None and head == "" or layer is not None and head == layer):
                return i
    return None


def _layers(names: List[str]) -> List[str]:
    """Layer prefixes in file order ('' first when there are unlayered channels)."""
    out: List[str] = []
    for n in names:
        head = n.lower().rpartition(".")[0]
        if head not in out:
            out.append(head)
    return sorted(out, key=lambda h: (h != "", out.index(h)))


def _pick_rgb(names: List[str]) -> Optional[List[int]]:
    """R, G, B of the unlayered channels, else of the first layer that has all three."""
    for layer in _layers(names):
        found = [_find_channel(names, w, layer) for w in _RGB_NAMES]
        if None not in found:
            return found
    return None


def _pick_alpha(names: List[str]) -> Optional[int]:
    for layer in _layers(names):
        found = _find_channel(names, _ALPHA_NAMES, layer)
        if found is not None:
            return found
    return None


class ImageSequencePlate(Plate):
    """A sequence of still images read through OpenImageIO."""

    def __init__(self, pattern: framepattern.FramePattern, files: Dict[int, str], given: str):
        super().__init__()
        import OpenImageIO as oiio
        self._oiio = oiio
        self.pattern = pattern
        self.path = given
        self.frames = sorted(files)
        self._files = files
        self.extension = pattern.extension
        spec = self._spec_of(self.first)
        self._spec0 = spec
        self.display_window = Window(spec.full_x, spec.full_y, spec.full_width, spec.full_height)
        self.data_window = Window(spec.x, spec.y, spec.width, spec.height)
        self.width, self.height = spec.full_width, spec.full_height
        self.channels = tuple(spec.channelnames)
        self.pixel_type = _pixel_type(spec)
        self.fps = _fps_of(spec)
        self.timecode = _timecode_string(spec.getattribute("smpte:TimeCode"))
        self.metadata = _plain_metadata(spec)

    def frame_path(self, frame: int) -> str:
        return self._files[frame]

    def source_paths(self) -> List[str]:
        return [self._files[f] for f in self.frames]

    def _spec_of(self, frame: int):
        path = self._files[frame]
        inp = self._oiio.ImageInput.open(path)
        if inp is None:
            raise PlateError(f"{path}: frame {frame} cannot be read ({_oiio_error(self._oiio, path)}); "
                             f"re-render or replace this frame")
        try:
            return inp.spec()
        finally:
            inp.close()

    def _read_pixels(self, frame: int, want_alpha: bool) -> np.ndarray:
        self._check_frame(frame)
        oiio = self._oiio
        path = self._files[frame]
        inp = oiio.ImageInput.open(path)
        if inp is None:
            raise PlateError(f"{path}: frame {frame} cannot be read ({_oiio_error(oiio, path)}); "
                             f"re-render or replace this frame")
        try:
            spec = inp.spec()
            s0 = self._spec0
            if (spec.full_width, spec.full_height) != (s0.full_width, s0.full_height):
                raise PlateError(
                    f"{path}: frame {frame} is {spec.full_width}x{spec.full_height} but the plate "
                    f"is {s0.full_width}x{s0.full_height}; re-render the frame at the plate's size")
            names = list(spec.channelnames)
            picks = self._channels_to_read(path, frame, names, want_alpha)
            lo, hi = min(picks), max(picks) + 1
            pixels = inp.read_image(0, 0, lo, hi, "float")
            if pixels is None:
                raise PlateError(f"{path}: frame {frame} is damaged ({_oiio_error(inp, path)}); "
                                 f"re-render or replace this frame")
            pixels = np.asarray(pixels, dtype=np.float32).reshape(spec.height, spec.width, hi - lo)
            pixels = pixels[:, :, [p - lo for p in picks]]
            return _place_in_display(pixels, spec)
        finally:
            inp.close()

    def _channels_to_read(self, path, frame, names, want_alpha) -> List[int]:
        if want_alpha:
            if len(names) == 1:
                return [0]
            a = _pick_alpha(names)
            if a is not None:
                return [a]
            found = _pick_rgb(names)
            if found is not None:
                return found        # a grey RGB matte: accepted only if R == G == B (checked after reading)
            raise PlateError(f"{path}: frame {frame} has no alpha channel (channels "
                             f"{', '.join(names)}); give a matte with an A channel or one channel")
        if len(names) < 3:
            raise PlateError(
                f"{path}: frame {frame} has {len(names)} channel(s) ({', '.join(names)}), "
                f"not a colour plate; give an RGB or RGBA plate")
        found = _pick_rgb(names)
        if found is None:
            raise PlateError(
                f"{path}: frame {frame} has no R, G, B channels (channels {', '.join(names[:8])}); "
                f"give a plate with RGB colour channels")
        return found

    def read(self, frame: int) -> np.ndarray:
        return self._read_pixels(frame, want_alpha=False)

    def read_alpha(self, frame: int) -> np.ndarray:
        pixels = self._read_pixels(frame, want_alpha=True)
        if pixels.shape[2] == 3:
            if not (np.array_equal(pixels[:, :, 0], pixels[:, :, 1])
                    and np.array_equal(pixels[:, :, 0], pixels[:, :, 2])):
                raise PlateError(f"{self._files[frame]}: frame {frame} has colour but no alpha channel; "
                                 f"give a matte with an A channel, one channel, or grey RGB")
        return np.ascontiguousarray(pixels[:, :, 0])


def _place_in_display(pixels: np.ndarray, spec) -> np.ndarray:
    """Data-window pixels -> a display-window-sized buffer (zeros outside the data window;
    overscan outside the display window is dropped)."""
    dx, dy, dw, dh = spec.full_x, spec.full_y, spec.full_width, spec.full_height
    if (spec.x, spec.y, spec.width, spec.height) == (dx, dy, dw, dh):
        return np.ascontiguousarray(pixels)
    out = np.zeros((dh, dw, pixels.shape[2]), np.float32)
    x0, y0 = max(spec.x, dx), max(spec.y, dy)
    x1, y1 = min(spec.x + spec.width, dx + dw), min(spec.y + spec.height, dy + dh)
    if x1 > x0 and y1 > y0:
        out[y0 - dy:y1 - dy, x0 - dx:x1 - dx] = pixels[y0 - spec.y:y1 - spec.y, x0 - spec.x:x1 - spec.x]
    return out


def _oiio_error(obj, path: str = "") -> str:
    """OIIO's error text, shortened: without the file path it repeats, each line once."""
    try:
        msg = str(obj.geterror())
    except Exception:  # noqa: BLE001 - only for the message text
        msg = ""
    parts = []
    for line in msg.replace("EXR Error", "\n").splitlines():
        line = line.replace(f"({path}):", "").replace(path, "").strip(" :") if path else line.strip()
        line = " ".join(line.split())
        if line and line not in parts:
            parts.append(line)
    return "; ".join(parts)[:160] or "unreadable file"


def _open_sequence(given: str, frame_range: Optional[Tuple[int, int]]) -> ImageSequencePlate:
    try:
        pattern = framepattern.parse(given)
    except ValueError:
        pattern = None
    if pattern is None:  # a single still with no frame number: a one-frame plate numbered 1
        if not os.path.isfile(given):
            raise PlateError(f"{given}: no such file; check the path")
        pattern = framepattern.FramePattern(os.path.dirname(given), os.path.basename(given), "", 0)
        return _checked_sequence(pattern, {1: given}, given)
    if not framepattern.has_token(given) and not os.path.exists(given):
        raise PlateError(f"{given}: no such file; check the path, or give the sequence as "
                         f"{pattern.display}")
    if pattern.directory and not os.path.isdir(pattern.directory):
        raise PlateError(f"{given}: the folder {pattern.directory} does not exist; check the path")
    files = pattern.scan()
    if not files:
        raise PlateError(f"{given}: no frames found matching {pattern.display}; check the path "
                         f"and the number of # (padding)")
    if frame_range is not None:
        first, last = frame_range
        present = {f: p for f, p in files.items() if first <= f <= last}
        wanted = range(first, last + 1)
    else:
        present = files
        wanted = range(min(files), max(files) + 1)
    missing = [f for f in wanted if f not in present]
    if missing:
        raise PlateError(
            f"{pattern.display}: missing frame(s) {framepattern.compact_ranges(missing)} in "
            f"{wanted.start}-{wanted.stop - 1}; render or copy them, or choose a range without gaps")
    return _checked_sequence(pattern, present, given)


def _checked_sequence(pattern, files, given) -> ImageSequencePlate:
    for path in (files[min(files)],):
        try:
            size = os.path.getsize(path)
        except OSError:
            raise PlateError(f"{path}: cannot be read; check permissions") from None
        if size == 0:
            raise PlateError(f"{path}: the file is empty (0 bytes); re-render or copy it again")
    return ImageSequencePlate(pattern, files, given)


# --------------------------------------------------------------------------- movies

# BT.601 / BT.709 / BT.2020 (non-constant luminance) luma coefficients (Kr, Kb), keyed by
# the FFmpeg colorspace code (AVColorSpace). Unspecified means BT.709 for HD ProRes.
_MATRICES = {1: (0.2126, 0.0722), 5: (0.299, 0.114), 6: (0.299, 0.114), 9: (0.2627, 0.0593)}
_BT709 = (0.2126, 0.0722)

# Planar Y'CbCr pixel formats decoded by hand at full precision:
# name -> (bits, chroma x subsampling shift, chroma y subsampling shift, has alpha)
_YUV_FORMATS = {
    "yuv420p": (8, 1, 1, False), "yuvj420p": (8, 1, 1, False),
    "yuv422p": (8, 1, 0, False), "yuvj422p": (8, 1, 0, False),
    "yuv444p": (8, 0, 0, False), "yuvj444p": (8, 0, 0, False),
    "yuv420p10le": (10, 1, 1, False), "yuv422p10le": (10, 1, 0, False),
    "yuv444p10le": (10, 0, 0, False), "yuva444p10le": (10, 0, 0, True),
    "yuv422p12le": (12, 1, 0, False), "yuv444p12le": (12, 0, 0, False),
    "yuva444p12le": (12, 0, 0, True), "yuv444p16le": (16, 0, 0, False),
    "yuva422p10le": (10, 1, 0, True), "yuva444p16le": (16, 0, 0, True),
}


def _plane(frame, index: int, bits: int) -> np.ndarray:
    plane = frame.planes[index]
    dtype = np.dtype(np.uint8) if bits <= 8 else np.dtype("<u2")
    item = dtype.itemsize
    raw = np.frombuffer(plane, dtype=np.uint8).reshape(plane.height, plane.line_size)
    raw = raw[:, :plane.width * item]
    return np.ascontiguousarray(raw).view(dtype).astype(np.float32)


def _upsample_chroma(c: np.ndarray, sx: int, sy: int, width: int, height: int) -> np.ndarray:
    """Chroma to luma size: horizontally co-sited (MPEG-2/ProRes siting), linear between samples."""
    if sx:
        out = np.empty((c.shape[0], width), np.float32)
        even = c[:, : (width + 1) // 2]
        out[:, 0::2] = even
        right = np.concatenate([even[:, 1:], even[:, -1:]], axis=1)
        odd = (even + right) * 0.5
        out[:, 1::2] = odd[:, : width // 2]
        c = out
    if sy:
        c = np.repeat(c, 2, axis=0)[:height]
    return c


def yuv_to_rgb(y, cb, cr, bits: int, full_range: bool, matrix=_BT709) -> np.ndarray:
    """Y'CbCr code values (float arrays, same size) -> float32 R'G'B' HxWx3.

    Args:
        y, cb, cr: float32 HxW code values at `bits` bits.
        full_range: True for full (JPEG) range, False for limited (video) range.
        matrix: (Kr, Kb) luma coefficients; BT.709 by default.
    """
    scale = float(1 << (bits - 8))
    if full_range:
        top = float((1 << bits) - 1)
        yn, cbn, crn = y / top, (cb - 128.0 * scale) / top, (cr - 128.0 * scale) / top
    else:
        yn = (y - 16.0 * scale) / (219.0 * scale)
        cbn = (cb - 128.0 * scale) / (224.0 * scale)
        crn = (cr - 128.0 * scale) / (224.0 * scale)
    kr, kb = matrix
    kg = 1.0 - kr - kb
    r = yn + 2.0 * (1.0 - kr) * crn
    b = yn + 2.0 * (1.0 - kb) * cbn
    g = (yn - kr * r - kb * b) / kg
    return np.stack([r, g, b], axis=-1).astype(np.float32)


class MoviePlate(Plate):
    """A movie read through PyAV, frames numbered from 1. Y'CbCr is converted here at the
    decoder's own bit depth with an explicit matrix and range (never an 8-bit RGB path)."""

    is_movie = True

    def __init__(self, path: str):
        super().__init__()
        import av
        self._av = av
        self.path = path
        self.extension = os.path.splitext(path)[1].lower()
        try:
            self._container = av.open(path)
        except av.error.FFmpegError as err:
            raise PlateError(f"{path}: not a readable movie ({_av_reason(err)}); "
                             f"convert it to ProRes or an image sequence") from None
        if not self._container.streams.video:
            self._container.close()
            raise PlateError(f"{path}: the movie has no video stream; give a movie with picture")
        self._stream = stream = self._container.streams.video[0]
        stream.thread_type = "AUTO"
        ctx = stream.codec_context
        self.width, self.height = ctx.width, ctx.height
        self.display_window = self.data_window = Window(0, 0, self.width, self.height)
        rate = stream.average_rate or stream.base_rate or stream.guessed_rate
        self._rate = Fraction(rate) if rate else Fraction(24)
        self.fps = float(self._rate) if rate else None
        self._tb = Fraction(stream.time_base) if stream.time_base else Fraction(1, 1000)
        self._start_pts = stream.start_time or 0
        count = stream.frames
        if not count and stream.duration:
            count = int(round(float(stream.duration * self._tb * self._rate)))
        if not count and self._container.duration:
            count = int(round(self._container.duration / 1_000_000 * float(self._rate)))
        if not count:
            count = sum(1 for _ in self._container.decode(stream))
            self._container.seek(0)
        if count <= 0:
            raise PlateError(f"{path}: the movie has no frames; give a movie with picture")
        self.frames = list(range(1, count + 1))
        fmt = ctx.pix_fmt or ""
        self.pixel_type = fmt
        self.channels = ("R", "G", "B", "A") if fmt in _YUV_FORMATS and _YUV_FORMATS[fmt][3] else ("R", "G", "B")
        self.metadata = {**{str(k): str(v) for k, v in self._container.metadata.items()},
                         **{str(k): str(v) for k, v in stream.metadata.items()},
                         "codec": f"{ctx.codec.long_name or ctx.name}"
                                  + (f" ({ctx.profile})" if ctx.profile else ""), "pix_fmt": fmt}
        self.timecode = stream.metadata.get("timecode") or self._container.metadata.get("timecode")
        self._decoder = None
        self._next_index = None
        self._last = None
        self._lock = threading.Lock()

    def source_paths(self) -> List[str]:
        return [self.path]

    def close(self) -> None:
        self._decoder = None
        self._last = None
        try:
            self._container.close()
        except Exception:  # noqa: BLE001 - closing twice is harmless
            pass

    def _index_of(self, frame) -> int:
        pts = frame.pts if frame.pts is not None else frame.dts
        if pts is None:
            return -1
        return int(round(float((pts - self._start_pts) * self._tb * self._rate)))

    def _decoded(self, frame_number: int):
        self._check_frame(frame_number)
        with self._lock:             # one decoder: callers on several threads take turns
            if self._last is not None and self._last[0] == frame_number:
                return self._last[1]
            vf = self._decode(frame_number)
            self._last = (frame_number, vf)
            return vf

    def _decode(self, frame_number: int):
        target = frame_number - 1
        if self._decoder is None or self._next_index is None or not (0 <= target - self._next_index <= 12):
            # Random access: seek to the nearest key frame before the target, decode forward.
            pts = self._start_pts + int(round(target / self._rate / self._tb))
            self._container.seek(max(pts, self._start_pts), stream=self._stream, backward=True,
                                 any_frame=False)
            self._decoder = self._container.decode(self._stream)
            self._next_index = None
        try:
            for vf in self._decoder:
                index = self._index_of(vf)
                self._next_index = index + 1
                if index >= target:
                    return vf
        except self._av.error.FFmpegError as err:
            self._decoder = None
            raise PlateError(f"{self.path}: frame {frame_number} is damaged ({_av_reason(err)}); "
                             f"re-export the movie") from None
        self._decoder = None
        raise PlateError(f"{self.path}: frame {frame_number} could not be decoded (movie ends "
                         f"early); re-export the movie or use frames 1-{target}")

    def _to_float(self, vf, want_alpha: bool) -> np.ndarray:
        fmt = vf.format.name
        if fmt not in _YUV_FORMATS:
            if fmt.startswith(("rgb", "bgr", "gbr", "argb", "abgr", "rgba", "bgra", "gray")):
                out = vf.reformat(format="rgba64le").to_ndarray().astype(np.float32) / 65535.0
                return out[:, :, 3] if want_alpha else out[:, :, :3]
            vf = vf.reformat(format="yuva444p16le" if want_alpha else "yuv444p16le")
            fmt = vf.format.name
        bits, sx, sy, has_alpha = _YUV_FORMATS[fmt]
        if want_alpha:
            if not has_alpha:
                raise PlateError(f"{self.path}: the movie has no alpha channel; give a matte with alpha")
            return _plane(vf, 3, bits) / float((1 << bits) - 1)
        w, h = vf.width, vf.height
        y = _plane(vf, 0, bits)
        cb = _upsample_chroma(_plane(vf, 1, bits), sx, sy, w, h)
        cr = _upsample_chroma(_plane(vf, 2, bits), sx, sy, w, h)
        full = int(vf.color_range or 0) == 2 or fmt.startswith("yuvj")
        matrix = _MATRICES.get(int(vf.colorspace or 0), _BT709)
        return yuv_to_rgb(y, cb, cr, bits, full, matrix)

    def read(self, frame: int) -> np.ndarray:
        return self._to_float(self._decoded(frame), want_alpha=False)

    def read_alpha(self, frame: int) -> np.ndarray:
        return self._to_float(self._decoded(frame), want_alpha=True)


def _av_reason(err) -> str:
    return " ".join(str(getattr(err, "strerror", None) or err).split())[:160]


# --------------------------------------------------------------------------- registry

# Suffix -> how to open it. Image suffixes open a sequence; movie suffixes a movie.
_READERS: Dict[str, Callable[[str, Optional[Tuple[int, int]]], Plate]] = {}
for _ext in (".exr", ".sxr", ".dpx", ".cin", ".tif", ".tiff", ".png", ".jpg", ".jpeg", ".tga", ".sgi", ".hdr"):
    _READERS[_ext] = _open_sequence
for _ext in (".mov", ".mp4", ".m4v", ".mxf", ".mkv", ".avi"):
    _READERS[_ext] = lambda path, frame_range: _open_movie(path, frame_range)


def _open_movie(path: str, frame_range) -> MoviePlate:
    if not os.path.isfile(path):
        raise PlateError(f"{path}: no such file; check the path")
    if os.path.getsize(path) == 0:
        raise PlateError(f"{path}: the file is empty (0 bytes); export the movie again")
    plate = MoviePlate(path)
    if frame_range is not None:
        first, last = frame_range
        if first < 1 or last > plate.last or first > last:
            plate.close()
            raise PlateError(f"{path}: frames {first}-{last} are outside the movie (1-{plate.last}); "
                             f"choose a range inside it")
        plate.frames = list(range(first, last + 1))
    return plate


def _only_sequence_in(directory: str) -> str:
    images = {ext for ext, fn in _READERS.items() if fn is _open_sequence}
    found = framepattern.sequences_in(directory, images)
    if len(found) == 1:
        return found[0].display
    if not found:
        raise PlateError(f"{directory}: a folder with no image sequence in it; give the plate's "
                         f"path, such as shot.####.exr")
    names = ", ".join(os.path.basename(p.display) for p in found[:4])
    raise PlateError(f"{directory}: a folder holding {len(found)} sequences ({names}); give one of "
                     f"them by path")


def formats() -> Dict[str, str]:
    """Readable suffixes and what reads them (for `matanyone-plugin info`)."""
    return {ext: ("movie (PyAV)" if fn is not _open_sequence else "image sequence (OpenImageIO)")
            for ext, fn in sorted(_READERS.items())}


def open(path_or_pattern, frame_range: Optional[Tuple[int, int]] = None) -> Plate:  # noqa: A001
    """Open a plate by path, pattern or movie.

    Args:
        path_or_pattern: `shot.####.exr`, `shot.%04d.exr`, `shot.$F4.exr`, `shot.@@@@.exr`,
            one frame of a sequence (`shot.1001.exr`; siblings are found), a folder holding
            exactly one sequence, or a movie.
        frame_range: optional (first, last) source frames to use; only those are checked for gaps.

    Returns:
        A `Plate` (use it as a context manager).

    Raises:
        PlateError: missing files, gaps (naming the frames), unknown formats, unreadable files.
    """
    given = os.fspath(path_or_pattern)
    if not given:
        raise PlateError("no plate given; pass a plate path such as shot.####.exr")
    if frame_range is not None:
        first, last = (int(v) for v in frame_range)
        if first > last:
            raise PlateError(f"{given}: frame range {first}-{last} is empty (first after last); "
                             f"give the first frame first")
        frame_range = (first, last)
    if os.path.isdir(given):
        given = _only_sequence_in(given)
    ext = os.path.splitext(given)[1].lower()
    reader = _READERS.get(ext)
    if reader is None:
        known = ", ".join(sorted(_READERS))
        raise PlateError(f"{given}: unknown plate format '{ext or '(no extension)'}'; "
                         f"use one of {known}")
    return reader(given, frame_range)


def open_alpha(path_or_pattern, frame_range: Optional[Tuple[int, int]] = None) -> Plate:
    """Open a matte/alpha sequence or movie; use `read_alpha(frame) -> float32 HxW`."""
    return open(path_or_pattern, frame_range)
