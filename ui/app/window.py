"""The standalone app's main window: the panel, plate and shot files, recent items, drag-drop.

Layout and last folders are remembered with QSettings; the work itself is the panel's.
"""
from __future__ import annotations

import os
from typing import List, Optional

from plugin import framepattern
from ui.qt import QtCore, QtGui, QtWidgets

from ui.panel.widgets import SHORTCUTS, Panel

PLATE_FILTER = ("Plates (*.exr *.dpx *.tif *.tiff *.png *.jpg *.jpeg *.mov *.mp4 *.mxf);;"
                "Shot files (*.json);;All files (*)")
MAX_RECENT = 10
MOVIE_SUFFIXES = (".mov", ".mp4", ".mxf", ".avi", ".mkv")


def sequence_pattern(path: str) -> str:
    """A file of an image sequence -> the sequence's #### pattern; movies and single files unchanged.

    'sh010.1001.exr' (with sh010.1002.exr beside it) -> 'sh010.####.exr'.
    """
    if framepattern.has_token(path) or path.lower().endswith(MOVIE_SUFFIXES):
        return path
    try:
        parsed = framepattern.parse(path)
    except ValueError:
        return path
    return parsed.display if len(parsed.scan()) >= 2 else path


def dark_palette() -> QtGui.QPalette:
    """A compositor-like dark palette for the standalone app (hosts bring their own)."""
    p = QtGui.QPalette()
    colours = {
        QtGui.QPalette.Window: (50, 50, 50), QtGui.QPalette.WindowText: (215, 215, 215),
        QtGui.QPalette.Base: (34, 34, 34), QtGui.QPalette.AlternateBase: (44, 44, 44),
        QtGui.QPalette.Text: (215, 215, 215), QtGui.QPalette.Button: (62, 62, 62),
        QtGui.QPalette.ButtonText: (220, 220, 220), QtGui.QPalette.Highlight: (230, 140, 40),
        QtGui.QPalette.HighlightedText: (20, 20, 20), QtGui.QPalette.ToolTipBase: (30, 30, 30),
        QtGui.QPalette.ToolTipText: (230, 230, 230), QtGui.QPalette.PlaceholderText: (130, 130, 130),
        QtGui.QPalette.Link: (240, 160, 60),
    }
    for role, rgb in colours.items():
        p.setColor(role, QtGui.QColor(*rgb))
    for role in (QtGui.QPalette.WindowText, QtGui.QPalette.Text, QtGui.QPalette.ButtonText):
        p.setColor(QtGui.QPalette.Disabled, role, QtGui.QColor(120, 120, 120))
    return p


class MainWindow(QtWidgets.QMainWindow):
    """`panel` and `settings` can be injected (tests use a fake worker and a temporary QSettings)."""

    def __init__(self, panel: Optional[Panel] = None, settings: Optional[QtCore.QSettings] = None):
        super().__init__()
        self.settings = settings or QtCore.QSettings("matanyone-plugin", "app")
        self.panel = panel or Panel()
        self.setCentralWidget(self.panel)
        self.setAcceptDrops(True)
        self.setWindowTitle("MatAnyone")
        self.controller = self.panel.controller
        self._build_menus()
        self.controller.subscribe(self._on_event)
        geometry = self.settings.value("window/geometry")
        if geometry is not None:
            self.restoreGeometry(geometry)
        else:
            self.resize(1280, 800)
        state = self.settings.value("window/state")
        if state is not None:
            self.restoreState(state)
        self.statusBar().showMessage("Drop a plate or a shot file here, or use File > Open Plate (Ctrl+O).")

    # ---------------------------------------------------------------- menus
    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        self.open_plate_action = file_menu.addAction("Open Plate…", self.open_plate_dialog)
        self.open_plate_action.setShortcut(QtGui.QKeySequence.Open)
        self.open_shot_action = file_menu.addAction("Open Shot…", self.open_shot_dialog)
        self.open_shot_action.setShortcut(QtGui.QKeySequence("Ctrl+Shift+O"))
        self.recent_menu = file_menu.addMenu("Open Recent")
        file_menu.addSeparator()
        self.save_action = file_menu.addAction("Save Shot", self.save_shot)
        self.save_action.setShortcut(QtGui.QKeySequence.Save)
        self.save_as_action = file_menu.addAction("Save Shot As…", self.save_shot_as)
        self.save_as_action.setShortcut(QtGui.QKeySequence("Ctrl+Shift+S"))
        self.output_action = file_menu.addAction("Output Folder…", self.choose_output_folder)
        self.output_action.setToolTip("Where alphas are written (default: a 'matte' folder beside the plate)")
        file_menu.addSeparator()
        quit_action = file_menu.addAction("Quit", self.close)
        quit_action.setShortcut(QtGui.QKeySequence("Ctrl+Q"))
        help_menu = self.menuBar().addMenu("&Help")
        help_menu.addAction("Keyboard Shortcuts", self.show_shortcuts)
        self._refresh_recent()

    def recent(self) -> List[str]:
        value = self.settings.value("recent", []) or []
        return [value] if isinstance(value, str) else list(value)

    def _add_recent(self, path: str) -> None:
        items = [p for p in self.recent() if p != path]
        self.settings.setValue("recent", [path] + items[:MAX_RECENT - 1])
        self._refresh_recent()

    def _refresh_recent(self) -> None:
        self.recent_menu.clear()
        items = self.recent()
        for path in items:
            action = self.recent_menu.addAction(os.path.basename(path) or path)
            action.setToolTip(path)
            action.triggered.connect(lambda _c=False, p=path: self.open_path(p))
        self.recent_menu.setEnabled(bool(items))

    # -------------------------------------------------------------- actions
    def open_path(self, path: str) -> None:
        """A plate (file of a sequence, pattern or movie) or a shot file (.json)."""
        if not self.panel.confirm_discard("opening " + os.path.basename(path)):
            return
        if path.lower().endswith(".json"):
            self.settings.setValue("folders/shot", os.path.dirname(path))
            self.controller.load_shot(path)
        else:
            pattern = sequence_pattern(path)
            self.settings.setValue("folders/plate", os.path.dirname(pattern))
            self.controller.open_plate(pattern)
        self._add_recent(path if path.lower().endswith(".json") else sequence_pattern(path))

    def open_plate_dialog(self) -> None:
        path, _ = QtWidgets.QFileDialog.getOpenFileName(
            self, "Open plate (pick any frame of a sequence)", self.settings.value("folders/plate", ""), PLATE_FILTER)
        if path:
            self.open_path(path)

    def open_shot_dialog(self) -> None:
        path, _ = QtWidgets.QFileDialog.getOpenFileName(
            self, "Open shot file", self.settings.value("folders/shot", ""), "Shot files (*.json)")
        if path:
            self.open_path(path)

    def save_shot(self) -> None:
        self.controller.save_shot(then=self._saved)

    def save_shot_as(self) -> None:
        if self.controller.plate is None:
            self.controller.error("open a plate before saving a shot")
            return
        start = self.controller.shot_path or self.controller.default_shot_path()
        path, _ = QtWidgets.QFileDialog.getSaveFileName(self, "Save shot file", start, "Shot files (*.json)")
        if path:
            if not path.lower().endswith(".json"):
                path += ".json"
            self.settings.setValue("folders/shot", os.path.dirname(path))
            self.controller.save_shot(path, then=self._saved)

    def _saved(self, path: str) -> None:
        self._add_recent(path)
        self.statusBar().showMessage(f"Saved {path}", 5000)

    def choose_output_folder(self) -> None:
        plate = self.controller.plate
        start = self.settings.value("folders/output", os.path.dirname(plate.path) if plate else "")
        folder = QtWidgets.QFileDialog.getExistingDirectory(self, "Folder for the alpha EXRs", start)
        if folder:
            self.set_output_folder(folder)

    def set_output_folder(self, folder: str) -> None:
        self.settings.setValue("folders/output", folder)
        stem = "{plate}"
        if self.controller.plate is not None:
            from plugin.shot import plate_stem
            stem = plate_stem(self.controller.plate.path)
        self.controller.run_settings.output_path = os.path.join(folder, stem + "_{object}.####.exr")
        self.panel.run_box.load_settings()

    def show_shortcuts(self) -> None:
        rows = "".join(f"<tr><td><b>{k}</b>&nbsp;&nbsp;</td><td>{v}</td></tr>" for k, v, _same_as_nuke in SHORTCUTS)
        QtWidgets.QMessageBox.information(self, "Keyboard shortcuts", f"<table>{rows}</table>")

    # --------------------------------------------------------------- events
    def _on_event(self, event: str, payload) -> None:
        if event == "plate":
            self.setWindowTitle(f"MatAnyone — {os.path.basename(payload.path)}")
            self.statusBar().clearMessage()

    def dragEnterEvent(self, event):  # noqa: N802 - Qt's name
        if event.mimeData().hasUrls() and any(u.isLocalFile() for u in event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event):  # noqa: N802
        files = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        if files:
            self.open_path(files[0])
            event.acceptProposedAction()

    def closeEvent(self, event):  # noqa: N802
        if self.controller.running:
            answer = QtWidgets.QMessageBox.question(
                self, "A run is going", "Cancel the run and quit? Frames already written are kept.")
            if answer != QtWidgets.QMessageBox.Yes:
                event.ignore()
                return
            self.controller.cancel()
        elif not self.panel.confirm_discard("quitting"):
            event.ignore()
            return
        self.settings.setValue("window/geometry", self.saveGeometry())
        self.settings.setValue("window/state", self.saveState())
        self.settings.sync()
        self.panel.close()
        super().closeEvent(event)
