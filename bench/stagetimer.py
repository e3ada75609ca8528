"""Per-stage times of engine steps, shared by bench/engine.py and bench/pipeline.py.

Wraps the session's and the network's stage functions (`Session._image_tensor` = upload,
`encode_image`/`encode_value` = encoder, `read_memory` = readout, `decode` = decoder,
`Session._unpad` = download, `Session.step` = step) with timers. On a CPU the timers are
`time.perf_counter` around each call. On CUDA each call gets a pair of
`torch.cuda.Event(enable_timing=True)` recorded on the current stream, and the pairs are read
only in `per_frame()`, after one synchronize at the end of the run: the wrappers add no host
synchronisation inside a step, so the figures come from the same GPU timeline as an unwrapped
run (an event pair times the GPU work queued between the two records, idle gaps included).
The same alphas: the wrappers only time.
"""
from __future__ import annotations

import threading
import time

DEVICE_STAGES = ("upload", "encoder", "readout", "decoder", "download")
NETWORK_STAGES = (("encode_image", "encoder"), ("encode_value", "encoder"), ("read_memory", "readout"),
                  ("decode", "decoder"))


class StageTimer:
    """Times labelled calls per engine step; undo() restores the wrapped functions."""

    def __init__(self, device):
        import torch
        self.cuda = getattr(device, "type", str(device)) == "cuda"
        self._torch = torch
        self._frame = -1                # index of the step in progress
        self._records: list = []        # (frame, label, seconds or (start, end) events)
        self._totals: dict = {}         # label -> seconds summed over the run (total())
        self._lock = threading.Lock()
        self._undo: list = []

    def _wrap(self, owner, name, wrapper_for) -> None:
        original = getattr(owner, name)
        self._undo.append((owner, name, original, name in vars(owner)))
        setattr(owner, name, wrapper_for(original))

    def _timed(self, original, label):
        if self.cuda:
            event = self._torch.cuda.Event

            def wrapper(*a, **k):
                start = event(enable_timing=True)
                start.record()
                try:
                    return original(*a, **k)
                finally:
                    end = event(enable_timing=True)
                    end.record()
                    self._records.append((self._frame, label, (start, end)))
        else:
            def wrapper(*a, **k):
                t = time.perf_counter()
                try:
                    return original(*a, **k)
                finally:
                    self._records.append((self._frame, label, time.perf_counter() - t))
        return wrapper

    def stage(self, owner, name, label) -> None:
        """Time `owner.name` as `label` of the current step (events on CUDA, wall clock on a CPU)."""
        self._wrap(owner, name, lambda original: self._timed(original, label))

    def step(self, owner, name="step") -> None:
        """Time the step itself (label "step") and count steps: the stages timed during a step
        belong to it."""
        def wrapper_for(original):
            timed = self._timed(original, "step")

            def wrapper(*a, **k):
                self._frame += 1
                return timed(*a, **k)
            return wrapper
        self._wrap(owner, name, wrapper_for)

    def engine(self, session_cls, net) -> None:
        """Wrap the step, its upload and download (`session_cls`, usually `Session`) and the
        network's stage methods (on the instance `net`)."""
        self.step(session_cls)
        self.stage(session_cls, "_image_tensor", "upload")
        self.stage(session_cls, "_unpad", "download")
        for name, label in NETWORK_STAGES:
            self.stage(net, name, label)

    def total(self, owner, name, label, clock=time.perf_counter) -> None:
        """Time `owner.name` as `label`, summed over the run whatever the step: `clock`
        time.thread_time for the CPU seconds of reader and writer threads, the default wall
        clock for the stepping thread's waits."""
        def wrapper_for(original):
            def wrapper(*a, **k):
                t = clock()
                try:
                    return original(*a, **k)
                finally:
                    dt = clock() - t
                    with self._lock:
                        self._totals[label] = self._totals.get(label, 0.0) + dt
            return wrapper
        self._wrap(owner, name, wrapper_for)

    def undo(self) -> None:
        for owner, name, original, own in reversed(self._undo):
            if own:
                setattr(owner, name, original)
            else:
                delattr(owner, name)
        self._undo.clear()

    @property
    def steps(self) -> int:
        return self._frame + 1

    def per_frame(self) -> list:
        """[{label: seconds}] per step, every label of the run present in each (0 where absent).
        On CUDA this synchronizes once, then reads the events."""
        if self.cuda:
            self._torch.cuda.synchronize()
        labels = sorted({label for _, label, _ in self._records})
        frames = [dict.fromkeys(labels, 0.0) for _ in range(self.steps)]
        for frame, label, value in self._records:
            if frame < 0:
                continue
            if isinstance(value, tuple):
                value = value[0].elapsed_time(value[1]) / 1000.0
            frames[frame][label] += value
        return frames

    def totals(self) -> dict:
        """{label: seconds} summed over the run, of the total() labels."""
        with self._lock:
            return dict(self._totals)


def steady(frames: list, skip: int = 1) -> dict:
    """Median seconds per label over the steps after the first `skip` (the first step is the
    warm-up), or over all steps when there are no more."""
    rows = frames[skip:] or frames
    if not rows:
        return {}
    out = {}
    for label in rows[0]:
        values = sorted(r[label] for r in rows)
        out[label] = values[len(values) // 2]
    return out
