"""The panel's one door to Qt: PySide6, else PySide2 (Nuke 14/15).

Nuke and Resolve ship a PySide but no Qt.py, so the panel brings its own small shim. Only the
names that differ between the two bindings are smoothed over here; everything else is used as
each binding spells it (which is the same for what the panel uses).
"""
from __future__ import annotations

try:
    from PySide6 import QtCore, QtGui, QtWidgets
    BINDING = "PySide6"
except ImportError:  # Nuke 14/15 ship PySide2
    from PySide2 import QtCore, QtGui, QtWidgets  # type: ignore[no-redef]
    BINDING = "PySide2"

BINDING_VERSION = QtCore.qVersion()

# PySide2 keeps QShortcut and QAction in QtWidgets; PySide6 moved them to QtGui.
QAction = getattr(QtGui, "QAction", None) or QtWidgets.QAction
QShortcut = getattr(QtGui, "QShortcut", None) or QtWidgets.QShortcut


def exec_(obj) -> int:
    """Run a dialog's or an application's event loop (`exec` in PySide6, `exec_` in PySide2)."""
    run = getattr(obj, "exec", None) or obj.exec_
    return int(run() or 0)


__all__ = ["QtCore", "QtGui", "QtWidgets", "QAction", "QShortcut", "BINDING", "BINDING_VERSION", "exec_"]
