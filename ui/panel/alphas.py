"""The written matte, read back through the worker (`read_alpha`) like plate frames, so the
artist can check every frame at full resolution and for every object, not only the run's
small previews. A part of `PanelController` (no Qt): images are made by its `load_image`.
"""
from __future__ import annotations

from typing import Dict, List, Optional

from ui.panel.events import Event
from ui.panel.framecache import FrameCache


class WrittenAlphas:
    """One cache entry per frame: {obj_id: alpha image, or None where that frame has no file}."""

    def __init__(self, shell):
        self.shell = shell
        self.downscale = 1
        self._generation = 0  # bumped when files may have changed (a run started or ended)
        self.cache = FrameCache(self._fetch, self._ready, capacity=24, max_in_flight=1, prefetch=2)

    # ------------------------------------------------------------ what to read
    def patterns(self) -> Dict[int, str]:
        """obj_id -> the output pattern its alphas are written to (`####` for the frame)."""
        runs = self.shell.runs
        if self.shell.plate is None:
            return {}
        written = runs.last_outputs
        pattern = runs.output_pattern()
        out = {}
        for obj in self.shell.objects:
            path = written.get(obj.name) or (pattern.replace("{object}", obj.name) if pattern else "")
            if path:
                out[obj.id] = path
        return out

    def _key(self):
        return (self.downscale, self._generation, tuple(sorted(self.patterns().items())))

    # ------------------------------------------------------------------ verbs
    def reset(self, frames: List[int]) -> None:
        self._generation += 1
        self.cache.reset(frames, self._key())

    def set_downscale(self, downscale: int) -> None:
        self.downscale = max(1, int(downscale))

    def request(self, frame: int) -> None:
        """The artist looks at `frame`: show its alphas now if read, else ask the worker."""
        if self.shell.plate is None or not self.shell.objects:
            return
        key = self._key()
        if key != self.cache.view_key:
            self.cache.view_key = key
        self.cache.request(frame)

    def get(self, frame: Optional[int]) -> Optional[Dict[int, object]]:
        """The alphas of `frame` if read ({obj_id: image or None}), else None (still reading)."""
        if frame is None:
            return None
        return self.cache.get(frame) if self.cache.view_key == self._key() else None

    def forget(self, frame: int) -> None:
        """The worker rewrote `frame`: read it again when it is looked at."""
        self.cache.discard(frame)

    def clear(self) -> None:
        """Every file may change (a run starts)."""
        self._generation += 1

    def refresh(self) -> None:
        """Files changed (a run ended, a shot was loaded): read the current frame again."""
        self._generation += 1
        if self.shell.show_alpha and self.shell.current_frame is not None:
            self.request(self.shell.current_frame)

    def forget_in_flight(self) -> None:
        self.cache.forget_in_flight()

    # ---------------------------------------------------------------- worker
    def _fetch(self, frame: int, key, done) -> None:
        downscale, _generation, patterns = key
        params = {"frame": frame, "paths": {str(k): v for k, v in patterns}, "downscale": downscale}

        def got(result):
            answers = result.get("alphas") or {}

            def load():
                alphas = {}
                try:
                    for obj_id, _pattern in patterns:
                        info = answers.get(str(obj_id))
                        alphas[obj_id] = None if not info else self.shell.load_image(
                            info["path"], int(info["width"]), int(info["height"]), "grey8")
                except Exception as err:  # noqa: BLE001
                    self.shell.post(lambda e=err: (done(frame, key, None),
                                                   self.shell.error_from(e, f"the alpha of frame {frame}")))
                    return
                self.shell.post(lambda: done(frame, key, alphas))
            self.shell.submit(load)

        def failed(err):
            done(frame, key, None)
            self.shell.error_from(err, f"reading the alpha of frame {frame}")
        self.shell.call("read_alpha", params, got, failed)

    def _ready(self, frame: int, alphas) -> None:
        self.shell.emit(Event.ALPHA, {"frame": frame, "alphas": alphas})
