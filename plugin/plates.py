"""Plates in: image sequences (EXR, DPX, TIFF, PNG, JPEG via OpenImageIO) and movies
(ProRes and other PyAV-decodable video in .mov/.mp4/.mxf), read one frame at a time as
float32 RGB at display-window size. A suffix registry picks the reader
(`plugin.sequences`, `plugin.movies`; the base class is `plugin.plate`).

    with plates.open("plates/sh010.####.exr") as plate:
        rgb = plate.read(plate.first)        # float32 HxWx3, source frame numbers

Never writes anything: plates are read-only here.
"""
from __future__ import annotations

import os
from typing import Callable, Dict, Optional, Tuple

from plugin import framepattern
from plugin.errors import PlateError
from plugin.movies import MoviePlate, _open_movie, yuv_to_rgb
from plugin.plate import Plate, Window
from plugin.sequences import ImageSequencePlate, _open_sequence

__all__ = ["open", "open_alpha", "formats", "Plate", "Window", "ImageSequencePlate", "MoviePlate",
           "yuv_to_rgb"]


# --------------------------------------------------------------------------- registry

# Suffix -> how to open it. Image suffixes open a sequence; movie suffixes a movie.
_READERS: Dict[str, Callable[[str, Optional[Tuple[int, int]]], Plate]] = {}
for _ext in (".exr", ".sxr", ".dpx", ".cin", ".tif", ".tiff", ".png", ".jpg", ".jpeg", ".tga", ".sgi", ".hdr"):
    _READERS[_ext] = _open_sequence
for _ext in (".mov", ".mp4", ".m4v", ".mxf", ".mkv", ".avi"):
    _READERS[_ext] = _open_movie


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
    if reader is None and not ext and not os.path.exists(given):
        raise PlateError(f"{given}: no such file or folder; check the path")
    if reader is None:
        known = ", ".join(sorted(_READERS))
        raise PlateError(f"{given}: unknown plate format '{ext or '(no extension)'}'; "
                         f"use one of {known}")
    return reader(given, frame_range)


def open_alpha(path_or_pattern, frame_range: Optional[Tuple[int, int]] = None) -> Plate:
    """Open a matte/alpha sequence or movie; use `read_alpha(frame) -> float32 HxW`."""
    return open(path_or_pattern, frame_range)
