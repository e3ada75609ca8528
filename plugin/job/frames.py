"""The reading side of a run: frames decoded, colour-converted and resized on a small
thread pool ahead of the engine (at most a few in flight, handed out in order), and the
resizing between plate and network sizes."""
from __future__ import annotations

import collections
import os
import sys
import threading
from typing import List, Optional, Sequence, Tuple

import numpy as np

from plugin.shot import Shot, ShotObject

READ_AHEAD = 3      # decoded frames waiting for the engine (at least readers + 1)
READERS_MAX = 32    # reader threads at most (default: one per core the job may use): exact OCIO at 1080p
                    # takes ~1.1 CPU s a frame, so a GPU engine is fed ~0.8 frames/s per reader


BAND_ROWS = 32      # rows of a frame's colour transform taken at a time (1080p: 34 bands, ~30 ms each)
_FREE, _TAKEN, _DONE = 0, 1, 2


class FrameLoader:
    """What loading one frame for the engine takes: decode, colour-convert (band by band) and
    resize the image, and load the keyframe masks of the objects that run."""

    def __init__(self, shot: Shot, plate, objects: Sequence[ShotObject], size: Optional[Tuple[int, int]],
                 early: Optional["EarlyImage"] = None):
        from plugin import color
        self.shot, self.plate, self.objects, self.size = shot, plate, list(objects), size
        self.early = early
        self.is_movie = bool(getattr(plate, "is_movie", False))
        self.convert = color.network_input_bands(shot.plate.colourspace, config=shot.plate.ocio_config,
                                                 display=shot.display, view=shot.view)
        self._decode_lock = threading.Lock()

    def decode(self, frame: int) -> np.ndarray:
        if self.is_movie:
            with self._decode_lock:  # one movie decoder; sequences open a file per read
                return self.plate.read(frame)
        return self.plate.read(frame)

    def finish(self, frame: int, image: np.ndarray):
        """The engine's (frame, image, masks) from a converted image."""
        from plugin import masks
        shot = self.shot
        if self.size is not None:
            image = resize_image(image, self.size)
        fmasks = {}
        for o in self.objects:
            path = o.keyframes.get(frame)
            if path is None:
                continue
            m = masks.load_for_engine(path, self.plate.width, self.plate.height, shot.dilate, shot.erode,
                                      f" (object {o.name!r}, frame {frame})")
            if self.size is not None:
                m = resize_mask(m, self.size)
            fmasks[o.id] = m
        return frame, image, fmasks


class FrameWork:
    """One frame on its way to the engine, in pieces that any thread may do.

    Its reader (`run`, at idle priority) decodes it, converts it band by band and finishes it.
    The engine's thread, when the frame is not ready (`take`), does what is left itself at normal
    priority: the decode (again; a movie's it waits for), the bands no one has taken, then those
    taken but not done (again, out of place: the first result in wins, and both are the same
    bits), and the finish (again). So the engine never waits on an idle-priority reader that other
    work on the machine starves (such readers get no CPU while anything else wants it), and a
    frame it waits for gets one more core."""

    def __init__(self, loader: FrameLoader, frame: int):
        self.loader, self.frame = loader, frame
        self._lock = threading.Lock()
        self._source: Optional[np.ndarray] = None   # decoded plate pixels, float32, C order
        self._image: Optional[np.ndarray] = None    # the network image, filled band by band
        self._bands: List[Tuple[int, int]] = []
        self._state: List[int] = []
        self._left = 0
        self._result = None
        self._error: Optional[BaseException] = None
        self._decoded = threading.Event()
        self._done = threading.Event()

    def run(self) -> None:
        """The reader's part; an error is kept for `take` to raise."""
        try:
            self._work(helping=False)
        except BaseException as err:  # noqa: BLE001 - raised again on the engine's thread
            with self._lock:
                if self._result is None and self._error is None:
                    self._error = err
            self._done.set()
            self._decoded.set()

    def take(self):
        """(frame, image, masks), doing what is left on this thread."""
        if not self._done.is_set():
            self._work(helping=True)
        with self._lock:
            if self._result is None and self._error is not None:
                raise self._error
            return self._result

    def _work(self, helping: bool) -> None:
        early = self.loader.early
        image = early.take(self.frame) if early is not None else None
        if image is not None:
            self._publish(self.loader.finish(self.frame, image))
            return
        if not self._decoded.is_set():
            if helping and self.loader.is_movie:
                self._decoded.wait()  # one decoder, in order
            else:
                self._set_source(self.loader.decode(self.frame))
        if self._error is not None:
            return
        while True:
            band = self._claim(steal=helping)
            if band is None:
                break
            self._convert(band)
        if helping and not self._done.is_set():
            with self._lock:  # every band is done (we did or redid each): the finish is left
                image = self._image if self._source is not None and self._left == 0 else None
            if image is not None:
                self._publish(self.loader.finish(self.frame, image))

    def _set_source(self, pixels: np.ndarray) -> None:
        source = np.asarray(pixels, dtype=np.float32, order="C")
        with self._lock:
            if self._source is not None or self._result is not None:
                return  # decoded twice: the first one is kept
            self._source = source
            self._image = np.empty_like(source)
            height = source.shape[0]
            self._bands = [(y, min(y + BAND_ROWS, height)) for y in range(0, height, BAND_ROWS)]
            self._state = [_FREE] * len(self._bands)
            self._left = len(self._bands)
        self._decoded.set()

    def _claim(self, steal: bool):
        """(band index, source) to convert: a free band, or with `steal` one taken but not done."""
        with self._lock:
            if self._source is None:
                return None
            for wanted in ((_FREE, _TAKEN) if steal else (_FREE,)):
                for i, state in enumerate(self._state):
                    if state == wanted:
                        self._state[i] = _TAKEN
                        return i, self._source
        return None

    def _convert(self, band) -> None:
        i, source = band
        y0, y1 = self._bands[i]
        rows = source[y0:y1].copy()   # out of place: a band may be converted twice at once
        self.loader.convert(rows)
        with self._lock:
            if self._state[i] == _DONE:
                return
            self._image[y0:y1] = rows
            self._state[i] = _DONE
            self._left -= 1
            last = self._left == 0
            image = self._image
        if last:
            self._publish(self.loader.finish(self.frame, image))

    def _publish(self, result) -> None:
        with self._lock:
            if self._result is None:
                self._result = result
                self._source = None  # the plate pixels are no longer needed
        self._decoded.set()
        self._done.set()


def converted_image(shot: Shot, plate, frame: int) -> np.ndarray:
    """A plate frame decoded and in network-input colour, at plate size."""
    from plugin import color
    return color.to_network_input(plate.read(frame), shot.plate.colourspace, config=shot.plate.ocio_config,
                                  display=shot.display, view=shot.view, parallel=False)


class EarlyImage:
    """The converted image of the frame a run will most likely step first, read on its own
    thread (at normal priority) while the network loads: without it a CPU job at 1080p
    waits about a second for its first frame after the load, which the engine alone
    does not. A guess that misses (a resume) is dropped. Not for movies (one decoder, read in
    order)."""

    def __init__(self, shot: Shot, plate, frame: int):
        from concurrent.futures import ThreadPoolExecutor
        self.frame = frame
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="matanyone-early")
        self._future = self._pool.submit(converted_image, shot, plate, frame)
        self._pool.shutdown(wait=False)

    def take(self, frame: int) -> Optional[np.ndarray]:
        """The image (waiting for it) if `frame` is the one read early (its read error, if it
        failed), else None. Read-only: every pass and thread that asks shares it."""
        if frame != self.frame:
            return None
        return self._future.result()

    def __enter__(self) -> "EarlyImage":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        """Wait for a read still in progress (it holds the plate, which closes after the run)."""
        self._future.cancel()
        try:
            self._future.result()
        except BaseException:  # noqa: BLE001 - an unused guess's error does not matter
            pass


def resize_image(image: np.ndarray, size: Tuple[int, int]) -> np.ndarray:
    import torch
    import torch.nn.functional as F
    t = torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1)[None]
    return F.interpolate(t, size=size, mode="area")[0].permute(1, 2, 0).contiguous().numpy()


def resize_mask(mask: np.ndarray, size: Tuple[int, int]) -> np.ndarray:
    import torch
    import torch.nn.functional as F
    t = torch.from_numpy(mask.astype(np.float32))[None, None]
    out = F.interpolate(t, size=size, mode="nearest")[0, 0].numpy()
    return out.astype(mask.dtype)


def resize_alpha(alpha: np.ndarray, height: int, width: int) -> np.ndarray:
    import torch
    import torch.nn.functional as F
    t = torch.from_numpy(np.ascontiguousarray(alpha, dtype=np.float32))[None, None]
    out = F.interpolate(t, size=(height, width), mode="bilinear", align_corners=False)
    return out[0, 0].clamp_(0.0, 1.0).numpy()


def as_numpy(alpha) -> np.ndarray:
    if hasattr(alpha, "detach"):
        alpha = alpha.detach().to("cpu").float().numpy()
    return np.asarray(alpha, dtype=np.float32)


def lower_thread_priority() -> None:
    """Make the calling thread yield to the engine (Linux, this thread alone: the idle
    scheduling class, or nice 19 where that is refused).

    The engine's OpenMP threads need every core at the same moment: a reader or writer that takes
    a core in the middle of a parallel op stalls the whole op. At the lowest priority they run in
    the gaps the engine leaves (and freely while it waits on a GPU or for a frame).
    """
    if not sys.platform.startswith("linux"):
        return
    tid = threading.get_native_id()
    try:
        if os.environ.get("MATANYONE_PLUGIN_READER_NICE") == "1":
            raise OSError("nice requested")
        os.sched_setscheduler(tid, os.SCHED_IDLE, os.sched_param(0))
    except (OSError, AttributeError):
        try:
            os.setpriority(os.PRIO_PROCESS, tid, 19)
        except (OSError, AttributeError):
            pass


def in_background(target, *args) -> None:
    lower_thread_priority()
    target(*args)


def reader_threads() -> int:
    """Frames decoded and colour-converted in parallel: OCIO's CPU transform of a 1080p frame
    takes about a second on one core, so one reader would starve a GPU.

    One per core: the readers run at idle priority, so on a CPU engine that keeps every core
    busy they mostly run while the engine waits for a frame; then every core should read (on
    2 cores, one reader left a core idle for about 1 s of every 1080p step: the job 1.22x the
    engine alone)."""
    env = os.environ.get("MATANYONE_PLUGIN_READERS", "").strip()
    if env.isdigit() and int(env) > 0:
        return int(env)
    return max(1, min(READERS_MAX, usable_cores()))


def usable_cores() -> int:
    """Cores this process may run on: a farm's CPU set (affinity) where the OS has one, else all."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except (AttributeError, OSError):
        return os.cpu_count() or 1


class OrderedReader:
    """Loads frames on a small thread pool, at most `ahead` in flight, handed out in order; the
    caller finishes the frame it asks for when its reader has not (see `FrameWork`)."""

    def __init__(self, loader: FrameLoader, frames: List[int], threads: int):
        from concurrent.futures import ThreadPoolExecutor
        self._loader = loader
        self._frames = iter(frames)
        self._ahead = max(READ_AHEAD, threads + 1)
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="matanyone-reader",
                                        initializer=lower_thread_priority)
        self._pending: "collections.deque" = collections.deque()
        self._fill()

    def _fill(self) -> None:
        while len(self._pending) < self._ahead:
            frame = next(self._frames, None)
            if frame is None:
                return
            work = FrameWork(self._loader, frame)
            self._pending.append((work, self._pool.submit(work.run)))

    def next(self):
        work, _ = self._pending.popleft()
        item = work.take()  # a reader's error (one-line UserError) surfaces here
        self._fill()
        return item

    def close(self) -> None:
        for _, future in self._pending:
            future.cancel()
        self._pending.clear()
        self._pool.shutdown(wait=True, cancel_futures=True)

