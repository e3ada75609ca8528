"""The panel's keys, listed once (the help dialog and README read `SHORTCUTS`) and bound once.

Where Nuke's viewer has a key for the same thing, it is Nuke's key (`nuke=True` in the table):
R/G/B/A channels, M matte overlay, J/K/L playback, I/O in and out, F fit, Left/Right frames.
"""
from __future__ import annotations

from ui.qt import QShortcut, QtCore, QtGui

# (keys, what it does, same as Nuke's viewer)
SHORTCUTS = (
    ("F", "Fit the plate in the viewer", True),
    ("Ctrl+1", "Zoom to 100% (one plate pixel per screen pixel)", False),
    ("Mouse wheel / Middle-drag", "Zoom at the cursor / pan", True),
    ("R / G / B", "Show the plate's red / green / blue channel (again: back to RGB)", True),
    ("A", "Show the alpha (again: back to the masks)", True),
    ("M", "Matte overlay: the alpha tinted over the plate (again: back to the masks)", True),
    ("L / J / K", "Play forwards / play backwards / stop, at the plate's frame rate", True),
    ("Space", "Play or stop", False),
    ("Left / Right", "Previous / next frame wherever the focus is, except while typing in a text field", True),
    ("Up / Down", "Next / previous keyframe (in the frame box: next / previous frame)", False),
    ("Home / End", "First / last frame (in the frame box too)", False),
    ("I / O", "Set the in / out point of the run range at this frame", True),
    ("Alt+I / Alt+O", "Clear the run range (run every frame)", False),
    ("N / E / Shift+F / S", "Brush / Eraser / Fill hole / Smart select (SAM) tool", False),
    ("Shift-drag (RotoPaint) or Ctrl-drag, [ / ]", "Resize the brush (drag left/right) / smaller, larger", True),
    ("Left-click / Right- or Alt-click", "Smart select: add / subtract; drag for a box", False),
    ("Ctrl+Z / Ctrl+Shift+Z (Ctrl+Y)", "Undo / redo the last stroke, click or object removal", True),
    ("Ctrl+N", "Add an object", False),
    ("Ctrl+Return", "Run", False),
    ("Esc", "Cancel the run (or dismiss an error)", False),
)


def bind(panel) -> list:
    """QShortcuts of the panel (active while the focus is anywhere inside it)."""
    c, tools, viewer, play = panel.controller, panel.tools, panel.viewer, panel.playback

    def key(seq, fn):
        sc = QShortcut(QtGui.QKeySequence(seq), panel)
        sc.setContext(QtCore.Qt.WidgetWithChildrenShortcut)
        sc.activated.connect(fn)
        return sc
    return [
        key("F", viewer.fit), key("Ctrl+1", lambda: viewer.set_zoom(1.0)),
        key("R", lambda: viewer.toggle_channel("r")), key("G", lambda: viewer.toggle_channel("g")),
        key("B", lambda: viewer.toggle_channel("b")), key("A", lambda: panel.toggle_matte_view("alpha")),
        key("M", lambda: panel.toggle_matte_view("overlay")),
        key("L", lambda: play.play(1)), key("J", lambda: play.play(-1)), key("K", play.stop),
        key("Space", lambda: play.toggle(1)),
        key("I", lambda: c.set_in_out("in")), key("O", lambda: c.set_in_out("out")),
        key("Alt+I", lambda: c.set_in_out("clear")), key("Alt+O", lambda: c.set_in_out("clear")),
        key("N", lambda: tools.set_tool("brush")), key("E", lambda: tools.set_tool("eraser")),
        key("Shift+F", lambda: tools.set_tool("fill")), key("S", lambda: tools.set_tool("sam")),
        key("[", lambda: tools.resize_brush(1 / 1.25)), key("]", lambda: tools.resize_brush(1.25)),
        key(QtGui.QKeySequence.Undo, c.undo), key("Ctrl+Shift+Z", c.redo), key("Ctrl+Y", c.redo),
        key("Left", lambda: c.step_frame(-1)), key("Right", lambda: c.step_frame(1)),
        key("Up", lambda: c.jump_keyframe(1)), key("Down", lambda: c.jump_keyframe(-1)),
        key("Home", lambda: c.step_frame(-10 ** 9)), key("End", lambda: c.step_frame(10 ** 9)),
        key("Ctrl+N", lambda: c.add_object()), key("Ctrl+Return", panel.run_box.run_clicked),
        key("Escape", panel.escape),
    ]


class FrameKeys(QtCore.QObject):
    """The frame box is a frame field, not text: Left/Right step frames and Home/End go to the
    first/last frame while it has the focus (its Up/Down stay the spin box's +-1 frame).

    Other widgets need no filter: a QShortcut wins over a widget that does not claim the key
    (combo box, slider, button, checkbox, list), and text fields (line edits, the run box's number
    boxes, the searchable colourspace menu) claim Left/Right/Home/End for their cursor, as Nuke's
    viewer keys give way while a text entry is edited.
    """

    STEPS = {QtCore.Qt.Key_Left: -1, QtCore.Qt.Key_Right: 1, QtCore.Qt.Key_Home: -10 ** 9,
             QtCore.Qt.Key_End: 10 ** 9}

    def __init__(self, controller, parent=None):
        super().__init__(parent)
        self.controller = controller

    def eventFilter(self, obj, event):  # noqa: N802 - Qt's name
        if event.type() in (QtCore.QEvent.ShortcutOverride, QtCore.QEvent.KeyPress) and \
                event.key() in self.STEPS and not event.modifiers():
            if event.type() == QtCore.QEvent.KeyPress:
                self.controller.step_frame(self.STEPS[event.key()])
            event.accept()
            return True
        return False
