"""DESIGN "Host Python": what hosts import runs in a Python without torch, numpy, OpenImageIO,
OpenColorIO or PyAV, and parses as Python 3.9; `plugin/` and `matanyone_engine/` never import Qt.
Every `plugin` module that ui/ or a bridge imports is one of the host-safe modules, and those
import only the standard library and each other."""
import ast
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.helpers import HOST_SAFE

REPO = Path(__file__).resolve().parents[2]
HOST_MODULES = ("ui", "nuke_bridge", "resolve_bridge") + HOST_SAFE
BLOCKED = ("torch", "numpy", "OpenImageIO", "PyOpenColorIO", "av", "scipy", "matanyone_engine")
QT_NAMES = ("Qt", "PySide2", "PySide6", "PyQt5", "PyQt6", "shiboken2", "shiboken6")


def host_files():
    files = [REPO / (m.replace(".", "/") + ".py") for m in HOST_SAFE] + [REPO / "plugin" / "__init__.py"]
    for pkg in ("ui", "nuke_bridge", "resolve_bridge"):
        files += sorted((REPO / pkg).rglob("*.py"))
    return [f for f in files if f.is_file()]


def test_host_modules_import_with_heavy_modules_blocked():
    present = [m for m in HOST_MODULES if (REPO / m.replace(".", "/")).with_suffix(".py").is_file()
               or (REPO / m.replace(".", "/") / "__init__.py").is_file()]
    code = textwrap.dedent(f"""
        import sys
        for name in {BLOCKED!r}:
            sys.modules[name] = None
        import importlib
        for mod in {present!r}:
            importlib.import_module(mod)
        from plugin.client import WorkerClient
        from plugin import protocol
        protocol.decode(protocol.encode(protocol.request(1, "hello", protocol.hello_params())))
        loaded = sorted(m for m in {BLOCKED!r} if sys.modules.get(m) is not None)
        assert not loaded, loaded
        print("ok")
    """)
    proc = subprocess.run([sys.executable, "-c", code], cwd=str(REPO), capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().endswith("ok")


@pytest.mark.parametrize("path", host_files(), ids=lambda p: str(p.relative_to(REPO)))
def test_host_files_parse_as_python_3_9(path):
    ast.parse(path.read_text(encoding="utf-8"), filename=str(path), feature_version=(3, 9))


def _imports(path: Path):
    """Every module an import statement in `path` names, top-level or inside a function."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            yield from (a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module
            yield from (f"{node.module}.{a.name}" for a in node.names)


def test_hosts_import_only_the_host_safe_plugin_modules():
    seen = set()
    for pkg in ("ui", "nuke_bridge", "resolve_bridge"):
        for path in sorted((REPO / pkg).rglob("*.py")):
            for name in _imports(path):
                module = ".".join(name.split(".")[:2])
                if name.startswith("plugin.") and (REPO / (module.replace(".", "/") + ".py")).is_file():
                    assert module in HOST_SAFE, f"{path.relative_to(REPO)} imports {module}, not host-safe"
                    seen.add(module)
    # ui/ and the bridges use the contract instead of copies (plugin.settings comes through plugin.client)
    assert {"plugin.errors", "plugin.shot", "plugin.framepattern", "plugin.protocol", "plugin.client"} <= seen


@pytest.mark.parametrize("module", HOST_SAFE)
def test_host_safe_modules_import_only_the_standard_library(module):
    path = REPO / (module.replace(".", "/") + ".py")
    for name in _imports(path):
        top = name.split(".")[0]
        if top == "plugin":
            assert ".".join(name.split(".")[:2]) in HOST_SAFE or name in ("plugin",), f"{module} imports {name}"
        elif top == "platformdirs":
            assert module == "plugin.settings"  # optional: guarded by `except ImportError`, a folder of its own
        else:
            assert top in sys.stdlib_module_names or top == "__future__", f"{module} imports {name}"


def imported_names(path: Path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                yield a.name.split(".")[0]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module.split(".")[0]


@pytest.mark.parametrize("package", ["plugin", "matanyone_engine"])
def test_core_packages_never_import_qt(package):
    offenders = []
    for path in sorted((REPO / package).rglob("*.py")):
        for name in imported_names(path):
            if name in QT_NAMES or name == "ui":
                offenders.append(f"{path.relative_to(REPO)} imports {name}")
    # plugin.cli may start the app lazily (DESIGN): its `app` command lives in plugin/commands/app.py.
    offenders = [o for o in offenders if not o.startswith(("plugin/commands/app.py", "plugin/cli.py"))]
    assert not offenders, offenders


def test_importing_plugin_loads_nothing_heavy():
    code = ("import sys; import plugin, plugin.protocol, plugin.client, plugin.shot; "
            "print(sorted(m for m in ('torch','numpy','OpenImageIO','PyOpenColorIO','av') if m in sys.modules))")
    proc = subprocess.run([sys.executable, "-c", code], cwd=str(REPO), capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"
