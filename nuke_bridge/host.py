"""Nuke as a `ui.host.HostAdapter`: the selected Read in, a Read + Copy of the alpha out.

Runs inside Nuke's own Python (3.9+): standard library, `nuke`, `ui.host` and the host-safe
`plugin` modules. Reads of knobs happen on the caller's thread (the panel's, which is
Nuke's main thread); every change to the node graph goes through `nuke.executeInMainThread`,
so the panel may call `bring_back` from a worker callback.

Identity: the source Read is kept as the `nuke.Node` object (it survives renames and dies
with its script), and what the bridge makes carries a hidden `matanyone_id` knob (shot file
+ object + role), so two plates of the same name never share nodes and a re-run finds its
own nodes wherever the artist moved or renamed them.
"""
from __future__ import annotations

import os
import re
import sys
import tempfile
import traceback
import uuid
from typing import Callable, Dict, List, Optional, Tuple

import nuke

from nuke_bridge.colour import NUKE_DEFAULT_TO_OCIO, ocio_name  # noqa: F401 - NUKE_DEFAULT_TO_OCIO re-exported
from nuke_bridge.outputs import absolute_outputs, output_folder, safe_name, shot_name
from plugin.errors import ColorError, OutputError, PlateError
from ui.host import PlateRef

ID_KNOB = "matanyone_id"  # hidden knob on every node the bridge makes: "<shot file>|<object>|<role>"
OUTPUT_ENV = "MATANYONE_NUKE_OUTPUT"  # folder for mattes when the panel sets none (default: beside the script)
_EXPRESSION_OFFSET = re.compile(r"^\s*frame\s*(?:([+-])\s*(\d+))?\s*$")
_GAP = 40                   # pixels between the nodes the bridge places
_BACKDROP_COLOUR = 0x7F7F7FFF  # Nuke's neutral backdrop grey
_PAD, _TITLE = 30, 60       # backdrop margins


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


def evaluated_path(knob) -> str:
    """A path knob as Nuke means it: TCL, [python] and $VARs evaluated, a relative path taken
    from the project directory (Project Settings), as Nuke's Read does."""
    path = str(knob.getEvaluatedValue() or "").strip()
    if path and not os.path.isabs(path) and "://" not in path:
        base = str(nuke.root()["project_directory"].getEvaluatedValue() or "").strip()
        path = os.path.join(base, path) if base else os.path.abspath(path)
    return path.replace("\\", "/")


def ocio_config() -> Optional[str]:
    """The OCIO config file Nuke itself uses: $OCIO when set, else the Root's evaluated
    customOCIOConfigPath (Nuke fills it in for its built-in configs too); None when neither names one."""
    if os.environ.get("OCIO"):
        return os.environ["OCIO"]
    path = evaluated_path(nuke.root()["customOCIOConfigPath"])
    if not path:
        return None
    if "://" not in path and not os.path.isfile(path):
        raise ColorError(f"Nuke's OCIO config {path} (Project Settings > Color) does not exist: "
                         f"choose a config that does, or set $OCIO.")
    return path


def colourspace_of(node, config: Optional[str]) -> Optional[str]:
    """The OCIO name for a Read's 'colorspace' knob (see `nuke_bridge.colour.ocio_name`)."""
    return ocio_name(str(node["colorspace"].value()), config, f"Read node {node.name()}")


def output_dir(plate_path: str) -> str:
    """Where mattes go unless the panel says otherwise: beside the Nuke script (published plate
    folders are often read-only); $MATANYONE_NUKE_OUTPUT moves it."""
    base = os.environ.get(OUTPUT_ENV, "").strip()
    if not base:
        try:
            base = os.path.dirname(nuke.scriptName())
        except RuntimeError:  # an untitled script has no folder yet
            raise OutputError("Save the Nuke script first: MatAnyone writes mattes beside it "
                              f"(or set {OUTPUT_ENV} to a folder).") from None
    return output_folder(base, plate_path, OUTPUT_ENV)


class NukeHost:
    """The `HostAdapter` the panel gets inside Nuke."""

    name = "nuke"

    def __init__(self, report: Optional[Callable[[str], None]] = None):
        self.report = report or nuke.message  # where main-thread errors go: the pane when it set one
        self._sources: Dict[str, object] = {}  # plate key -> the source Read (a nuke.Node)

    def selected_plate(self) -> PlateRef:
        reads = [n for n in nuke.selectedNodes() if n.Class() == "Read"]
        if len(reads) != 1:
            raise PlateError("Select exactly one Read node in the Node Graph, then press 'Use selected' again.")
        return self.plate_of(reads[0])

    def plate_of(self, node) -> PlateRef:
        """The plate a Read node reads: the full-resolution file (never its proxy), range, colour."""
        if "." in node.fullName():  # the alpha nodes are wired at the script's top level
            raise PlateError(f"Read node {node.fullName()} is inside a Group: matte a Read at the top "
                             f"level of the script (copy it out of the Group).")
        path = evaluated_path(node["file"])
        if not path:
            raise PlateError(f"Read node {node.name()} has no file: set its 'file' knob.")
        config = ocio_config()
        key = uuid.uuid4().hex
        self._sources[key] = node
        return PlateRef(path=path, first=int(node["first"].value()), last=int(node["last"].value()),
                        colourspace=colourspace_of(node, config), ocio_config=config,
                        frame_offset=frame_offset(node), label=node.name(),
                        extra={"node_key": key}, output_dir=output_dir(path))

    def script_closed(self) -> None:
        """Nuke closes the script: its nodes are gone, so nothing may be wired into them later."""
        self._sources.clear()

    def frame_range(self) -> Tuple[int, int]:
        root = nuke.root()
        return int(root["first_frame"].value()), int(root["last_frame"].value())

    def current_frame(self) -> int:
        return int(nuke.frame())

    def render_mask(self, node_name: str, frame: int, folder: Optional[str] = None) -> str:
        """Render `node_name`'s alpha at host frame `frame`, full scale, to an EXR; returns its path.

        The temporary Write stays out of the undo history and is deleted whatever happens;
        proxy mode is switched off for the render (the plate is read at full resolution).
        """
        node = nuke.toNode(node_name)
        if node is None:
            raise PlateError(f"No node named {node_name} in this script: pick the node whose alpha is the mask.")
        folder = folder or tempfile.mkdtemp(prefix="matanyone_mask_")
        path = os.path.join(folder, f"{safe_name(node_name)}_mask.{int(frame):04d}.exr").replace("\\", "/")
        root, undo = nuke.root(), nuke.Undo()
        proxy = bool(root["proxy"].value())
        undo.disable()
        try:
            write = nuke.nodes.Write(file=path, file_type="exr", channels="alpha", raw=True)
            try:
                if proxy:
                    root["proxy"].setValue(False)
                write.setInput(0, node)
                nuke.execute(write, int(frame), int(frame))
            finally:
                nuke.delete(write)
                if proxy:
                    root["proxy"].setValue(True)
        finally:
            undo.enable()
        return path

    def bring_back(self, alpha_patterns: Dict[str, str], plate: PlateRef, shot_path: str) -> None:
        patterns = absolute_outputs(alpha_patterns, shot_path)
        nuke.executeInMainThread(self.wire_alphas, args=(patterns, plate, shot_path))

    def wire_alphas(self, alpha_patterns: Dict[str, str], plate: PlateRef, shot_path: str) -> List[object]:
        """Create or update (reload) one Read + Copy per object beside the plate's Read, as one
        undo step. Main thread only (Nuke runs it from `executeInMainThread`, where an exception
        would reach only the Script Editor): any error is reported in one line and the undo step
        is cancelled, so no half-made nodes remain. Returns the nodes made or updated."""
        undo = nuke.Undo()
        undo.begin("MatAnyone: " + shot_name(shot_path, plate))
        try:
            made = self._wire(alpha_patterns, plate, shot_path)
        except Exception as err:  # noqa: BLE001 - the one place an error can still be shown
            undo.cancel()
            if getattr(err, "user_error", False):
                self.report("MatAnyone: " + str(err))
            else:
                traceback.print_exc(file=sys.stderr)  # the details, for the Script Editor
                self.report(f"MatAnyone could not wire the alpha back ({type(err).__name__}: {err}); "
                            f"nothing was changed; details are in the Script Editor.")
            return []
        undo.end()
        return made

    def _source(self, plate: PlateRef, first_output: str):
        node = self._sources.get(plate.extra.get("node_key", ""))
        try:
            node.name()  # a deleted node, or one of a closed script, raises ValueError
        except (AttributeError, ValueError):
            raise PlateError(f"Read node {plate.label} is gone (deleted, or its script was closed): "
                             f"the alpha is at {first_output}.") from None
        return node

    def _wire(self, alpha_patterns: Dict[str, str], plate: PlateRef, shot_path: str) -> List[object]:
        source = self._source(plate, next(iter(alpha_patterns.values()), ""))
        shot = shot_name(shot_path, plate)
        shot_id = os.path.abspath(shot_path or plate.path).replace("\\", "/")
        mine = _tagged_nodes()
        several = len(alpha_patterns) > 1
        fresh: List[Tuple[object, object]] = []
        made, upstream = [], source
        for obj, pattern in alpha_patterns.items():
            read = mine.get(f"{shot_id}|{obj}|alpha")
            copy = mine.get(f"{shot_id}|{obj}|copy")
            if read is None:
                read = _tag(nuke.nodes.Read(name=f"MatAnyone_{shot}_{safe_name(obj)}_alpha",
                                            label=f"MatAnyone alpha: {obj}"), f"{shot_id}|{obj}|alpha")
            else:
                read["reload"].execute()
            _set_alpha_read(read, pattern, plate, source)
            channel = "rgba.alpha"
            if several:
                layer = "ma_" + safe_name(obj)
                channel = layer + ".a"
                if layer not in nuke.layers():
                    nuke.Layer(layer, [channel])
            if copy is None:
                copy = _tag(nuke.nodes.Copy(name=f"MatAnyone_{shot}_{safe_name(obj)}_copy",
                                            label=f"alpha: {obj}"), f"{shot_id}|{obj}|copy")
                fresh.append((read, copy))
            copy["from0"].setValue("rgba.alpha")
            copy["to0"].setValue(channel)
            copy.setInput(0, upstream)
            copy.setInput(1, read)
            upstream = copy
            made += [read, copy]
        if fresh:  # nodes the artist already placed stay where they are
            _place(source, fresh, mine.get(f"{shot_id}||backdrop"), shot, shot_id)
        return made


def _tag(node, ident: str):
    knob = nuke.String_Knob(ID_KNOB, "MatAnyone id", ident)
    knob.setFlag(nuke.INVISIBLE)
    node.addKnob(knob)
    return node


def _tagged_nodes() -> Dict[str, object]:
    found = {}
    for node in nuke.allNodes():
        knob = node.knob(ID_KNOB)
        if knob is not None:
            found[str(knob.value())] = node
    return found


def _set_alpha_read(read, pattern: str, plate: PlateRef, source) -> None:
    read["file"].setValue(pattern.replace("\\", "/"))
    for knob, value in (("first", plate.first), ("last", plate.last),
                        ("origfirst", plate.first), ("origlast", plate.last)):
        read[knob].setValue(int(value))
    # Same frame mapping and out-of-range behaviour as the plate's Read, so alpha frame f sits on plate frame f.
    for knob in ("frame_mode", "frame", "before", "after", "on_error"):
        read[knob].setValue(source[knob].value())
    read["raw"].setValue(True)  # alpha is coverage: no colour transform on read


def _place(source, fresh, backdrop, shot: str, shot_id: str) -> None:
    """Put new (alpha Read, Copy) pairs to the right of the Read and everything it feeds, in the
    first place where they and their backdrop overlap no node, then a backdrop around them only."""
    w, rh, ch = source.screenWidth(), source.screenHeight(), 18
    row = rh + _GAP
    width = 2 * w + _GAP + 2 * _PAD
    height = len(fresh) * row + _PAD + _TITLE
    others = [n for n in nuke.allNodes() if all(n is not r and n is not c for r, c in fresh)]
    feeds = [source] + [n for n in source.dependent() if n not in [c for _, c in fresh]]
    left = max(n.xpos() + n.screenWidth() for n in feeds) + _GAP
    top = source.ypos() - _TITLE - _PAD
    while any(_overlaps((left, top, width, height), n) for n in others):
        left += w + _GAP
    for i, (read, copy) in enumerate(fresh):
        y = source.ypos() + i * row
        copy.setXYpos(left + _PAD, y + (rh - ch) // 2)
        read.setXYpos(left + _PAD + w + _GAP, y)
    if backdrop is None:
        backdrop = _tag(nuke.nodes.BackdropNode(name="MatAnyone_" + shot, label="MatAnyone " + shot,
                                                note_font_size=24, tile_color=_BACKDROP_COLOUR),
                        f"{shot_id}||backdrop")
        backdrop.setXYpos(left, top)
        backdrop["bdwidth"].setValue(width)
        backdrop["bdheight"].setValue(height)


def _overlaps(rect, node) -> bool:
    x, y, w, h = rect
    nx, ny = node.xpos(), node.ypos()
    return nx < x + w and x < nx + node.screenWidth() and ny < y + h and y < ny + node.screenHeight()
