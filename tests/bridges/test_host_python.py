"""The bridges run in Nuke's/Resolve's own Python: Python 3.9 syntax, standard library
(plus PySide, through ui/qt.py), never torch, numpy, OpenImageIO, OpenColorIO or PyAV, no
Qt.py, and no Qt at import.

The pane test runs as Nuke would: a BARE interpreter (`-I -S`: the standard library only)
whose path holds PySide6 (or PySide2) and this checkout, nothing of the product's
environment; it runs nuke_bridge's init.py and menu.py as Nuke does, evaluates the
registered widget path in `__main__` and builds the pane offscreen.
"""
import ast
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import HOST_SAFE

ROOT = Path(__file__).resolve().parents[2]
FAKES = Path(__file__).resolve().parent / "fakes"
BRIDGE_FILES = sorted((ROOT / "nuke_bridge").rglob("*.py")) + sorted((ROOT / "resolve_bridge").glob("*.py"))
HEAVY = ("torch", "numpy", "scipy", "OpenImageIO", "PyOpenColorIO", "av", "cv2", "matanyone_engine", "Qt")
PYSIDE2_ENV = "MATANYONE_TEST_PYSIDE2"  # a folder holding PySide2 and shiboken2 (unpacked wheels)

_PROBE = r"""
import importlib.util, json, sys
for name in {heavy!r}:
    sys.modules[name] = None  # importing it now raises ImportError
sys.path[:0] = [{fakes!r}, {root!r}]
import nuke_bridge.host, nuke_bridge.panel, nuke_bridge.hiero_host
import nuke_bridge.menu  # what Nuke runs at start-up: registers the pane
import resolve_bridge.host, resolve_bridge.launch, resolve_bridge.install
spec = importlib.util.spec_from_file_location("nuke_init", {init!r})
spec.loader.exec_module(importlib.util.module_from_spec(spec))
print(json.dumps({{
    "qt": sorted(m for m in sys.modules if m.split(".")[0] in ("Qt", "PySide2", "PySide6") and sys.modules[m]),
    "plugin": sorted(m for m in sys.modules if m.startswith("plugin")),
}}))
"""

# Nuke's start-up, in a bare interpreter: NUKE_PATH's folder on sys.path (Nuke puts it there),
# init.py run without __file__, menu.py in __main__, then the pane built from the widget path.
_NUKE = r"""
import json, os, sys
sys.path += {extra!r}
for name in {heavy!r}:
    sys.modules[name] = None
import nuke
nuke._plugin_path[:] = [{bridge!r}]
nuke.root()["name"].setValue({script!r})
import __main__
exec(compile(open({init!r}).read(), "init.py", "exec"), vars(__main__))
exec(compile(open({menu!r}).read(), "menu.py", "exec"), vars(__main__))
import nukescripts
widget_path, title = nukescripts.panels.registered["com.matanyone.plugin.panel"]
from ui.qt import QtWidgets, BINDING
app = QtWidgets.QApplication([])
widget = eval(widget_path, vars(__main__))()  # what Nuke's WidgetKnob does
widget.show()
app.processEvents()
top = [m.split(".")[0] for m in sys.modules if sys.modules[m] is not None]
print(json.dumps({{"binding": BINDING, "title": title, "panel": type(widget.panel).__name__,
                   "host": type(widget.panel.host).__name__, "visible": widget.isVisible(),
                   "outside": sorted({{m for m in top if m in {heavy!r} or m in ("Qt", "PySide6", "PySide2")}})}}))
widget.deleteLater()
app.processEvents()
"""


def test_bridge_files_parse_as_python_39():
    assert len(BRIDGE_FILES) >= 9
    for path in BRIDGE_FILES:
        ast.parse(path.read_text(encoding="utf-8"), str(path), feature_version=(3, 9))


def test_nothing_of_the_host_side_imports_qt_py():
    """Nuke and Resolve ship no Qt.py: ui/ and the bridges use ui/qt.py only."""
    for path in sorted((ROOT / "ui").rglob("*.py")) + BRIDGE_FILES:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
                [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            assert not any(n == "Qt" or n.startswith("Qt.") for n in names), path


def test_bridges_import_with_heavy_modules_blocked_and_build_no_qt():
    code = _PROBE.format(heavy=HEAVY, fakes=str(FAKES), root=str(ROOT), init=str(ROOT / "nuke_bridge" / "init.py"))
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=str(ROOT))
    assert done.returncode == 0, done.stderr
    loaded = json.loads(done.stdout.strip().splitlines()[-1])
    assert loaded["qt"] == []
    assert set(loaded["plugin"]) <= {"plugin", *HOST_SAFE}


def test_the_probe_would_notice_a_heavy_import(tmp_path):
    """The blocking is real: a module importing numpy fails under the same probe."""
    (tmp_path / "heavy_bridge.py").write_text("import numpy\n")
    code = "import sys\nsys.modules['numpy'] = None\nsys.path.insert(0, %r)\nimport heavy_bridge\n" % str(tmp_path)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode != 0 and "numpy" in done.stderr


def _base_python():
    """The interpreter the product's venv was made from (its own Python, not the venv)."""
    return os.path.realpath(getattr(sys, "_base_executable", "") or sys.executable)


def _binding_folder(tmp_path, names):
    """A folder holding only the given packages (links to where they are installed)."""
    folder = tmp_path / "binding"
    folder.mkdir(exist_ok=True)
    for name in names:
        spec = importlib.util.find_spec(name)
        if spec is None or not spec.submodule_search_locations:
            return None
        (folder / name).symlink_to(list(spec.submodule_search_locations)[0], target_is_directory=True)
    return folder


def _run_pane_in_bare_python(tmp_path, binding_dir):
    (tmp_path / "comp").mkdir(exist_ok=True)
    bridge = ROOT / "nuke_bridge"
    code = _NUKE.format(extra=[str(binding_dir), str(FAKES), str(bridge)], heavy=HEAVY, bridge=str(bridge),
                        script=(tmp_path / "comp" / "sh010.nk").as_posix(), init=str(bridge / "init.py"),
                        menu=str(bridge / "menu.py"))
    env = {"QT_QPA_PLATFORM": "offscreen", "HOME": str(tmp_path), "PATH": os.environ.get("PATH", ""),
           "MATANYONE_PLUGIN_CONFIG_DIR": str(tmp_path / "config"), "XDG_RUNTIME_DIR": str(tmp_path)}
    done = subprocess.run([_base_python(), "-I", "-S", "-c", code], capture_output=True, text=True,
                          timeout=180, cwd=str(tmp_path), env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def _check_pane(result, binding):
    assert result["binding"] == binding
    assert (result["title"], result["panel"], result["host"], result["visible"]) == ("MatAnyone", "Panel", "NukeHost", True)
    assert result["outside"] == [binding]  # the binding, and nothing heavy, no Qt.py


def test_the_bare_interpreter_holds_only_the_standard_library(tmp_path):
    """The probe's interpreter really lacks the product's environment: pytest is not there."""
    done = subprocess.run([_base_python(), "-I", "-S", "-c", "import pytest"], capture_output=True, text=True, timeout=60)
    assert done.returncode != 0 and "pytest" in done.stderr


def test_the_pane_opens_in_a_bare_python_with_pyside6(tmp_path):
    folder = _binding_folder(tmp_path, ("PySide6", "shiboken6"))
    if folder is None:
        pytest.skip("PySide6 is not installed here")
    _check_pane(_run_pane_in_bare_python(tmp_path, folder), "PySide6")


def test_the_pane_opens_in_a_bare_python_with_pyside2(tmp_path):
    """Nuke 14/15 ship PySide2. No PySide2 is part of this project's environment (its newest wheel,
    5.15, stops at Python 3.10; 5.13.2's abi3 wheel installs on later Pythons but is not a dependency):
    set MATANYONE_TEST_PYSIDE2 to a folder holding PySide2 and shiboken2 to run this."""
    given = os.environ.get(PYSIDE2_ENV)
    folder = Path(given) if given else _binding_folder(tmp_path, ("PySide2", "shiboken2"))
    if folder is None or not (folder / "PySide2").is_dir():
        pytest.skip(f"no PySide2 for Python {sys.version_info[0]}.{sys.version_info[1]} here: set {PYSIDE2_ENV} "
                    f"to a folder with PySide2 5.15 and shiboken2 (unpacked wheels for this Python)")
    version = subprocess.run([_base_python(), "-I", "-S", "-c", "import sys; sys.path.append(%r); import PySide2; "
                              "print(PySide2.__version__)" % str(folder)], capture_output=True, text=True, timeout=60)
    if tuple(int(p) for p in version.stdout.strip().split(".")[:2] or (0,)) < (5, 15):
        pytest.skip(f"PySide2 {version.stdout.strip() or '?'} in {folder} is older than Nuke 14/15's 5.15 (the panel "
                    f"uses Qt 5.15 calls such as QComboBox.setPlaceholderText)")
    _check_pane(_run_pane_in_bare_python(tmp_path, folder), "PySide2")
