"""Errors in the panel: one sentence, details behind a button, dismissable."""
from __future__ import annotations

from ui.qt import QtCore, QtWidgets


class ErrorBar(QtWidgets.QFrame):
    """A red strip laid over the top of its parent (the viewer), so an error never moves the
    image under the cursor; hidden until `show_error`."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("errorBar")
        self.setStyleSheet("#errorBar { background: #5a1e1e; border: 1px solid #a33; border-radius: 3px; }"
                           "#errorBar QLabel { color: #ffd9d9; }")
        self.message = QtWidgets.QLabel()
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(QtCore.Qt.TextSelectableByMouse)
        self.toggle = QtWidgets.QToolButton()
        self.toggle.setText("Details")
        self.toggle.setCheckable(True)
        self.toggle.setToolTip("Show what the worker said in full, for a bug report")
        self.close_button = QtWidgets.QToolButton()
        self.close_button.setText("✕")
        self.close_button.setToolTip("Dismiss (Esc)")
        self.details = QtWidgets.QPlainTextEdit()
        self.details.setReadOnly(True)
        self.details.setMaximumHeight(120)
        self.details.hide()
        top = QtWidgets.QHBoxLayout()
        top.setContentsMargins(0, 0, 0, 0)
        top.addWidget(self.message, 1)
        top.addWidget(self.toggle)
        top.addWidget(self.close_button)
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(8, 4, 4, 4)
        layout.addLayout(top)
        layout.addWidget(self.details)
        self.toggle.toggled.connect(self.details.setVisible)
        self.toggle.toggled.connect(lambda _on: self.place())
        self.close_button.clicked.connect(self.hide)
        self.hide()

    def show_error(self, message: str, details: str = "") -> None:
        text = " ".join(str(message).split())
        if text and text[0].islower():
            text = text[0].upper() + text[1:]
        if text and text[-1] not in ".!?":
            text += "."
        self.message.setText(text)
        self.details.setPlainText(details or text)
        self.toggle.setChecked(False)
        self.toggle.setVisible(bool(details))
        self.show()
        self.raise_()
        self.place()

    def place(self) -> None:
        """Across the top of the parent, as tall as the text needs."""
        parent = self.parentWidget()
        if parent is None:
            return
        width = max(120, parent.width() - 16)
        self.setFixedWidth(width)
        self.adjustSize()
        self.move(8, 8)

    def setParent(self, parent, *args):  # noqa: N802 - Qt's name
        super().setParent(parent, *args)
        if parent is not None:
            parent.installEventFilter(self)

    def eventFilter(self, obj, event):  # noqa: N802 - Qt's name
        if obj is self.parentWidget() and event.type() == QtCore.QEvent.Resize and self.isVisible():
            self.place()
        return False
