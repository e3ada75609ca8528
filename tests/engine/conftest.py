"""Engine test set-up: one stand-in network per test session (building it costs a second or two)."""
import numpy as np
import pytest


@pytest.fixture(scope="session")
def standin_net():
    from matanyone_engine import load_network
    return load_network("stand-in:engine-tests", device="cpu")


def tiny_clip(frames: int = 12, h: int = 64, w: int = 80, seed: int = 0):
    """A small moving-blob clip: frames uint8 [T,H,W,3], masks uint8 [2,H,W] (two blobs)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w]
    base = rng.integers(0, 255, (h, w, 3)).astype(np.float32)
    out = np.zeros((frames, h, w, 3), np.uint8)
    centres = [(h * 0.4, w * 0.3), (h * 0.6, w * 0.7)]
    masks = np.zeros((2, h, w), np.uint8)
    for t in range(frames):
        img = np.roll(base, t, axis=1) * 0.5
        for k, (cy, cx) in enumerate(centres):
            blob = (yy - cy - t * 0.5) ** 2 + (xx - cx - t) ** 2 < (h * 0.15) ** 2
            img[blob] = (255, 80, 40) if k == 0 else (40, 200, 90)
            if t == 0:
                masks[k][blob] = 255
        out[t] = img.astype(np.uint8)
    return out, masks
