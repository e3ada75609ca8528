"""User object ids -> private positions, and the masks waiting for the next step.

The panel, shot file and writers speak object ids; only this module knows the order in which
objects sit in the session (the order they joined).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass
class PendingMask:
    """A mask given with `add_mask`, applied at the next step: (H,W) float32 alpha in [0,1]."""

    mask: torch.Tensor
    permanent: bool


class ObjectTable:
    def __init__(self):
        self._ids: list = []
        self.pending: dict = {}

    @property
    def ids(self) -> list:
        """Joined object ids in joining order."""
        return list(self._ids)

    def position(self, obj_id) -> int:
        return self._ids.index(obj_id)

    def __contains__(self, obj_id) -> bool:
        return obj_id in self._ids

    def join(self, obj_id) -> None:
        if obj_id not in self._ids:
            self._ids.append(obj_id)

    def remove(self, obj_id) -> None:
        if obj_id in self._ids:
            self._ids.remove(obj_id)
        self.pending.pop(obj_id, None)

    def clear(self) -> None:
        self._ids.clear()
        self.pending.clear()

    def ids_to_step(self) -> list:
        """Joined objects, then objects whose first mask waits for this step."""
        return self._ids + [i for i in self.pending if i not in self._ids]
