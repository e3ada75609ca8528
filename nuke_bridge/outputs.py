"""Names and folders of a shot's outputs, shared by the Nuke and Nuke Studio/Hiero hosts: the
default folder for a plate's mattes beside the host's own file (Nuke script, Nuke Studio project),
since published plate folders are often read-only. No host import."""
from __future__ import annotations

import hashlib
import os
import re
from typing import Dict

from plugin.errors import OutputError
from ui.host import PlateRef

_SAFE = re.compile(r"[^A-Za-z0-9_]+")


def safe_name(text: str) -> str:
    """A Nuke node/layer name made from `text` (letters, digits, underscores)."""
    name = _SAFE.sub("_", text).strip("_") or "shot"
    return name if not name[0].isdigit() else "_" + name


def shot_name(shot_path: str, plate: PlateRef) -> str:
    """The shot's name: the shot file's name without its extensions, else the plate label."""
    base = os.path.basename(shot_path or "").split(".")[0]
    return safe_name(base or plate.label or "shot")


def absolute_outputs(alpha_patterns: Dict[str, str], shot_path: str) -> Dict[str, str]:
    """Output patterns with paths relative to the shot file made absolute (as the shot file means them)."""
    base = os.path.dirname(os.path.abspath(shot_path)) if shot_path else os.getcwd()
    return {obj: os.path.normpath(os.path.join(base, p)).replace("\\", "/") if not os.path.isabs(p) else p
            for obj, p in alpha_patterns.items()}


def output_folder(base: str, plate_path: str, setting: str) -> str:
    """<base>/matanyone/<plate stem>_<6 hex of the plate path>: one folder per plate, so v001 and
    v002 of one stem never share mattes. A folder that cannot be written is a one-line error
    naming `setting` (the environment variable that moves it)."""
    stem = re.split(r"[._]?(?:#+|%0?\d*d)", os.path.basename(plate_path))[0].split(".")[0] or "plate"
    stem = re.sub(r"[^A-Za-z0-9_-]+", "_", stem)
    tag = hashlib.sha1(plate_path.encode("utf-8")).hexdigest()[:6]
    folder = os.path.join(base, "matanyone", f"{stem}_{tag}").replace("\\", "/")
    probe = folder
    while not os.path.isdir(probe) and os.path.dirname(probe) != probe:
        probe = os.path.dirname(probe)
    if not os.access(probe, os.W_OK):
        raise OutputError(f"MatAnyone cannot write mattes into {folder} ({probe} is read-only): "
                          f"set {setting} or the panel's output path to a writable folder.")
    return folder
