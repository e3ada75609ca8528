"""Movie plates (ProRes and other PyAV-decodable video), frames numbered from 1. Y'CbCr is
converted here at the decoder's own bit depth with an explicit matrix and range."""
from __future__ import annotations

import bisect
import os
import threading
from fractions import Fraction
from typing import List, Optional

import numpy as np

from plugin.errors import PlateError
from plugin.plate import Plate, Window


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
            has_audio = any(s.type == "audio" for s in self._container.streams)
            self._container.close()
            if not has_audio:   # nothing, or a data stream: the index (MP4's moov) is cut short
                raise PlateError(f"{path}: no picture stream can be found, as in a file cut short (an "
                                 f"unfinished copy or export); copy or export it again")
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
        # Presentation times of every frame, kept only for a variable frame rate: frame n is then
        # the n-th picture shown, whatever the container (a constant rate numbers by time).
        self._pts: Optional[List[int]] = None
        count = stream.frames
        rates_differ = bool(stream.average_rate and stream.base_rate and stream.average_rate != stream.base_rate)
        if not count or rates_differ:
            # No count in the header (Matroska, AVI) or an average rate off the nominal one (a
            # variable rate in MP4/MOV): count the packets, which reads the file once.
            times = self._scan_pts()
            count = len(times)
            if _is_variable(times, self._rate, self._tb):
                self._pts = times
                self.variable_rate = True
                span = float((times[-1] - times[0]) * self._tb)
                self.fps = (count - 1) / span if span > 0 else self.fps
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
        self.timecode_frame = 1  # the movie's first frame, whatever range is used
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
        if self._pts is not None:
            i = bisect.bisect_left(self._pts, pts)
            if i == len(self._pts) or (i > 0 and pts - self._pts[i - 1] < self._pts[i] - pts):
                i -= 1
            return i
        return int(round(float((pts - self._start_pts) * self._tb * self._rate)))

    def _scan_pts(self) -> List[int]:
        """Sorted presentation times of every video packet (demuxed, not decoded)."""
        try:
            times = sorted(p.pts for p in self._container.demux(self._stream) if p.pts is not None and p.size)
        except self._av.error.FFmpegError as err:
            self._container.close()
            raise PlateError(f"{self.path}: the movie is damaged ({_av_reason(err)}); "
                             f"re-export the movie") from None
        self._container.seek(0)
        return times

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
            if self._pts is not None:
                pts = self._pts[target]
            else:
                pts = self._start_pts + int(round(target / self._rate / self._tb))
            try:
                self._container.seek(max(pts, self._start_pts), stream=self._stream, backward=True,
                                     any_frame=False)
            except self._av.error.FFmpegError as err:
                self._decoder = None
                raise PlateError(f"{self.path}: frame {frame_number} cannot be reached ({_av_reason(err)}); "
                                 f"the movie may be cut short (an unfinished copy or export): "
                                 f"copy or export it again") from None
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


def _is_variable(times: List[int], rate: Fraction, time_base: Fraction) -> bool:
    """True when the gaps between pictures stray from the nominal rate by half a frame or more."""
    if len(times) < 2:
        return False
    step = 1 / (rate * time_base)           # ticks per frame
    gaps = np.diff(np.asarray(times, np.float64))
    return bool(np.any(np.abs(gaps - float(step)) >= 0.5 * float(step)))


def _av_reason(err) -> str:
    return " ".join(str(getattr(err, "strerror", None) or err).split())[:160]


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
