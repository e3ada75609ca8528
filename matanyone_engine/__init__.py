"""MatAnyone video matting engine: the network, its streaming session and a clip helper.

    net = load_network("matanyone.pth")            # or a state dict, or "stand-in[:SALT]"
    s = Session(net, EngineSettings())
    s.add_mask({1: mask})                          # applies to the next step
    alphas = s.step(image)                         # {1: HxW float32}

Nothing of Qt, file formats or hosts is imported here.
"""
from __future__ import annotations

from .errors import EngineError
from .loader import load_network
from .session import EngineSettings, Session
from .clip import matte_frames

__all__ = ["load_network", "Session", "EngineSettings", "matte_frames", "EngineError"]
