"""The fake DaVinciResolveScript offers only calls of Resolve's documented API: each public
method of each fake class is checked against `fusionscript-stubs` (name and parameters)."""
import ast
import inspect
from importlib import metadata
from pathlib import Path

import pytest

FAKE = Path(__file__).resolve().parent / "fakes" / "DaVinciResolveScript.py"


def _stub_file():
    try:
        files = metadata.files("fusionscript-stubs") or []
    except metadata.PackageNotFoundError:
        pytest.skip("fusionscript-stubs is not installed (pip install fusionscript-stubs==21.0.0)")
    for f in files:
        if str(f).endswith("fusionscript.pyi"):
            return Path(f.locate())
    pytest.fail("fusionscript-stubs has no fusionscript.pyi")


def _stub_api():
    """{class: {method: [[(param, optional), ...] per overload]}} from the stubs."""
    tree = ast.parse(_stub_file().read_text(encoding="utf-8"))
    api = {}
    for cls in (n for n in tree.body if isinstance(n, ast.ClassDef)):
        methods = api.setdefault(cls.name, {})
        for fn in (n for n in cls.body if isinstance(n, ast.FunctionDef)):
            args = fn.args.args[1:]  # drop self
            defaults = [None] * (len(args) - len(fn.args.defaults)) + list(fn.args.defaults)
            params = []
            for arg, default in zip(args, defaults):
                annotation = ast.unparse(arg.annotation) if arg.annotation else ""
                params.append((arg.arg, default is not None or annotation.startswith("Optional[")))
            methods.setdefault(fn.name, []).append(params)
    return api


def _fake_classes():
    tree = ast.parse(FAKE.read_text(encoding="utf-8"))
    for cls in (n for n in tree.body if isinstance(n, ast.ClassDef)):
        for fn in (n for n in cls.body if isinstance(n, ast.FunctionDef) and not n.name.startswith("_")):
            args = fn.args.args[1:]
            defaults = [None] * (len(args) - len(fn.args.defaults)) + list(fn.args.defaults)
            yield cls.name, fn.name, [(a.arg, d is not None) for a, d in zip(args, defaults)]


def test_every_fake_call_is_in_the_stubs_with_the_same_parameters():
    api = _stub_api()
    checked = 0
    for cls, name, params in _fake_classes():
        assert cls in api, f"fake class {cls} is not a Resolve API class"
        assert name in api[cls], f"{cls}.{name} is not in Resolve's documented API"
        overloads = api[cls][name]
        names = [p for p, _ in params]
        match = [o for o in overloads if [p for p, _ in o] == names]
        assert match, f"{cls}.{name}{tuple(names)} does not match the stubs' {[[p for p, _ in o] for o in overloads]}"
        # a parameter the fake lets the bridge leave out must be optional in Resolve too
        for (param, has_default), (_, optional) in zip(params, match[0]):
            assert optional or not has_default, f"{cls}.{name}: '{param}' is required in Resolve"
        checked += 1
    assert checked >= 30


def test_the_check_catches_a_wrong_signature():
    api = _stub_api()
    assert [p for p, _ in api["MediaStorage"]["AddClipMattesToMediaPool"][0]] == ["mediaPoolItem", "paths", "stereoEye"]
    assert "GetCurrentFrame" not in api["Timeline"]  # no such call: the bridge derives it from the timecode
    assert [p for p, _ in api["TimelineItem"]["GetStart"][0]] == ["subframe_precision"]


def test_the_bridge_calls_only_what_the_fake_offers():
    """Every `.Name(` the Resolve bridge calls on Resolve objects is a method of the stubs."""
    api = _stub_api()
    documented = {m for methods in api.values() for m in methods} | {"scriptapp"}
    bridge = Path(__file__).resolve().parents[2] / "resolve_bridge"
    called = set()
    for path in bridge.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr[:1].isupper():
                owner = node.func.value
                if not (isinstance(owner, ast.Name) and owner.id in ("argparse", "subprocess", "threading", "QtWidgets")):
                    called.add(node.func.attr)
    qt = {"QApplication", "QInputDialog", "QMessageBox"}
    assert called - qt <= documented, called - qt - documented
    fake_methods = {name for _, name, _ in _fake_classes()} | {"scriptapp"}
    assert called - qt <= fake_methods | {"getItem", "information"}


def test_the_bridge_passes_as_many_arguments_as_resolve_takes():
    """Each Resolve call in the bridge fits one of the stubs' signatures of that name
    (at least the required parameters, at most all of them)."""
    api = _stub_api()
    shapes = {}
    for methods in api.values():
        for name, overloads in methods.items():
            for params in overloads:
                required = sum(1 for _, optional in params if not optional)
                shapes.setdefault(name, []).append((required, len(params)))
    bridge = Path(__file__).resolve().parents[2] / "resolve_bridge"
    checked = 0
    for path in bridge.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in shapes:
                given = len(node.args) + len(node.keywords)
                assert any(lo <= given <= hi for lo, hi in shapes[node.func.attr]), (
                    f"{path.name}:{node.lineno} {node.func.attr} with {given} arguments; stubs take {shapes[node.func.attr]}")
                checked += 1
    assert checked >= 30
