"""The pixel readout: the plate's value and each object's written alpha under the cursor, as
Nuke's viewer shows them. The host cannot decode plates (no numpy/OIIO), so the worker samples
its decoded frame (`sample_pixel`); hovering sends at most one request every `INTERVAL_S`, one at
a time, the latest position winning. A part of `PanelController` (no Qt).
"""
from __future__ import annotations

import threading
import time
from typing import Optional, Tuple

from ui.panel.events import Event

INTERVAL_S = 0.05  # at most 20 samples a second while the cursor moves


class PixelReadout:
    def __init__(self, shell, clock=time.monotonic):
        self.shell = shell
        self.clock = clock
        self.sent = 0                                        # requests sent (tests count them)
        self.latest: Optional[dict] = None                   # the last `sample_pixel` result
        self._point: Optional[Tuple[int, int]] = None        # where the cursor is (plate pixels)
        self._wanted: Optional[Tuple[int, int, int]] = None  # (frame, x, y) not yet asked
        self._busy = False
        self._timer: Optional[threading.Timer] = None
        self._last_sent = float("-inf")

    def hover(self, x: int, y: int) -> None:
        """The cursor is over plate pixel (x, y) of the current frame."""
        self._point = (int(x), int(y))
        self.refresh()

    def refresh(self) -> None:
        """Sample again where the cursor last was (the frame changed)."""
        if self._point is None or self.shell.plate is None or self.shell.current_frame is None:
            return
        self._wanted = (self.shell.current_frame,) + self._point
        self._pump()

    def _pump(self) -> None:
        if self._busy or self._wanted is None or self._timer is not None:
            return
        wait = self._last_sent + INTERVAL_S - self.clock()
        if wait > 0:
            self._timer = threading.Timer(wait, lambda: self.shell.post(self._timer_fired))
            self._timer.daemon = True
            self._timer.start()
            return
        (frame, x, y), self._wanted = self._wanted, None
        self._busy, self._last_sent = True, self.clock()
        self.sent += 1
        paths = {str(k): v for k, v in self.shell.alphas.patterns().items()}
        self.shell.call("sample_pixel", {"frame": frame, "x": x, "y": y, "paths": paths}, self._got, self._failed)

    def _timer_fired(self) -> None:
        self._timer = None
        self._pump()

    def _got(self, result: dict) -> None:
        self._busy = False
        self.latest = result  # shown even when a newer position waits: at most INTERVAL_S behind
        self.shell.emit(Event.PIXEL, result)
        self._pump()

    def _failed(self, _err) -> None:
        # A hover is not an action: a failed sample (a frame outside the plate, an older worker)
        # leaves the last readout rather than raising an error bar under the cursor.
        self._busy = False
        self._pump()
