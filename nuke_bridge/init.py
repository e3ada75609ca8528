"""Nuke start-up (this folder is on NUKE_PATH): make the MatAnyone package root importable.

The root goes at the END of sys.path, so its generic package names (`ui`, `plugin`) never
shadow a studio's own; when a studio package of the same name shadows ours, one line says
which file is in the way.
"""
import importlib.util
import os
import sys

import nuke

_here = globals().get("__file__")  # not every Nuke defines it for init.py
_dirs = [os.path.dirname(os.path.abspath(_here))] if _here else []
_dirs += [p for p in nuke.pluginPath() if os.path.basename(os.path.normpath(p)) == "nuke_bridge"]
for _dir in _dirs:
    if os.path.isfile(os.path.join(_dir, "host.py")):
        _root = os.path.dirname(os.path.normpath(_dir))
        if _root not in sys.path:
            sys.path.append(_root)
        for _name in ("nuke_bridge", "ui", "plugin"):
            _spec = importlib.util.find_spec(_name)
            _origin = os.path.abspath(getattr(_spec, "origin", None) or "") if _spec else ""
            if _spec is not None and not _origin.startswith(os.path.join(os.path.abspath(_root), "")):
                sys.stderr.write("MatAnyone: the package '%s' at %s shadows MatAnyone's (%s): rename or "
                                 "remove it from NUKE_PATH/PYTHONPATH.\n" % (_name, _origin or "?", _root))
        break
