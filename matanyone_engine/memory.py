"""One object's recurrent state: pixel memory (permanent + FIFO), object memory, sensory and
last-frame memory. Capacities are fixed at construction and eviction follows every insertion,
so nothing here grows with shot length.
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

import torch


@dataclass
class MemoryFrame:
    """One memory frame's tokens: key (1,64,hw), shrinkage (1,1,hw), value (1,256,hw)."""

    key: torch.Tensor
    shrinkage: torch.Tensor
    value: torch.Tensor


class PixelMemory:
    """Working memory: [permanent frames | FIFO of the newest temporary frames].

    The official configuration keeps 1 permanent frame (the last warm-up refinement of the
    first frame) plus the last `max_mem_frames - 1` memory frames. Permanent corrections
    (`add_mask(..., permanent=True)`) join the permanent part, which holds at most
    `max_permanent` frames: beyond that the oldest correction (never the first frame) leaves.
    """

    def __init__(self, max_mem_frames: int, max_permanent: int):
        self.fifo_capacity = max(0, max_mem_frames - 1)
        self.max_permanent = max(1, max_permanent)
        self.permanent: list[MemoryFrame] = []
        self.fifo: deque[MemoryFrame] = deque()
        self._cat: tuple | None = None

    def clear(self) -> None:
        self.permanent.clear()
        self.fifo.clear()
        self._cat = None

    def add(self, frame: MemoryFrame, permanent: bool) -> None:
        """Insert a frame; `permanent` False still makes the first frame of an empty bank permanent."""
        if permanent or not self.permanent:
            self.permanent.append(frame)
            if len(self.permanent) > self.max_permanent:
                del self.permanent[1]
        else:
            self.fifo.append(frame)
            while len(self.fifo) > self.fifo_capacity:
                self.fifo.popleft()
        self._cat = None

    @property
    def num_frames(self) -> int:
        return len(self.permanent) + len(self.fifo)

    @property
    def num_tokens(self) -> int:
        return sum(f.key.shape[-1] for f in self.frames())

    def frames(self) -> list[MemoryFrame]:
        return [*self.permanent, *self.fifo]

    def tensors(self):
        """(key (1,64,N), shrinkage (1,1,N), value (1,256,N)), ordered permanent then oldest -> newest."""
        if self._cat is None:
            frames = self.frames()
            self._cat = tuple(torch.cat([getattr(f, name) for f in frames], -1)
                              for name in ("key", "shrinkage", "value"))
        return self._cat


@dataclass
class ObjectState:
    """Everything recurrent about one object (the official InferenceCore's per-video state).

    curr_ti / last_mem_ti: the object's own step counters; memory: pixel memory;
    summaries: (1,16,257) running sum of object summaries since the last warm-up clear;
    sensory: (1,256,h,w); last_mask: (1,1,Hp,Wp) previous alpha; last_pix_feat (1,256,h,w);
    last_value: (1,256,h,w) value of the previous frame's own prediction.
    """

    memory: PixelMemory
    curr_ti: int = -1
    last_mem_ti: int = 0
    summaries: torch.Tensor | None = None
    sensory: torch.Tensor | None = None
    last_mask: torch.Tensor | None = None
    last_pix_feat: torch.Tensor | None = None
    last_value: torch.Tensor | None = None

    def add_summaries(self, summaries: torch.Tensor) -> None:
        self.summaries = summaries if self.summaries is None else self.summaries + summaries

    def tensors(self) -> dict:
        out = {"summaries": self.summaries, "sensory": self.sensory, "last_mask": self.last_mask,
               "last_pix_feat": self.last_pix_feat, "last_value": self.last_value}
        return {k: v for k, v in out.items() if v is not None}

    def nbytes(self) -> int:
        total = sum(t.numel() * t.element_size() for t in self.tensors().values())
        for f in self.memory.frames():
            total += sum(t.numel() * t.element_size() for t in (f.key, f.shrinkage, f.value))
        return total

    # ---------------------------------------------------------------- save / restore
    def to_dict(self) -> dict:
        mem = self.memory
        return {
            "curr_ti": self.curr_ti,
            "last_mem_ti": self.last_mem_ti,
            **{k: v.clone() for k, v in self.tensors().items()},
            "permanent": [_frame_dict(f) for f in mem.permanent],
            "fifo": [_frame_dict(f) for f in mem.fifo],
        }

    @classmethod
    def from_dict(cls, d: dict, max_mem_frames: int, max_permanent: int, device: torch.device) -> "ObjectState":
        mem = PixelMemory(max_mem_frames, max_permanent)
        mem.permanent = [_frame_from(f, device) for f in d["permanent"]]
        mem.fifo = deque(_frame_from(f, device) for f in d["fifo"])
        state = cls(memory=mem, curr_ti=int(d["curr_ti"]), last_mem_ti=int(d["last_mem_ti"]))
        for name in ("summaries", "sensory", "last_mask", "last_pix_feat", "last_value"):
            if name in d:
                setattr(state, name, d[name].to(device).clone())
        return state


def _frame_dict(f: MemoryFrame) -> dict:
    return {"key": f.key.clone(), "shrinkage": f.shrinkage.clone(), "value": f.value.clone()}


def _frame_from(d: dict, device) -> MemoryFrame:
    return MemoryFrame(d["key"].to(device).clone(), d["shrinkage"].to(device).clone(), d["value"].to(device).clone())
