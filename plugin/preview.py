"""Optional QuickTime previews of a finished shot, written with PyAV frame by frame.

- `prores4444`: ProRes 4444 with alpha: the plate through the display transform as RGB and
  the matte as the alpha channel (for editorial; 10-bit, so not for compositing: the EXRs are).
- `matte4444`: ProRes 4444 whose picture and alpha are both the matte (white = solid): a
  movie matte for hosts that take mattes as clips (DaVinci Resolve's clip mattes read it as
  luma or alpha alike); 10-bit, so the EXRs stay the compositing master.
- `h264`: H.264 of the plate with the matte overlaid (outside the matte dimmed and tinted),
  to review in any player.

The movie is written under a temporary name and renamed into place.
"""
from __future__ import annotations

import os
from typing import Callable, Optional

import numpy as np

from plugin.errors import OutputError

KINDS = {"prores4444": ("prores_ks", "yuva444p10le"), "matte4444": ("prores_ks", "yuva444p10le"),
         "h264": ("libx264", "yuv420p")}


def write_preview(shot, path: str, *, kind: str = "h264", obj=None, fps: Optional[float] = None,
                  on_frame: Optional[Callable[[int], None]] = None, start: Optional[int] = None,
                  timecode: Optional[str] = None) -> str:
    """Write a preview movie of one object's finished alphas over the plate.

    Args:
        shot: the `Shot` whose outputs exist.
        path: the .mov (or .mp4 for h264) to write.
        kind: "h264", "prores4444" (plate + alpha) or "matte4444" (the matte as picture and alpha).
        obj: the `ShotObject` (default: the first).
        fps: frame rate (default: the plate's, else 24).
        start: matte4444 only: the source frame the movie starts at, at or before the matte's
            first (the media's first frame, so the movie lines up with the clip by position);
            frames before the matte's first are transparent. Default: the matte's first.
        timecode: the movie's start timecode ('HH:MM:SS:FF'); default: the plate's own at
            the movie's first frame, when it has one.
    Returns:
        the path written.
    """
    import av
    from plugin import color, plates
    if kind not in KINDS:
        raise OutputError(f"preview kind {kind!r} is not one of {', '.join(KINDS)}")
    codec, pix_fmt = KINDS[kind]
    obj = obj or shot.objects[0]
    first = shot.plate.first if start is None else int(start)
    if first > shot.plate.first or (start is not None and kind != "matte4444"):
        raise OutputError(f"preview start frame {start}: give a frame at or before the shot's first "
                          f"({shot.plate.first}), for a matte4444 movie only")
    path = os.path.abspath(path)
    if not path.lower().endswith((".mov", ".mp4")) or (kind != "h264" and not path.lower().endswith(".mov")):
        raise OutputError(f"preview path {path}: use a .mov file (.mp4 only for h264)")
    directory = os.path.dirname(path)
    os.makedirs(directory, exist_ok=True)
    tmp = os.path.join(directory, f".{os.path.basename(path)}.tmp-{os.getpid()}{os.path.splitext(path)[1]}")
    with plates.open(shot.plate.path, (shot.plate.first, shot.plate.last)) as plate, \
            plates.open_alpha(shot.output.pattern_for(obj), (shot.plate.first, shot.plate.last)) as alphas:
        rate = fps or plate.fps or 24.0
        w, h = plate.width, plate.height
        timecode = timecode or _timecode_at(plate, first)
        if kind == "h264":  # 4:2:0 needs even sizes
            w, h = w - w % 2, h - h % 2
        try:
            container = av.open(tmp, "w")
            try:
                from fractions import Fraction
                stream = container.add_stream(codec, rate=Fraction(rate).limit_denominator(1001))
                stream.width, stream.height, stream.pix_fmt = w, h, pix_fmt
                if timecode:  # the mov muxer writes it as the movie's timecode track
                    container.metadata["timecode"] = timecode
                if kind != "h264":
                    stream.options = {"profile": "4", "vendor": "apl0"}
                else:
                    stream.options = {"crf": "18"}
                for f in range(first, shot.plate.last + 1):
                    if f < shot.plate.first:  # media before the matte: nothing matted there
                        a = np.zeros((h, w, 1), np.float32)
                    else:
                        a = np.clip(alphas.read_alpha(f), 0.0, 1.0)[:, :, None]
                    if kind == "matte4444":
                        rgb = np.repeat(a, 3, axis=2)
                    else:
                        rgb, _ = color.display_frame(plate.read(f), shot.plate.colourspace,
                                                     config=shot.plate.ocio_config)
                    if kind != "h264":
                        pixels = np.concatenate([rgb, a], axis=2)[:h, :w]
                        frame = av.VideoFrame.from_ndarray(_to_uint16(pixels), format="rgba64le")
                    else:
                        tint = np.array([0.1, 0.1, 0.25], np.float32)
                        over = rgb * (0.35 + 0.65 * a) + tint * (1.0 - a) * 0.5
                        frame = av.VideoFrame.from_ndarray(_to_uint8(over[:h, :w]), format="rgb24")
                    for packet in stream.encode(frame):
                        container.mux(packet)
                    if on_frame is not None:
                        on_frame(f)
                for packet in stream.encode():
                    container.mux(packet)
            finally:
                container.close()
        except (av.error.FFmpegError, OSError) as err:
            try:
                os.remove(tmp)
            except OSError:
                pass
            raise OutputError(f"preview {path}: cannot be written ({err})") from None
    os.replace(tmp, path)
    return path


def _timecode_at(plate, frame: int) -> Optional[str]:
    """The plate's timecode of source frame `frame`, counted from the frame it belongs to."""
    from plugin.writers import _timecode_clock
    clock = _timecode_clock(plate)
    if clock is None:
        return None
    anchor, start, nominal = clock
    total = (start + frame - anchor) % (24 * 3600 * nominal)
    return "%02d:%02d:%02d:%02d" % (total // (3600 * nominal), total // (60 * nominal) % 60,
                                    total // nominal % 60, total % nominal)


def _to_uint8(image: np.ndarray) -> np.ndarray:
    # A review movie is a picture for eyes, not data: 8 bits are enough.
    return np.ascontiguousarray(np.round(np.clip(image, 0.0, 1.0) * 255.0).astype(np.uint8))


def _to_uint16(image: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(np.round(np.clip(image, 0.0, 1.0) * 65535.0).astype(np.uint16))
