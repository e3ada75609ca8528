"""`matanyone-plugin app [PLATE]`: check the window system, start Qt, show the main window."""
from __future__ import annotations

import sys
from typing import Optional


def qt_binding_problem() -> Optional[str]:
    """One line when the Qt binding is known to crash here, else None.

    PySide6 6.12.0 drops a reference to None on every call of a Qt method that returns
    nothing; on Python 3.11 (where None is not immortal) the process dies with
    "none_dealloc" after a few thousand such calls, i.e. minutes into a session.
    """
    if sys.version_info >= (3, 12):
        return None
    from ui.qt import QtCore
    timer = QtCore.QTimer()
    before = sys.getrefcount(None)
    for _ in range(200):
        timer.setInterval(5)
    if before - sys.getrefcount(None) < 150:
        return None
    from ui import qt
    return (f"{qt.BINDING} {qt.BINDING_VERSION} on Python {sys.version.split()[0]} crashes after a few "
            "minutes (it loses a reference to None on every Qt call): install PySide6-Essentials 6.11.0 "
            "(`pip install PySide6-Essentials==6.11.0`) or use Python 3.12 or later")


def run(path: Optional[str] = None, argv=None) -> int:
    """Open the app (optionally on a plate or a shot file); returns the exit code.

    On Linux, missing xcb system libraries (or no display) print one line and return 1
    before Qt is started, instead of Qt's abort.
    """
    from ui.app.platform_check import problem
    why = problem()
    if why:
        print(f"error: {why}", file=sys.stderr)
        return 1
    from ui.qt import QtCore, QtWidgets
    bug = qt_binding_problem()
    if bug:
        print(f"error: {bug}", file=sys.stderr)
        return 1
    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication(list(argv or sys.argv[:1]))
    app.setApplicationName("MatAnyone")
    app.setOrganizationName("matanyone-plugin")
    app.setStyle("Fusion")
    from ui.app.window import MainWindow, dark_palette
    app.setPalette(dark_palette())
    window = MainWindow()
    window.show()
    if path:
        QtCore.QTimer.singleShot(0, lambda: window.open_path(path))
    from ui.qt import exec_
    return exec_(app)
