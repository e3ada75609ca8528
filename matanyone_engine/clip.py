"""`matte_frames`: a whole clip in memory, the official driver's schedule, for scripts and tests."""
from __future__ import annotations

import numpy as np
import torch

from .errors import InputError
from .loader import load_network
from .network import MatAnyoneNet
from .session import EngineSettings, Session


@torch.inference_mode()
def matte_frames(weights, frames, masks, *, warmup: int = 10, device="cpu", settings: EngineSettings | None = None):
    """Matte a clip whose objects are all masked on its first frame.

    Args:
        weights: checkpoint path, state-dict mapping, "stand-in[:SALT]", or a loaded network.
        frames: [T,H,W,3] uint8 (divided by 255) or float32 RGB in [0,1].
        masks: [K,H,W] uint8 first-frame masks (0..255; used as given, no clean-up).
        warmup: first-frame refinements (official default 10).
        device: "cpu" (default), "auto", "cuda", ...
        settings: other engine settings (its warmup is replaced by `warmup`).
    Returns:
        float32 [T,K,H,W] alpha in [0,1].
    """
    frames = np.asarray(frames)
    masks = np.asarray(masks)
    if frames.ndim != 4 or frames.shape[-1] != 3:
        raise InputError(f"frames must be [T,H,W,3], got shape {frames.shape}")
    if masks.ndim != 3 or masks.shape[1:] != frames.shape[1:3]:
        raise InputError(f"masks must be [K,H,W] matching the frames {frames.shape[1:3]}, got {masks.shape}")
    net = weights if isinstance(weights, MatAnyoneNet) else load_network(weights, device=device)
    base = settings or EngineSettings()
    session = Session(net, EngineSettings(**{**vars(base), "warmup": int(warmup)}))
    t, h, w = frames.shape[:3]
    out = np.zeros((t, masks.shape[0], h, w), np.float32)
    session.add_mask({k: masks[k] for k in range(masks.shape[0])})
    for i in range(t):
        alphas = session.step(frames[i])
        for k, alpha in alphas.items():
            out[i, k] = alpha
    return out
