"""The fake `nuke` offers only what Nuke offers: every function and method it has exists in
the `types-nuke` stubs (Nuke 13.2's API, from the package index) with the same parameter
names; anything newer than 13.2 must name its Foundry reference page in NEWER."""
import ast
from pathlib import Path

import pytest

FAKE = Path(__file__).resolve().parent / "fakes" / "nuke.py"

# Calls newer than Nuke 13.2 that the fake offers, with the reference page that documents them.
NEWER = {}

# Which stub classes a fake class stands for (the fake folds knob and node subclasses into one).
STANDS_FOR = {
    "Knob": ["Knob", "Array_Knob", "String_Knob", "EvalString_Knob", "File_Knob", "Script_Knob",
             "Enumeration_Knob", "Boolean_Knob", "Int_Knob"],
    "Node": ["Node", "Group", "BackdropNode", "Root"],
}


def _stub_dir():
    import site
    import sys

    for base in list(sys.path) + site.getsitepackages():
        folder = Path(base) / "nuke-stubs"
        if (folder / "__init__.pyi").is_file():
            return folder
    return None


def _params(fn):
    a = fn.args
    names = [p.arg for p in a.posonlyargs + a.args + a.kwonlyargs if p.arg not in ("self", "cls")]
    return names, bool(a.vararg or a.kwarg)


def _load_stubs(folder):
    functions, classes = {}, {}
    for path in folder.glob("*.pyi"):
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.FunctionDef):
                functions.setdefault(node.name, []).append(_params(node))
            elif isinstance(node, ast.ClassDef):
                entry = classes.setdefault(node.name, {"bases": [], "methods": {}})
                entry["bases"] += [b.id for b in node.bases if isinstance(b, ast.Name)]
                for item in node.body:
                    if isinstance(item, ast.FunctionDef):
                        entry["methods"].setdefault(item.name, []).append(_params(item))
    return functions, classes


def _methods(classes, name, seen=None):
    seen = seen or set()
    if name not in classes or name in seen:
        return {}
    seen.add(name)
    found = {}
    for base in classes[name]["bases"]:
        for k, v in _methods(classes, base, seen).items():
            found.setdefault(k, []).extend(v)
    for k, v in classes[name]["methods"].items():
        found.setdefault(k, []).extend(v)
    return found


def _fits(fake, stub_variants):
    names, _ = fake
    for stub_names, stub_open in stub_variants:
        if stub_open and not stub_names:
            return True  # (*args, **kwargs): the stub does not say
        if names == stub_names:
            return True
    return False


@pytest.fixture(scope="module")
def stubs():
    folder = _stub_dir()
    if folder is None:
        pytest.skip("types-nuke is not installed (pip install types-nuke): the fake cannot be checked")
    return _load_stubs(folder)


def _fake_tree():
    return ast.parse(FAKE.read_text(encoding="utf-8"))


def test_every_function_of_the_fake_exists_in_nuke_with_its_parameters(stubs):
    functions, classes = stubs
    checked = 0
    for node in _fake_tree().body:
        if not isinstance(node, ast.FunctionDef) or node.name.startswith(("_", "fake_")):
            continue
        if node.name in NEWER:
            continue
        if node.name in classes:  # a constructor the fake writes as a function (String_Knob)
            assert "__init__" in classes[node.name]["methods"], node.name
            continue
        assert node.name in functions, f"nuke.{node.name} is not in Nuke 13.2's API: add it to NEWER with its page"
        assert _fits(_params(node), functions[node.name]), (node.name, _params(node), functions[node.name])
        checked += 1
    assert checked >= 15


def test_every_method_of_the_fake_exists_on_the_nuke_class_it_stands_for(stubs):
    _, classes = stubs
    for cls in (n for n in _fake_tree().body if isinstance(n, ast.ClassDef) and not n.name.startswith("_")):
        available = {}
        for stub_name in STANDS_FOR.get(cls.name, [cls.name]):
            assert stub_name in classes, f"nuke.{stub_name} is not in Nuke 13.2's API"
            for k, v in _methods(classes, stub_name).items():
                available.setdefault(k, []).extend(v)
        for fn in (f for f in cls.body if isinstance(f, ast.FunctionDef)):
            if fn.name.startswith("_") and fn.name not in ("__getitem__",):
                continue
            key = f"{cls.name}.{fn.name}"
            if key in NEWER:
                continue
            assert fn.name in available, f"nuke.{key} is not in Nuke 13.2's API"
            assert _fits(_params(fn), available[fn.name]), (key, _params(fn), available[fn.name])


def test_module_constants_and_nodes_exist_in_nuke(stubs):
    text = "\n".join(p.read_text(encoding="utf-8") for p in _stub_dir().glob("*.pyi"))
    for name in ("INVISIBLE: int", "nodes: Nodes"):
        assert name in text


def test_every_call_of_the_fake_names_its_reference():
    lines = FAKE.read_text(encoding="utf-8").splitlines()
    tree = _fake_tree()
    members = [m for c in tree.body if isinstance(c, ast.ClassDef) and not c.name.startswith("_") for m in c.body]
    for node in tree.body + members:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)) and not node.name.startswith(("_", "fake_")):
            line = lines[node.lineno - 1] + " " + (ast.get_docstring(node) or "")
            nxt = lines[node.lineno] if node.lineno < len(lines) else ""
            assert "nuke." in line or "nuke." in nxt, f"{node.name} (line {node.lineno}) names no reference page"


def test_the_check_would_notice_an_invented_call(stubs, tmp_path):
    """The comparison is real: a made-up call and a wrong parameter name are both caught."""
    functions, _ = stubs
    tree = ast.parse("def toNode(name): pass\ndef makeMagic(): pass\n")
    wrong, invented = tree.body
    assert not _fits(_params(wrong), functions["toNode"])
    assert invented.name not in functions
