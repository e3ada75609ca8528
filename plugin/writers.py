"""Alphas out: one EXR per frame (single channel `A`, RGBA premultiplied, or a grey matte in a
layer named after the object, as Resolve's External Matte Saver writes it), half or float,
ZIP or PIZ, with the source frame's number, display and data windows and metadata. Each
frame is written to a temporary name in the same folder and renamed into place, so a crash
leaves only whole frames. Plus an optional 16-bit PNG preview and a PNG contact sheet.

    with writers.open("matte/sh010_hero.####.exr", like=plate, metadata={...}) as out:
        out.write(1001, alpha)          # float32 HxW at the plate's display-window size
"""
from __future__ import annotations

import builtins
import errno
import os
import re
from fractions import Fraction
from typing import Callable, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

import numpy as np

from plugin import framepattern
from plugin.errors import OutputError

_DTYPES = {"half": "half", "float": "float"}
_COMPRESSIONS = {"zip": "zip", "zips": "zips", "piz": "piz", "none": "none", "dwaa": "dwaa", "rle": "rle"}
_CHANNELS = {"A": ("A",), "RGBA": ("R", "G", "B", "A"), "matte": ("R", "G", "B", "A")}  # matte: in a layer
# Metadata keys callers pass -> EXR attribute names (strings).
_META_PREFIX = "matanyone:"
Window = Tuple[int, int, int, int]  # x, y, width, height
_TEMP_NAME = re.compile(r"^\.(?P<name>.+)\.tmp-(?P<pid>\d+)(?P<ext>\.[A-Za-z0-9]+)$")


def temp_path_for(path: str) -> str:
    """The temporary name a frame is written under before its rename (same folder)."""
    directory, name = os.path.split(path)
    ext = os.path.splitext(name)[1]
    return os.path.join(directory, f".{name}.tmp-{os.getpid()}{ext}")


def is_temp_name(name: str) -> bool:
    return bool(_TEMP_NAME.match(os.path.basename(name)))


def clean_stale_temps(directory: str) -> List[str]:
    """Remove temporaries left by writers that died (their process is gone); returns them."""
    removed = []
    try:
        names = os.listdir(directory)
    except OSError:
        return removed
    for name in names:
        m = _TEMP_NAME.match(name)
        if not m:
            continue
        pid = int(m.group("pid"))
        if pid == os.getpid() or _pid_alive(pid):
            continue        # a writer still at work (possibly another writer of this process)
        try:
            os.remove(os.path.join(directory, name))
            removed.append(os.path.join(directory, name))
        except OSError:
            pass
    return removed


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True
    return True


def _real(path: str) -> str:
    return os.path.normcase(os.path.realpath(os.path.abspath(path)))


def _write_atomically(path: str, write: Callable[[str], None]) -> None:
    tmp = temp_path_for(path)
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.remove(tmp)
        except OSError:
            pass
        raise


_ROOM_MARGIN = 1 << 16  # an EXR's header and offset tables beyond its pixels


def _check_room(path: str, nbytes: int) -> None:
    """Refuse a write the disk has no room for: OpenEXR reports no error when the disk fills
    while it closes a file, and the truncated frame would be renamed into place."""
    directory = os.path.dirname(os.path.abspath(path))
    try:
        st = os.statvfs(directory)
    except (OSError, AttributeError):  # no statvfs (Windows): OpenEXR's own errors only
        return
    free = st.f_bavail * st.f_frsize
    if st.f_blocks > 0 and free < nbytes + _ROOM_MARGIN:
        err = OutputError(f"{directory}: the disk is full ({free} bytes free, frame {os.path.basename(path)} "
                          f"needs up to {nbytes + _ROOM_MARGIN}); free space or choose another output folder")
        err.errno = errno.ENOSPC  # as an OSError of a full disk carries it
        raise err


def _oiio_write(path: str, spec, pixels: np.ndarray) -> None:
    import OpenImageIO as oiio
    out = oiio.ImageOutput.create(path)
    if out is None:
        raise OutputError(f"{path}: cannot create the file ({oiio.geterror()}); check the output path")
    try:
        if not out.open(path, spec):
            raise OutputError(f"{path}: cannot open for writing ({' '.join(out.geterror().split())}); "
                              f"check the folder's permissions and free space")
        if not out.write_image(np.ascontiguousarray(pixels, dtype=np.float32)):
            raise OutputError(f"{path}: write failed ({' '.join(out.geterror().split())}); "
                              f"check free space")
    except BaseException:
        out.close()
        raise
    if not out.close():  # the last bytes go out here: a full disk shows only now
        raise OutputError(f"{path}: write failed ({' '.join(out.geterror().split())}); check free space")


class AlphaWriter:
    """Writes alpha frames of one object; see `open`.

    Attributes:
        pattern: the output `FramePattern`.
        display_window, data_window: (x, y, width, height) of frames whose source has no windows
            of its own (`source_windows` gives each source frame's, e.g. an autocropped render).
    """

    def __init__(self, pattern: framepattern.FramePattern, *, display_window, data_window, dtype: str,
                 compression: str, channels: str, metadata: Mapping[str, object],
                 source_paths: Iterable[str], preview: Optional[framepattern.FramePattern],
                 carry: Mapping[str, object], timecode_clock: Optional[Tuple[int, int, int]] = None,
                 source_windows: Optional[Callable[[int], Optional[Tuple[Window, Window]]]] = None,
                 layer: Optional[str] = None):
        self.pattern = pattern
        self.layer = layer
        self.display_window = tuple(display_window)
        self.data_window = tuple(data_window)
        self._source_windows = source_windows
        self.dtype = dtype
        self.compression = compression
        self.channels = channels
        self.preview = preview
        self.metadata = {str(k): "" if v is None else str(v) for k, v in metadata.items()}
        self._carry = dict(carry)
        self._clock = timecode_clock
        self._sources = {_real(p) for p in source_paths}
        self.written: List[int] = []

    def path(self, frame: int) -> str:
        """The output path of source frame `frame`."""
        return self.pattern.path(frame)

    def exists(self, frame: int) -> bool:
        """True when frame `frame` is already written (renames are atomic: present = whole)."""
        return os.path.isfile(self.path(frame))

    def windows(self, frame: int) -> Tuple[Window, Window]:
        """(display, data) window of output frame `frame`: its source frame's own."""
        own = self._source_windows(frame) if self._source_windows is not None else None
        return own if own is not None else (self.display_window, self.data_window)

    def _spec(self, frame: int, display: Window, data: Window):
        import OpenImageIO as oiio
        x, y, w, h = data
        names = _CHANNELS[self.channels]
        if self.layer:  # OpenEXR's layer convention: `layer.channel`
            names = tuple(f"{self.layer}.{n}" for n in names)
        spec = oiio.ImageSpec(w, h, len(names), self.dtype)
        spec.channelnames = names
        spec.alpha_channel = len(names) - 1
        spec.x, spec.y = x, y
        spec.full_x, spec.full_y, spec.full_width, spec.full_height = display
        spec.attribute("compression", self.compression)
        for key, value in self.metadata.items():
            spec.attribute(_META_PREFIX + key, value)
        spec.attribute(_META_PREFIX + "frame", str(frame))
        if self._clock is not None:
            spec.attribute("smpte:TimeCode", oiio.TypeTimeCode, _timecode_value(self._clock, frame))
        for key, value in self._carry.items():
            if isinstance(value, tuple) and len(value) == 2 and not isinstance(value[0], (int, float)):
                spec.attribute(key, value[0], value[1])
            else:
                spec.attribute(key, value)
        return spec

    @staticmethod
    def _to_data_window(image: np.ndarray, display: Window, data: Window) -> np.ndarray:
        """Display-window pixels -> data-window pixels (zeros where the data window overhangs)."""
        dx, dy, dw, dh = display
        x, y, w, h = data
        if (x, y, w, h) == (dx, dy, dw, dh):
            return image
        out = np.zeros((h, w) + image.shape[2:], np.float32)
        x0, y0 = max(x, dx), max(y, dy)
        x1, y1 = min(x + w, dx + dw), min(y + h, dy + dh)
        if x1 > x0 and y1 > y0:
            out[y0 - y:y1 - y, x0 - x:x1 - x] = image[y0 - dy:y1 - dy, x0 - dx:x1 - dx]
        return out

    def write(self, frame: int, alpha: np.ndarray, rgb: Optional[np.ndarray] = None) -> str:
        """Write source frame `frame`.

        Args:
            frame: the source frame number (goes in the file name and header).
            alpha: float32 HxW coverage at display-window size (written as is, linear).
            rgb: float32 HxWx3 plate pixels, needed for channels='RGBA' (premultiplied by alpha).
        Returns:
            the path written.
        """
        alpha = np.asarray(alpha, dtype=np.float32)
        display, data = self.windows(frame)
        dw, dh = display[2], display[3]
        if alpha.shape != (dh, dw):
            raise ValueError(f"alpha for frame {frame} is {alpha.shape}, expected {(dh, dw)}")
        if self.channels == "RGBA":
            if rgb is None or np.shape(rgb) != (dh, dw, 3):
                raise ValueError(f"channels='RGBA' needs the plate's rgb (HxWx3) for frame {frame}")
            pixels = np.concatenate([np.asarray(rgb, np.float32) * alpha[:, :, None], alpha[:, :, None]], axis=2)
        elif self.channels == "matte":  # grey: the same coverage in every channel
            pixels = np.repeat(alpha[:, :, None], 4, axis=2)
        else:
            pixels = alpha[:, :, None]
        path = self.path(frame)
        if _real(path) in self._sources:
            raise OutputError(f"{path}: is a source plate file; choose another output path")
        spec = self._spec(frame, display, data)
        pixels = self._to_data_window(pixels, display, data)
        _check_room(path, pixels.size * (2 if self.dtype == "half" else 4))
        _write_atomically(path, lambda tmp: _oiio_write(tmp, spec, pixels))
        if self.preview is not None:
            write_png16(self.preview.path(frame), alpha)
        self.written.append(frame)
        return path

    def close(self) -> None:
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _parse_output(pattern: str, what: str) -> framepattern.FramePattern:
    if not framepattern.has_token(pattern):
        raise OutputError(f"{what} {pattern} has no frame token (e.g. ####); add one, such as "
                          f"matte/shot.####.exr")
    return framepattern.parse(pattern)


def _prepare_folder(directory: str, what: str) -> None:
    directory = directory or "."
    try:
        os.makedirs(directory, exist_ok=True)
    except OSError as err:
        raise OutputError(f"{what} folder {directory} cannot be created ({err.strerror or err}); "
                          f"choose a writable output path") from None
    probe = os.path.join(directory, f".matanyone-write-test.tmp-{os.getpid()}.exr")
    try:
        with builtins.open(probe, "wb"):
            pass
        os.remove(probe)
    except OSError as err:
        raise OutputError(f"{what} folder {directory} is not writable ({err.strerror or err}); "
                          f"choose a writable output path") from None


def open(pattern, like=None, *, dtype: str = "half", compression: str = "zip",  # noqa: A001
         channels: str = "A", metadata: Optional[Mapping[str, object]] = None,
         preview: Optional[str] = None, frames: Optional[Sequence[int]] = None,
         display_window: Optional[Tuple[int, int, int, int]] = None,
         data_window: Optional[Tuple[int, int, int, int]] = None,
         layer: Optional[str] = None) -> AlphaWriter:
    """An alpha writer shaped like a plate.

    Args:
        pattern: output path with a frame token (`matte/sh010_hero.####.exr`).
        like: the source `Plate`: windows, frames, fps/timecode and the files never to overwrite.
        dtype: 'half' (default) or 'float'.
        compression: 'zip' (default), 'piz', 'zips', 'dwaa', 'rle' or 'none'.
        channels: 'A' (default), 'RGBA' (premultiplied; `write` then needs the plate's rgb) or
            'matte' (the alpha in R, G, B and A of the layer `layer`, e.g. `hero.R` ... `hero.A`).
        metadata: strings stored as `matanyone:<key>` EXR attributes (source, colourspace,
            engine, weights, shot, ...).
        preview: optional pattern of 16-bit PNG previews of the alpha.
        frames, display_window, data_window: only without `like`.
        layer: the layer of a 'matte' (the object's name; Resolve shows it as the matte's name).
    Raises:
        OutputError: a pattern that resolves to a source file, an unwritable folder, bad options.
    """
    pattern = os.fspath(pattern)
    out = _parse_output(pattern, "output path")
    if out.extension != ".exr":
        raise OutputError(f"output path {pattern} must end in .exr (alpha is written as OpenEXR)")
    if dtype not in _DTYPES:
        raise OutputError(f"output dtype {dtype!r} is not one of {', '.join(_DTYPES)}; use half or float")
    if compression not in _COMPRESSIONS:
        raise OutputError(f"output compression {compression!r} is not one of {', '.join(_COMPRESSIONS)}")
    if channels not in _CHANNELS:
        raise OutputError(f"output channels {channels!r} is not one of {', '.join(_CHANNELS)}")
    if channels == "matte" and not layer:
        raise OutputError(f"output {pattern}: a matte is written in a layer named after its object; "
                          f"give the object's name")
    carry: Dict[str, object] = {}
    sources: List[str] = []
    clock = None
    source_windows = None
    if like is not None:
        source_windows = _windows_of_frames(like)
        display_window = like.display_window.as_tuple()
        data_window = like.data_window.as_tuple()
        frames = list(like.frames)
        sources = like.source_paths()
        carry = _carried_attributes(like)
        clock = _timecode_clock(like)
    if display_window is None:
        raise ValueError("writers.open needs like=plate or display_window")
    data_window = data_window or display_window
    source_set = {_real(p) for p in sources}
    for frame in frames or ():
        target = out.path(frame)
        if _real(target) in source_set or _same_file_exists(target, sources):
            raise OutputError(f"output path {pattern} would overwrite source file {target}; "
                              f"choose another output path")
    _prepare_folder(out.directory, "output")
    clean_stale_temps(out.directory or ".")
    preview_pattern = None
    if preview:
        preview_pattern = _parse_output(os.fspath(preview), "preview path")
        if preview_pattern.extension != ".png":
            raise OutputError(f"preview path {preview} must end in .png")
        for frame in frames or ():
            if _real(preview_pattern.path(frame)) in source_set:
                raise OutputError(f"preview path {preview} would overwrite source file "
                                  f"{preview_pattern.path(frame)}; choose another preview path")
        _prepare_folder(preview_pattern.directory, "preview")
    return AlphaWriter(out, display_window=display_window, data_window=data_window, dtype=dtype,
                       compression=compression, channels=channels, metadata=metadata or {},
                       source_paths=sources, preview=preview_pattern, carry=carry, timecode_clock=clock,
                       source_windows=source_windows, layer=layer if channels == "matte" else None)


def _windows_of_frames(plate) -> Optional[Callable[[int], Optional[Tuple[Window, Window]]]]:
    """Each source frame's own (display, data) windows, read from its header, for a sequence
    (a CG render autocrops its data window frame by frame); None for a movie."""
    frame_path = getattr(plate, "frame_path", None)
    if frame_path is None or getattr(plate, "is_movie", False):
        return None
    last: Dict[int, Optional[Tuple[Window, Window]]] = {}  # the objects of one frame share it

    def windows(frame: int) -> Optional[Tuple[Window, Window]]:
        if frame not in last:
            last.clear()
            last[frame] = _header_windows(frame_path(frame))
        return last[frame]
    return windows


def _header_windows(path: str) -> Optional[Tuple[Window, Window]]:
    import OpenImageIO as oiio
    inp = oiio.ImageInput.open(path)
    if inp is None:
        return None
    try:
        spec = inp.spec()
        return ((spec.full_x, spec.full_y, spec.full_width, spec.full_height),
                (spec.x, spec.y, spec.width, spec.height))
    finally:
        inp.close()


def _same_file_exists(target: str, sources: List[str]) -> bool:
    # Hard links and differently spelt paths to a source file: compare inodes where both exist.
    if not os.path.exists(target):
        return False
    try:
        st = os.stat(target)
    except OSError:
        return False
    return any(_inode(s) == (st.st_dev, st.st_ino) for s in sources)


def _inode(path: str):
    try:
        st = os.stat(path)
        return st.st_dev, st.st_ino
    except OSError:
        return None


def _carried_attributes(plate) -> Dict[str, object]:
    """Frame rate and pixel aspect of the source, so the matte lines up in editorial tools
    and on anamorphic plates."""
    import OpenImageIO as oiio
    carry: Dict[str, object] = {}
    if plate.fps:
        rate = Fraction(plate.fps).limit_denominator(1001)
        carry["FramesPerSecond"] = (oiio.TypeRational, (rate.numerator, rate.denominator))
    aspect = plate.metadata.get("PixelAspectRatio")
    if isinstance(aspect, (int, float)) and aspect > 0:
        carry["PixelAspectRatio"] = float(aspect)
    return carry


def _timecode_clock(plate) -> Optional[Tuple[int, int, int]]:
    """(frame the time code belongs to, its start in frames, nominal rate) when the plate's
    time code can be counted on per frame (non-drop-frame); else None. A movie's time code
    is its frame 1's, so a movie trimmed at its head still stamps each frame with its own."""
    tc, fps = getattr(plate, "timecode", None), getattr(plate, "fps", None)
    if not tc or not fps or ";" in tc:
        return None
    try:
        hh, mm, ss, ff = (int(v) for v in tc.split(":"))
    except ValueError:
        return None
    nominal = int(round(fps))
    if nominal <= 0 or ff >= nominal:
        return None
    anchor = getattr(plate, "timecode_frame", None)
    return (plate.first if anchor is None else anchor), ((hh * 60 + mm) * 60 + ss) * nominal + ff, nominal


def _timecode_value(clock: Tuple[int, int, int], frame: int):
    first, start, nominal = clock
    total = (start + frame - first) % (24 * 3600 * nominal)
    ff = total % nominal
    ss = total // nominal % 60
    mm = total // (nominal * 60) % 60
    hh = total // (nominal * 3600)
    bcd = lambda v: ((v // 10) << 4) | (v % 10)  # noqa: E731
    return (bcd(hh) << 24) | (bcd(mm) << 16) | (bcd(ss) << 8) | bcd(ff), 0


# --------------------------------------------------------------------------- PNG outputs

def write_png16(path: str, image: np.ndarray) -> str:
    """A 16-bit PNG (grey HxW or RGB HxWx3, values clamped to [0, 1]), written atomically."""
    import OpenImageIO as oiio
    image = np.clip(np.asarray(image, np.float32), 0.0, 1.0)
    if image.ndim == 2:
        image = image[:, :, None]
    spec = oiio.ImageSpec(image.shape[1], image.shape[0], image.shape[2], "uint16")
    _write_atomically(path, lambda tmp: _oiio_write(tmp, spec, image))
    return path


def _thumbnail(image: np.ndarray, width: int) -> np.ndarray:
    import OpenImageIO as oiio
    h, w = image.shape[:2]
    height = max(1, int(round(h * width / w)))
    src = oiio.ImageBuf(np.ascontiguousarray(image, np.float32))
    dst = oiio.ImageBufAlgo.resize(src, roi=oiio.ROI(0, width, 0, height, 0, 1, 0, image.shape[2]))
    return np.asarray(dst.get_pixels(oiio.FLOAT), np.float32).reshape(height, width, image.shape[2])


def contact_sheet(path, cells: Sequence[Tuple[np.ndarray, np.ndarray]], *, columns: int = 4,
                  thumb_width: int = 192, gap: int = 4) -> str:
    """A PNG grid for a quick look: each cell shows the plate and, beside it, its alpha.

    Args:
        path: the .png to write (atomically).
        cells: (rgb float32 HxWx3 display-ready in [0, 1], alpha float32 HxW) per frame, in order.
        columns: cells per row.
        thumb_width: width of each thumbnail in pixels.
    Returns:
        the path written.
    """
    path = os.fspath(path)
    if not cells:
        raise ValueError("contact_sheet needs at least one cell")
    directory = os.path.dirname(path) or "."
    _prepare_folder(directory, "contact sheet")
    thumbs = []
    for rgb, alpha in cells:
        a = np.clip(np.asarray(alpha, np.float32), 0, 1)
        plate = _thumbnail(np.clip(rgb, 0, 1), thumb_width)
        matte = _thumbnail(np.repeat(a[:, :, None], 3, axis=2), thumb_width)
        thumbs.append(np.concatenate([plate, np.ones((plate.shape[0], gap, 3), np.float32) * 0.2, matte], axis=1))
    th, tw = thumbs[0].shape[:2]
    rows = (len(thumbs) + columns - 1) // columns
    sheet = np.full((rows * (th + gap) + gap, min(columns, len(thumbs)) * (tw + gap) + gap, 3), 0.12, np.float32)
    for i, t in enumerate(thumbs):
        r, c = divmod(i, columns)
        y, x = gap + r * (th + gap), gap + c * (tw + gap)
        sheet[y:y + t.shape[0], x:x + t.shape[1]] = t[:th, :tw]
    return _write_png8(path, sheet)


def _write_png8(path: str, image: np.ndarray) -> str:
    # A contact sheet is a picture to look at, not data: 8-bit keeps it small.
    import OpenImageIO as oiio
    spec = oiio.ImageSpec(image.shape[1], image.shape[0], image.shape[2], "uint8")
    _write_atomically(path, lambda tmp: _oiio_write(tmp, spec, np.clip(image, 0, 1)))
    return path


def read_metadata(path: str) -> Dict[str, str]:
    """The `matanyone:*` attributes of a written frame, without the prefix (for tests, `info`)."""
    import OpenImageIO as oiio
    inp = oiio.ImageInput.open(os.fspath(path))
    if inp is None:
        raise OutputError(f"{path}: cannot be read ({oiio.geterror()})")
    try:
        return {a.name[len(_META_PREFIX):]: a.value for a in inp.spec().extra_attribs
                if a.name.startswith(_META_PREFIX)}
    finally:
        inp.close()
