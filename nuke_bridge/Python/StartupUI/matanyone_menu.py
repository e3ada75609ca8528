"""Nuke Studio / Hiero start-up (HIERO_PLUGIN_PATH holds nuke_bridge): the MatAnyone menus.

Like init.py for Nuke, the checkout goes at the END of sys.path; nothing is built until the
artist chooses 'MatAnyone > Matte selected shot'.
"""
import os
import sys

_root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
if _root not in sys.path:
    sys.path.append(_root)

import nuke_bridge.hiero_host  # noqa: E402 - needs the path above

nuke_bridge.hiero_host.register()
