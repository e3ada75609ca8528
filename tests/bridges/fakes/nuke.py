"""A fake `nuke` module, as strict as Nuke where the MatAnyone bridge could go wrong.

Only calls that exist in Nuke's Python API (checked against the `types-nuke` 13.2 stubs by
tests/bridges/test_nuke_fake_stubs.py), with their parameter names. Reference pages:
https://learn.foundry.com/nuke/developers/150/pythondevguide/_autosummary/<page>.html
(the page is named beside each call). Where Nuke is strict, so is this fake: enumeration
knobs refuse values Nuke would refuse (OCIO_config lists the configs each Nuke version
ships), `filename()` evaluates TCL, `$VAR`s and the project directory, node names clash
and get a number as in Nuke, `execute` renders at the proxy scale in proxy mode, creating
nodes and changing knobs lands on the undo stack unless undo is disabled, deleted or
closed-script nodes raise ValueError, and script-close callbacks fire on `fake_script_close`.
Names starting with `fake_` are test controls, not Nuke calls.
"""
import os
import re

INVISIBLE = 0x400  # nuke.INVISIBLE (Knob.setFlag): the knob is hidden in the panel

calls = []           # (call name, args) in the order the bridge made them
undo_history = []    # one entry per undo step: a list of the changes it holds
_nodes = {}          # node name -> Node, in creation order
_main_queue = []     # calls queued by executeInMainThread
_layers = ["rgb", "rgba", "alpha", "depth"]
_frame = [1]
_plugin_path = []
_menus = {}
_panes = {}          # panel names getPaneFor finds; others give None, as in Nuke
_script_close = []   # (call, args, kwargs) given to addOnScriptClose
_undo = {"group": None, "disabled": 0}
_version = [16]      # the Nuke major version the fake plays (fake_version)
_install = ["/usr/local/Nuke16.0v1"]

# Nuke's own OCIO configs (Project Settings > Color > OpenColorIO config), per version, with
# the file each lives in under the install (Nuke fills customOCIOConfigPath with it).
# Nuke 14/15: https://learn.foundry.com/nuke/content/comp_environment/configuring_nuke/using_ocio_config_files.html
# Nuke 16/17 (ACES 1.3 / 2.0 configs): the same page for 16.0 and 17.0.
_OCIO_CONFIGS = {
    14: ["nuke-default", "aces_1.0.3", "aces_1.1", "aces_1.2",
         "fn-nuke_cg-config-v1.0.0_aces-v1.3_ocio-v2.1", "fn-nuke_studio-config-v1.0.0_aces-v1.3_ocio-v2.1"],
    15: ["nuke-default", "aces_1.0.3", "aces_1.1", "aces_1.2",
         "fn-nuke_cg-config-v1.0.0_aces-v1.3_ocio-v2.1", "fn-nuke_studio-config-v1.0.0_aces-v1.3_ocio-v2.1",
         "fn-nuke_cg-config-v2.1.0_aces-v1.3_ocio-v2.3", "fn-nuke_studio-config-v2.1.0_aces-v1.3_ocio-v2.3"],
    16: ["nuke-default", "aces_1.0.3", "aces_1.1", "aces_1.2",
         "fn-nuke_cg-config-v2.1.0_aces-v1.3_ocio-v2.3", "fn-nuke_studio-config-v2.1.0_aces-v1.3_ocio-v2.3"],
    17: ["nuke-default", "aces_1.2",
         "fn-nuke_cg-config-v2.1.0_aces-v1.3_ocio-v2.3", "fn-nuke_studio-config-v2.1.0_aces-v1.3_ocio-v2.3",
         "fn-nuke_cg-config-v3.0.0_aces-v2.0_ocio-v2.4", "fn-nuke_studio-config-v3.0.0_aces-v2.0_ocio-v2.4"],
}


def fake_config_file(name):
    """Where the fake's Nuke install keeps built-in config `name` (what customOCIOConfigPath shows)."""
    if name.startswith("fn-nuke_"):
        return "%s/plugins/OCIOConfigs/configs/%s.ocio" % (_install[0], name[len("fn-nuke_"):])
    return "%s/plugins/OCIOConfigs/configs/%s/config.ocio" % (_install[0], name)


# Knobs of each node class: name -> (knob class, default, enumeration values or None).
_E = "Enumeration_Knob"
_CLASS_KNOBS = {
    "Read": {"file": ("File_Knob", ""), "proxy": ("File_Knob", ""),
             "first": ("Int_Knob", 1), "last": ("Int_Knob", 1),
             "origfirst": ("Int_Knob", 1), "origlast": ("Int_Knob", 1),
             "before": (_E, "hold", ["hold", "loop", "bounce", "black"]),
             "after": (_E, "hold", ["hold", "loop", "bounce", "black"]),
             "on_error": (_E, "error", ["error", "black", "checkerboard", "nearest frame"]),
             "frame_mode": (_E, "expression", ["expression", "start at", "offset"]),
             "frame": ("String_Knob", ""), "colorspace": ("Colorspace_Knob", "default (sRGB)"),
             "raw": ("Boolean_Knob", False), "reload": ("Script_Knob", ""),
             "label": ("String_Knob", ""), "tile_color": ("Int_Knob", 0)},
    "Copy": {"from0": ("Channel_Knob", "rgba.alpha"), "to0": ("Channel_Knob", "rgba.alpha"),
             "label": ("String_Knob", ""), "tile_color": ("Int_Knob", 0)},
    "Write": {"file": ("File_Knob", ""), "file_type": (_E, "", ["", "exr", "dpx", "tiff", "png", "jpeg", "mov"]),
              "channels": ("Channel_Knob", "rgb"), "raw": ("Boolean_Knob", False)},
    "BackdropNode": {"label": ("String_Knob", ""), "bdwidth": ("Int_Knob", 200), "bdheight": ("Int_Knob", 200),
                     "note_font_size": ("Int_Knob", 14), "tile_color": ("Int_Knob", 0)},
    "Grade": {},  # any node whose alpha can be a mask
    "Root": {"name": ("File_Knob", ""), "project_directory": ("File_Knob", ""),
             "colorManagement": (_E, "Nuke", ["Nuke", "OCIO"]),
             "OCIO_config": (_E, "nuke-default", None),  # values: _OCIO_CONFIGS + custom
             "customOCIOConfigPath": ("File_Knob", ""),
             "proxy": ("Boolean_Knob", False), "proxy_scale": ("Double_Knob", 0.5),
             "first_frame": ("Int_Knob", 1), "last_frame": ("Int_Knob", 100)},
}
_SIZES = {"Read": (80, 78), "BackdropNode": (200, 200)}
_DELETED = "A PythonObject is not attached to a node"  # what Nuke raises for a deleted node


def _record(change):
    """Nuke puts every graph change on the undo stack: in the open group, else its own step."""
    if _undo["disabled"]:
        return
    if _undo["group"] is not None:
        _undo["group"].append(change)
    else:
        undo_history.append([change])


class Knob(object):
    """nuke.Knob (nuke.Knob page) and the subclasses the bridge meets (their own pages)."""

    def __init__(self, name, label=None, value=None, kind="Knob", values=None, node=None):
        self._name, self._label, self._value, self._kind, self._values = name, label, value, kind, values
        self._node, self._flags = node, 0

    def Class(self):  # nuke.Knob.Class
        return self._kind

    def name(self):  # nuke.Knob.name
        return self._name

    def value(self, index=None):  # nuke.Knob.value
        return self._value

    def setValue(self, val, chan=None):  # nuke.Knob.setValue; nuke.Enumeration_Knob refuses unknown items
        if self._node is not None:
            self._node._alive()
        values = self._allowed()
        if values is not None and val not in values:
            raise ValueError("Bad value for %s: %r" % (self._name, val))
        who = self._node.name() if self._node is not None else ""
        calls.append(("setValue", (who, self._name, val)))
        _record(("setValue", who, self._name))
        self._value = val
        return True

    def _allowed(self):
        if self._node is not None and self._node._class == "Root" and self._name == "OCIO_config":
            return _OCIO_CONFIGS[_version[0]] + ["custom"]
        return self._values

    def setFlag(self, flag):  # nuke.Knob.setFlag
        self._flags |= int(flag)

    def getFlag(self, flag):  # nuke.Knob.getFlag
        return bool(self._flags & int(flag))

    def execute(self):  # nuke.Script_Knob.execute
        calls.append(("execute", (self._node.name(), self._name)))

    def getEvaluatedValue(self, oc=None):  # nuke.File_Knob.getEvaluatedValue: evaluated, %04d kept
        return _evaluate(str(self._value))


def String_Knob(name, label=None, value=None):  # nuke.String_Knob(name, label, value)
    return Knob(name, label, value or "", "String_Knob")


_TCL = re.compile(r"\[(python|getenv|value)\s+(?:\{(.*?)\}|(\S+?))\]")


def _evaluate(text):
    """What Nuke's TCL evaluation does to a string knob: [python ...], [getenv X],
    [value root.name], $env(X) and $X."""
    def tcl(match):
        word, arg = match.group(1), match.group(2) if match.group(2) is not None else match.group(3)
        if word == "python":
            return str(eval(arg, {"nuke": _module(), "os": os}))
        if word == "getenv":
            return os.environ.get(arg, "")
        node_name, knob = arg.rsplit(".", 1)
        node = _root[0] if node_name == "root" else _nodes[node_name]
        return str(node[knob].value())
    text = _TCL.sub(tcl, text)
    text = re.sub(r"\$env\((\w+)\)", lambda m: os.environ.get(m.group(1), ""), text)
    return os.path.expandvars(text)


def _module():
    import sys
    return sys.modules[__name__]


class Node(object):
    """nuke.Node (nuke.Node page; BackdropNode and Root are Nodes too)."""

    def __init__(self, cls, name=None, selected=False, group="", **knobs):
        self._class, self._group, self._dead = cls, group, False
        self._name = _unique(name or cls + "1")
        self._knobs = {}
        for key, spec in _CLASS_KNOBS[cls].items():
            kind, default = spec[0], spec[1]
            self._knobs[key] = Knob(key, key, default, kind, spec[2] if len(spec) > 2 else None, self)
        self._inputs = {}
        self._selected = selected
        self._x = self._y = 0
        for key, value in knobs.items():
            self[key].setValue(value)

    def _alive(self):
        if self._dead:
            raise ValueError(_DELETED)

    def Class(self):  # nuke.Node.Class
        self._alive()
        return self._class

    def name(self):  # nuke.Node.name
        self._alive()
        return self._name

    def fullName(self):  # nuke.Node.fullName
        self._alive()
        return self._group + self._name

    def setName(self, name, uncollide=True, updateExpressions=False):  # nuke.Node.setName
        self._alive()
        del _nodes[self._name]
        self._name = _unique(name)
        _nodes[self._name] = self

    def __getitem__(self, name):  # nuke.Node.__getitem__
        self._alive()
        if name not in self._knobs:
            raise NameError("knob %s does not exist" % name)
        return self._knobs[name]

    def knob(self, p, follow_link=None):  # nuke.Node.knob: None when there is no such knob
        self._alive()
        return self._knobs.get(p)

    def addKnob(self, knob):  # nuke.Node.addKnob
        self._alive()
        knob._node = self
        self._knobs[knob.name()] = knob
        calls.append(("addKnob", (self._name, knob.name())))
        _record(("addKnob", self._name, knob.name()))

    def setInput(self, i, node):  # nuke.Node.setInput
        self._alive()
        calls.append(("setInput", (self._name, i, node.name() if node else None)))
        _record(("setInput", self._name, i))
        self._inputs[i] = node
        return True

    def input(self, index):  # nuke.Node.input
        self._alive()
        node = self._inputs.get(index)
        return node if node is not None and not node._dead else None

    def dependent(self, mask=None, forceEvaluate=True):  # nuke.Node.dependent: the nodes fed by this one
        self._alive()
        return [n for n in _nodes.values() if any(i is self for i in n._inputs.values())]

    def xpos(self):  # nuke.Node.xpos
        self._alive()
        return self._x

    def ypos(self):  # nuke.Node.ypos
        self._alive()
        return self._y

    def setXYpos(self, x, y):  # nuke.Node.setXYpos
        self._alive()
        calls.append(("setXYpos", (self._name, int(x), int(y))))
        _record(("setXYpos", self._name))
        self._x, self._y = int(x), int(y)

    def screenWidth(self):  # nuke.Node.screenWidth
        self._alive()
        return int(self._knobs["bdwidth"].value()) if self._class == "BackdropNode" else _SIZES.get(self._class, (80, 18))[0]

    def screenHeight(self):  # nuke.Node.screenHeight
        self._alive()
        return int(self._knobs["bdheight"].value()) if self._class == "BackdropNode" else _SIZES.get(self._class, (80, 18))[1]

    def setSelected(self, selected):  # nuke.Node.setSelected
        self._alive()
        self._selected = bool(selected)


def _unique(name):
    """Nuke's rule for a name that is taken: the name with the next free number at its end."""
    if name not in _nodes:
        return name
    stem = re.sub(r"\d+$", "", name)
    n = 1
    while "%s%d" % (stem, n) in _nodes:
        n += 1
    return "%s%d" % (stem, n)


class _Nodes(object):
    """nuke.nodes (nuke.Nodes page): nuke.nodes.<Class>(**knobs) makes a node without connecting it."""

    def __getattr__(self, cls):
        if cls not in _CLASS_KNOBS or cls == "Root":
            raise AttributeError(cls)

        def create(**knobs):
            name = knobs.pop("name", None)
            node = Node(cls, name=name or (cls + "1"), **knobs)
            calls.append(("nodes." + cls, (node.name(),)))
            _nodes[node.name()] = node
            _record(("create", node.name()))
            return node
        return create


nodes = _Nodes()
_root = [None]


def root():  # nuke.root
    return _root[0]


def allNodes(filter=None):  # nuke.allNodes (top level of the script)
    return [n for n in _nodes.values() if filter is None or n.Class() == filter]


def selectedNodes(filter=None):  # nuke.selectedNodes
    return [n for n in _nodes.values() if n._selected and (filter is None or n.Class() == filter)]


def toNode(s):  # nuke.toNode
    return _nodes.get(s)


def filename(node, i=None):  # nuke.filename: evaluated; the proxy file in proxy mode; project directory applied
    calls.append(("filename", (node.name(),)))
    raw = node["proxy"].value() if _root[0]["proxy"].value() and node["proxy"].value() else node["file"].value()
    return _in_project(_evaluate(raw)) if raw else None


def _in_project(path):
    if not path or os.path.isabs(path):
        return path
    base = _evaluate(_root[0]["project_directory"].value())
    return (base.rstrip("/") + "/" + path) if base else path


def scriptName():  # nuke.scriptName: RuntimeError for an untitled script, as in Nuke
    name = _root[0]["name"].value()
    if not name:
        raise RuntimeError("no script name")
    return name


def frame(f=None):  # nuke.frame
    if f is not None:
        _frame[0] = int(f)
    return _frame[0]


def delete(n):  # nuke.delete
    calls.append(("delete", (n.name(),)))
    _record(("delete", n.name()))
    del _nodes[n.name()]
    n._dead = True


def execute(nameOrNode, start=None, end=None, incr=None, views=None, continueOnError=False):  # nuke.execute
    node = nameOrNode if isinstance(nameOrNode, Node) else _nodes[nameOrNode]
    scale = float(_root[0]["proxy_scale"].value()) if _root[0]["proxy"].value() else 1.0
    calls.append(("execute_render", (node.name(), start, end, node["file"].value(), node.input(0).name(), scale)))


def executeInMainThread(call, args=(), kwargs={}):  # nuke.executeInMainThread
    calls.append(("executeInMainThread", (getattr(call, "__name__", str(call)),)))
    _main_queue.append((call, args, kwargs))


def addOnScriptClose(call, args=(), kwargs={}, nodeClass="Root"):  # nuke.addOnScriptClose (callbacks page)
    _script_close.append((call, args, kwargs))


def removeOnScriptClose(call, args=(), kwargs={}, nodeClass="Root"):  # nuke.removeOnScriptClose
    _script_close[:] = [c for c in _script_close if c[0] != call]


def layers(node=None):  # nuke.layers
    return list(_layers)


class Layer(object):  # nuke.Layer(name, channels)
    def __init__(self, *args, **kwargs):
        name, channels = args
        calls.append(("Layer", (name, list(channels))))
        _layers.append(name)


class ProgressTask(object):  # nuke.ProgressTask(name)
    def __init__(self, *args, **kwargs):
        calls.append(("ProgressTask", args))
        self.fake_cancelled = False

    def setProgress(self, *args, **kwargs):  # nuke.ProgressTask.setProgress
        calls.append(("ProgressTask.setProgress", args))

    def setMessage(self, *args, **kwargs):  # nuke.ProgressTask.setMessage
        calls.append(("ProgressTask.setMessage", args))

    def isCancelled(self, *args, **kwargs):  # nuke.ProgressTask.isCancelled
        return self.fake_cancelled


class Undo(object):  # nuke.Undo: begin/end group the changes into one step; cancel drops them
    def __init__(self, *args, **kwargs):
        pass

    def begin(self, *args, **kwargs):  # nuke.Undo.begin
        calls.append(("Undo.begin", args))
        _undo["group"] = []

    def end(self, *args, **kwargs):  # nuke.Undo.end
        calls.append(("Undo.end", ()))
        group, _undo["group"] = _undo["group"], None
        if group:
            undo_history.append(group)

    def cancel(self, *args, **kwargs):  # nuke.Undo.cancel: undoes what the open group did
        calls.append(("Undo.cancel", ()))
        group, _undo["group"] = _undo["group"] or [], None
        for change in group:
            if change[0] == "create" and change[1] in _nodes:
                _nodes.pop(change[1])._dead = True

    def disable(self, *args, **kwargs):  # nuke.Undo.disable
        _undo["disabled"] += 1

    def enable(self, *args, **kwargs):  # nuke.Undo.enable
        _undo["disabled"] = max(0, _undo["disabled"] - 1)


class Menu(object):  # nuke.Menu
    def __init__(self, *args, **kwargs):
        self._name, self.items = args[0], {}

    def addMenu(self, name, icon=None, tooltip=None, index=None):  # nuke.Menu.addMenu
        sub = self.items.get(name) or Menu(name)
        self.items[name] = sub
        return sub

    def addCommand(self, name, command=None, shortcut=None, icon=None, tooltip=None, index=None,
                   readonly=None, shortcutContext=None):  # nuke.Menu.addCommand
        calls.append(("addCommand", (self._name, name)))
        self.items[name] = command
        return name


def menu(name):  # nuke.menu
    return _menus.setdefault(name, Menu(name))


def message(prompt):  # nuke.message
    calls.append(("message", (prompt,)))


def getPaneFor(panelName):  # nuke.getPaneFor: None when no pane holds that panel
    return _panes.get(panelName)


def pluginPath():  # nuke.pluginPath
    return list(_plugin_path)


# ---- test controls (not Nuke calls) ----
def fake_reset(version=16):
    del calls[:]
    del undo_history[:]
    _nodes.clear()
    del _main_queue[:]
    _layers[:] = ["rgb", "rgba", "alpha", "depth"]
    _frame[0] = 1
    _plugin_path[:] = []
    _menus.clear()
    _panes.clear()
    _panes["Properties.1"] = "pane:Properties.1"
    del _script_close[:]
    _undo.update(group=None, disabled=0)
    _version[0] = int(version)
    _install[0] = "/usr/local/Nuke%d.0v1" % version
    _root[0] = Node("Root", name="root")
    _nodes.pop("root", None)
    del undo_history[:]


def fake_version(version, install=None):
    """Play Nuke `version` (14-17): its OCIO configs, installed under `install`."""
    _version[0] = int(version)
    _install[0] = str(install or "/usr/local/Nuke%d.0v1" % version).replace("\\", "/")


def fake_set_ocio_config(name):
    """What choosing a config in Project Settings does: the knob, and for built-ins the path Nuke fills in."""
    root = _root[0]
    root["colorManagement"].setValue("Nuke" if name == "nuke-default" else "OCIO")
    root["OCIO_config"].setValue(name)
    if name != "custom":
        root["customOCIOConfigPath"].setValue(fake_config_file(name))


def fake_node(cls, name=None, selected=False, xpos=0, ypos=0, group="", **knobs):
    node = Node(cls, name=name, selected=selected, group=group, **knobs)
    node._x, node._y = int(xpos), int(ypos)
    _nodes[node.name()] = node
    del calls[:]
    del undo_history[:]
    return node


def fake_run_main_thread():
    """Run what executeInMainThread queued, as Nuke's event loop would."""
    while _main_queue:
        call, args, kwargs = _main_queue.pop(0)
        call(*args, **kwargs)


def fake_script_close():
    """File > Close: the onScriptClose callbacks run, then every node of the script is gone."""
    for call, args, kwargs in list(_script_close):
        call(*args, **kwargs)
    for node in list(_nodes.values()):
        node._dead = True
    _nodes.clear()
    _root[0] = Node("Root", name="root")
    _nodes.pop("root", None)


def fake_calls(name):
    return [args for n, args in calls if n == name]


fake_reset()
