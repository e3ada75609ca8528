"""Fake `nukescripts.panels`: registerWidgetAsPanel, restorePanel and the panel they make.

Reference: https://learn.foundry.com/nuke/developers/150/pythondevguide/_autosummary/nukescripts.panels.html
and the "Custom Panels" page of the Nuke Python developer guide. As in Nuke, the widget is
built by evaluating its import path in `__main__` when the panel is shown, and
`restorePanel` adds the panel to a pane itself.
"""

registered = {}  # id -> (widget import path, name)
shown = []       # panels added to a pane or floated, in order


def registerWidgetAsPanel(widget, name, id, create=False):  # nukescripts.panels.registerWidgetAsPanel
    registered[id] = (widget, name)
    return PythonPanel(widget, name, id) if create else None


def restorePanel(id):  # nukescripts.panels.restorePanel: runs the registered addPanel (adds to a pane)
    if id not in registered:
        return None
    widget, name = registered[id]
    return PythonPanel(widget, name, id).addToPane()


class PythonPanel(object):
    """nukescripts.panels.PythonPanel as registerWidgetAsPanel makes it (its knob is a
    PyCustom_Knob evaluating the widget path in __main__, as WidgetKnob does)."""

    def __init__(self, widget, name, id):
        self.widget, self.name, self.id, self.pane, self.built, self.floating = widget, name, id, None, None, False

    def _build(self):
        import __main__
        shown.append(self)
        self.built = eval(self.widget, vars(__main__))()
        return self

    def addToPane(self, pane=None):  # nukescripts.panels.PythonPanel.addToPane
        self.pane = pane
        return self._build()

    def show(self):  # nukescripts.panels.PythonPanel.show: a floating panel
        self.floating = True
        return self._build()
