"""Playback at the plate's frame rate: the frame shown follows the clock (frames that are not
decoded in time are skipped, as a compositor's viewer does), forwards or backwards, looping
over the in/out range when one is set."""
from __future__ import annotations

import time
from typing import Optional

from ui.qt import QtCore

DEFAULT_FPS = 24.0  # image sequences carry no rate; 24 is what Nuke's project default is


class Playback(QtCore.QObject):
    """Drives `controller.set_frame` from a timer; `direction` is +1 (L), -1 (J) or 0 (stopped)."""

    stateChanged = QtCore.Signal(int)

    def __init__(self, controller, parent=None):
        super().__init__(parent)
        self.controller = controller
        self.loop = True
        self.direction = 0
        self._timer = QtCore.QTimer(self)
        self._timer.setTimerType(QtCore.Qt.PreciseTimer)
        self._timer.timeout.connect(self._tick)
        self._start_index = 0
        self._started = 0.0

    @property
    def fps(self) -> float:
        plate = self.controller.plate
        fps = float(plate.fps) if plate is not None and plate.fps else DEFAULT_FPS
        return fps if fps > 0 else DEFAULT_FPS

    def _range(self):
        """The frames played: the in/out range when set, else the whole plate."""
        frames = self.controller.plate.frames
        lo, hi = self.controller.run_range or (frames[0], frames[-1])
        return [f for f in frames if lo <= f <= hi] or frames

    def play(self, direction: int = 1) -> None:
        c = self.controller
        if c.plate is None or c.current_frame is None:
            return
        frames = self._range()
        if c.current_frame not in frames:
            c.set_frame(frames[0] if direction > 0 else frames[-1])
        self.direction = 1 if direction >= 0 else -1
        self._start_index = frames.index(c.current_frame)
        self._started = time.monotonic()
        self._timer.start(max(4, int(500.0 / self.fps)))  # twice a frame: a late tick shows the right frame
        self.stateChanged.emit(self.direction)

    def stop(self) -> None:
        if self.direction:
            self._timer.stop()
            self.direction = 0
            self.stateChanged.emit(0)

    def toggle(self, direction: int = 1) -> None:
        if self.direction:
            self.stop()
        else:
            self.play(direction)

    def frame_at(self, elapsed: float) -> Optional[int]:
        """The frame due `elapsed` seconds after play started, or None past the end without loop."""
        frames = self._range()
        step = int(elapsed * self.fps) * self.direction
        i = self._start_index + step
        if self.loop:
            return frames[i % len(frames)]
        return frames[i] if 0 <= i < len(frames) else None

    def _tick(self) -> None:
        if self.controller.plate is None:
            self.stop()
            return
        frame = self.frame_at(time.monotonic() - self._started)
        if frame is None:
            self.stop()
        elif frame != self.controller.current_frame:
            self.controller.set_frame(frame)
