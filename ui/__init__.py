"""The MatAnyone panel: Qt widgets (through ui/qt.py) over a worker process.

Hosts open it with `show_panel(parent, host=None)`; importing `ui` loads no Qt, so a
host's `menu.py` can register the panel without building anything at import.
"""
from __future__ import annotations

__all__ = ["show_panel"]


def show_panel(parent=None, host=None, controller=None):
    """Build, show and return the panel widget.

    Args:
        parent: a QWidget to parent the panel to (the host's main window), or None.
        host: a `ui.host.HostAdapter` (Nuke, Resolve) or None for the standalone app.
        controller: an injected `PanelController` (tests); a real one is made otherwise.

    Returns:
        The `ui.panel.widgets.Panel` widget (already shown).
    """
    from ui.panel.widgets import Panel  # lazy: Qt only when the panel is wanted

    panel = Panel(parent=parent, host=host, controller=controller)
    panel.show()
    return panel
