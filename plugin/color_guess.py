"""What colourspace a plate most likely is in: rules by file kind and metadata, answered as a
name of the OCIO config in use (see `plugin.color`)."""
from __future__ import annotations

from typing import Optional


def _first_known(cfg, candidates) -> Optional[str]:
    for name in candidates:
        cs = cfg.getColorSpace(name)
        if cs is not None:
            return cs.getName()
    return None


_SRGB = ("srgb_tx", "sRGB Encoded Rec.709 (sRGB)", "sRGB - Texture", "Utility - sRGB - Texture",
         "sRGB", "srgb", "texture_paint", "color_picking")
_VIDEO = ("g24_rec709", "rec709_display", "Gamma 2.4 Rec.709 - Texture", "Rec.1886 Rec.709 - Display",
          "Utility - Rec.709 - Display", "Rec.709", "rec709")
_LOG = ("compositing_log", "ACEScct", "arri_logc4", "ARRI LogC4", "logc3ei800_alexawide", "color_timing")
_CINEON = ("ADX10", "Input - ADX - ADX10", "cineon", "lg10")
# EXR chromaticities (red x, red y) -> colourspace candidates
_PRIMARIES = (((0.713, 0.293), ("ACEScg", "lin_ap1", "scene_linear")),
              ((0.7347, 0.2653), ("ACES2065-1", "lin_ap0", "aces_interchange")),
              ((0.64, 0.33), ("lin_rec709", "Linear Rec.709 (sRGB)", "scene_linear")))


def _fallback(cfg) -> str:
    return _first_known(cfg, ("scene_linear", "default")) or cfg.getColorSpaceNames()[0]


def _guess_scene_linear(cfg, plate) -> str:
    chroma = plate.metadata.get("chromaticities")
    if isinstance(chroma, tuple) and len(chroma) >= 2:
        for (rx, ry), candidates in _PRIMARIES:
            if abs(chroma[0] - rx) < 0.005 and abs(chroma[1] - ry) < 0.005:
                found = _first_known(cfg, candidates)
                if found:
                    return found
    if plate.metadata.get("acesImageContainerFlag"):
        found = _first_known(cfg, ("aces_interchange", "ACES2065-1"))
        if found:
            return found
    return _fallback(cfg)


def _by_file_rule(cfg, plate) -> Optional[str]:
    probe = f"plate{plate.extension}"
    if cfg.filepathOnlyMatchesDefaultRule(probe):
        return None
    found = cfg.getColorSpaceFromFilepath(probe)
    name = found[0] if isinstance(found, tuple) else found
    return name if name and cfg.getColorSpace(name) is not None else None


def _guess_log(cfg, plate) -> str:
    transfer = str(plate.metadata.get("dpx:Transfer", "")).lower()
    if "linear" == transfer:
        return _fallback(cfg)
    if "printing density" in transfer:
        found = _first_known(cfg, _CINEON)
        if found:
            return found
    if "709" in transfer or "video" in transfer:
        found = _first_known(cfg, _VIDEO)
        if found:
            return found
    return _by_file_rule(cfg, plate) or _first_known(cfg, _LOG) or _fallback(cfg)


def _guess_display(candidates):
    def guess(cfg, plate) -> str:
        return _first_known(cfg, candidates) or _fallback(cfg)
    return guess


def _guess_movie(cfg, plate) -> str:
    return _by_file_rule(cfg, plate) or _first_known(cfg, _VIDEO) or _first_known(cfg, _SRGB) or _fallback(cfg)


def _guess_tiff(cfg, plate) -> str:
    if plate.pixel_type in ("half", "float", "double"):
        return _guess_scene_linear(cfg, plate)
    return _first_known(cfg, _SRGB) or _fallback(cfg)


# Extension -> rule. EXR: scene-linear (chromaticities when present); DPX/Cineon: log per
# the file's transfer and the config's rules/roles; video and 8/16-bit stills: display-referred.
_GUESSES = {
    ".exr": _guess_scene_linear, ".sxr": _guess_scene_linear, ".hdr": _guess_scene_linear,
    ".dpx": _guess_log, ".cin": _guess_log,
    ".tif": _guess_tiff, ".tiff": _guess_tiff,
    ".png": _guess_display(_SRGB), ".jpg": _guess_display(_SRGB), ".jpeg": _guess_display(_SRGB),
    ".tga": _guess_display(_SRGB), ".sgi": _guess_display(_SRGB),
    ".mov": _guess_movie, ".mp4": _guess_movie, ".m4v": _guess_movie, ".mxf": _guess_movie,
    ".mkv": _guess_movie, ".avi": _guess_movie,
}


def guess_colourspace(plate, config: Optional[str] = None) -> str:
    """The colourspace a plate most likely is in, as a name of the config in use.

    A colourspace named in the file's own metadata wins when the config knows it.
    """
    from plugin.color import get_config
    cfg = get_config(config)
    for key in ("colorspace", "ColorSpace", "oiio:ColorSpace"):
        value = plate.metadata.get(key)
        if isinstance(value, str) and value and cfg.getColorSpace(value) is not None:
            # OIIO labels every 8-bit PNG/JPEG sRGB itself; that agrees with the rule anyway.
            return cfg.getColorSpace(value).getName()
    rule = _GUESSES.get(getattr(plate, "extension", ""), None)
    return rule(cfg, plate) if rule else _fallback(cfg)
