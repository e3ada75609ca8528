"""Shots made on the spot for the pipeline tests: a tiny EXR plate with moving discs, PNG
keyframe masks of those discs, and a shot file tying them together (stand-in weights)."""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Dict, Iterable, Optional, Sequence

import numpy as np

from tests.plugin.media import write_image

H, W = 48, 64
FIRST = 1001
WEIGHTS = "stand-in:pipeline"


def disc(h: int, w: int, cy: float, cx: float, r: float) -> np.ndarray:
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    d = np.sqrt((yy - cy) ** 2 + (xx - cx) ** 2)
    return np.clip(r + 0.5 - d, 0.0, 1.0).astype(np.float32)


def centre(obj: int, i: int, h: int = H, w: int = W):
    """Where disc `obj` is on frame index i (it drifts right/down)."""
    return (h * (0.35 + 0.3 * obj) + 0.4 * i, w * (0.3 + 0.35 * obj) + 0.8 * i)


def plate_pixels(n: int, h: int = H, w: int = W, objects: int = 2) -> np.ndarray:
    """float32 [n,H,W,3] scene-linear-ish values: a textured ground with bright moving discs."""
    rng = np.random.default_rng(7)
    ground = (0.05 + 0.25 * rng.random((h, w, 3))).astype(np.float32)
    out = np.empty((n, h, w, 3), np.float32)
    colours = np.array([[1.6, 0.4, 0.2], [0.2, 0.9, 1.4], [0.9, 0.9, 0.2]], np.float32)
    for i in range(n):
        img = ground.copy()
        for k in range(objects):
            cy, cx = centre(k, i, h, w)
            a = disc(h, w, cy, cx, min(h, w) * 0.18)[:, :, None]
            img = img * (1 - a) + colours[k % 3] * a
        out[i] = img
    return out


def write_plate(directory, n: int, h: int = H, w: int = W, objects: int = 2, first: int = FIRST) -> str:
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    pixels = plate_pixels(n, h, w, objects)
    for i in range(n):
        write_image(directory / f"plate.{first + i:04d}.exr", pixels[i], dtype="half")
    return str(directory / "plate.####.exr")


def write_mask(path, mask: np.ndarray, dtype: str = "uint8") -> str:
    write_image(path, mask.astype(np.float32), dtype=dtype, channels=["Y"])
    return str(path)


def object_mask(obj: int, i: int, h: int = H, w: int = W) -> np.ndarray:
    cy, cx = centre(obj, i, h, w)
    return (disc(h, w, cy, cx, min(h, w) * 0.18) > 0.5).astype(np.float32)


def make_shot(tmp_path, *, n: int = 6, h: int = H, w: int = W, objects: Sequence[str] = ("hero",),
              keyframes: Optional[Dict[str, Iterable[int]]] = None, direction: str = "forward",
              dilate: int = 0, erode: int = 0, warmup: int = 2, weights: str = WEIGHTS,
              out: str = "out/sh010_{object}.####.exr", colourspace: str = "ACEScg",
              max_internal_size: Optional[int] = None, first: int = FIRST,
              dtype: str = "float") -> Path:
    """Write plate, masks and `shot.json` under tmp_path; returns the shot file's path."""
    tmp_path = Path(tmp_path)
    write_plate(tmp_path / "plates", n, h, w, objects=max(2, len(objects)), first=first)
    (tmp_path / "masks").mkdir(exist_ok=True)
    objs = []
    for k, name in enumerate(objects):
        kfs = (keyframes or {}).get(name, [first])
        entries = {}
        for f in kfs:
            p = tmp_path / "masks" / f"{name}.{f}.png"
            write_mask(p, object_mask(k, f - first, h, w))
            entries[str(f)] = f"masks/{name}.{f}.png"
        objs.append({"id": k + 1, "name": name, "keyframes": entries})
    data = {
        "version": 1,
        "plate": {"path": "plates/plate.####.exr", "first": first, "last": first + n - 1,
                  "colourspace": colourspace},
        "objects": objs,
        "mask_cleanup": {"dilate": dilate, "erode": erode},
        "engine": {"weights": weights, "warmup": warmup, "device": "cpu",
                   "max_internal_size": max_internal_size},
        "output": {"path": out, "dtype": dtype},
        "direction": direction,
    }
    path = tmp_path / "shot.json"
    path.write_text(json.dumps(data, indent=2))
    return path


def read_alpha(path) -> np.ndarray:
    import OpenImageIO as oiio
    inp = oiio.ImageInput.open(str(path))
    assert inp is not None, oiio.geterror()
    spec = inp.spec()
    px = inp.read_image(0, 0, 0, spec.nchannels, "float")
    inp.close()
    px = np.asarray(px).reshape(spec.height, spec.width, spec.nchannels)
    return px[..., spec.nchannels - 1]


def converted_frames(shot) -> np.ndarray:
    """float32 [T,H,W,3]: the shot's plate frames after the pipeline's colour conversion."""
    from plugin import color, plates
    with plates.open(shot.plate.path) as plate:
        return np.stack([color.to_network_input(plate.read(f), shot.plate.colourspace)
                         for f in range(shot.plate.first, shot.plate.last + 1)])


def output_files(directory) -> Dict[str, bytes]:
    """{relative path: bytes} of every EXR under a folder."""
    out = {}
    for root, _, names in os.walk(directory):
        for name in names:
            if name.endswith(".exr"):
                p = os.path.join(root, name)
                with open(p, "rb") as f:
                    out[os.path.relpath(p, directory)] = f.read()
    return out


def output_alphas(directory) -> Dict[str, np.ndarray]:
    """{relative path: alpha} of every EXR under a folder (pixel values; headers may differ)."""
    out = {}
    for root, _, names in os.walk(directory):
        for name in sorted(names):
            if name.endswith(".exr") and not name.startswith("."):
                p = os.path.join(root, name)
                out[os.path.relpath(p, directory)] = read_alpha(p)
    return out


_NETWORKS: Dict[tuple, object] = {}  # one loaded network, shared by the in-process runs (conftest.py)


def cached_network(weights: str = WEIGHTS):
    """The network the in-process runs of these tests use for `weights` (loaded if none yet)."""
    for key, net in _NETWORKS.items():
        if key[0] == weights:
            return net
    from matanyone_engine import load_network
    return load_network(weights, device="cpu")
