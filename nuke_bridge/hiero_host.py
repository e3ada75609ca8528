"""Nuke Studio / Hiero as a `ui.host.HostAdapter`: the selected track item in, the alpha back on
the timeline as a clip in a *MatAnyone* bin and a track item on a video track directly above the
plate's track.

Only the documented `hiero.core` / `hiero.ui` API (Hiero Python reference:
https://learn.foundry.com/nuke/developers/15.0/HieroPythonDevGuide/api/api_core.html and
api_ui.html). `bring_back` runs on the Qt main thread (the panel calls it from its UI-thread
event), and all its changes are one undo step of the project.
"""
from __future__ import annotations

import os
import re
import sys
import traceback
import uuid
from typing import Callable, Dict, List, Optional, Tuple

import hiero.core
import hiero.ui

from nuke_bridge.colour import ocio_name
from nuke_bridge.outputs import absolute_outputs, output_folder, shot_name
from plugin.errors import OutputError, PlateError
from ui.host import PlateRef

HANDLES_ENV = "MATANYONE_HIERO_HANDLES"  # frames matted beyond each end of the cut (default 12)
OUTPUT_ENV = "MATANYONE_HIERO_OUTPUT"    # folder for mattes (default: beside the project file)
BIN_NAME = "MatAnyone"
_HASHES = re.compile(r"#+")


def _percent(pattern: str) -> str:
    """'sh010.####.exr' -> 'sh010.%04d.exr', the sequence form Hiero's MediaSource reads."""
    return _HASHES.sub(lambda m: "%0{}d".format(len(m.group(0))), pattern.replace("\\", "/"))


class HieroHost:
    """The `HostAdapter` the panel gets inside Nuke Studio / Hiero."""

    name = "hiero"

    def __init__(self, handles: Optional[int] = None, report: Optional[Callable[[str], None]] = None):
        self.handles = int(os.environ.get(HANDLES_ENV, "12")) if handles is None else int(handles)
        self.report = report or (lambda message: sys.stderr.write(message + "\n"))
        self._items: Dict[str, Tuple[object, object]] = {}  # plate key -> (track item, sequence)

    def selected_plate(self) -> PlateRef:
        sequence = hiero.ui.activeSequence()
        if sequence is None:
            raise PlateError("Open a sequence in the timeline and select one shot, then choose MatAnyone again.")
        items = [i for i in hiero.ui.getTimelineEditor(sequence).selection() if isinstance(i, hiero.core.TrackItem)]
        if len(items) != 1:
            raise PlateError("Select exactly one shot (track item) in the timeline, then choose MatAnyone again.")
        return self.plate_of(items[0], sequence)

    def plate_of(self, item, sequence) -> PlateRef:
        """The media under a track item: its file, the cut's source range plus handles (within the
        media), the timeline offset and the media's colour transform."""
        if float(item.playbackSpeed()) != 1.0:
            raise PlateError(f"Shot {item.name()} is retimed ({item.playbackSpeed()}x): matte the clip at "
                             f"normal speed (remove the retime, or matte its source clip).")
        clip = item.source()
        media = clip.mediaSource()
        infos = media.fileinfos()
        if not infos:
            raise PlateError(f"Shot {item.name()} has no media file: relink it, then choose MatAnyone again.")
        start = int(media.startTime())
        end = start + int(media.duration()) - 1
        cut_in, cut_out = start + int(item.sourceIn()), start + int(item.sourceOut())
        project = sequence.project()
        config = os.environ.get("OCIO") or project.ocioConfigPath() or None
        key = uuid.uuid4().hex
        self._items[key] = (item, sequence)
        path = infos[0].filename().replace("\\", "/")
        return PlateRef(path=path, first=max(start, cut_in - self.handles), last=min(end, cut_out + self.handles),
                        colourspace=ocio_name(clip.sourceMediaColourTransform(), config, f"Clip {clip.name()}"),
                        ocio_config=config, frame_offset=int(item.timelineIn()) - cut_in, label=item.name(),
                        extra={"item_key": key}, output_dir=self._output_dir(project, path))

    def _output_dir(self, project, plate_path: str) -> str:
        base = os.environ.get(OUTPUT_ENV, "").strip() or os.path.dirname(project.path() or "")
        if not base:
            raise OutputError("Save the Nuke Studio project first: MatAnyone writes mattes beside it "
                              f"(or set {OUTPUT_ENV} to a folder).")
        return output_folder(base, plate_path, OUTPUT_ENV)

    def frame_range(self) -> Tuple[int, int]:
        sequence = hiero.ui.activeSequence()
        return (0, int(sequence.duration()) - 1) if sequence is not None else (0, 0)

    def current_frame(self) -> int:
        viewer = hiero.ui.currentViewer()
        return int(viewer.time()) if viewer is not None else 0

    def bring_back(self, alpha_patterns: Dict[str, str], plate: PlateRef, shot_path: str) -> None:
        """Each object's alpha as a clip in the MatAnyone bin and a track item directly above the plate,
        same timeline position and source range, raw colour; a re-run replaces it. One undo step;
        an error undoes what was done and is reported in one line."""
        item, sequence = self._items.get(plate.extra.get("item_key", ""), (None, None))
        if item is None:
            raise PlateError(f"Shot {plate.label} is no longer known to MatAnyone: choose it again; the alpha is "
                             f"at {next(iter(alpha_patterns.values()), '')}.")
        patterns = absolute_outputs(alpha_patterns, shot_path)
        project = sequence.project()
        shot = shot_name(shot_path, plate)
        project.beginUndo("MatAnyone: " + shot)
        try:
            self._wire(patterns, plate, item, sequence, shot)
        except Exception as err:  # noqa: BLE001 - the one place it can still be shown
            project.endUndo()
            project.undo()
            if not getattr(err, "user_error", False):
                traceback.print_exc(file=sys.stderr)
            self.report(f"MatAnyone could not put the alpha on the timeline ({err}); nothing was changed.")
            return
        project.endUndo()

    def _wire(self, patterns: Dict[str, str], plate: PlateRef, item, sequence, shot: str) -> List[object]:
        bin_ = _matanyone_bin(sequence.project())
        raw = "raw" if not plate.ocio_config else "data"  # alpha is coverage: the config's data role
        made = []
        below = item.parentTrack()  # each new alpha track goes directly above this one
        for obj, pattern in patterns.items():
            name = f"{shot}_{obj}_alpha" if len(patterns) > 1 else f"{shot}_alpha"
            for old in [b for b in bin_.items() if b.name() == name]:
                bin_.removeItem(old)
            clip = hiero.core.Clip(hiero.core.MediaSource(_percent(pattern)))
            clip.setName(name)
            clip.setSourceMediaColourTransform(raw)
            bin_.addItem(hiero.core.BinItem(clip))
            track = _track(sequence, f"MatAnyone {shot}" + (f" {obj}" if len(patterns) > 1 else ""), below)
            below = track
            for old in [t for t in track.items() if t.timelineIn() <= item.timelineOut()
                        and item.timelineIn() <= t.timelineOut()]:
                track.removeItem(old)  # a re-run replaces, never stacks
            alpha = track.createTrackItem(name)
            alpha.setSource(clip)
            # The alpha media starts at plate.first; the cut starts at the track item's source frame.
            cut_in = int(item.timelineIn()) - plate.frame_offset
            alpha.setSourceIn(cut_in - plate.first)
            alpha.setSourceOut(cut_in - plate.first + int(item.timelineOut()) - int(item.timelineIn()))
            alpha.setTimelineIn(int(item.timelineIn()))
            alpha.setTimelineOut(int(item.timelineOut()))
            track.addItem(alpha)
            made.append(alpha)
        return made


def _matanyone_bin(project):
    root = project.clipsBin()
    for child in root.bins():
        if child.name() == BIN_NAME:
            return child
    child = hiero.core.Bin(BIN_NAME)
    root.addItem(child)
    return child


def _track(sequence, name: str, below):
    """The video track `name`, made directly above the track `below` if missing; an existing one
    stays where it is (a re-run moves no track). `Sequence.addTrack` takes no index and adds on
    top, so the tracks above `below` come off (`removeTrack`; they keep their items) and go back
    on, in their order, above the new one."""
    tracks = sequence.videoTracks()
    for track in tracks:
        if track.name() == name:
            return track
    above = tracks[tracks.index(below) + 1:]
    for track in reversed(above):
        sequence.removeTrack(track)
    track = hiero.core.VideoTrack(name)
    sequence.addTrack(track)
    for other in above:
        sequence.addTrack(other)
    return track


# ---- menus and the pane (Nuke Studio's StartupUI runs `register`) ----------------------------

_KEEP: List[object] = []  # the actions and the pane, kept alive for Qt


def register() -> None:
    """'MatAnyone > Matte selected shot' in the main menu bar and the timeline's context menu."""
    from ui.qt import QAction

    action = QAction("Matte selected shot", None)
    action.triggered.connect(lambda *_: open_panel())
    _KEEP.append(action)
    hiero.ui.menuBar().addMenu(BIN_NAME).addAction(action)

    def context_menu(event):
        event.menu.addMenu(BIN_NAME).addAction(action)
    _KEEP.append(context_menu)
    hiero.core.events.registerInterest("kShowContextMenu/kTimeline", context_menu)


def open_panel():
    """Dock the pane (once) and load the selected shot into it."""
    widget = next((w for w in _KEEP if hasattr(w, "panel")), None)
    if widget is None:
        widget = make_widget()
        hiero.ui.windowManager().addWindow(widget)
    widget.panel.controller.use_host_selection()
    return widget


def make_widget():
    """The pane: the panel with a HieroHost; closing it stops the worker."""
    from ui.qt import QtWidgets

    import ui

    container = QtWidgets.QWidget()
    container.setWindowTitle(BIN_NAME)
    layout = QtWidgets.QVBoxLayout(container)
    layout.setContentsMargins(0, 0, 0, 0)
    host = HieroHost(report=lambda message: container.panel.controller.error(message))
    container.panel = ui.show_panel(parent=container, host=host)
    layout.addWidget(container.panel)
    controller = container.panel.controller

    def destroyed(*_):
        _KEEP[:] = [k for k in _KEEP if k is not container]
        controller.close()
    container.destroyed.connect(destroyed)
    _KEEP.append(container)
    return container
