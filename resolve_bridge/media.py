"""Frame and path arithmetic for Resolve media: timecodes, `name.[1001-1100].exr`
sequences, the source frames a timeline item plays, matte file lists. Standard library only.
"""
from __future__ import annotations

import math
import os
import re
from typing import List, Optional, Tuple

from plugin import framepattern
from plugin.errors import PlateError, UserError


def timecode_to_frames(timecode: str, fps: float) -> int:
    """Frames since 00:00:00:00 of `HH:MM:SS:FF` (';' or '.' before FF marks drop-frame)."""
    parts = re.split(r"[:;.]", timecode.strip())
    if len(parts) != 4:
        raise UserError(f"Resolve returned the timecode '{timecode}', which is not HH:MM:SS:FF.")
    hours, minutes, seconds, frames = (int(p) for p in parts)
    nominal = int(round(fps))
    total = ((hours * 60 + minutes) * 60 + seconds) * nominal + frames
    if ";" in timecode or "." in timecode:  # drop-frame: 2 (4 at 59.94) labels a minute, not the tenth
        drop = 2 * nominal // 30
        all_minutes = hours * 60 + minutes
        total -= drop * (all_minutes - all_minutes // 10)
    return total


def frame_rate(text, default: float) -> float:
    """A frame rate from Resolve's text ('24', '23.976', '29.97 DF'), else `default`."""
    match = re.match(r"\s*(\d+(?:\.\d+)?)", str(text or ""))
    return float(match.group(1)) if match else float(default)


def sequence_pattern(path: str) -> Tuple[str, Optional[int], Optional[int]]:
    """(pattern with '#', first, last) for Resolve's `name.[1001-1100].exr` form; the path
    unchanged with (None, None) for a movie or a pattern without a range."""
    found = framepattern.bracketed(path)
    return found if found else (path, None, None)


def is_sequence(path: str) -> bool:
    return bool(framepattern.bracketed(path) or framepattern.has_token(path))


def used_frames(left_offset: int, duration: int, clip_fps: float, timeline_fps: float,
                media_frames: int, first_number: int) -> Tuple[int, int]:
    """The source frame numbers (first, last) a timeline item plays, from what every Resolve
    since 18.6 documents: `GetLeftOffset` and `GetDuration` (timeline frames) and the media
    pool item's `Frames` and `FPS`. A clip at another frame rate than the timeline plays
    clip_fps / timeline_fps media frames per timeline frame (a 50p clip in a 25p timeline
    uses two media frames per timeline frame: not a retime).

    Args:
        left_offset: media before the clip's first frame, in timeline frames.
        duration: the clip's length on the timeline, in timeline frames.
        media_frames: the media's length in its own frames (0 when Resolve does not say).
        first_number: the source frame number of the media's first frame (a sequence's
            first file number; 1 for a movie, as Nuke and the shot file count).

    Returns:
        (first, last) source frame numbers, inclusive.
    """
    ratio = _ratio(clip_fps, timeline_fps)
    index = int(round(left_offset * ratio))
    count = max(1, int(round(duration * ratio)))
    if index < 0 or (media_frames and index + count > media_frames):
        raise PlateError(f"the clip uses media frames {index}-{index + count - 1}, outside the media's "
                         f"{media_frames} frames: relink the clip to its full media, then try again.")
    return first_number + index, first_number + index + count - 1


def source_frame(timeline_frame: int, clip_start: int, first: int, clip_fps: float, timeline_fps: float) -> int:
    """The source frame number the timeline shows at `timeline_frame` of a clip that starts at
    `clip_start` with source frame `first`: clip_fps / timeline_fps media frames pass per
    timeline frame (two for a 50p clip in a 25p timeline), so no plain offset maps them."""
    return first + int(math.floor((timeline_frame - clip_start) * _ratio(clip_fps, timeline_fps) + 1e-6))


def timeline_frame(source: int, clip_start: int, first: int, clip_fps: float, timeline_fps: float) -> int:
    """The timeline frame that shows source frame `source` (the inverse of `source_frame`)."""
    return clip_start + int(math.floor((source - first) / _ratio(clip_fps, timeline_fps) + 1e-6))


def _ratio(clip_fps: float, timeline_fps: float) -> float:
    return clip_fps / timeline_fps if clip_fps > 0 and timeline_fps > 0 else 1.0


def check_speed(source_start: Optional[int], source_end: Optional[int], used: int) -> None:
    """Refuse a retimed clip where Resolve says how many source frames it plays
    (`GetSourceStartFrame`/`GetSourceEndFrame`, Resolve 19.0.2 and later)."""
    if source_start is None or source_end is None:
        return
    played = abs(int(source_end) - int(source_start))
    if abs(played - used) > 1:
        raise PlateError(
            f"the clip plays {played} source frames over {used} media frames (a speed change): "
            f"matte the clip at 100% speed, then retime the matte with it.")


def sequence_form(pattern: str, first: int, last: int) -> str:
    """`shot.####.exr`, 1001, 1100 -> `shot.[1001-1100].exr`: how Resolve names an image
    sequence clip (its README's ImportMedia example); a movie path stays as it is."""
    if not framepattern.has_token(pattern):
        return pattern
    parsed = framepattern.parse(pattern)
    width = parsed.padding
    return _in_folder(parsed, f"{parsed.prefix}[{first:0{width}d}-{last:0{width}d}]{parsed.suffix}")


def frame_paths(pattern: str, first: int, last: int) -> List[str]:
    """Each frame's file of a `####`/`%04d` pattern; a movie path stays one path."""
    if not framepattern.has_token(pattern):
        return [pattern]
    parsed = framepattern.parse(pattern)
    return [parsed.path(frame) for frame in range(first, last + 1)]


def printf_pattern(pattern: str) -> Optional[str]:
    """`shot.####.exr` -> `shot.%04d.exr` (what ImportMedia wants); None for a movie."""
    if not framepattern.has_token(pattern):
        return None
    parsed = framepattern.parse(pattern)
    return _in_folder(parsed, f"{parsed.prefix}%0{parsed.padding}d{parsed.suffix}")


def matte_matches(path: str, pattern: str) -> bool:
    """Whether a matte path Resolve lists (one file, a `[a-b]` range or a pattern) is this output."""
    if not framepattern.has_token(pattern):
        return os.path.normcase(os.path.normpath(path)) == os.path.normcase(os.path.normpath(pattern))
    parsed = framepattern.parse(pattern)
    head, tail = _in_folder(parsed, parsed.prefix), parsed.suffix
    frames = r"(\d+|\[\d+-\d+\]|#+|%0?\d*d)"
    norm = lambda p: os.path.normcase(p.replace("\\", "/"))  # noqa: E731
    return re.fullmatch(re.escape(norm(head)) + frames + re.escape(norm(tail)), norm(path)) is not None


def _in_folder(parsed: "framepattern.FramePattern", name: str) -> str:
    # The pattern's own folder text, kept as given (Resolve compares paths as strings).
    return parsed.directory + os.sep + name if parsed.directory else name
