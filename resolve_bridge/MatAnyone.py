"""MatAnyone: matte the clip under the playhead (DaVinci Resolve Studio, Workspace > Scripts).

`python -m resolve_bridge.install` copies this file into Resolve's Scripts/Utility folder
and fills in where the product lives; the environment variables win when set.
"""
import os
import sys

ROOT = os.environ.get("MATANYONE_PLUGIN_ROOT") or r"@MATANYONE_ROOT@"
PYTHON = os.environ.get("MATANYONE_PLUGIN_PYTHON") or r"@MATANYONE_PYTHON@"
if ROOT.startswith("@"):  # run from the repository itself, not installed
    ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)
from resolve_bridge.launch import run_from_menu  # noqa: E402

run_from_menu(ROOT, PYTHON)
