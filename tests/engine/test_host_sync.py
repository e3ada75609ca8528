"""No host synchronisation inside `Session.step` (issue 22): on a GPU every device -> host
read (`.item()`, `bool(t)`, `torch.where(cond)`, boolean indexing, ...) stalls the host until
the device has caught up, so the next frame's work cannot be queued behind it.

Counted on the CPU, at two levels: the Python `Tensor` methods that read a value back (wrapped
for the test), and the aten ops that need a value on the host to go on (`nonzero` and
friends: a data-dependent shape; `_local_scalar_dense`: a scalar read). Each is attributed to the
innermost `matanyone_engine` function on the stack. Allowed: the final download of each
returned alpha (`Session._unpad`: `.cpu()` then `.numpy()`), after every object's compute of
the step; and in `add_mask`, once per joining object, the check that its first mask is not
empty (DESIGN: an empty first mask is a one-line error), which runs before the step.
"""
import contextlib
import os
import sys
import threading
from collections import Counter

import numpy as np
import torch
from torch.utils._python_dispatch import TorchDispatchMode

import matanyone_engine
from matanyone_engine import EngineSettings, Session

from .conftest import tiny_clip

ENGINE_DIR = os.path.dirname(os.path.abspath(matanyone_engine.__file__)) + os.sep
# Tensor methods that copy a value (or the whole tensor) to the host.
READ_BACK = ("item", "tolist", "cpu", "numpy", "__bool__", "__float__", "__int__", "__index__")
# aten ops that wait for a device value: a data-dependent output shape or a scalar read.
SYNC_OPS = {"nonzero", "argwhere", "masked_select", "_local_scalar_dense", "is_nonzero", "equal",
            "unique", "_unique", "_unique2", "unique_dim", "unique_consecutive", "bincount",
            "repeat_interleave", "histc", "nonzero_numpy"}


def _where() -> str:
    """The innermost matanyone_engine function on the caller's stack."""
    f = sys._getframe(2)
    while f is not None:
        if f.f_code.co_filename.startswith(ENGINE_DIR):
            return f.f_code.co_name
        f = f.f_back
    return "(outside the engine)"


class SyncLog(TorchDispatchMode):
    """Records (engine function, what) for each host read, and for each step the order of
    compute ops and downloads."""

    def __init__(self):
        super().__init__()
        self.events: list = []
        self.inside = threading.local()

    def record(self, what: str) -> None:
        self.events.append((_where(), what))

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        name = func._schema.name.split("::")[-1]
        if not getattr(self.inside, "depth", 0):
            bool_index = name in ("index", "index_put", "index_put_") and any(
                isinstance(i, torch.Tensor) and i.dtype == torch.bool for i in (args[1] or ()))
            where_cond = name == "where" and len(args) == 1  # torch.where(cond): nonzero
            if name in SYNC_OPS or bool_index or where_cond:
                self.record(f"aten.{name}")
            else:
                self.events.append((_where(), "op"))
        return func(*args, **(kwargs or {}))

    @contextlib.contextmanager
    def patched(self):
        originals = {name: getattr(torch.Tensor, name) for name in READ_BACK}
        own = {name for name in READ_BACK if name in vars(torch.Tensor)}

        def wrap(name, original):
            def counted(t, *a, **k):
                self.record(name)
                self.inside.depth = getattr(self.inside, "depth", 0) + 1
                try:
                    return original(t, *a, **k)
                finally:
                    self.inside.depth -= 1
            return counted

        try:
            for name, original in originals.items():
                setattr(torch.Tensor, name, wrap(name, original))
            with self:
                yield self
        finally:
            for name, original in originals.items():
                if name in own:
                    setattr(torch.Tensor, name, original)
                else:
                    delattr(torch.Tensor, name)

    def take(self) -> list:
        events, self.events = self.events, []
        return events


def _reads(events):
    return Counter(e for e in events if e[1] != "op")


def _downloads_last(events) -> bool:
    """Every op of the step before the first alpha download (only `_unpad`'s own after it)."""
    first = next((i for i, e in enumerate(events) if e == ("_unpad", "cpu")), len(events))
    return all(where == "_unpad" for where, _ in events[first:])


def test_step_reads_nothing_back_but_the_alphas(standin_net):
    frames, masks = tiny_clip(9)
    s = Session(standin_net, EngineSettings(warmup=1))
    log = SyncLog()
    wrong, steps = [], []
    with log.patched():
        for t, frame in enumerate(frames):
            if t in (0, 3, 6):
                # a: joins at 0, b joins late at 3; a gets a correction keyframe at 6
                s.add_mask({"a": masks[0]} if t in (0, 6) else {"b": masks[1]})
                joins = 0 if t == 6 else 1
                expected = Counter({("add_mask", "__bool__"): joins}) if joins else Counter()
                got = _reads(log.take())
                if got != expected:
                    wrong.append(f"add_mask before step {t}: {dict(got)}, expected {dict(expected)}")
            out = s.step(frame)
            events = log.take()
            n = len(out)
            expected = Counter({("_unpad", "cpu"): n, ("_unpad", "numpy"): n})
            got = _reads(events)
            if got != expected:
                wrong.append(f"step {t}: {dict(got - expected)} besides the alpha downloads")
            steps.append(_downloads_last(events))
    assert set(out) == {"a", "b"}
    assert not [n for n in READ_BACK if getattr(torch.Tensor, n).__name__ == "counted"]  # restored
    assert not wrong, "host reads inside the engine:\n" + "\n".join(wrong)
    assert all(steps), f"an alpha was downloaded before the step's last compute (steps {steps})"


def test_the_log_sees_host_reads():
    """The counting itself: each kind of read the engine must not do is seen."""
    log = SyncLog()
    x = torch.arange(6.0).view(2, 3)
    with log.patched(), torch.inference_mode():
        x.sum().item()
        bool(x.any())
        torch.where(x > 2)
        torch.nonzero(x)
        x[x > 2]
        x.tolist()
    kinds = {what for _, what in log.take()}
    assert {"item", "__bool__", "aten.where", "aten.nonzero", "aten.index", "tolist"} <= kinds, kinds
    assert np.array_equal(x.numpy(), np.arange(6.0).reshape(2, 3))  # methods restored
    assert not [n for n in READ_BACK if getattr(torch.Tensor, n).__name__ == "counted"]
