"""Before Qt starts on Linux: say which system libraries the xcb window system lacks, in one
line, instead of Qt's abort ("could not load the Qt platform plugin xcb"). Standard library only.
"""
from __future__ import annotations

import ctypes
import os
import sys
from typing import Callable, List, Optional

# library file Qt's xcb plugin loads -> the Debian/Ubuntu package that ships it
XCB_LIBRARIES = (
    ("libxcb-cursor.so.0", "libxcb-cursor0"),
    ("libxkbcommon-x11.so.0", "libxkbcommon-x11-0"),
    ("libxcb-icccm.so.4", "libxcb-icccm4"),
    ("libxcb-keysyms.so.1", "libxcb-keysyms1"),
    ("libxcb-render-util.so.0", "libxcb-render-util0"),
    ("libxcb-shape.so.0", "libxcb-shape0"),
    ("libxcb-xinerama.so.0", "libxcb-xinerama0"),
    ("libEGL.so.1", "libegl1"),
    ("libGL.so.1", "libgl1"),
    ("libfontconfig.so.1", "libfontconfig1"),
)


def _loadable(name: str) -> bool:
    try:
        ctypes.CDLL(name)
        return True
    except OSError:
        return False


def missing_packages(loadable: Callable[[str], bool] = _loadable) -> List[str]:
    """Debian package names of the xcb libraries that cannot be loaded."""
    return [package for library, package in XCB_LIBRARIES if not loadable(library)]


def problem(env=None, platform: str = sys.platform, loadable: Callable[[str], bool] = _loadable) -> Optional[str]:
    """One line saying why a Qt window cannot open here, or None when it should.

    Only Linux with the xcb platform (QT_QPA_PLATFORM unset or xcb) is checked; offscreen,
    wayland and other platforms are left to Qt.
    """
    env = os.environ if env is None else env
    if not platform.startswith("linux"):
        return None
    qpa = env.get("QT_QPA_PLATFORM", "")
    if qpa and not qpa.startswith("xcb"):
        return None
    if not qpa and env.get("WAYLAND_DISPLAY") and env.get("XDG_SESSION_TYPE") == "wayland":
        return None  # Qt picks wayland first there
    if not env.get("DISPLAY"):
        return ("no X display to open a window on (DISPLAY is not set): run the app from a desktop session, "
                "use `ssh -X`, or run `matanyone-plugin run` for a shot without the panel")
    missing = missing_packages(loadable)
    if missing:
        return ("the Qt window system (xcb) needs system libraries that are missing: install them with "
                "`sudo apt-get install " + " ".join(missing) + "` (names for Debian/Ubuntu; "
                "on RHEL/Rocky: `sudo dnf install xcb-util-cursor xcb-util-wm xcb-util-keysyms "
                "xcb-util-renderutil libxkbcommon-x11 mesa-libEGL mesa-libGL fontconfig`)")
    return None
