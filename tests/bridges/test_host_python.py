"""The bridges run in Nuke's/Resolve's own Python: Python 3.9 syntax, standard library
(plus PySide, through ui/qt.py), never torch, numpy, OpenImageIO, OpenColorIO or PyAV, and no Qt at import."""
import ast
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FAKES = Path(__file__).resolve().parent / "fakes"
BRIDGE_FILES = sorted((ROOT / "nuke_bridge").glob("*.py")) + sorted((ROOT / "resolve_bridge").glob("*.py"))
HEAVY = ("torch", "numpy", "scipy", "OpenImageIO", "PyOpenColorIO", "av", "cv2", "matanyone_engine")

_PROBE = r"""
import importlib.util, json, sys
for name in {heavy!r}:
    sys.modules[name] = None  # importing it now raises ImportError
sys.path[:0] = [{fakes!r}, {root!r}]
import nuke_bridge.host, nuke_bridge.panel
import nuke_bridge.menu  # what Nuke runs at start-up: registers the pane
import resolve_bridge.host, resolve_bridge.launch, resolve_bridge.install
spec = importlib.util.spec_from_file_location("nuke_init", {init!r})
spec.loader.exec_module(importlib.util.module_from_spec(spec))
print(json.dumps({{
    "qt": sorted(m for m in sys.modules if m.split(".")[0] in ("Qt", "PySide2", "PySide6")),
    "plugin": sorted(m for m in sys.modules if m.startswith("plugin")),
}}))
"""


def test_bridge_files_parse_as_python_39():
    assert len(BRIDGE_FILES) >= 9
    for path in BRIDGE_FILES:
        ast.parse(path.read_text(encoding="utf-8"), str(path), feature_version=(3, 9))


def test_bridges_import_with_heavy_modules_blocked_and_build_no_qt():
    code = _PROBE.format(heavy=HEAVY, fakes=str(FAKES), root=str(ROOT), init=str(ROOT / "nuke_bridge" / "init.py"))
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=str(ROOT))
    assert done.returncode == 0, done.stderr
    loaded = json.loads(done.stdout.strip().splitlines()[-1])
    assert loaded["qt"] == []
    assert set(loaded["plugin"]) <= {"plugin", "plugin.errors", "plugin.settings", "plugin.client", "plugin.protocol"}


def test_the_probe_would_notice_a_heavy_import(tmp_path):
    """The blocking is real: a module importing numpy fails under the same probe."""
    (tmp_path / "heavy_bridge.py").write_text("import numpy\n")
    code = "import sys\nsys.modules['numpy'] = None\nsys.path.insert(0, %r)\nimport heavy_bridge\n" % str(tmp_path)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode != 0 and "numpy" in done.stderr
