"""The reading side of a run: frames decoded, colour-converted and resized on a small
thread pool ahead of the engine (at most a few in flight, handed out in order), and the
resizing between plate and network sizes."""
from __future__ import annotations

import collections
import os
import sys
import threading
from typing import Any, Callable, List, Optional, Sequence, Tuple

import numpy as np

from plugin.shot import Shot, ShotObject

READ_AHEAD = 3      # decoded frames waiting for the engine (at least readers + 1)
READERS_MAX = 32    # reader threads at most (default: one per core the job may use): exact OCIO at 1080p
                    # takes ~1.1 CPU s a frame, so a GPU engine is fed ~0.8 frames/s per reader


class FrameLoader:
    """Loads one frame for the engine: decode, colour-convert (and resize) the image, and the
    keyframe masks of the objects that run (called on the reader pool)."""

    def __init__(self, shot: Shot, plate, objects: Sequence[ShotObject], size: Optional[Tuple[int, int]],
                 early: Optional["EarlyImage"] = None):
        self.shot, self.plate, self.objects, self.size = shot, plate, list(objects), size
        self.early = early
        self._decode_lock = threading.Lock()

    def __call__(self, frame: int):
        from plugin import masks
        shot = self.shot
        image = self.early.take(frame) if self.early is not None else None
        if image is None:
            if getattr(self.plate, "is_movie", False):
                with self._decode_lock:  # one movie decoder; sequences open a file per read
                    image = network_image(shot, self.plate, frame, self.size)
            else:
                image = network_image(shot, self.plate, frame, self.size)
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


def network_image(shot: Shot, plate, frame: int, size: Optional[Tuple[int, int]]) -> np.ndarray:
    """A plate frame as the engine takes it: decoded, in network-input colour, resized to `size`."""
    from plugin import color
    image = color.to_network_input(plate.read(frame), shot.plate.colourspace, config=shot.plate.ocio_config,
                                   display=shot.display, view=shot.view, parallel=False)
    image = np.ascontiguousarray(image, dtype=np.float32)
    if size is not None:
        image = resize_image(image, size)
    return image


class EarlyImage:
    """The network image of the frame a run will most likely step first, read on its own
    thread (at normal priority) while the network loads: without it a CPU job at 1080p
    waits about a second for its first frame after the load, which the engine alone
    does not. `take` hands it to the loader once; a guess that misses (a resume) is dropped.
    Not for movies (one decoder, read in order)."""

    def __init__(self, shot: Shot, plate, frame: int, size: Optional[Tuple[int, int]]):
        from concurrent.futures import ThreadPoolExecutor
        self.frame = frame
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="matanyone-early")
        self._future = self._pool.submit(network_image, shot, plate, frame, size)
        self._pool.shutdown(wait=False)
        self._lock = threading.Lock()
        self._taken = False

    def take(self, frame: int) -> Optional[np.ndarray]:
        """The image if `frame` is the one read early (its read error, if it failed), once; else None."""
        with self._lock:
            if self._taken or frame != self.frame:
                return None
            self._taken = True
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
    """Loads frames on a small thread pool, at most `ahead` in flight, handed out in order."""

    def __init__(self, load: Callable[[int], Any], frames: List[int], threads: int):
        from concurrent.futures import ThreadPoolExecutor
        self._load = load
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
            self._pending.append(self._pool.submit(self._load, frame))

    def next(self):
        future = self._pending.popleft()
        item = future.result()  # a reader's error (one-line UserError) surfaces here
        self._fill()
        return item

    def close(self) -> None:
        for future in self._pending:
            future.cancel()
        self._pending.clear()
        self._pool.shutdown(wait=True, cancel_futures=True)

