"""MatAnyone video matting engine: the network, its streaming session and a clip helper.

    net = load_network("matanyone.pth")            # or a state dict, or "stand-in[:SALT]"
    s = Session(net, EngineSettings())
    s.add_mask({1: mask})                          # applies to the next step
    alphas = s.step(image)                         # {1: HxW float32}

Nothing of Qt, file formats or hosts is imported here.
"""
from __future__ import annotations

import os

# Transparent huge pages for torch's large CPU tensors (read by torch when it is first imported,
# so set before that; a value you set wins). A 1080p step allocates several GiB of short-lived
# maps; in 4 KiB pages the kernel spent a fifth of the step faulting them in. See cpu_fast.py.
os.environ.setdefault("THP_MEM_ALLOC_ENABLE", "1")

from .errors import EngineError  # noqa: E402 - after the environment setting above
from .loader import load_network  # noqa: E402
from .session import EngineSettings, Session  # noqa: E402
from .clip import matte_frames  # noqa: E402

__all__ = ["load_network", "Session", "EngineSettings", "matte_frames", "EngineError"]
