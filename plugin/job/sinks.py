"""Where a pass's alphas go. Each pass of a plan writes into one sink: `WorkFrames` keeps the
backward pass of a two-way run aside (one .npy per object and frame), `AlphaOutputs` writes
the alpha EXRs, blending the work frames in when the plan says so."""
from __future__ import annotations

import os
from typing import Callable, Dict, Optional, Sequence

import numpy as np

from plugin.job.files import remove_quietly
from plugin.job.planning import Pass, blend_weight, covers
from plugin.shot import Shot, ShotObject

Alphas = Optional[Dict[int, np.ndarray]]  # object id -> HxW float32 at plate size; None: not stepped


class WorkFrames:
    """The backward pass of a two-way run, per object and frame, until the forward pass blends it."""

    def __init__(self, folder: str, objects: Sequence[ShotObject], height: int, width: int):
        self.folder, self.objects, self.height, self.width = folder, list(objects), height, width

    def _path(self, obj: ShotObject, frame: int) -> str:
        return os.path.join(self.folder, f"{obj.id}.{frame}.npy")

    def write(self, p: Pass, frame: int, alphas: Alphas) -> Dict[str, str]:
        os.makedirs(self.folder, exist_ok=True)
        for o in self.objects:
            if p.covers(o, frame):
                a = alphas.get(o.id) if alphas else None
                a = np.zeros((self.height, self.width), np.float32) if a is None else a
                path = self._path(o, frame)
                tmp = f"{path}.{os.getpid()}.tmp"
                try:
                    with open(tmp, "wb") as f:
                        np.save(f, a)
                    os.replace(tmp, path)
                except BaseException:
                    remove_quietly(tmp)
                    raise
        return {}

    def read(self, obj: ShotObject, frame: int) -> Optional[np.ndarray]:
        """The backward alpha of `obj` at `frame`, or None where the backward pass does not reach."""
        return np.load(self._path(obj, frame)) if covers(obj, "backward", frame) else None


class AlphaOutputs:
    """One alpha EXR writer per object (opened on first use, closed by `close`)."""

    def __init__(self, shot: Shot, plate, objects: Sequence[ShotObject],
                 metadata: Callable[[ShotObject], Dict[str, str]], work: Optional[WorkFrames]):
        self.shot, self.plate, self.objects = shot, plate, list(objects)
        self._metadata, self._work = metadata, work
        self._writers: Dict[str, object] = {}
        self._rgb = None

    def write(self, p: Pass, frame: int, alphas: Alphas) -> Dict[str, str]:
        h, w = self.plate.height, self.plate.width
        rgb = self._rgb_plate().read(frame) if self.shot.output.channels == "RGBA" else None
        written = {}
        for o in self.objects:
            a = self._final_alpha(p, o, frame, alphas, h, w)
            writer = self._writer_for(o)
            writer.write(frame, a, rgb)
            written[o.name] = writer.path(frame)
        return written

    def _final_alpha(self, p: Pass, o: ShotObject, frame: int, alphas: Alphas, h: int, w: int) -> np.ndarray:
        mine = alphas.get(o.id) if (alphas and p.covers(o, frame)) else None
        if not p.blend:
            return mine if mine is not None else np.zeros((h, w), np.float32)
        back = self._work.read(o, frame)
        if mine is not None and back is not None:
            wf = blend_weight(o, frame)
            return (wf * mine + (1.0 - wf) * back).astype(np.float32)
        if mine is not None:
            return mine
        if back is not None:
            return back.astype(np.float32)
        return np.zeros((h, w), np.float32)

    def _writer_for(self, obj: ShotObject):
        w = self._writers.get(obj.name)
        if w is None:
            from plugin import writers
            w = writers.open(self.shot.output.pattern_for(obj), like=self.plate, dtype=self.shot.output.dtype,
                             channels=self.shot.output.channels, layer=obj.name, metadata=self._metadata(obj))
            self._writers[obj.name] = w
        return w

    def _rgb_plate(self):
        """A second reader of the plate for premultiplied RGBA output (used on the writer thread)."""
        if self._rgb is None:
            from plugin import plates
            self._rgb = plates.open(self.shot.plate.path, (self.shot.plate.first, self.shot.plate.last))
        return self._rgb

    def close(self) -> None:
        for w in self._writers.values():
            w.close()
        self._writers = {}
        if self._rgb is not None:
            self._rgb.close()
            self._rgb = None
