"""ui/ runs inside Nuke's/Resolve's Python: standard library + PySide only (through ui/qt.py), Python 3.9 syntax,
and the controller imports no Qt at all."""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

from tests.helpers import HOST_SAFE
from tests.ui.conftest import REPO_ROOT

UI_FILES = sorted(Path(REPO_ROOT, "ui").rglob("*.py")) + [Path(REPO_ROOT, "plugin", "commands", "app.py")]
BLOCK = "import sys\nfor m in ('torch', 'numpy', 'OpenImageIO', 'PyOpenColorIO', 'av', 'scipy', 'PIL'):\n" \
        "    sys.modules[m] = None\n"


def test_python39_syntax():
    assert len(UI_FILES) > 10
    for path in UI_FILES:
        ast.parse(path.read_text(encoding="utf-8"), filename=str(path), feature_version=(3, 9))


def _run(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", BLOCK + code], cwd=REPO_ROOT, capture_output=True, text=True,
                          timeout=120, env={"QT_QPA_PLATFORM": "offscreen", "PATH": "/usr/bin:/bin"})


def test_controller_imports_without_qt_or_heavy_modules():
    proc = _run(f"import ui, ui.host, ui.panel.controller, ui.panel.framecache, {', '.join(HOST_SAFE)}\n"
                "bad = [m for m in ('PySide6', 'PySide2', 'Qt', 'plugin.job', 'matanyone_engine') if m in sys.modules]\n"
                "print('LOADED', bad)\n")
    assert proc.returncode == 0, proc.stderr
    assert "LOADED []" in proc.stdout


def test_widgets_and_app_import_with_heavy_modules_blocked():
    proc = _run("import ui.panel.widgets, ui.app.window, ui.app.main, ui.app.platform_check\n"
                "from ui.qt import QtWidgets\napp = QtWidgets.QApplication([])\n"
                "import ui\npanel = ui.show_panel()\nprint('OK', type(panel).__name__)\n")
    assert proc.returncode == 0, proc.stderr
    assert "OK Panel" in proc.stdout
