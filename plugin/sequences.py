"""Image-sequence plates (EXR, DPX, TIFF, PNG, JPEG, ...) read through OpenImageIO, one frame
at a time as float32 at display-window size (the data window placed inside it)."""
from __future__ import annotations

import os
from fractions import Fraction
from typing import Dict, List, Optional, Tuple

import numpy as np

from plugin import framepattern
from plugin.errors import PlateError
from plugin.plate import Plate, Window


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
        _check_windows(self._files[self.first], self.first, spec)
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
            raise PlateError(f"{path}: frame {frame} cannot be read ({_open_error(self._oiio, path)}); "
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
            raise PlateError(f"{path}: frame {frame} cannot be read ({_open_error(oiio, path)}); "
                             f"re-render or replace this frame")
        try:
            spec = inp.spec()
            _check_windows(path, frame, spec)
            s0 = self._spec0
            if (spec.full_width, spec.full_height) != (s0.full_width, s0.full_height):
                raise PlateError(
                    f"{path}: frame {frame} is {spec.full_width}x{spec.full_height} but the plate "
                    f"is {s0.full_width}x{s0.full_height}; re-render the frame at the plate's size")
            names = list(spec.channelnames)
            picks, kind = self._channels_to_read(path, frame, names, want_alpha)
            self._refuse_integer_channels(path, frame, spec, picks)
            lo, hi = min(picks), max(picks) + 1
            if spec.deep:
                pixels = _flattened(oiio, path, frame, spec)[:, :, lo:hi]
            else:
                pixels = inp.read_image(0, 0, lo, hi, "float")
                if pixels is None:
                    raise PlateError(f"{path}: frame {frame} is damaged ({_oiio_error(inp, path)}); "
                                     f"re-render or replace this frame")
            pixels = np.asarray(pixels, dtype=np.float32).reshape(spec.height, spec.width, hi - lo)
            pixels = pixels[:, :, [p - lo for p in picks]]
            if kind == "grey":
                pixels = np.repeat(pixels, 3, axis=2)
            elif kind == "luminance-chroma":
                pixels = _rgb_from_luminance_chroma(pixels, _luminance_weights(spec))
            return _place_in_display(pixels, spec)
        finally:
            inp.close()

    def _refuse_integer_channels(self, path, frame, spec, picks) -> None:
        """Integer channels of an EXR hold ids (object or material ids), not colour or coverage."""
        if self.extension not in (".exr", ".sxr"):
            return
        formats = list(spec.channelformats) or [spec.format] * spec.nchannels
        integer = [spec.channelnames[i] for i in picks if str(formats[i]).startswith(("uint", "int"))]
        if integer:
            raise PlateError(f"{path}: frame {frame} has integer (uint) channels {', '.join(integer)}: "
                             f"ids, not colour; give a half or float EXR")

    def _channels_to_read(self, path, frame, names, want_alpha) -> Tuple[List[int], str]:
        """(channel indices, kind): kind 'rgb', 'grey' (one luminance channel, read as grey),
        'luminance-chroma' (Y, RY, BY) or 'alpha'."""
        if want_alpha:
            if len(names) == 1:
                return [0], "alpha"
            a = _pick_alpha(names)
            if a is not None:
                return [a], "alpha"
            found = _pick_rgb(names)
            if found is not None:
                return found, "rgb"  # a grey RGB matte: accepted only if R == G == B (checked after reading)
            raise PlateError(f"{path}: frame {frame} has no alpha channel (channels "
                             f"{', '.join(names)}); give a matte with an A channel or one channel")
        found = _pick_rgb(names)
        if found is not None:
            return found, "rgb"
        for layer in _layers(names):
            y = _find_channel(names, ("y",), layer)
            if y is None or _find_channel(names, ("x",), layer) is not None:
                continue            # no luminance, or X, Y, Z (positions or CIE XYZ), not a grey picture
            ry, by = _find_channel(names, ("ry",), layer), _find_channel(names, ("by",), layer)
            if ry is not None and by is not None:
                return [y, ry, by], "luminance-chroma"
            return [y], "grey"
        if len(names) < 3:
            raise PlateError(
                f"{path}: frame {frame} has {len(names)} channel(s) ({', '.join(names)}), "
                f"not a colour or grey plate; give an RGB, RGBA or luminance (Y) plate")
        raise PlateError(
            f"{path}: frame {frame} has no R, G, B channels (channels {', '.join(names[:8])}); "
            f"give a plate with RGB colour channels or one luminance (Y) channel")

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


# The largest window read: 16384 x 16384 pixels (3 GiB as float32 RGB). A window past it is a
# broken header (a 1000000 x 1000000 display window would be 10.9 TiB), not a plate.
MAX_WINDOW_PIXELS = 1 << 28


def window_problem(spec) -> Optional[str]:
    """What is wrong with an image's windows ('a 1000000x1000000 display window, ...'), or None."""
    for label, w, h in (("display", spec.full_width, spec.full_height), ("data", spec.width, spec.height)):
        if w <= 0 or h <= 0 or w * h > MAX_WINDOW_PIXELS:
            return (f"a {w}x{h} {label} window, outside what an image can be here (1 to "
                    f"{MAX_WINDOW_PIXELS} pixels, e.g. 16384x16384); fix the file's {label} window or "
                    f"re-render it")
    return None


def _check_windows(path: str, frame: int, spec) -> None:
    problem = window_problem(spec)
    if problem:
        raise PlateError(f"{path}: frame {frame} has {problem}")


def _flattened(oiio, path: str, frame: int, spec) -> np.ndarray:
    """A deep image's samples composited front to back (`over`), as a compositor flattens it:
    float32 HxWxC of the data window."""
    buf = oiio.ImageBuf(path, 0, 0)
    flat = oiio.ImageBufAlgo.flatten(buf)
    if flat.has_error or buf.has_error:
        reason = " ".join((flat.geterror() or buf.geterror()).split())[:160]
        raise PlateError(f"{path}: frame {frame} is a deep image that cannot be flattened ({reason}); "
                         f"flatten it in the compositor and give the flat render")
    return np.asarray(flat.get_pixels(oiio.FLOAT), np.float32).reshape(spec.height, spec.width, -1)


# Rec.709 primaries and D65 white: OpenEXR's default chromaticities.
_REC709_CHROMATICITIES = (0.64, 0.33, 0.30, 0.60, 0.15, 0.06, 0.3127, 0.3290)


def _luminance_weights(spec) -> np.ndarray:
    """(wR, wG, wB): the Y row of the file's RGB -> XYZ matrix, from its chromaticities
    (OpenEXR's `computeYw`)."""
    try:
        rx, ry, gx, gy, bx, by, wx, wy = (float(v) for v in spec.getattribute("chromaticities"))
        primaries = np.array([[rx / ry, gx / gy, bx / by], [1.0, 1.0, 1.0],
                              [(1 - rx - ry) / ry, (1 - gx - gy) / gy, (1 - bx - by) / by]])
        return np.linalg.solve(primaries, np.array([wx / wy, 1.0, (1 - wx - wy) / wy]))
    except (TypeError, ValueError, ZeroDivisionError, np.linalg.LinAlgError):
        return np.array([0.2126, 0.7152, 0.0722])   # the default chromaticities' weights


def _rgb_from_luminance_chroma(ycc: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Y, RY, BY -> R, G, B as OpenEXR's RGBA interface does: RY = (R - Y) / Y, BY = (B - Y) / Y."""
    y, ry, by = ycc[:, :, 0], ycc[:, :, 1], ycc[:, :, 2]
    r = (ry + 1.0) * y
    b = (by + 1.0) * y
    g = (y - r * weights[0] - b * weights[2]) / weights[1]
    return np.stack([r, g, b], axis=-1).astype(np.float32)


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


def _open_error(oiio, path: str) -> str:
    """Why a frame file does not open; a dangling link says where it points (OIIO says 'Could
    not open ""')."""
    if os.path.islink(path) and not os.path.exists(path):
        oiio.geterror()     # taken, so that OIIO does not print it at exit
        return f"it is a link to {os.readlink(path)}, which does not exist"
    return _oiio_error(oiio, path)


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
            if os.path.islink(path):
                raise PlateError(f"{path}: a link to {os.readlink(path)}, which does not exist; "
                                 f"fix the link or copy the frame") from None
            raise PlateError(f"{path}: cannot be read; check permissions") from None
        if size == 0:
            raise PlateError(f"{path}: the file is empty (0 bytes); re-render or copy it again")
    return ImageSequencePlate(pattern, files, given)
