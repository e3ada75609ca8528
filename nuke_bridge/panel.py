"""The MatAnyone pane in Nuke: registration (from menu.py) and the widget Nuke docks.

Nothing of Qt is built at import: `register()` only tells Nuke the import path of
`make_widget`, which Nuke calls when the pane is first shown.
"""
from __future__ import annotations

import nuke
import nukescripts

PANEL_ID = "com.matanyone.plugin.panel"
PANEL_TITLE = "MatAnyone"
WIDGET = "nuke_bridge.panel.make_widget"


def register() -> None:
    """Register the dockable pane and the menu entries; builds no widget."""
    # Nuke evaluates the widget path in its __main__ namespace when the pane opens.
    import __main__
    import nuke_bridge

    __main__.nuke_bridge = nuke_bridge
    nukescripts.panels.registerWidgetAsPanel(WIDGET, PANEL_TITLE, PANEL_ID)
    menu = nuke.menu("Nuke").addMenu("MatAnyone")
    menu.addCommand("Matte selected Read", open_panel)
    menu.addCommand("Mask from selected node's alpha", mask_from_selected)


def open_panel():
    """'Matte selected Read': dock the pane beside the Properties bin (or bring the open one
    forward) and load the selected Read into it; one message when the worker cannot start.

    Nuke's pattern for custom panels: `registerWidgetAsPanel(..., create=True).addToPane(pane)`
    (restorePanel would add the panel itself, so it is not used here), with a floating panel
    when no Properties pane is open (`getPaneFor` then gives None).
    """
    problem = worker_problem()
    if problem:
        nuke.message(problem)
        return None
    widget = _live_widget()
    if widget is None:
        panel = nukescripts.panels.registerWidgetAsPanel(WIDGET, PANEL_TITLE, PANEL_ID, True)
        pane = nuke.getPaneFor("Properties.1")
        if pane is not None:
            panel.addToPane(pane)
        else:
            panel.show()
        widget = _live_widget()
    if widget is None:
        nuke.message("MatAnyone: Nuke did not build the pane; see the Script Editor for why.")
        return None
    _bring_forward(widget)
    widget.panel.controller.use_host_selection()
    return widget


def _bring_forward(widget) -> None:
    """Make the pane the visible tab of whatever stack or tab widget Nuke docked it in."""
    from ui.qt import QtWidgets

    child, parent = widget, widget.parentWidget()
    while parent is not None:
        if isinstance(parent, (QtWidgets.QStackedWidget, QtWidgets.QTabWidget)):
            parent.setCurrentWidget(child)
        child, parent = parent, parent.parentWidget()


def _live_widget():
    """The pane widget Nuke built last, unless Nuke has since closed it."""
    while _WIDGETS:
        try:
            _WIDGETS[-1].isVisible()  # raises once Qt has deleted the widget
            return _WIDGETS[-1]
        except RuntimeError:
            _WIDGETS.pop()
    return None


def worker_problem():
    """None when the worker's interpreter is set and found, else the one line saying what to do."""
    from plugin.client import find_worker_python

    try:
        find_worker_python()
    except Exception as err:  # the one line of a WorkerError
        if getattr(err, "user_error", False):
            return "MatAnyone: " + str(err)
        raise
    return None


def mask_from_selected():
    """Render the selected node's alpha at Nuke's current frame and put it on the panel's
    selected object as that frame's keyframe mask (the panel must have the plate open)."""
    from nuke_bridge.host import NukeHost

    nodes = nuke.selectedNodes()
    if len(nodes) != 1:
        nuke.message("MatAnyone: select the one node whose alpha is the mask, then run this again.")
        return None
    controller = getattr(getattr(_live_widget(), "panel", None), "controller", None)
    plate = getattr(controller, "plate", None)
    if plate is None:
        nuke.message("MatAnyone: open the panel on the plate first (Matte selected Read), then take the mask.")
        return None
    host = NukeHost()
    frame = host.current_frame()
    source_frame = frame - plate.frame_offset
    if source_frame not in plate.frames:
        nuke.message(f"MatAnyone: frame {frame} is outside the plate ({plate.first + plate.frame_offset}-"
                     f"{plate.last + plate.frame_offset}): move to a frame of the plate.")
        return None
    path = host.render_mask(nodes[0].name(), frame)
    controller.set_frame(source_frame)
    controller.import_mask(path)
    return path


_WIDGETS = []  # the docked widgets, so menu commands can reach the live panel


def make_widget():
    """Called by Nuke (through registerWidgetAsPanel) to build the pane's widget.

    Closing the pane (Qt deletes the widget) stops the worker; closing the script cancels a
    run and forgets its nodes; errors of the main-thread wiring show in the pane.
    """
    from ui.qt import QtWidgets

    import ui
    from nuke_bridge.host import NukeHost
    from nuke_bridge.progress import NukeProgress

    alive = [True]
    container = QtWidgets.QWidget()
    layout = QtWidgets.QVBoxLayout(container)
    layout.setContentsMargins(0, 0, 0, 0)

    def report(message):
        if alive[0]:
            container.panel.controller.error(message)
        else:
            nuke.message(message)
    host = NukeHost(report=report)
    container.panel = ui.show_panel(parent=container, host=host)
    layout.addWidget(container.panel)
    container.progress = NukeProgress(container.panel.controller)
    controller = container.panel.controller

    def script_closed():
        host.script_closed()
        if controller.running:
            controller.cancel()
            controller.error("The Nuke script was closed, so the run was cancelled (finished frames are kept).")

    def destroyed(*_):
        alive[0] = False
        nuke.removeOnScriptClose(script_closed)
        controller.close()
    nuke.addOnScriptClose(script_closed)
    container.destroyed.connect(destroyed)
    _WIDGETS.append(container)
    return container
