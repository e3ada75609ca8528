"""Connect to DaVinci Resolve, pick the clip, open the panel: what the Scripts menu runs.

The panel is a standalone Qt window (Resolve embeds no Qt) in the product's own interpreter
(`python -m resolve_bridge`), started by the menu script `MatAnyone.py`, which relays
Resolve's calls to it (any edition); run by hand, it reaches Resolve Studio directly.
"""
from __future__ import annotations

import argparse
import os
import platform
import sys
from typing import Callable, List, Optional

FREE_VERSION = (
    "MatAnyone could not reach DaVinci Resolve from outside it (only Studio allows that, with Preferences > "
    "System > General > External scripting using set to Local), so start it from Resolve's Workspace > "
    "Scripts > MatAnyone menu, which works in the free version too.")
ENV_RELAY = "MATANYONE_RESOLVE_RELAY"  # set by MatAnyone.py: Resolve's calls come over stdin/stdout
ENV_LOG = "MATANYONE_RESOLVE_LOG"      # set by MatAnyone.py: where this process's output goes
ENV_MATTE = "MATANYONE_RESOLVE_MATTE"
ENV_FORMAT = "MATANYONE_RESOLVE_FORMAT"
# Where Resolve installs its scripting modules, per OS (RESOLVE_SCRIPT_API wins when set).
SCRIPT_API = {
    "Darwin": "/Library/Application Support/Blackmagic Design/DaVinci Resolve/Developer/Scripting",
    "Windows": os.path.join(os.environ.get("PROGRAMDATA", r"C:\ProgramData"),
                            "Blackmagic Design", "DaVinci Resolve", "Support", "Developer", "Scripting"),
    "Linux": "/opt/resolve/Developer/Scripting",
}


def import_resolve_module():
    """`DaVinciResolveScript`, from PYTHONPATH or RESOLVE_SCRIPT_API's Modules folder."""
    try:
        import DaVinciResolveScript
        return DaVinciResolveScript
    except (ImportError, AttributeError):  # AttributeError: Python 3.12 on Windows (no `imp`)
        pass
    api = os.environ.get("RESOLVE_SCRIPT_API") or SCRIPT_API.get(platform.system(), "")
    modules = os.path.join(api, "Modules")
    if os.path.isdir(modules) and modules not in sys.path:
        sys.path.append(modules)
    try:
        import DaVinciResolveScript
        return DaVinciResolveScript
    except (ImportError, AttributeError) as err:
        from plugin.errors import UserError
        why = "was not found" if isinstance(err, ImportError) else f"does not load in Python {sys.version.split()[0]} ({err})"
        raise UserError(
            f"DaVinciResolveScript {why} (looked in PYTHONPATH and {modules}): start MatAnyone from Resolve's "
            "Workspace > Scripts menu, or set RESOLVE_SCRIPT_API, RESOLVE_SCRIPT_LIB and PYTHONPATH as the "
            "README (DaVinci Resolve) shows.") from None


def connect():
    """Resolve's `Resolve` object: relayed by the menu script that started this process,
    else reached directly (external scripting, Studio only); None when Resolve says no."""
    if os.environ.get(ENV_RELAY) == "1":
        from resolve_bridge.relay import relayed_resolve

        return relayed_resolve()
    return import_resolve_module().scriptapp("Resolve")


def main(argv: Optional[List[str]] = None, *, show: Optional[Callable] = None,
         pick: Optional[Callable] = None, notify: Optional[Callable] = None) -> int:
    """Open the panel on the clip under the playhead; returns an exit code.

    `show(host)`, `pick(labels) -> index or None` and `notify(line)` default to Qt dialogs;
    tests pass their own.
    """
    parser = argparse.ArgumentParser(prog="python -m resolve_bridge")
    parser.add_argument("--matte", choices=("clip", "timeline", "bin"),
                        default=os.environ.get(ENV_MATTE) or "clip",
                        help="attach the alpha as a clip matte (default), a timeline matte, or a clip in the MatAnyone bin")
    parser.add_argument("--format", choices=("exr", "prores4444"), default=os.environ.get(ENV_FORMAT) or "exr",
                        help="attach the alpha EXR sequence (default) or a ProRes 4444 movie of it")
    args = parser.parse_args(argv)
    show, pick, notify = show or _show_panel, pick or _pick_clip, notify or _notify
    from resolve_bridge.host import ResolveHost

    log = os.environ.get(ENV_LOG)
    try:
        resolve = connect()
        if resolve is None:
            notify(FREE_VERSION)
            return 1
        from plugin.client import find_worker_python

        find_worker_python()
        host = ResolveHost(resolve, matte_mode=args.matte, matte_format=args.format)
        candidates = host.clips_at_playhead()
        if len(candidates) > 1:
            index = pick([host.describe(track, item) for track, item in candidates])
            if index is None:
                return 1
            host.choose(candidates[index][1])
        host.selected_plate()  # says what is wrong (no clip, retimed, offline) before the panel opens
        return show(host) or 0
    except Exception as err:
        if getattr(err, "user_error", False):
            notify("MatAnyone: " + str(err))
            return 1
        if not log:
            raise
        import traceback

        traceback.print_exc()  # into the log the menu script opened
        notify(f"MatAnyone stopped: {type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''} "
               f"(details in {log}).")
        return 1


def _app():
    from ui.qt import QtWidgets

    return QtWidgets.QApplication.instance() or QtWidgets.QApplication(sys.argv[:1])


def open_panel_window(host):
    """The panel as its own window on `host`'s clip, with the clip already loaded at the source
    frame under the playhead, writing mattes as Resolve's External Matte Saver does."""
    _app()
    import ui

    panel = ui.show_panel(parent=None, host=host)
    plate = host.selected_plate()
    panel.setWindowTitle(f"MatAnyone - {plate.label}")
    controller = getattr(panel, "controller", None)
    if controller is not None:
        from dataclasses import replace

        controller.run_settings = replace(controller.run_settings, channels=host.output_channels)
        _go_to_once_open(controller, host.playhead_source_frame(plate))
        controller.use_host_selection()
    return panel


def _go_to_once_open(controller, frame: int) -> None:
    """Show `frame` once the plate has opened (posted: opening shows the plate's first frame)."""
    from ui.panel.events import Event

    pending = [frame]

    def on_event(event, _payload) -> None:
        if event is Event.PLATE and pending:
            wanted = pending.pop()
            controller.post(lambda: controller.set_frame(wanted))
    controller.subscribe(on_event)


def _show_panel(host) -> int:
    app = _app()
    panel = open_panel_window(host)  # noqa: F841 - kept alive while the event loop runs
    from ui.qt import exec_
    return exec_(app)


def _pick_clip(labels: List[str]) -> Optional[int]:
    from ui.qt import QtWidgets

    _app()
    label, ok = QtWidgets.QInputDialog.getItem(
        None, "MatAnyone", "Several clips are under the playhead; matte which one?", labels, 0, False)
    return labels.index(label) if ok else None


def _notify(line: str) -> None:
    print(line)
    try:
        from ui.qt import QtWidgets
    except ImportError:
        return
    _app()
    QtWidgets.QMessageBox.information(None, "MatAnyone", line)
