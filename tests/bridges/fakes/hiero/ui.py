"""Fake `hiero.ui` (Hiero Python reference, api_ui.html: activeSequence, getTimelineEditor,
currentViewer, menuBar, windowManager). `fake_*` names are test controls."""

state = {"sequence": None, "selection": [], "time": 0, "menubar": None, "windows": []}


class TimelineEditor(object):  # hiero.ui.TimelineEditor
    def selection(self):  # hiero.ui.TimelineEditor.selection
        return list(state["selection"])


class Viewer(object):  # hiero.ui.Viewer
    def time(self):  # hiero.ui.Viewer.time
        return state["time"]


class WindowManager(object):  # hiero.ui.WindowManager
    def addWindow(self, widget):  # hiero.ui.WindowManager.addWindow
        state["windows"].append(widget)


def activeSequence():  # hiero.ui.activeSequence
    return state["sequence"]


def getTimelineEditor(sequence):  # hiero.ui.getTimelineEditor
    return TimelineEditor()


def currentViewer():  # hiero.ui.currentViewer
    return Viewer()


def menuBar():  # hiero.ui.menuBar: Nuke Studio's QMenuBar
    if state["menubar"] is None:
        from ui.qt import QtWidgets
        state["menubar"] = QtWidgets.QMenuBar()
    return state["menubar"]


def windowManager():  # hiero.ui.windowManager
    return WindowManager()
