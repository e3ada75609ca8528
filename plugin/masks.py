"""Keyframe masks: read (8/16-bit PNG, TIFF, EXR...), check, clean up for the engine.

A mask file is one channel (grey), grey+alpha, RGB or RGBA. Which channel is the mask:
the alpha channel when it varies (a painted stroke on a transparent layer), else the
luma of the colour channels (white on black; PIL's "L" weights, as the official code
reads PNGs), else the only channel.

Values handed to the engine: uint8 0..255 for 8-bit files, float32 0..1 for 16-bit and
float files (the engine accepts both). Clean-up (the official dilate-then-erode closing)
goes through `matanyone_engine.maskprep.close_mask` at plate resolution and returns 0/255.
"""
from __future__ import annotations

import os
from typing import Tuple

import numpy as np

from plugin.errors import MaskError

_LUMA = (0.299, 0.587, 0.114)


def _oiio():
    import OpenImageIO as oiio
    return oiio


def _open_mask(path: str):
    """An open OIIO ImageInput of a mask file, or a one-line MaskError naming it."""
    oiio = _oiio()
    if os.path.isdir(path):
        raise MaskError(f"{path}: a folder, not a mask file; give the mask image (PNG or EXR) itself")
    if not os.path.isfile(path):
        raise MaskError(f"{path}: mask file not found")
    inp = oiio.ImageInput.open(path)
    if inp is None:
        raise MaskError(f"{path}: cannot read the mask ({_geterror(oiio)})")
    return inp


def mask_size(path: str) -> Tuple[int, int]:
    """(width, height) of a mask file (display window), without reading its pixels."""
    inp = _open_mask(path)
    try:
        spec = inp.spec()
        return spec.full_width or spec.width, spec.full_height or spec.height
    finally:
        inp.close()


def read_mask(path: str) -> np.ndarray:
    """A mask file as HxW: uint8 (8-bit files) or float32 in [0, 1] (16-bit/float files).

    Raises:
        MaskError: missing or unreadable file (one line naming it).
    """
    inp = _open_mask(path)
    try:
        spec = inp.spec()
        _refuse_odd_images(path, spec)
        fmt = str(spec.format)
        want = "uint8" if fmt == "uint8" else ("uint16" if fmt == "uint16" else "float")
        pixels = inp.read_image(0, 0, 0, spec.nchannels, want)
        if pixels is None:
            raise MaskError(f"{path}: cannot read the mask pixels ({inp.geterror()})")
        pixels = np.asarray(pixels).reshape(spec.height, spec.width, spec.nchannels)
        names = [n.upper() for n in spec.channelnames]
        pixels = _place_in_display(pixels, spec)
    finally:
        inp.close()
    channel = _pick_channel(pixels, names, spec.alpha_channel)
    if want == "uint8":
        return channel.astype(np.uint8, copy=False)
    if want == "uint16":
        return (channel.astype(np.float32) / 65535.0).astype(np.float32)
    return np.clip(np.nan_to_num(channel.astype(np.float32)), 0.0, 1.0)


def _refuse_odd_images(path: str, spec) -> None:
    """Masks are flat coverage: never allocate a broken header's window, read deep samples as
    pixels, or scale integer ids to tiny coverage."""
    from plugin.sequences import window_problem
    problem = window_problem(spec)
    if problem:
        raise MaskError(f"{path}: the mask has {problem}")
    if spec.deep:
        raise MaskError(f"{path}: a deep image, not a flat mask; flatten it or export a flat matte")
    formats = list(spec.channelformats) or [spec.format]
    if path.lower().endswith(".exr") and any(str(f).startswith(("uint", "int")) and str(f) not in ("uint8", "uint16")
                                             for f in formats):
        raise MaskError(f"{path}: the mask has integer (uint) channels: ids, not coverage; give a half or "
                        f"float EXR, or an 8/16-bit PNG")


def _place_in_display(pixels: np.ndarray, spec) -> np.ndarray:
    """Pixels of the data window placed in the display window (EXR masks with a bbox)."""
    fw, fh = spec.full_width or spec.width, spec.full_height or spec.height
    fx, fy = spec.full_x, spec.full_y
    if (spec.x, spec.y, spec.width, spec.height) == (fx, fy, fw, fh):
        return pixels
    out = np.zeros((fh, fw, pixels.shape[2]), dtype=pixels.dtype)
    x0, y0 = spec.x - fx, spec.y - fy
    sx0, sy0 = max(0, -x0), max(0, -y0)
    dx0, dy0 = max(0, x0), max(0, y0)
    w = min(spec.width - sx0, fw - dx0)
    h = min(spec.height - sy0, fh - dy0)
    if w > 0 and h > 0:
        out[dy0:dy0 + h, dx0:dx0 + w] = pixels[sy0:sy0 + h, sx0:sx0 + w]
    return out


def _pick_channel(pixels: np.ndarray, names, alpha_index: int) -> np.ndarray:
    n = pixels.shape[2]
    if n == 1:
        return pixels[..., 0]
    alpha = alpha_index if 0 <= alpha_index < n else (names.index("A") if "A" in names else -1)
    if alpha >= 0:
        a = pixels[..., alpha]
        if a.min() != a.max():
            return a
    colour = [i for i in range(n) if i != alpha]
    if len(colour) >= 3:
        r, g, b = (pixels[..., i] for i in colour[:3])
        if pixels.dtype == np.uint8 or pixels.dtype == np.uint16:
            luma = (r.astype(np.uint32) * 299 + g.astype(np.uint32) * 587 + b.astype(np.uint32) * 114 + 500) // 1000
            return luma.astype(pixels.dtype)
        return (r * _LUMA[0] + g * _LUMA[1] + b * _LUMA[2]).astype(np.float32)
    return pixels[..., colour[0]]


def check_mask(mask: np.ndarray, path: str, width: int, height: int,
               what: str = "") -> None:
    """Raise MaskError when the mask is not plate-sized."""
    h, w = mask.shape[:2]
    if (w, h) != (width, height):
        raise MaskError(f"{path}: mask is {w}x{h} but the plate is {width}x{height}{what}; "
                        "paint or export the mask at plate resolution")


def clean(mask: np.ndarray, dilate: int, erode: int) -> np.ndarray:
    """The mask the engine sees: the official closing when either size is > 0, else as read."""
    if dilate <= 0 and erode <= 0:
        return mask
    from matanyone_engine import maskprep
    if mask.dtype != np.uint8:
        # The closing binarises (mask != 0) first, so any non-zero coverage counts.
        mask = np.where(mask > 0, np.uint8(255), np.uint8(0))
    return maskprep.close_mask(mask, dilate=dilate, erode=erode)


def is_empty(mask: np.ndarray) -> bool:
    return not bool(np.any(mask))


def load_for_engine(path: str, width: int, height: int, dilate: int, erode: int,
                    what: str = "") -> np.ndarray:
    """Read, size-check and clean one keyframe mask."""
    from plugin.shot import check_cleanup_for_plate
    check_cleanup_for_plate(dilate, erode, width, height)
    mask = read_mask(path)
    check_mask(mask, path, width, height, what)
    return clean(mask, dilate, erode)


def write_png(path: str, mask: np.ndarray) -> str:
    """Write a bool/uint8/float mask as an 8-bit single-channel PNG, atomically."""
    oiio = _oiio()
    if mask.dtype == np.bool_:
        data = np.where(mask, np.uint8(255), np.uint8(0))
    elif mask.dtype == np.uint8:
        data = mask
    else:
        data = np.round(np.clip(mask, 0.0, 1.0) * 255.0).astype(np.uint8)
    h, w = data.shape[:2]
    tmp = os.path.join(os.path.dirname(path) or ".", f".{os.path.basename(path)}.{os.getpid()}.tmp.png")
    out = oiio.ImageOutput.create(tmp)
    if out is None:
        raise MaskError(f"{path}: cannot write a PNG ({_geterror(oiio)})")
    spec = oiio.ImageSpec(w, h, 1, "uint8")
    spec.channelnames = ("Y",)
    if not out.open(tmp, spec):
        raise MaskError(f"{path}: cannot write the mask ({out.geterror()})")
    ok = out.write_image(np.ascontiguousarray(data.reshape(h, w, 1)))
    out.close()
    if not ok:
        raise MaskError(f"{path}: cannot write the mask ({out.geterror()})")
    os.replace(tmp, path)
    return path


def _geterror(oiio) -> str:
    try:
        return oiio.geterror() or "unknown error"
    except Exception:  # noqa: BLE001
        return "unknown error"


def downscale_preview(alpha: np.ndarray, max_side: int = 256) -> np.ndarray:
    """A small copy of an alpha for progress previews (strided, no filtering)."""
    h, w = alpha.shape[:2]
    step = max(1, -(-max(h, w) // max_side))
    return np.ascontiguousarray(alpha[::step, ::step], dtype=np.float32)
