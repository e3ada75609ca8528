"""Fake `nukescripts.panels`: registerWidgetAsPanel and restorePanel.

Reference: https://learn.foundry.com/nuke/developers/150/pythondevguide/_autosummary/nukescripts.panels.html
"""
registered = {}  # id -> (widget import path, name)


def registerWidgetAsPanel(widget, name, id, create=False):  # nukescripts.panels.registerWidgetAsPanel
    registered[id] = (widget, name)
    return _Panel(widget, name, id) if create else None


def restorePanel(id):  # nukescripts.panels.restorePanel
    if id not in registered:
        return None
    widget, name = registered[id]
    return _Panel(widget, name, id)


class _Panel(object):
    """nukescripts.panels.PythonPanel as registerWidgetAsPanel makes it."""

    def __init__(self, widget, name, id):
        self.widget, self.name, self.id, self.pane = widget, name, id, None

    def addToPane(self, pane=None):  # nukescripts.panels.PythonPanel.addToPane
        self.pane = pane
        return self
