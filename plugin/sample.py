"""The bundled sample plate, generated (never downloaded) into the user cache on first use:
a 32-frame scene-linear half-float EXR sequence numbered 1001-1032 (288x512, ACEScg), a
figure with a soft body edge and fine, partly transparent hair strands moving over a
textured, slowly panning background; its first-frame mask (8-bit PNG) and the ground-truth
alpha of every frame (half EXR, channel A), so quality can be measured.

Deterministic: the same bytes of pixels every time. Written into a temporary folder and
renamed into place; re-used when its manifest says it is complete.
"""
from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Optional, Tuple

import numpy as np

GENERATOR_VERSION = 1
FIRST, FRAMES = 1001, 32
HEIGHT, WIDTH = 288, 512
COLOURSPACE = "ACEScg"
_PLATE = "sample_plate.{frame:04d}.exr"
_GT = "sample_alpha_gt.{frame:04d}.exr"
_MASK = "sample_mask.1001.png"
_MANIFEST = "manifest.json"
_AP1 = (0.713, 0.293, 0.165, 0.830, 0.128, 0.044, 0.32168, 0.33767)


@dataclass(frozen=True)
class Sample:
    """Where the sample lives. Patterns use #### for the frame number."""

    directory: str
    plate_pattern: str
    first: int
    last: int
    mask_path: str
    gt_pattern: str
    colourspace: str


def _sample_from(directory: Path) -> Sample:
    return Sample(directory=str(directory),
                  plate_pattern=str(directory / _PLATE.replace("{frame:04d}", "####")),
                  first=FIRST, last=FIRST + FRAMES - 1, mask_path=str(directory / _MASK),
                  gt_pattern=str(directory / _GT.replace("{frame:04d}", "####")),
                  colourspace=COLOURSPACE)


def _complete(directory: Path) -> bool:
    try:
        manifest = json.loads((directory / _MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    if manifest.get("generator") != GENERATOR_VERSION:
        return False
    files = manifest.get("files", {})
    if len(files) != 2 * FRAMES + 1:
        return False
    for name, size in files.items():
        try:
            if (directory / name).stat().st_size != size:
                return False
        except OSError:
            return False
    return True


def ensure_sample(directory: Optional[os.PathLike] = None) -> Sample:
    """The sample, generating it first when absent or incomplete.

    Args:
        directory: where it lives; default `plugin.settings.cache_dir() / "sample"`.
    Returns:
        a `Sample`.
    """
    if directory is None:
        from plugin import settings
        directory = settings.cache_dir() / "sample"
    directory = Path(directory)
    if _complete(directory):
        return _sample_from(directory)
    directory.parent.mkdir(parents=True, exist_ok=True)
    staging = directory.with_name(f".{directory.name}.tmp-{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    try:
        _generate(staging)
        if directory.exists() and not _complete(directory):
            shutil.rmtree(directory, ignore_errors=True)
        try:
            os.replace(staging, directory)
        except OSError:
            if not _complete(directory):   # another process finished first: use theirs
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return _sample_from(directory)


# --------------------------------------------------------------------------- generator

def _noise(rng, h: int, w: int, cell: int) -> np.ndarray:
    """Smooth value noise: a random grid (sampled later by cubic interpolation, periodic)."""
    gh, gw = h // cell + 4, w // cell + 4
    return rng.random((gh, gw)).astype(np.float32), cell


def _sample_noise(grid_cell, yy, xx) -> np.ndarray:
    from scipy import ndimage
    grid, cell = grid_cell
    return ndimage.map_coordinates(grid, [yy / cell, xx / cell], order=3, mode="grid-wrap").astype(np.float32)


class _Scene:
    def __init__(self):
        rng = np.random.default_rng(20241001)
        self.octaves = [(_noise(rng, HEIGHT, WIDTH + 200, c), a) for c, a in ((64, 0.5), (24, 0.3), (8, 0.15), (3, 0.08))]
        self.tint = _noise(rng, HEIGHT, WIDTH + 200, 96)
        n = 90
        self.strand_angle = rng.uniform(-np.pi * 0.95, -np.pi * 0.05, n)
        self.strand_len = rng.uniform(14, 42, n)
        self.strand_width = rng.uniform(0.25, 0.7, n)
        self.strand_opacity = rng.uniform(0.45, 0.95, n)
        self.strand_phase = rng.uniform(0, 2 * np.pi, n)
        self.strand_curl = rng.uniform(-0.6, 0.6, n)
        self._wall: Optional[np.ndarray] = None

    def background(self, t: int) -> np.ndarray:
        if self._wall is None:
            self._wall = self._wide_wall()
        shift = 1.5 * t                   # a slow camera pan, in pixels
        i, f = int(np.floor(shift)), np.float32(shift - np.floor(shift))
        return (self._wall[:, i:i + WIDTH] * (1 - f) + self._wall[:, i + 1:i + 1 + WIDTH] * f).astype(np.float32)

    def _wide_wall(self) -> np.ndarray:
        """The background once, wide enough for the whole pan."""
        wide = WIDTH + int(1.5 * FRAMES) + 2
        yy, xx = np.mgrid[0:HEIGHT, 0:wide].astype(np.float32)
        xx = xx + 40.0
        tex = sum(a * _sample_noise(g, yy, xx) for g, a in self.octaves)
        tint = _sample_noise(self.tint, yy, xx)
        stripes = 0.5 + 0.5 * np.sin(xx * 0.21 + 2.0 * tex)
        wall = np.stack([0.10 + 0.20 * tex + 0.05 * stripes,
                         0.09 + 0.15 * tex + 0.08 * tint,
                         0.06 + 0.10 * tex + 0.12 * (1 - tint)], axis=-1)
        # a warm practical light: scene-linear values above 1
        lamp = 3.5 * np.exp(-(((xx - 510.0) ** 2) / 900.0 + ((yy - 60.0) ** 2) / 500.0))
        wall += lamp[..., None] * np.array([1.0, 0.8, 0.55], np.float32)
        return wall.astype(np.float32)

    def figure(self, t: int) -> Tuple[np.ndarray, np.ndarray]:
        """(premultiplied colour HxWx3, alpha HxW) of the moving figure at step t."""
        yy, xx = np.mgrid[0:HEIGHT, 0:WIDTH].astype(np.float32)
        cx = 190.0 + 4.0 * t
        cy = 118.0 + 6.0 * np.sin(t * 0.35)
        rx, ry = 40.0, 48.0
        head = (np.sqrt(((xx - cx) / rx) ** 2 + ((yy - cy) / ry) ** 2) - 1.0) * min(rx, ry)
        sx, sy, srx, sry = cx + 6.0, cy + 150.0, 105.0, 95.0
        body = (np.sqrt(((xx - sx) / srx) ** 2 + ((yy - sy) / sry) ** 2) - 1.0) * min(srx, sry)
        neck = np.maximum(np.abs(xx - cx - 2.0) - 16.0, np.abs(yy - cy - 60.0) - 25.0)
        sd = np.minimum(np.minimum(head, body), neck)
        a = np.clip(0.5 - sd / 1.4, 0.0, 1.0).astype(np.float32)   # a soft, ~1.4 px edge
        skin = np.array([0.42, 0.27, 0.19], np.float32)
        shirt = np.array([0.08, 0.14, 0.30], np.float32)
        shade = np.clip(1.1 - (yy - cy) / 400.0, 0.6, 1.2)[..., None]
        colour = np.where((head < body)[..., None] & (head < neck)[..., None], skin, shirt) * shade
        premult = colour * a[..., None]
        hair = np.array([0.06, 0.035, 0.02], np.float32)
        for i in range(len(self.strand_angle)):
            sa = self._strand(i, t, cx, cy, rx, ry)
            if sa is None:
                continue
            (y0, y1, x0, x1), cov = sa
            region = a[y0:y1, x0:x1]
            premult[y0:y1, x0:x1] = hair * cov[..., None] + premult[y0:y1, x0:x1] * (1 - cov[..., None])
            a[y0:y1, x0:x1] = cov + region * (1 - cov)
        return premult.astype(np.float32), a

    def _strand(self, i: int, t: int, cx: float, cy: float, rx: float, ry: float):
        """One hair strand as soft coverage in its bounding box (a polyline of short segments)."""
        ang = self.strand_angle[i]
        root = np.array([cx + 0.92 * rx * np.cos(ang), cy + 0.92 * ry * np.sin(ang)])
        out = np.array([np.cos(ang), np.sin(ang)])
        side = np.array([-out[1], out[0]])
        s = np.linspace(0.0, 1.0, 14)
        sway = 3.0 * np.sin(2 * np.pi * t / 14.0 + self.strand_phase[i] + 2.5 * s) * s
        curl = self.strand_curl[i] * 12.0 * s ** 2
        length = self.strand_len[i]
        pts = root[None] + (s * length)[:, None] * out[None] + (sway + curl)[:, None] * side[None]
        pts[:, 1] += 3.0 * s ** 2 * length * 0.3   # gravity
        width = self.strand_width[i] * (1.0 - 0.7 * s)
        opacity = self.strand_opacity[i] * (1.0 - 0.6 * s)
        x0 = int(np.floor(pts[:, 0].min() - 3)); x1 = int(np.ceil(pts[:, 0].max() + 3))
        y0 = int(np.floor(pts[:, 1].min() - 3)); y1 = int(np.ceil(pts[:, 1].max() + 3))
        x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, WIDTH), min(y1, HEIGHT)
        if x1 <= x0 or y1 <= y0:
            return None
        yy, xx = np.mgrid[y0:y1, x0:x1].astype(np.float32)
        px, py = (xx + 0.5)[None], (yy + 0.5)[None]
        p, d = pts[:-1], np.diff(pts, axis=0)                       # all segments at once
        dx, dy = d[:, 0, None, None], d[:, 1, None, None]
        ox, oy = p[:, 0, None, None], p[:, 1, None, None]
        tt = np.clip(((px - ox) * dx + (py - oy) * dy) / np.maximum(dx * dx + dy * dy, 1e-6), 0, 1)
        dist = np.hypot(px - (ox + tt * dx), py - (oy + tt * dy))
        w = (0.5 * (width[:-1] + width[1:]))[:, None, None]
        o = (0.5 * (opacity[:-1] + opacity[1:]))[:, None, None]
        cov = (o * np.clip(w + 0.5 - dist, 0.0, 1.0) * np.minimum(1.0, 2 * w + 0.2)).max(axis=0).astype(np.float32)
        return (y0, y1, x0, x1), cov


def _write_exr(path: Path, pixels: np.ndarray, channels, frame: int) -> None:
    import OpenImageIO as oiio
    spec = oiio.ImageSpec(WIDTH, HEIGHT, len(channels), "half")
    spec.channelnames = tuple(channels)
    spec.attribute("compression", "zip")
    spec.attribute("chromaticities", oiio.TypeDesc("float[8]"), _AP1)
    spec.attribute("FramesPerSecond", oiio.TypeRational, (24, 1))
    spec.attribute("matanyone:sample", f"generator v{GENERATOR_VERSION}, frame {frame}")
    _write(path, spec, pixels)


def _write(path: Path, spec, pixels: np.ndarray) -> None:
    import OpenImageIO as oiio
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}{path.suffix}")
    out = oiio.ImageOutput.create(str(tmp))
    if out is None or not out.open(str(tmp), spec) or not out.write_image(np.ascontiguousarray(pixels)):
        raise OSError(f"cannot write {path}: {oiio.geterror()}")
    out.close()
    os.replace(tmp, path)


def render_frame(scene: "_Scene", t: int) -> Tuple[np.ndarray, np.ndarray]:
    """(plate float32 HxWx3 scene-linear, ground-truth alpha float32 HxW) at step t."""
    premult, alpha = scene.figure(t)
    plate = premult + scene.background(t) * (1.0 - alpha[..., None])
    return plate.astype(np.float32), alpha


def _generate(directory: Path) -> None:
    import OpenImageIO as oiio
    scene = _Scene()
    files: Dict[str, int] = {}
    for t in range(FRAMES):
        frame = FIRST + t
        plate, alpha = render_frame(scene, t)
        for name, pixels, channels in ((_PLATE.format(frame=frame), plate, ("R", "G", "B")),
                                       (_GT.format(frame=frame), alpha[..., None], ("A",))):
            _write_exr(directory / name, pixels, channels, frame)
            files[name] = (directory / name).stat().st_size
        if t == 0:
            # The artist's first-frame mask: the ground truth thresholded, as a painted mask would be.
            mask = (alpha > 0.5).astype(np.float32)[..., None]
            spec = oiio.ImageSpec(WIDTH, HEIGHT, 1, "uint8")
            _write(directory / _MASK, spec, mask)
            files[_MASK] = (directory / _MASK).stat().st_size
    manifest = {"generator": GENERATOR_VERSION, "first": FIRST, "last": FIRST + FRAMES - 1,
                "size": [WIDTH, HEIGHT], "colourspace": COLOURSPACE, "files": files}
    tmp = directory / f".{_MANIFEST}.tmp"
    tmp.write_text(json.dumps(manifest, indent=1), encoding="utf-8")
    os.replace(tmp, directory / _MANIFEST)
