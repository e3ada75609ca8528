"""The fakes stay small and honest: the fake `nuke` offers only what the Nuke bridge calls,
and both host classes implement ui.host.HostAdapter with its signatures."""
import ast
import inspect
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FAKES = Path(__file__).resolve().parent / "fakes"


def _used_attributes(folder, module_names):
    """Names used as `<module>.<name>` and method names called on anything, in `folder`."""
    module_attrs, methods = set(), set()
    for path in folder.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Attribute):
                base = node.value
                while isinstance(base, ast.Attribute):
                    module_attrs.add(base.attr)
                    base = base.value
                if isinstance(base, ast.Name) and base.id in module_names:
                    module_attrs.add(node.attr)
                methods.add(node.attr)
    return module_attrs, methods


def test_fake_nuke_offers_only_what_the_bridge_uses():
    tree = ast.parse((FAKES / "nuke.py").read_text(encoding="utf-8"))
    module_attrs, methods = _used_attributes(ROOT / "nuke_bridge", {"nuke", "nukescripts"})
    offered_functions = {n.name for n in tree.body if isinstance(n, ast.FunctionDef)
                         and not n.name.startswith(("fake_", "_"))}
    # filename: issue 17 asks the fake to model it (evaluated, project directory) though the bridge
    # now reads the file knob's evaluated value itself, so proxy mode never gives the proxy file
    assert offered_functions - {"filename"} <= module_attrs, offered_functions - module_attrs
    for cls in (n for n in tree.body if isinstance(n, ast.ClassDef) and not n.name.startswith("_")):
        offered = {f.name for f in cls.body if isinstance(f, ast.FunctionDef) and not f.name.startswith("_")}
        # what the tests call to read the graph back or to play the artist (select, rename)
        extra = offered - methods - {"input", "getFlag", "setSelected", "setName"}
        assert not extra, (cls.name, extra)
    # every knob the fake gives a node is one the bridge reads or sets (as a string or keyword)
    used = set()
    for node in ast.walk(ast.parse((ROOT / "nuke_bridge" / "host.py").read_text(encoding="utf-8"))):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            used.add(node.value)
        elif isinstance(node, ast.keyword) and node.arg:
            used.add(node.arg)
    import importlib.util

    spec = importlib.util.spec_from_file_location("fake_nuke_for_knobs", FAKES / "nuke.py")
    fake = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(fake)
    # knobs the fake itself reads to be strict: the script's name (scriptName), proxy_scale (execute),
    # and the Project Settings choices behind customOCIOConfigPath (fake_set_ocio_config)
    for cls, knobs in fake._CLASS_KNOBS.items():
        own = {"name", "proxy_scale", "colorManagement", "OCIO_config"}
        assert set(knobs) - own <= used, (cls, set(knobs) - used)


def test_hosts_implement_the_host_adapter(fake_nuke, fake_resolve_module):
    from nuke_bridge.hiero_host import HieroHost
    from nuke_bridge.host import NukeHost
    from resolve_bridge.host import ResolveHost
    from ui.host import HostAdapter

    for host_cls, name in ((NukeHost, "nuke"), (ResolveHost, "resolve"), (HieroHost, "hiero")):
        assert host_cls.name == name
        for method in ("selected_plate", "frame_range", "current_frame", "bring_back"):
            want = list(inspect.signature(getattr(HostAdapter, method)).parameters)
            assert list(inspect.signature(getattr(host_cls, method)).parameters) == want, (host_cls, method)
