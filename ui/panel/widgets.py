"""The panel widget: viewer bar, viewer, frame slider, objects, mask tools and run box.

Renders the controller's events and forwards the artist's input to it; nothing here waits
on the worker or the disk (the controller answers through events posted to the UI thread).
"""
from __future__ import annotations

import os

from ui.qt import QtCore, QtGui, QtWidgets

from ui.panel.controller import PanelController
from ui.panel.events import Event
from ui.panel.keys import SHORTCUTS, FrameKeys, bind  # noqa: F401 - SHORTCUTS re-exported for the app
from ui.panel.errorbar import ErrorBar
from ui.panel.maskimage import QtMaskOps, load_frame_image
from ui.panel.masktoolbox import TOOL_TIPS, MaskToolBox
from ui.panel.objects import ObjectsBox
from ui.panel.playback import Playback
from ui.panel.runbox import RunBox
from ui.panel.timeline import FrameSlider
from ui.panel.viewer import Viewer

DISPLAY_TIP = "OCIO display the plate is viewed on (the network sees the same image)"
VIEW_TIP = "OCIO view transform"
PLATE_COLOUR_TIP = ("What the plate's pixels are (its input colourspace): type to search. The guess from the file "
                    "is marked; a wrong guess (a LogC ProRes, a linear TIFF) makes the matte worse, so fix it here.")
AUTOSAVE_MS = 60000  # unsaved masks are autosaved beside the outputs this often


class Poster(QtCore.QObject):
    """Runs callables on the thread this object lives on (the UI thread), from any thread."""

    _call = QtCore.Signal(object)

    def __init__(self, parent=None):
        super().__init__(parent)
        self._call.connect(self._run, QtCore.Qt.QueuedConnection)

    def post(self, fn) -> None:
        self._call.emit(fn)

    @QtCore.Slot(object)
    def _run(self, fn) -> None:
        fn()


def _collapsible(box: QtWidgets.QGroupBox) -> None:
    """A side section that folds to its title (click the tick) to make room in a small dock."""
    box.setCheckable(True)
    box.setChecked(True)

    def fold(on: bool) -> None:
        for child in box.findChildren(QtWidgets.QWidget, options=QtCore.Qt.FindDirectChildrenOnly):
            child.setVisible(on)
    box.toggled.connect(fold)
    box.setToolTip((box.toolTip() + "\n" if box.toolTip() else "") + "Untick the title to fold this section")


class Panel(QtWidgets.QWidget):
    """The MatAnyone panel; hosts embed it, the standalone app wraps it."""

    plateOpened = QtCore.Signal(str)

    def __init__(self, parent=None, host=None, controller=None, client_factory=None):
        super().__init__(parent)
        self.setObjectName("MatAnyonePanel")
        self.setWindowTitle("MatAnyone")
        # No parent: worker threads may still post after a host deletes the panel (Nuke closing
        # its pane), and a signal emitted on a deleted QObject crashes the host.
        self.poster = Poster()
        self.controller = controller or PanelController(
            QtMaskOps(), load_frame_image, host=host, post=self.poster.post, client_factory=client_factory)
        self.host = self.controller.host
        c = self.controller
        self.error_bar = ErrorBar()
        self.viewer = Viewer(c)
        self.slider = FrameSlider()
        self.objects_box = ObjectsBox(c)
        self.tools = MaskToolBox(c, self.viewer)
        self.run_box = RunBox(c)
        self.playback = Playback(c, self)
        self.autosave_timer = QtCore.QTimer(self)
        self.autosave_timer.setInterval(AUTOSAVE_MS)
        self.autosave_timer.timeout.connect(c.runs.autosave)
        self.autosave_timer.start()
        self.status = QtWidgets.QLabel("")
        self.status.setObjectName("status")
        # a long readout is cut at the pane's edge (the tooltip has it all), never widening a dock
        self.status.setSizePolicy(QtWidgets.QSizePolicy.Ignored, QtWidgets.QSizePolicy.Preferred)
        self._build_viewer_bar()
        self._build_layout()
        self._build_shortcuts()
        self.slider.frameChanged.connect(c.set_frame)
        self.run_box.previewModeChanged.connect(self._preview_mode_changed)
        self.run_box.download_button.clicked.connect(self.download_models)
        self.run_box.allObjectsChanged.connect(self._all_objects_changed)
        self.viewer.hovered.connect(self._hovered)
        self.viewer.zoomChanged.connect(lambda s: self.zoom_label.setText(f"{s * 100:.0f}%"))
        c.subscribe(self._on_event)
        self.objects_box.refresh()
        self._set_plate_controls(False)

    def _set_plate_controls(self, enabled: bool) -> None:
        for w in (self.plate_colour, self.display, self.view, self.exposure, self.gamma, self.proxy,
                  self.frame_box, self.tools, self.play_button, self.save_action):
            w.setEnabled(enabled)
        self.run_box.set_plate(enabled)
        if not enabled:
            self.frame_box.setRange(0, 0)
        self.frame_box.setSpecialValueText("" if enabled else "–")

    # ---------------------------------------------------------------- layout
    def _build_viewer_bar(self) -> None:
        self.use_selected = QtWidgets.QPushButton("Use selected")
        self.use_selected.setToolTip("Take the plate selected in the host (a Read node, a timeline clip)")
        self.use_selected.setVisible(self.host is not None)
        self.use_selected.clicked.connect(self.use_host_selection)
        self.plate_colour = QtWidgets.QComboBox()
        self.plate_colour.setEditable(True)  # type to search the config's colourspaces
        self.plate_colour.setInsertPolicy(QtWidgets.QComboBox.NoInsert)
        self.plate_colour.completer().setCompletionMode(QtWidgets.QCompleter.PopupCompletion)
        self.plate_colour.completer().setFilterMode(QtCore.Qt.MatchContains)
        self.plate_colour.setToolTip(PLATE_COLOUR_TIP)
        self.plate_colour.activated.connect(self._plate_colour_chosen)
        self.display = QtWidgets.QComboBox()
        self.display.setToolTip(DISPLAY_TIP)
        self.view = QtWidgets.QComboBox()
        self.view.setToolTip(VIEW_TIP)
        self.exposure = QtWidgets.QDoubleSpinBox()
        self.exposure.setRange(-10, 10)
        self.exposure.setSingleStep(0.5)
        self.exposure.setPrefix("exp ")
        self.exposure.setToolTip("Viewer exposure in stops (viewing only: the matte is not affected)")
        self.gamma = QtWidgets.QDoubleSpinBox()
        self.gamma.setRange(0.1, 4.0)
        self.gamma.setSingleStep(0.1)
        self.gamma.setValue(1.0)
        self.gamma.setPrefix("γ ")
        self.gamma.setToolTip("Viewer gamma (viewing only)")
        self.proxy = QtWidgets.QComboBox()
        for label, factor in (("Full res", 1), ("1/2", 2), ("1/4", 4)):
            self.proxy.addItem(label, factor)
        self.proxy.setToolTip("Decode the viewer image smaller for faster scrubbing; masks stay full resolution")
        self.zoom_label = QtWidgets.QLabel("")
        self.zoom_label.setMinimumWidth(44)
        self.zoom_label.setToolTip("Zoom (F fits, Ctrl+1 is 100%, wheel zooms at the cursor)")
        self.frame_box = QtWidgets.QSpinBox()
        self.frame_box.setRange(-10 ** 7, 10 ** 7)
        self.frame_box.setToolTip("Current source frame")
        self.frame_box.setKeyboardTracking(False)
        self.frame_box.valueChanged.connect(self.controller.set_frame)
        for w in (self.plate_colour, self.display, self.view):  # elided in a narrow dock; the full name is in the tooltip
            w.setSizeAdjustPolicy(QtWidgets.QComboBox.AdjustToMinimumContentsLengthWithIcon)
            w.setMinimumContentsLength(9)
            w.setSizePolicy(QtWidgets.QSizePolicy.Expanding, QtWidgets.QSizePolicy.Fixed)
            w.setMaximumWidth(260)
        self.play_button = QtWidgets.QToolButton()
        self.play_button.setText("▶")
        self.play_button.setToolTip("Play at the plate's frame rate, looping over the in/out range (L plays, "
                                    "J plays backwards, K stops, Space toggles)")
        self.play_button.clicked.connect(lambda: self.playback.toggle(1))
        self.shot_button = QtWidgets.QToolButton()
        self.shot_button.setText("Shot")
        self.shot_button.setPopupMode(QtWidgets.QToolButton.InstantPopup)
        self.shot_button.setToolTip("Open or save the shot file (plate, masks and settings), here in the panel "
                                    "as in the app's File menu")
        menu = QtWidgets.QMenu(self.shot_button)
        menu.addAction("Open Shot…", self.open_shot)
        self.save_action = menu.addAction("Save Shot", self.save_shot)
        menu.addAction("Save Shot As…", self.save_shot_as)
        self.shot_button.setMenu(menu)
        self.display.setPlaceholderText("display")
        self.view.setPlaceholderText("view")
        self.display.currentIndexChanged.connect(self._display_changed)
        self.view.currentIndexChanged.connect(self._view_settings_changed)
        self.exposure.valueChanged.connect(self._view_settings_changed)
        self.gamma.valueChanged.connect(self._view_settings_changed)
        self.proxy.currentIndexChanged.connect(self._view_settings_changed)

    def _build_layout(self) -> None:
        bar = QtWidgets.QHBoxLayout()
        bar.addWidget(self.use_selected)
        bar.addWidget(self.shot_button)
        bar.addWidget(self.plate_colour, 1)
        bar.addWidget(self.display, 1)
        bar.addWidget(self.view, 1)
        bar.addWidget(self.zoom_label)
        frames = QtWidgets.QHBoxLayout()
        frames.addWidget(self.play_button)
        frames.addWidget(self.slider, 1)
        for w in (self.frame_box, self.exposure, self.gamma, self.proxy):
            frames.addWidget(w)
        left_widget = QtWidgets.QWidget()
        left = QtWidgets.QVBoxLayout(left_widget)
        left.setContentsMargins(0, 0, 0, 0)
        left.addLayout(bar)
        left.addWidget(self.viewer, 1)
        left.addLayout(frames)
        left.addWidget(self.status)
        side_widget = QtWidgets.QWidget()
        side = QtWidgets.QVBoxLayout(side_widget)
        side.setContentsMargins(0, 0, 4, 0)
        for box in (self.objects_box, self.tools, self.run_box):
            _collapsible(box)
            side.addWidget(box)
        side.addStretch(1)
        self.side = QtWidgets.QScrollArea()
        self.side.setWidget(side_widget)
        self.side.setWidgetResizable(True)
        self.side.setFrameShape(QtWidgets.QFrame.NoFrame)
        self.side.setHorizontalScrollBarPolicy(QtCore.Qt.ScrollBarAlwaysOff)
        self.side.setMinimumWidth(220)
        self.side.setMinimumHeight(120)
        self.splitter = QtWidgets.QSplitter(QtCore.Qt.Horizontal)
        self.splitter.addWidget(left_widget)
        self.splitter.addWidget(self.side)
        self.splitter.setStretchFactor(0, 1)
        self.splitter.setChildrenCollapsible(False)
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.setSizeConstraint(QtWidgets.QLayout.SetNoConstraint)  # the splitter turns before it is too narrow
        layout.addWidget(self.splitter)
        self.error_bar.setParent(self.viewer)  # over the image: showing an error never moves it
        self.error_bar.hide()

    def minimumSizeHint(self):  # noqa: N802 - Qt's name
        """Small enough for a docked pane: under 760 px wide the side column moves below."""
        return QtCore.QSize(460, 480)

    def resizeEvent(self, event):  # noqa: N802 - Qt's name
        """Narrow docks (under 760 px) put the side column below the viewer."""
        super().resizeEvent(event)
        want = QtCore.Qt.Vertical if self.width() < 760 else QtCore.Qt.Horizontal
        if self.splitter.orientation() != want:
            self.splitter.setOrientation(want)
            total = self.splitter.height() if want == QtCore.Qt.Vertical else self.splitter.width()
            side = int(total * 0.45) if want == QtCore.Qt.Vertical else 300
            self.splitter.setSizes([max(1, total - side), side])

    def _build_shortcuts(self) -> None:
        self.shortcuts = bind(self)
        self._frame_keys = FrameKeys(self.controller, self)
        self.frame_box.installEventFilter(self._frame_keys)

    # ------------------------------------------------------------ shot files
    def ask(self, title: str, text: str, buttons) -> int:
        """A question to the artist (tests replace this)."""
        return QtWidgets.QMessageBox.question(self, title, text, buttons)

    def confirm_discard(self, doing: str) -> bool:
        """Before dropping unsaved masks: Save (then go on), Discard, or Cancel. True: go on."""
        c = self.controller
        if not c.dirty or not any(o.masks for o in c.objects):
            return True
        box = QtWidgets.QMessageBox
        answer = self.ask("Unsaved masks", f"The masks have changed since the shot was saved. Save the shot "
                          f"before {doing}?", box.Save | box.Discard | box.Cancel)
        if answer == box.Save:
            c.save_shot()  # written from the copies taken now, before anything is dropped
            return True
        return answer == box.Discard

    def open_shot(self) -> None:
        start = os.path.dirname(self.controller.shot_path or (self.controller.plate.path if self.controller.plate
                                                               else ""))
        path, _ = QtWidgets.QFileDialog.getOpenFileName(self, "Open shot file", start, "Shot files (*.json)")
        if path and self.confirm_discard("opening another shot"):
            self.controller.load_shot(path)

    def save_shot(self) -> None:
        self.controller.save_shot()

    def save_shot_as(self) -> None:
        c = self.controller
        if c.plate is None:
            c.error("open a plate before saving a shot")
            return
        path, _ = QtWidgets.QFileDialog.getSaveFileName(self, "Save shot file", c.shot_path or c.default_shot_path(),
                                                        "Shot files (*.json)")
        if path:
            c.save_shot(path if path.lower().endswith(".json") else path + ".json")

    def use_host_selection(self) -> None:
        if self.confirm_discard("taking another plate"):
            self.controller.use_host_selection()

    def toggle_matte_view(self, mode: str) -> None:
        """A / M as in Nuke's viewer: show the alpha / matte overlay; the same key again goes back."""
        self.run_box.set_preview_mode("masks" if self.viewer.preview_mode == mode else mode)

    def escape(self) -> None:
        self.playback.stop()
        if self.controller.running:
            self.controller.cancel()
        else:
            self.error_bar.hide()

    # ---------------------------------------------------------------- events
    def _handlers(self):
        """What the panel does on each controller event (events it does not show are left out)."""
        return {
            Event.PLATE: self._ev_plate, Event.DISPLAYS: self._fill_displays, Event.FRAME: self._ev_frame,
            Event.CURRENT_FRAME: self._ev_current_frame, Event.OBJECTS: self._ev_objects,
            Event.SELECTION: self._ev_selection, Event.KEYFRAMES: self._ev_keyframes, Event.MASK: self._ev_mask,
            Event.UNDO: lambda _none: self.tools.refresh_undo(), Event.ERROR: self._ev_error,
            Event.STATUS: self.status.setText, Event.SAM_BUSY: self._ev_sam_busy,
            Event.RUN_STATE: self._ev_run_state, Event.PROGRESS: self._ev_progress, Event.PREVIEW: self._ev_preview,
            Event.ALPHA: self._ev_preview, Event.RUN_SETTINGS: lambda _s: self.run_box.load_settings(),
            Event.RUN_RANGE: self._ev_run_range, Event.PLATE_COLOUR: lambda _n: self._fill_plate_colours(), Event.MODELS: self._ev_models,
            Event.PIXEL: self._ev_pixel,
        }

    def _on_event(self, event: Event, payload) -> None:
        handler = self._handlers().get(event)  # built per event: a stored dict of bound methods keeps the panel alive
        if handler is not None:
            handler(payload)

    def _ev_plate(self, plate) -> None:
        self.error_bar.hide()
        self._set_plate_controls(True)
        self.viewer.set_plate(plate.width, plate.height)
        self.slider.set_frames(plate.frames)
        self.frame_box.blockSignals(True)
        self.frame_box.setRange(plate.first, plate.last)
        self.frame_box.blockSignals(False)
        self._fill_displays(plate.displays)
        self._fill_plate_colours()
        if plate.width > 2600 and self.proxy.currentData() == 1:  # 4K+: scrub at half size by default
            self.proxy.setCurrentIndex(self.proxy.findData(2))
        self.slider.set_marks([])
        self.run_box.load_settings()
        self.plateOpened.emit(plate.path)

    def _fill_displays(self, displays) -> None:
        self.display.blockSignals(True)
        self.display.clear()
        if not displays:
            self.display.addItem("default display", "")
        for name in displays:
            self.display.addItem(name, name)
        want = self.controller.display
        self.display.setCurrentIndex(max(0, self.display.findData(want) if want else 0))
        self.display.blockSignals(False)
        self._fill_views()

    def _fill_views(self) -> None:
        displays = self.controller.plate.displays if self.controller.plate else {}
        views = displays.get(self.display.currentData() or "", [])
        self.view.blockSignals(True)
        self.view.clear()
        if not views:
            self.view.addItem("default view", "")
        for name in views:
            self.view.addItem(name, name)
        want = self.controller.view
        self.view.setCurrentIndex(max(0, self.view.findData(want) if want else 0))
        self.view.blockSignals(False)
        self._name_tips()

    def _display_changed(self, _i) -> None:
        self._fill_views()
        self._view_settings_changed()

    def _name_tips(self) -> None:
        """The menus may be elided in a narrow dock: their tooltips say the full names, and what
        the viewer really applies (nothing for a display-referred plate, shown as the file)."""
        plate = self.controller.plate
        as_file = plate is not None and plate.shown_as_file
        for w in (self.display, self.view):
            w.setEnabled(plate is not None and not as_file)
        if as_file:
            note = (f"This plate is display-referred ({plate.colourspace}): it is shown as the file and the "
                    "network sees it unchanged, so display and view do not apply.")
            self.display.setToolTip(note)
            self.view.setToolTip(note)
            return
        self.display.setToolTip(f"Display: {self.display.currentText()}\n{DISPLAY_TIP}")
        self.view.setToolTip(f"View: {self.view.currentText()}\n{VIEW_TIP}")

    def _fill_plate_colours(self) -> None:
        plate = self.controller.plate
        self.plate_colour.blockSignals(True)
        self.plate_colour.clear()
        names = list(plate.colourspaces) if plate else []
        if plate and plate.colourspace and plate.colourspace not in names:
            names.insert(0, plate.colourspace)
        for name in names:
            guessed = plate.colourspace_guess == name
            self.plate_colour.addItem(name + ("  (guess)" if guessed else ""), name)
        self.plate_colour.setCurrentIndex(max(0, self.plate_colour.findData(plate.colourspace if plate else None)))
        self.plate_colour.lineEdit().setCursorPosition(0)  # a long name shows its start, not its end
        self.plate_colour.blockSignals(False)
        self.plate_colour.setToolTip(f"Plate: {self.plate_colour.currentText()}\n{PLATE_COLOUR_TIP}")

    def _plate_colour_chosen(self, index: int) -> None:
        name = self.plate_colour.itemData(index)
        if name:
            self.controller.set_colourspace(name)

    def _view_settings_changed(self, *_args) -> None:
        self._name_tips()
        self.controller.set_view(display=self.display.currentData() or "", view=self.view.currentData() or "",
                                 exposure=self.exposure.value(), gamma=self.gamma.value(),
                                 downscale=self.proxy.currentData() or 1)

    def _ev_frame(self, info) -> None:
        self.viewer.set_image(info["frame"], info["image"])

    def _ev_current_frame(self, frame) -> None:
        self.slider.set_frame(frame)
        if self.status.text().startswith("frame "):
            self.status.setText(f"frame {frame}")
            self.controller.pixels.refresh()  # the readout follows the frame under a still cursor
        self.frame_box.blockSignals(True)
        self.frame_box.setValue(frame)
        self.frame_box.blockSignals(False)
        self.viewer.update()

    def _ev_objects(self, _objects) -> None:
        self.objects_box.refresh()
        self.slider.set_marks(self.controller.keyframe_marks())
        self.viewer.update()

    def _ev_selection(self, obj_id) -> None:
        self.objects_box.select(obj_id)
        self.viewer.update()

    def _ev_keyframes(self, _keys) -> None:
        self.slider.set_marks(self.controller.keyframe_marks())
        self.objects_box.refresh()

    def _ev_mask(self, info) -> None:
        self.viewer.invalidate(info.get("obj_id"), info.get("rect"))

    def _ev_error(self, info) -> None:
        self.error_bar.show_error(info["message"], info.get("details", ""))

    def _ev_sam_busy(self, busy) -> None:
        self.viewer.setCursor(QtCore.Qt.BusyCursor if busy else QtCore.Qt.CrossCursor)

    def _ev_run_state(self, state) -> None:
        self.run_box.on_run_state(state)
        if state == "running":
            self.error_bar.hide()
            self.slider.done = {}
            if self.viewer.preview_mode == "masks":
                self.run_box.set_preview_mode("overlay")
        elif state == "failed" and not len(self.controller.previews):
            self.run_box.set_preview_mode("masks")  # nothing to preview: back to the masks
        self.slider.update()

    def _ev_progress(self, info) -> None:
        self.run_box.on_progress(info)
        self.slider.done = self.controller.runs.done_frames
        self.slider.update()
        frame = info.get("frame")
        if frame is not None and self.run_box.follow.isChecked():
            self.controller.set_frame(int(frame))

    def _ev_models(self, _installed) -> None:
        """Grey out what cannot work, say why in the tooltip, offer the download."""
        models = self.controller.models
        sam_why = models.why_sam_missing()
        button = self.tools.tool_buttons["sam"]
        button.setEnabled(not sam_why)
        label, key_name, tip = TOOL_TIPS["sam"]
        button.setToolTip(sam_why or f"{tip} ({key_name})")
        if sam_why and self.viewer.tool == "sam":
            self.tools.set_tool("brush")
        self.run_box.set_missing_model(models.why_matting_missing())
        self.run_box.download_button.setVisible(bool(sam_why or models.why_matting_missing()))

    def download_models(self) -> None:
        """The download dialog: each missing model with its size and licence; Download accepts it."""
        models = self.controller.models
        for name in (models.sam_checkpoint(), models.matting_checkpoint()):
            if not models.missing(name):
                continue
            row = models.rows.get(name, {})
            size = row.get("size") or row.get("approx_size")
            text = (f"{row.get('description') or name}\n\nFile: {row.get('file', name)}"
                    + (f" ({int(size) / 1e6:.0f} MB)" if size else "")
                    + f"\nLicence: {row.get('licence') or 'see the model page'} {row.get('licence_url') or ''}"
                    "\n\nDownloading accepts this licence. Download it now?")
            box = QtWidgets.QMessageBox
            if self.ask(f"Download {name}", text, box.Yes | box.No) == box.Yes:
                models.download(name)

    def _ev_run_range(self, run_range) -> None:
        self.slider.run_range = run_range
        self.slider.update()
        self.status.setText("run range: all frames" if run_range is None else
                            "run range: frames {}-{} (Alt+I clears)".format(*run_range))

    def _preview_mode_changed(self, mode: str) -> None:
        self.viewer.set_preview_mode(mode)
        self.controller.set_show_alpha(mode != "masks")

    def _all_objects_changed(self, all_objects: bool) -> None:
        self.controller.set_show_alpha(self.viewer.preview_mode != "masks", all_objects)
        self.viewer.update()

    def _ev_preview(self, info) -> None:
        if info["frame"] == self.controller.current_frame:
            self.viewer.update()

    def _hovered(self, point) -> None:
        plate = self.controller.plate
        if point is None or plate is None:
            return
        x, y = point
        if 0 <= x < plate.width and 0 <= y < plate.height:
            self.controller.pixels.hover(int(x), int(y))  # the worker answers with Event.PIXEL

    def _ev_pixel(self, sample: dict) -> None:
        if sample.get("frame") == self.controller.current_frame:
            self.status.setText(self.readout(sample))
            space = sample.get("colourspace") or "the plate's colourspace"
            self.status.setToolTip(f"{self.status.text()}\nRGB: the plate as decoded, in {space}, before the "
                                   "viewer's display transform; alpha: each object's written matte")

    def readout(self, sample: dict) -> str:
        """Pixel readout (as Nuke's viewer): the plate's RGB as decoded, before the viewer's display
        transform, and each object's written alpha ("none": no alpha file for this frame). Short,
        to fit a docked pane; the tooltip names the colourspace."""
        c = self.controller
        rgb = " ".join(f"{v:.4f}" for v in sample["rgb"])
        parts = [f"frame {sample['frame']}", f"x {sample['x']}  y {sample['y']}", f"RGB {rgb}"]
        alphas = []
        for key, value in (sample.get("alphas") or {}).items():
            obj = c.object(int(key)) if key.isdigit() else None
            alphas.append(f"{obj.name if obj else key} {'none' if value is None else format(value, '.4f')}")
        if alphas:
            parts.append("alpha " + ", ".join(alphas))
        return "   ".join(parts)

    def closeEvent(self, event):  # noqa: N802
        self.controller.close()
        super().closeEvent(event)
