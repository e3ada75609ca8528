"""What every plate reader offers: the `Plate` base class and its `Window`s.

Readers live beside it (`plugin.sequences`, `plugin.movies`); `plugin.plates` picks one by suffix.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple

import numpy as np

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
        timecode_frame: the frame number `timecode` belongs to (a movie's frame 1, even when
            opened over a later range), or None for the first frame.
        metadata: a dict of the first frame's file attributes (strings and numbers).
    """

    is_movie = False
    variable_rate = False   # a movie whose pictures are not evenly spaced in time

    def __init__(self):
        self.path = ""
        self.frames: List[int] = []
        self.width = self.height = 0
        self.display_window = self.data_window = Window(0, 0, 0, 0)
        self.channels: Tuple[str, ...] = ()
        self.pixel_type = ""
        self.fps: Optional[float] = None
        self.timecode: Optional[str] = None
        self.timecode_frame: Optional[int] = None
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
            ("fps", (f"variable frame rate (average {self.fps:.3g})" if self.variable_rate else
                     f"{self.fps:g}") if self.fps else "unknown"),
            ("timecode", self.timecode or "unknown"),
        ]
        if self.is_movie:
            rows.insert(2, ("codec", str(self.metadata.get("codec", "unknown"))))
        return rows
