"""A fake `nuke` module: exactly the calls the MatAnyone bridge uses, with the signatures
and knob names of Nuke's Python API reference, recording what the bridge did.

Reference pages: https://learn.foundry.com/nuke/developers/150/pythondevguide/_autosummary/<page>.html
(the page for each call is named beside it). Names starting with `fake_` are test
controls, not Nuke calls.
"""
import itertools

calls = []           # (call name, args) in the order the bridge made them
_nodes = {}          # node name -> Node, in creation order
_main_queue = []     # calls queued by executeInMainThread
_layers = ["rgb", "rgba", "alpha", "depth"]
_frame = [1]
_plugin_path = []
_menus = {}
_panes = {}
_counters = {}

# Knobs each node class offers (name -> default); reading another raises like Nuke does.
_CLASS_KNOBS = {
    "Read": {"file": "", "proxy": "", "first": 1, "last": 1, "origfirst": 1, "origlast": 1,
             "frame_mode": "expression", "frame": "", "colorspace": "default (sRGB)",
             "raw": False, "reload": None},
    "Copy": {"from0": "rgba.alpha", "to0": "rgba.alpha"},
    "Write": {"file": "", "file_type": "", "channels": "rgb", "raw": False},
    "BackdropNode": {"label": "", "xpos": 0, "ypos": 0, "bdwidth": 200, "bdheight": 200,
                     "note_font_size": 14},
    "Grade": {},  # any node whose alpha can be a mask
    "Root": {"colorManagement": "Nuke", "OCIO_config": "nuke-default", "customOCIOConfigPath": "",
             "proxy": False, "first_frame": 1, "last_frame": 100},
}
_SIZES = {"Read": (80, 78), "BackdropNode": (200, 200)}


class Knob(object):
    """nuke.Knob: value(), setValue(); 'reload' is a nuke.Script_Knob with execute()."""

    def __init__(self, node, name, value):
        self._node, self._name, self._value = node, name, value

    def value(self):  # nuke.Knob.value (Array_Knob / String_Knob / Enumeration_Knob)
        return self._value

    def setValue(self, value):  # nuke.Knob.setValue
        calls.append(("setValue", (self._node.name(), self._name, value)))
        self._value = value
        return True

    def execute(self):  # nuke.Script_Knob.execute
        calls.append(("execute", (self._node.name(), self._name)))


class Node(object):
    """nuke.Node (and nuke.BackdropNode): the methods the bridge calls."""

    def __init__(self, cls, name=None, selected=False, group="", **knobs):
        self._class, self._group = cls, group  # group: 'Group1.' for a node inside Group1
        if not name:
            _counters[cls] = _counters.get(cls, 0) + 1
            name = "%s%d" % (cls, _counters[cls])
        self._name = name
        self._knobs = dict((k, Knob(self, k, v)) for k, v in _CLASS_KNOBS[cls].items())
        for key, value in knobs.items():
            self[key].setValue(value)
        self._inputs = {}
        self._selected = selected
        self._x = int(self._knobs["xpos"].value()) if "xpos" in self._knobs else 0
        self._y = int(self._knobs["ypos"].value()) if "ypos" in self._knobs else 0

    def Class(self):  # nuke.Node.Class
        return self._class

    def name(self):  # nuke.Node.name
        return self._name

    def fullName(self):  # nuke.Node.fullName
        return self._group + self._name

    def __getitem__(self, knob):  # nuke.Node.__getitem__
        if knob not in self._knobs:
            raise NameError("knob %s does not exist" % knob)
        return self._knobs[knob]

    def setInput(self, i, node):  # nuke.Node.setInput
        calls.append(("setInput", (self._name, i, node.name() if node else None)))
        self._inputs[i] = node
        return True

    def input(self, i):  # nuke.Node.input (the tests read the wiring back with it)
        return self._inputs.get(i)

    def xpos(self):  # nuke.Node.xpos
        return self._x

    def ypos(self):  # nuke.Node.ypos
        return self._y

    def setXYpos(self, x, y):  # nuke.Node.setXYpos
        self._x, self._y = int(x), int(y)

    def screenWidth(self):  # nuke.Node.screenWidth
        return _SIZES.get(self._class, (80, 18))[0]

    def screenHeight(self):  # nuke.Node.screenHeight
        return _SIZES.get(self._class, (80, 18))[1]


class _NodeConstructors(object):
    """nuke.nodes: nuke.nodes.<Class>(**knobs) creates a node without connecting it."""

    def __getattr__(self, cls):
        if cls not in _CLASS_KNOBS or cls == "Root":
            raise AttributeError(cls)

        def create(**knobs):
            node = Node(cls, **knobs)
            calls.append(("nodes." + cls, (node.name(),)))
            _nodes[node.name()] = node
            return node
        return create


nodes = _NodeConstructors()
_root = [None]


def root():  # nuke.root
    return _root[0]


def selectedNodes(filter=None):  # nuke.selectedNodes
    return [n for n in _nodes.values() if n._selected and (filter is None or n.Class() == filter)]


def toNode(s):  # nuke.toNode
    return _nodes.get(s)


def filename(node, i=None):  # nuke.filename: follows root.proxy (the proxy file when proxy mode is on)
    calls.append(("filename", (node.name(),)))
    if _root[0]["proxy"].value() and node["proxy"].value():
        return node["proxy"].value()
    return node["file"].value()


def frame(f=None):  # nuke.frame
    if f is not None:
        _frame[0] = int(f)
    return _frame[0]


def delete(n):  # nuke.delete
    calls.append(("delete", (n.name(),)))
    del _nodes[n.name()]


def execute(nameOrNode, start=None, end=None, incr=None, views=None, continueOnError=False):  # nuke.execute
    node = nameOrNode if isinstance(nameOrNode, Node) else _nodes[nameOrNode]
    calls.append(("execute_render", (node.name(), start, end, node["file"].value(), node.input(0).name())))


def executeInMainThread(call, args=(), kwargs={}):  # nuke.executeInMainThread
    calls.append(("executeInMainThread", (getattr(call, "__name__", str(call)),)))
    _main_queue.append((call, args, kwargs))


def layers(node=None):  # nuke.layers
    return list(_layers)


class Layer(object):  # nuke.Layer(name, channels)
    def __init__(self, name, channels):
        calls.append(("Layer", (name, list(channels))))
        _layers.append(name)


class ProgressTask(object):  # nuke.ProgressTask(name)
    def __init__(self, name):
        calls.append(("ProgressTask", (name,)))
        self.fake_cancelled = False

    def setProgress(self, i):  # nuke.ProgressTask.setProgress
        calls.append(("ProgressTask.setProgress", (i,)))

    def setMessage(self, message):  # nuke.ProgressTask.setMessage
        calls.append(("ProgressTask.setMessage", (message,)))

    def isCancelled(self):  # nuke.ProgressTask.isCancelled
        return self.fake_cancelled


class Undo(object):  # nuke.Undo
    def begin(self, name=None):  # nuke.Undo.begin
        calls.append(("Undo.begin", (name,)))

    def end(self):  # nuke.Undo.end
        calls.append(("Undo.end", ()))


class Menu(object):  # nuke.Menu
    def __init__(self, name):
        self._name, self.items = name, {}

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


def getPaneFor(panelName):  # nuke.getPaneFor
    return _panes.setdefault(panelName, "pane:" + panelName)


def pluginPath():  # nuke.pluginPath
    return list(_plugin_path)


# ---- test controls (not Nuke calls) ----
def fake_reset():
    del calls[:]
    _nodes.clear()
    del _main_queue[:]
    _layers[:] = ["rgb", "rgba", "alpha", "depth"]
    _frame[0] = 1
    _plugin_path[:] = []
    _menus.clear()
    _counters.clear()
    _root[0] = Node("Root", name="root")


def fake_node(cls, name=None, selected=False, xpos=0, ypos=0, group="", **knobs):
    node = Node(cls, name=name, selected=selected, group=group, **knobs)
    node.setXYpos(xpos, ypos)
    _nodes[node.name()] = node
    del calls[:]
    return node


def fake_run_main_thread():
    """Run what executeInMainThread queued, as Nuke's event loop would."""
    while _main_queue:
        call, args, kwargs = _main_queue.pop(0)
        call(*args, **kwargs)


def fake_calls(name):
    return [args for n, args in calls if n == name]


fake_reset()
