"""The mask box: tool choice, brush size/hardness (values beside the sliders), overlay opacity,
what a correction keyframe starts from, onion skin, undo/redo, clear, import."""
from __future__ import annotations

import os

from ui.qt import QtCore, QtWidgets

TOOL_TIPS = {
    "brush": ("Brush", "N", "Paint the object's mask. [ and ] (or Shift-/Ctrl-drag) change the size; Alt paints away."),
    "eraser": ("Eraser", "E", "Remove mask where you paint."),
    "fill": ("Fill hole", "Shift+F", "Click inside a hole in the mask to fill it."),
    "sam": ("Smart select", "S", "Left-click what belongs to the object, right- or Alt-click what does not; drag a "
                                 "box around it. Each click refines the mask (SAM2, Segment Anything)."),
}


class MaskToolBox(QtWidgets.QGroupBox):
    """Tool choice, brush size/hardness, overlay opacity, undo/redo, clear, import."""

    def __init__(self, controller, viewer, parent=None):
        super().__init__("Mask", parent)
        self.controller, self.viewer = controller, viewer
        self.tool_buttons = {}
        self.setStyleSheet("QToolButton { padding: 3px 6px; }"
                           "QToolButton:checked { background: palette(highlight); color: palette(highlighted-text);"
                           " border: 1px solid palette(highlight); border-radius: 3px; }")
        tools = QtWidgets.QHBoxLayout()
        group = QtWidgets.QButtonGroup(self)
        for key, (label, key_name, tip) in TOOL_TIPS.items():
            button = QtWidgets.QToolButton()
            button.setText(label)
            button.setCheckable(True)
            button.setToolTip(f"{tip} ({key_name})")
            button.setToolButtonStyle(QtCore.Qt.ToolButtonTextOnly)
            button.setSizePolicy(QtWidgets.QSizePolicy.Expanding, QtWidgets.QSizePolicy.Fixed)
            group.addButton(button)
            tools.addWidget(button)
            button.clicked.connect(lambda _c=False, k=key: self.set_tool(k))
            self.tool_buttons[key] = button
        self.size = QtWidgets.QSpinBox()
        self.size.setRange(1, 1000)
        self.size.setSuffix(" px")
        self.size.setToolTip("Brush radius in plate pixels ([ and ])")
        self.hardness = QtWidgets.QSlider(QtCore.Qt.Horizontal)
        self.hardness.setRange(0, 100)
        self.hardness.setToolTip("Soft to hard brush edge")
        self.opacity = QtWidgets.QSlider(QtCore.Qt.Horizontal)
        self.opacity.setRange(0, 100)
        self.opacity.setToolTip("How strongly masks and previews are tinted over the plate")
        self.undo_button = QtWidgets.QPushButton("Undo")
        self.undo_button.setToolTip("Undo the last stroke or click (Ctrl+Z)")
        self.redo_button = QtWidgets.QPushButton("Redo")
        self.redo_button.setToolTip("Redo (Ctrl+Shift+Z)")
        self.clear_button = QtWidgets.QPushButton("Clear")
        self.clear_button.setToolTip("Remove this object's mask on this frame (its keyframe goes too)")
        self.import_button = QtWidgets.QPushButton("Import…")
        self.import_button.setToolTip("Use a mask file (PNG, or EXR alpha) as this object's mask on this frame")
        self.start = QtWidgets.QComboBox()
        for key, label in (("alpha", "the matte"), ("keyframe", "nearest keyframe"), ("empty", "nothing")):
            self.start.addItem(label, key)
        self.start.setToolTip("What a new keyframe starts from when you touch up a frame: the matte of that "
                              "frame (cut at the threshold), the nearest keyframe's mask, or an empty mask")
        self.threshold = QtWidgets.QSpinBox()
        self.threshold.setRange(1, 100)
        self.threshold.setSuffix(" %")
        self.threshold.setToolTip("Matte at or above this becomes mask when a correction starts from the matte")
        self.onion = QtWidgets.QCheckBox("Onion skin")
        self.onion.setToolTip("Outline the selected object's keyframes just before and after this frame")
        start_row = QtWidgets.QHBoxLayout()
        start_row.addWidget(self.start, 1)
        start_row.addWidget(self.threshold)
        form = QtWidgets.QFormLayout()
        form.addRow("Size", self.size)
        form.addRow("Hardness", _with_value(self.hardness, "%"))
        form.addRow("Overlay", _with_value(self.opacity, "%"))
        form.addRow("New key from", start_row)
        form.addRow("", self.onion)
        edit = QtWidgets.QGridLayout()
        edit.addWidget(self.undo_button, 0, 0)
        edit.addWidget(self.redo_button, 0, 1)
        edit.addWidget(self.clear_button, 1, 0)
        edit.addWidget(self.import_button, 1, 1)
        layout = QtWidgets.QVBoxLayout(self)
        layout.addLayout(tools)
        layout.addLayout(form)
        layout.addLayout(edit)
        self.size.setValue(int(viewer.brush_radius))
        self.hardness.setValue(int(viewer.hardness * 100))
        self.opacity.setValue(int(viewer.opacity * 100))
        self.start.setCurrentIndex(max(0, self.start.findData(controller.correction_from)))
        self.threshold.setValue(int(round(controller.correction_threshold * 100)))
        self.onion.setChecked(controller.onion_skin)
        self.start.currentIndexChanged.connect(lambda _i: setattr(controller, "correction_from", self.start.currentData()))
        self.threshold.valueChanged.connect(lambda v: setattr(controller, "correction_threshold", v / 100.0))
        self.onion.toggled.connect(self._onion)
        viewer.brushResized.connect(lambda r: self.size.setValue(int(round(r))))
        self.size.valueChanged.connect(self._size_changed)
        self.hardness.valueChanged.connect(lambda v: setattr(self.viewer, "hardness", v / 100.0))
        self.opacity.valueChanged.connect(lambda v: self.viewer.set_opacity(v / 100.0))
        self.undo_button.clicked.connect(self.controller.undo)
        self.redo_button.clicked.connect(self.controller.redo)
        self.clear_button.clicked.connect(self.controller.clear_mask)
        self.import_button.clicked.connect(self._import)
        self.set_tool(viewer.tool)
        self.refresh_undo()

    def set_tool(self, tool: str) -> None:
        if not self.tool_buttons[tool].isEnabled():  # e.g. Smart select without the SAM2 model: say why
            self.controller.error(self.tool_buttons[tool].toolTip())
            return
        self.viewer.tool = tool
        self.tool_buttons[tool].setChecked(True)
        self.size.setEnabled(tool in ("brush", "eraser"))
        self.hardness.setEnabled(tool in ("brush", "eraser"))
        self.viewer.setCursor(QtCore.Qt.CrossCursor if tool in ("sam", "fill") else QtCore.Qt.BlankCursor)
        self.viewer.update()

    def _onion(self, on: bool) -> None:
        self.controller.onion_skin = bool(on)
        self.viewer.update()

    def resize_brush(self, factor: float) -> None:
        self.size.setValue(max(1, int(round(self.size.value() * factor)) + (1 if factor > 1 else 0)))

    def _size_changed(self, value: int) -> None:
        self.viewer.brush_radius = float(value)
        self.viewer.update()

    def refresh_undo(self) -> None:
        undo, redo = self.controller.undo_labels()
        self.undo_button.setEnabled(undo is not None)
        self.redo_button.setEnabled(redo is not None)
        self.undo_button.setText(f"Undo {undo}" if undo else "Undo")
        self.redo_button.setText(f"Redo {redo}" if redo else "Redo")

    def _import(self) -> None:
        start = os.path.dirname(self.controller.plate.path) if self.controller.plate else ""
        path, _ = QtWidgets.QFileDialog.getOpenFileName(self, "Import mask", start,
                                                        "Masks (*.png *.exr *.tif *.tiff *.jpg);;All files (*)")
        if path:
            self.controller.import_mask(path)


def _with_value(slider: QtWidgets.QSlider, suffix: str) -> QtWidgets.QWidget:
    """A slider with its value written beside it."""
    label = QtWidgets.QLabel()
    label.setMinimumWidth(label.fontMetrics().horizontalAdvance("100" + suffix) + 4)
    label.setAlignment(QtCore.Qt.AlignRight | QtCore.Qt.AlignVCenter)
    slider.valueChanged.connect(lambda v: label.setText(f"{v}{suffix}"))
    label.setText(f"{slider.value()}{suffix}")
    slider.value_label = label
    box = QtWidgets.QWidget()
    row = QtWidgets.QHBoxLayout(box)
    row.setContentsMargins(0, 0, 0, 0)
    row.addWidget(slider, 1)
    row.addWidget(label)
    return box


