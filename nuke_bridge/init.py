"""Nuke start-up (this folder is on NUKE_PATH): make the MatAnyone package root importable."""
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
            sys.path.insert(0, _root)
        break
