"""Shot file v1 (DESIGN.md) as the panel writes and reads it: standard library only.

The panel keeps its own small writer rather than importing `plugin.shot` because it runs
inside a host's Python; the JSON is the same document, key for key, as DESIGN's example.
"""
from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from typing import Dict, List, Optional

from plugin.errors import ShotFileError
from plugin.protocol import MODELS

SHOT_VERSION = 1
_HASHES = re.compile(r"#+|%0?\d*d|@+")


@dataclass
class RunSettings:
    """What the run box edits; names follow the shot file's fields."""

    weights: str = "auto"
    model: str = MODELS[0]       # the checkpoint "auto" weights mean (plugin.protocol.MODELS)
    warmup: int = 10
    mem_every: int = 5
    max_mem_frames: int = 5
    top_k: int = 30
    precision: str = "fp32"
    device: str = "auto"
    max_internal_size: Optional[int] = None
    dilate: int = 10
    erode: int = 10
    output_path: str = ""        # "" = beside the plate: matte/<stem>_{object}.####.exr
    dtype: str = "half"
    channels: str = "A"
    direction: str = "both"      # both | forward | backward: which way the matte travels from keyframes


@dataclass
class ShotObject:
    id: int
    name: str
    keyframes: Dict[int, str] = field(default_factory=dict)  # source frame -> mask path (absolute)
    colour: Optional[str] = None                               # "#rrggbb" in the panel


@dataclass
class ShotDoc:
    """A shot file's content with absolute paths (the file stores them relative to itself)."""

    plate_path: str
    first: int
    last: int
    colourspace: Optional[str] = None
    ocio_config: Optional[str] = None
    frame_offset: int = 0
    display: Optional[str] = None
    view: Optional[str] = None
    objects: List[ShotObject] = field(default_factory=list)
    run: RunSettings = field(default_factory=RunSettings)


def plate_stem(pattern: str) -> str:
    """'plates/sh010.####.exr' -> 'sh010'; 'clip.mov' -> 'clip'."""
    name = os.path.basename(pattern)
    name = _HASHES.split(name)[0].rstrip("._-") or os.path.splitext(name)[0]
    if "." in name:
        name = name.split(".")[0]
    return name or "shot"


def default_output_pattern(plate_path: str) -> str:
    """The alpha pattern beside the plate: <plate folder>/matte/<stem>_{object}.####.exr."""
    folder = os.path.dirname(os.path.abspath(plate_path))
    return os.path.join(folder, "matte", plate_stem(plate_path) + "_{object}.####.exr")


def default_shot_path(plate_path: str, output_pattern: str = "") -> str:
    """The shot file beside the outputs' folder (DESIGN: JSON beside the outputs)."""
    out = output_pattern or default_output_pattern(plate_path)
    folder = os.path.dirname(os.path.dirname(os.path.abspath(out)))
    return os.path.join(folder, plate_stem(plate_path) + ".matanyone.json")


def _rel(path: str, base: str) -> str:
    try:
        return os.path.relpath(path, base).replace(os.sep, "/")
    except ValueError:  # another drive on Windows
        return path.replace(os.sep, "/")


def _abs(path: str, base: str) -> str:
    return os.path.normpath(path if os.path.isabs(path) else os.path.join(base, path))


def to_json(doc: ShotDoc, shot_path: str) -> dict:
    """The v1 document, key order as DESIGN.md; paths relative to the shot file.

    `direction`, an object's `colour` (three floats 0-1) and `engine.model` (written only when it
    is not the default) are the optional additions that `plugin.shot` reads; everything else is
    DESIGN's example key for key.
    """
    base = os.path.dirname(os.path.abspath(shot_path))
    run = doc.run
    out = run.output_path or default_output_pattern(doc.plate_path)
    return {
        "version": SHOT_VERSION,
        "plate": {"path": _rel(doc.plate_path, base), "first": int(doc.first), "last": int(doc.last),
                  "colourspace": doc.colourspace, "ocio_config": doc.ocio_config,
                  "frame_offset": int(doc.frame_offset)},
        "network_input": {"display": doc.display, "view": doc.view},
        "objects": [_object_json(o, base) for o in doc.objects],
        "mask_cleanup": {"dilate": int(run.dilate), "erode": int(run.erode)},
        "engine": _engine_json(run),
        "output": {"path": _rel(out, base), "dtype": run.dtype, "channels": run.channels},
        "direction": run.direction,
    }


def _engine_json(run: RunSettings) -> dict:
    out = {"weights": run.weights}
    if run.model != MODELS[0]:  # the default stays unwritten: DESIGN's example, key for key
        out["model"] = run.model
    out.update({"warmup": int(run.warmup), "mem_every": int(run.mem_every), "max_mem_frames": int(run.max_mem_frames),
                "top_k": int(run.top_k), "precision": run.precision, "device": run.device,
                "max_internal_size": run.max_internal_size})
    return out


def _object_json(obj: ShotObject, base: str) -> dict:
    out = {"id": int(obj.id), "name": obj.name,
           "keyframes": {str(f): _rel(p, base) for f, p in sorted(obj.keyframes.items())}}
    if obj.colour:
        hexa = obj.colour.lstrip("#")
        out["colour"] = [round(int(hexa[i:i + 2], 16) / 255.0, 4) for i in (0, 2, 4)]
    return out


def _colour_hex(value) -> Optional[str]:
    if not isinstance(value, (list, tuple)) or len(value) != 3:
        return None
    return "#" + "".join("%02x" % max(0, min(255, int(round(float(c) * 255)))) for c in value)


def save(doc: ShotDoc, shot_path: str) -> str:
    """Write the shot file atomically (temp name in the same folder, then rename)."""
    shot_path = os.path.abspath(shot_path)
    os.makedirs(os.path.dirname(shot_path), exist_ok=True)
    tmp = shot_path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(to_json(doc, shot_path), fh, indent=2)
        fh.write("\n")
    os.replace(tmp, shot_path)
    return shot_path


def load(shot_path: str) -> ShotDoc:
    """Read a v1 shot file; raises ShotFileError (one line) when it is broken."""
    shot_path = os.path.abspath(shot_path)
    base = os.path.dirname(shot_path)
    try:
        with open(shot_path, "r", encoding="utf-8") as fh:
            data = json.load(fh)
    except OSError as err:
        raise ShotFileError(f"cannot read shot file {shot_path}: {err.strerror or err}; check the path") from None
    except ValueError as err:
        raise ShotFileError(f"shot file {shot_path} is not valid JSON ({err}); fix or re-save it") from None
    if not isinstance(data, dict) or data.get("version") != SHOT_VERSION:
        raise ShotFileError(f"shot file {shot_path} is not a version {SHOT_VERSION} shot file; "
                            "save it again from this version of the panel")
    try:
        plate = data["plate"]
        net = data.get("network_input") or {}
        eng = data.get("engine") or {}
        clean = data.get("mask_cleanup") or {}
        out = data.get("output") or {}
        run = RunSettings(
            weights=eng.get("weights", "auto"), model=str(eng.get("model") or MODELS[0]),
            warmup=int(eng.get("warmup", 10)),
            mem_every=int(eng.get("mem_every", 5)), max_mem_frames=int(eng.get("max_mem_frames", 5)),
            top_k=int(eng.get("top_k", 30)), precision=eng.get("precision", "fp32"),
            device=eng.get("device", "auto"), max_internal_size=eng.get("max_internal_size"),
            dilate=int(clean.get("dilate", 10)), erode=int(clean.get("erode", 10)),
            output_path=_abs(out["path"], base) if out.get("path") else "",
            dtype=out.get("dtype", "half"), channels=out.get("channels", "A"),
            direction=str(data.get("direction") or "forward"))
        objects = [ShotObject(id=int(o["id"]), name=str(o.get("name") or f"object {o['id']}"),
                              keyframes={int(f): _abs(p, base) for f, p in (o.get("keyframes") or {}).items()},
                              colour=_colour_hex(o.get("colour")))
                   for o in data.get("objects") or []]
        return ShotDoc(plate_path=_abs(plate["path"], base), first=int(plate["first"]), last=int(plate["last"]),
                       colourspace=plate.get("colourspace"), ocio_config=plate.get("ocio_config"),
                       frame_offset=int(plate.get("frame_offset", 0)), display=net.get("display"),
                       view=net.get("view"), objects=objects, run=run)
    except (KeyError, TypeError, ValueError) as err:
        raise ShotFileError(f"shot file {shot_path} is missing or has a bad field ({err}); "
                            "compare it with a shot file saved by the panel") from None
