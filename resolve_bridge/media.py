"""Frame and path arithmetic for Resolve media: timecodes, `name.[1001-1100].exr`
sequences, the source range a timeline item uses, matte file lists. Standard library only.
"""
from __future__ import annotations

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


def source_range(source_start: int, source_end: Optional[int], duration: int, media_base: int,
                 media_frames: int, first_number: int, left_offset: Optional[int] = None) -> Tuple[int, int]:
    """The source frame numbers (first, last) a timeline item uses.

    Args:
        source_start, source_end: `GetSourceStartFrame()`/`GetSourceEndFrame()` (end may be None
            when only the left offset is known). Resolve counts them from the media's start
            timecode on some media and from 0 on others; both are accepted.
        duration: the item's duration on the timeline, in frames.
        media_base: the media's start timecode in frames; media_frames: its length.
        first_number: the source frame number of the media's first frame (a sequence's
            first file number; 1 for a movie, as Nuke and the shot file count).
        left_offset: `GetLeftOffset(False)`, the media frames before the clip's first one;
            it settles which counting the start frame uses when both fit the media.

    Returns:
        (first, last) source frame numbers, inclusive.
    """
    in_media = media_base <= source_start < media_base + max(media_frames, 1)
    index = source_start - media_base if in_media else source_start
    if left_offset is not None and left_offset in (source_start, source_start - media_base) \
            and 0 <= left_offset and (not media_frames or left_offset < media_frames):
        index = left_offset
    if source_end is not None and abs((source_end - source_start) - duration) > 1:
        raise PlateError(
            f"the clip plays {abs(source_end - source_start)} source frames over {duration} timeline "
            f"frames (a speed change): matte the clip at 100% speed, then retime the matte with it.")
    if index < 0 or (media_frames and index >= media_frames):
        raise PlateError(f"the clip starts at media frame {index}, outside its {media_frames} frames: relink the media.")
    last_index = index + duration - 1
    if media_frames:
        last_index = min(last_index, media_frames - 1)
    return first_number + index, first_number + last_index


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
