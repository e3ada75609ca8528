"""Fake `nukescripts.panels`: registerWidgetAsPanel and restorePanel.

Reference: https://learn.foundry.com/nuke/developers/150/pythondevguide/_autosummary/nukescripts.panels.html
"""
import importlib

registered = {}  # id -> (widget import path, name)
shown = []       # panels added to a pane, in order


def registerWidgetAsPanel(widget, name, id, create=False):  # nukescripts.panels.registerWidgetAsPanel
    registered[id] = (widget, name)
    return _Panel(widget, name, id) if create else None


def restorePanel(id):  # nukescripts.panels.restorePanel
    if id not in registered:
        return None
    widget, name = registered[id]
    return _Panel(widget, name, id)


class _Panel(object):
    """nukescripts.panels.PythonPanel as registerWidgetAsPanel makes it: showing it in a
    pane builds the widget from its import path, as Nuke's WidgetKnob does."""

    def __init__(self, widget, name, id):
        self.widget, self.name, self.id, self.pane, self.built = widget, name, id, None, None

    def addToPane(self, pane=None):  # nukescripts.panels.PythonPanel.addToPane
        self.pane = pane
        shown.append(self)
        module, attr = self.widget.rsplit(".", 1)
        self.built = getattr(importlib.import_module(module), attr)()
        return self
