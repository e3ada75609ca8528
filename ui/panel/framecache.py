"""Frame decoding off the UI thread: a small LRU of display-ready frames and a request
scheduler that keeps the worker busy with the frame the artist wants first, then its
neighbours. Standard library only; images are opaque objects made by an injected loader.
"""
from __future__ import annotations

from collections import OrderedDict
from typing import Callable, Hashable, List, Optional, Set, Tuple

ViewKey = Tuple[Hashable, ...]


class FrameCache:
    """Bounded cache of decoded frames keyed by (frame, view settings).

    `request(frame)` answers at once from the cache (through `on_frame`), or asks the worker
    through `fetch(frame, view_key, done)` with at most `max_in_flight` requests pending, so a
    fast scrub never queues a backlog: frames no longer wanted are simply not asked for.
    """

    def __init__(self, fetch: Callable, on_frame: Callable, capacity: int = 48,
                 max_in_flight: int = 2, prefetch: int = 3):
        self._fetch = fetch
        self._on_frame = on_frame
        self.capacity = int(capacity)
        self.max_in_flight = int(max_in_flight)
        self.prefetch = int(prefetch)
        self._lru: "OrderedDict[Tuple[int, ViewKey], object]" = OrderedDict()
        self._in_flight: Set[Tuple[int, ViewKey]] = set()
        self._asked_as_wanted: Set[Tuple[int, ViewKey]] = set()  # fetched for the screen, not as a neighbour
        self._frames: List[int] = []
        self._wanted: Optional[int] = None
        self._wanted_shown = False
        self.view_key: ViewKey = ()
        self.hits = 0
        self.misses = 0

    def reset(self, frames: List[int], view_key: ViewKey = ()) -> None:
        self._frames = list(frames)
        self._lru.clear()
        self._wanted = None
        self.view_key = view_key

    def set_view_key(self, view_key: ViewKey) -> None:
        """New display/view/exposure/gamma: old frames stay until evicted but no longer match."""
        self.view_key = view_key
        if self._wanted is not None:
            self.request(self._wanted)

    def forget_in_flight(self) -> None:
        """The worker died: nothing asked for will come back."""
        self._in_flight.clear()
        self._asked_as_wanted.clear()

    def discard(self, frame: int) -> None:
        """A frame changed on disk: drop what was read of it (asked again when wanted)."""
        for key in [k for k in self._lru if k[0] == frame]:
            del self._lru[key]
        if frame == self._wanted:
            self.request(frame)

    def get(self, frame: int):
        item = self._lru.get((frame, self.view_key))
        if item is not None:
            self._lru.move_to_end((frame, self.view_key))
        return item

    def __len__(self) -> int:
        return len(self._lru)

    def request(self, frame: int) -> None:
        """The artist wants `frame` shown now."""
        self._wanted = frame
        image = self.get(frame)
        self._wanted_shown = image is not None
        if image is not None:
            self.hits += 1
            self._on_frame(frame, image)
        else:
            self.misses += 1
        self._pump()

    def _queue(self) -> List[int]:
        if self._wanted is None or not self._frames:
            return []
        order = [self._wanted]
        try:
            i = self._frames.index(self._wanted)
        except ValueError:
            return order
        for d in range(1, self.prefetch + 1):
            for j in (i + d, i - d):  # forward first: artists scrub forwards more
                if 0 <= j < len(self._frames):
                    order.append(self._frames[j])
        return order[:max(1, self.capacity)]  # never prefetch what the cache would evict again

    def _pump(self) -> None:
        for frame in self._queue():
            if len(self._in_flight) >= self.max_in_flight:
                return
            key = (frame, self.view_key)
            if key in self._lru or key in self._in_flight:
                continue
            self._in_flight.add(key)
            if frame == self._wanted:
                self._asked_as_wanted.add(key)
            self._fetch(frame, self.view_key, self._done)

    def _done(self, frame: int, view_key: ViewKey, image) -> None:
        """Called on the UI thread when a fetch finished (image None on failure)."""
        self._in_flight.discard((frame, view_key))
        was_wanted = (frame, view_key) in self._asked_as_wanted
        self._asked_as_wanted.discard((frame, view_key))
        if image is not None:
            self._lru[(frame, view_key)] = image
            self._lru.move_to_end((frame, view_key))
            while len(self._lru) > self.capacity:
                self._lru.popitem(last=False)
            # While the slider is dragged the frame asked for may no longer be the wanted one; showing it
            # anyway keeps the picture moving (as a compositor's viewer does) until the wanted one arrives.
            if view_key == self.view_key and frame == self._wanted:
                self._wanted_shown = True
                self._on_frame(frame, image)
            elif view_key == self.view_key and was_wanted and not self._wanted_shown:
                self._on_frame(frame, image)
        self._pump()


class PreviewCache:
    """Bounded per-frame alpha previews that arrive during a run (object -> image per frame)."""

    def __init__(self, capacity: int = 240):
        self.capacity = int(capacity)
        self._lru: "OrderedDict[int, object]" = OrderedDict()

    def put(self, frame: int, image) -> None:
        self._lru[frame] = image
        self._lru.move_to_end(frame)
        while len(self._lru) > self.capacity:
            self._lru.popitem(last=False)

    def get(self, frame: int):
        return self._lru.get(frame)

    def frames(self) -> List[int]:
        return sorted(self._lru)

    def clear(self) -> None:
        self._lru.clear()

    def __len__(self) -> int:
        return len(self._lru)


def nearest(frames: List[int], frame: int) -> Optional[int]:
    return min(frames, key=lambda f: abs(f - frame)) if frames else None


__all__ = ["FrameCache", "PreviewCache", "nearest"]
