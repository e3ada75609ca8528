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
    """Open the pane docked beside the Properties bin (menu command); one message on trouble."""
    problem = worker_problem()
    if problem:
        nuke.message(problem)
        return None
    panel = nukescripts.panels.restorePanel(PANEL_ID)
    if panel is not None:
        panel.addToPane(nuke.getPaneFor("Properties.1"))
    return panel


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
    """Render the selected node's alpha at the current frame to an EXR the panel can use."""
    from nuke_bridge.host import NukeHost

    nodes = nuke.selectedNodes()
    if len(nodes) != 1:
        nuke.message("MatAnyone: select the one node whose alpha is the mask, then run this again.")
        return None
    host = NukeHost()
    path = host.render_mask(nodes[0].name(), host.current_frame())
    widget = _WIDGETS[-1] if _WIDGETS else None
    use = getattr(getattr(widget, "panel", None), "use_mask_file", None)
    if use is not None:
        use(path, host.current_frame())
    else:
        nuke.message(f"MatAnyone: mask rendered to {path}; load it as the keyframe mask in the panel.")
    return path


_WIDGETS = []  # the docked widgets, so menu commands can reach the live panel


def make_widget():
    """Called by Nuke (through registerWidgetAsPanel) to build the pane's widget."""
    from Qt import QtWidgets

    import ui
    from nuke_bridge.host import NukeHost

    container = QtWidgets.QWidget()
    layout = QtWidgets.QVBoxLayout(container)
    layout.setContentsMargins(0, 0, 0, 0)
    container.panel = ui.show_panel(parent=container, host=NukeHost())
    layout.addWidget(container.panel)
    _WIDGETS.append(container)
    return container
