"""`matanyone-plugin app [PLATE]`: check the window system, start Qt, show the main window."""
from __future__ import annotations

import sys
from typing import Optional


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
    from Qt import QtCore, QtWidgets
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
    return int(app.exec_() if hasattr(app, "exec_") else app.exec())
