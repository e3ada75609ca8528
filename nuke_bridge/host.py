"""Nuke as a `ui.host.HostAdapter`: the selected Read in, a Read + Copy of the alpha out.

Runs inside Nuke's own Python (3.9+): standard library, `nuke` and `ui.host` only.
Reads of knobs happen on the caller's thread (the panel's, which is Nuke's main
thread); every change to the node graph goes through `nuke.executeInMainThread`, so
the panel may call `bring_back` from a worker callback without touching Nuke's DAG
off the main thread.
"""
from __future__ import annotations

import os
import re
import tempfile
from typing import Dict, List, Optional, Tuple

import nuke

from ui.host import PlateRef

try:
    from plugin.errors import PlateError
except ImportError:  # pragma: no cover - only when a studio copies nuke_bridge alone
    PlateError = ValueError  # type: ignore

# nuke-default colourspace names (Nuke colour management) -> the OCIO built-in studio
# config's names, which `plugin.color` understands. Nuke's log curves carry no gamut, so
# the nearest camera space is used; the network only needs a display-like image.
NUKE_DEFAULT_TO_OCIO = {
    "linear": "Linear Rec.709 (sRGB)",
    "sRGB": "sRGB Encoded Rec.709 (sRGB)",
    "rec709": "Camera Rec.709",
    "Gamma1.8": "Gamma 1.8 Encoded Rec.709",
    "Gamma2.2": "Gamma 2.2 Encoded Rec.709",
    "Gamma2.4": "Gamma 2.4 Encoded Rec.709",
    "AlexaV3LogC": "ARRI LogC3 (EI800)",
    "SLog3": "S-Log3 S-Gamut3",
    "REDLog3G10": "Log3G10 REDWideGamutRGB",
    "raw": "Raw",
}
# Nuke 14+ ships OCIO's own built-in configs under an `fn-nuke_` prefix.
_NUKE_BUILTIN_PREFIX = "fn-nuke_"
_EXPRESSION_OFFSET = re.compile(r"^\s*frame\s*(?:([+-])\s*(\d+))?\s*$")
_SAFE = re.compile(r"[^A-Za-z0-9_]+")
_GAP = 40  # pixels between the nodes the bridge places


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


def frame_offset(node) -> int:
    """Host frame minus file frame, from the Read's 'frame_mode' and 'frame' knobs."""
    mode = str(node["frame_mode"].value()).replace("_", " ")
    value = str(node["frame"].value()).strip()
    if mode == "start at":
        return int(float(value or node["first"].value())) - int(node["first"].value())
    if mode == "offset":
        return int(float(value or 0))
    match = _EXPRESSION_OFFSET.match(value or "frame")
    if not match:
        raise PlateError(
            f"Read node {node.name()} maps frames with the expression '{value}', which MatAnyone "
            f"cannot follow: set its frame mode to 'start at' or 'offset'."
        )
    sign, amount = match.groups()
    # 'frame+N' reads file frame host+N, so the host sees file frame f at f-N.
    return -int(amount) if sign == "+" else int(amount or 0)


def ocio_setup() -> Tuple[bool, Optional[str]]:
    """(names come from an OCIO config, its path or URI or None) from the root colour knobs.

    Nuke colour management and OCIO's `nuke-default` config both use nuke-default names,
    which are mapped to the built-in config's names instead.
    """
    root = nuke.root()
    if str(root["colorManagement"].value()) != "OCIO":
        return False, None
    if os.environ.get("OCIO"):
        return True, os.environ["OCIO"]
    config = str(root["OCIO_config"].value())
    if config == "nuke-default":
        return False, None
    if config == "custom":
        return True, os.path.expandvars(str(root["customOCIOConfigPath"].value())) or None
    if config.startswith(_NUKE_BUILTIN_PREFIX):
        return True, "ocio://" + config[len(_NUKE_BUILTIN_PREFIX):]
    # aces_1.x: their names are aliases in OCIO's built-in studio config.
    return True, None


def ocio_colourspace(knob_value: str, uses_ocio: bool) -> Optional[str]:
    """The OCIO name for a Read's 'colorspace' knob value ('default (sRGB)' -> 'sRGB' first)."""
    name = str(knob_value).strip()
    match = re.match(r"^default\s*\((.*)\)$", name)
    if match:
        name = match.group(1).strip()
    if not name:
        return None
    if uses_ocio:
        return name
    return NUKE_DEFAULT_TO_OCIO.get(name)


class NukeHost:
    """The `HostAdapter` the panel gets inside Nuke."""

    name = "nuke"

    def selected_plate(self) -> PlateRef:
        reads = [n for n in nuke.selectedNodes() if n.Class() == "Read"]
        if len(reads) != 1:
            raise PlateError("Select exactly one Read node in the Node Graph, then press 'Use selected' again.")
        return self.plate_of(reads[0])

    def plate_of(self, node) -> PlateRef:
        """The plate a Read node reads: full-resolution file (never its proxy), range, colour."""
        if "." in node.fullName():  # the alpha nodes are wired at the script's top level
            raise PlateError(f"Read node {node.fullName()} is inside a Group: matte a Read at the top "
                             f"level of the script (copy it out of the Group).")
        path = nuke.filename(node) if not nuke.root()["proxy"].value() else node["file"].value()
        if not path:
            raise PlateError(f"Read node {node.name()} has no file: set its 'file' knob.")
        if "[" in path:
            raise PlateError(f"Read node {node.name()} file '{path}' holds a TCL expression: turn proxy mode off.")
        uses_ocio, config = ocio_setup()
        return PlateRef(
            path=path,
            first=int(node["first"].value()),
            last=int(node["last"].value()),
            colourspace=ocio_colourspace(node["colorspace"].value(), uses_ocio),
            ocio_config=config,
            frame_offset=frame_offset(node),
            label=node.name(),
            extra={"node": node.name()},
        )

    def frame_range(self) -> Tuple[int, int]:
        root = nuke.root()
        return int(root["first_frame"].value()), int(root["last_frame"].value())

    def current_frame(self) -> int:
        return int(nuke.frame())

    def render_mask(self, node_name: str, frame: int, folder: Optional[str] = None) -> str:
        """Render `node_name`'s alpha at host frame `frame` to an EXR; returns its path.

        A temporary Write does the render and is deleted afterwards, whatever happens.
        """
        node = nuke.toNode(node_name)
        if node is None:
            raise PlateError(f"No node named {node_name} in this script: pick the node whose alpha is the mask.")
        folder = folder or tempfile.mkdtemp(prefix="matanyone_mask_")
        path = os.path.join(folder, f"{safe_name(node_name)}_mask.{int(frame):04d}.exr").replace("\\", "/")
        write = nuke.nodes.Write(file=path, file_type="exr", channels="alpha", raw=True)
        try:
            write.setInput(0, node)
            nuke.execute(write, int(frame), int(frame))
        finally:
            nuke.delete(write)
        return path

    def bring_back(self, alpha_patterns: Dict[str, str], plate: PlateRef, shot_path: str) -> None:
        patterns = absolute_outputs(alpha_patterns, shot_path)
        nuke.executeInMainThread(self.wire_alphas, args=(patterns, plate, shot_path))

    def wire_alphas(self, alpha_patterns: Dict[str, str], plate: PlateRef, shot_path: str) -> List[object]:
        """Create or update (reload) one Read + Copy per object beside the plate's Read,
        inside a backdrop named after the shot, as one undo step. Main thread only (Nuke
        runs it from `executeInMainThread`, where an exception would reach nobody, so a
        user error becomes a message); returns the nodes made or updated."""
        undo = nuke.Undo()
        undo.begin("MatAnyone: " + shot_name(shot_path, plate))
        try:
            return self._wire(alpha_patterns, plate, shot_path)
        except Exception as err:
            if not getattr(err, "user_error", False):
                raise
            nuke.message("MatAnyone: " + str(err))
            return []
        finally:
            undo.end()

    def _wire(self, alpha_patterns: Dict[str, str], plate: PlateRef, shot_path: str) -> List[object]:
        source = nuke.toNode(plate.extra.get("node", plate.label))
        if source is None:
            raise PlateError(f"Read node {plate.extra.get('node', plate.label)} is gone: the alpha is at "
                             f"{next(iter(alpha_patterns.values()), '')}.")
        shot = shot_name(shot_path, plate)
        several = len(alpha_patterns) > 1
        x, y = source.xpos(), source.ypos()
        upstream, made = source, [source]
        for index, (obj, pattern) in enumerate(alpha_patterns.items()):
            tag = f"MatAnyone_{shot}_{safe_name(obj)}"
            read = self._alpha_read(tag + "_alpha", pattern, plate, source)
            read.setXYpos(x + (index + 1) * (source.screenWidth() + _GAP), y)
            channel = "rgba.alpha"
            if several:
                layer = "ma_" + safe_name(obj)
                channel = layer + ".a"
                if layer not in nuke.layers():
                    nuke.Layer(layer, [channel])
            copy = nuke.toNode(tag + "_copy") or nuke.nodes.Copy(name=tag + "_copy")
            copy["from0"].setValue("rgba.alpha")
            copy["to0"].setValue(channel)
            copy.setInput(0, upstream)
            copy.setInput(1, read)
            copy.setXYpos(x, y + source.screenHeight() + _GAP + index * (copy.screenHeight() + _GAP))
            upstream = copy
            made += [read, copy]
        self._backdrop("MatAnyone_" + shot, made)
        return made[1:]

    def _alpha_read(self, name: str, pattern: str, plate: PlateRef, source):
        read = nuke.toNode(name)
        fresh = read is None
        if fresh:
            read = nuke.nodes.Read(name=name)
        read["file"].setValue(pattern.replace("\\", "/"))
        for knob, value in (("first", plate.first), ("last", plate.last),
                            ("origfirst", plate.first), ("origlast", plate.last)):
            read[knob].setValue(int(value))
        # Same frame mapping as the plate's Read, so alpha frame f sits on plate frame f.
        read["frame_mode"].setValue(source["frame_mode"].value())
        read["frame"].setValue(source["frame"].value())
        read["raw"].setValue(True)  # alpha is coverage: no colour transform on read
        if not fresh:
            read["reload"].execute()
        return read

    def _backdrop(self, name: str, nodes) -> object:
        pad, title = 30, 60
        left = min(n.xpos() for n in nodes) - pad
        top = min(n.ypos() for n in nodes) - pad - title
        right = max(n.xpos() + n.screenWidth() for n in nodes) + pad
        bottom = max(n.ypos() + n.screenHeight() for n in nodes) + pad
        backdrop = nuke.toNode(name) or nuke.nodes.BackdropNode(name=name, note_font_size=24)
        backdrop["label"].setValue(name.replace("MatAnyone_", "MatAnyone ", 1))
        backdrop["xpos"].setValue(left)
        backdrop["ypos"].setValue(top)
        backdrop["bdwidth"].setValue(right - left)
        backdrop["bdheight"].setValue(bottom - top)
        return backdrop
