"""Panel fixtures: a Panel over the fake worker client with a small plate open."""
from __future__ import annotations

import os

import pytest

pytest.importorskip("pytestqt")

from ui.qt import QtCore, QtGui, QtWidgets  # noqa: E402

from tests.ui.fakes import FakeWorkerClient  # noqa: E402


def make_panel(qtbot, host=None, **fake_kw):
    from ui.panel.widgets import Panel
    holder = {}

    def factory(on_notification):
        holder["client"] = FakeWorkerClient(on_notification, **fake_kw)
        return holder["client"]
    panel = Panel(host=host, client_factory=factory)
    qtbot.addWidget(panel)
    panel.resize(1000, 640)
    panel.show()
    return panel, holder


def open_fake_plate(qtbot, panel, holder, path=None):
    """Open a fake plate; by default in a fresh temporary folder (a run writes its shot file beside it)."""
    import tempfile
    path = path or os.path.join(tempfile.mkdtemp(prefix="ui-test-"), "sh010", "plates", "sh010.####.exr")
    panel.controller.open_plate(path)
    qtbot.waitUntil(lambda: panel.viewer.image is not None, timeout=10000)
    return holder["client"]


@pytest.fixture
def panel(qtbot):
    panel, holder = make_panel(qtbot)
    client = open_fake_plate(qtbot, panel, holder)
    yield panel, client
    panel.controller.close()


def mouse(widget, kind, pos, button=QtCore.Qt.LeftButton, buttons=None, mods=QtCore.Qt.NoModifier):
    """Send one mouse event at widget position `pos` (QPointF) with the buttons held."""
    types = {"press": QtCore.QEvent.MouseButtonPress, "move": QtCore.QEvent.MouseMove,
             "release": QtCore.QEvent.MouseButtonRelease}
    if buttons is None:
        buttons = QtCore.Qt.NoButton if kind == "release" else button
    if kind == "move" and buttons == QtCore.Qt.NoButton:
        button = QtCore.Qt.NoButton
    pos = QtCore.QPointF(pos)
    event = QtGui.QMouseEvent(types[kind], pos, QtCore.QPointF(widget.mapToGlobal(pos.toPoint())),
                              button, buttons, mods)
    QtWidgets.QApplication.sendEvent(widget, event)


def drag(widget, points, button=QtCore.Qt.LeftButton, mods=QtCore.Qt.NoModifier):
    mouse(widget, "press", points[0], button, mods=mods)
    for p in points[1:]:
        mouse(widget, "move", p, button, buttons=button, mods=mods)
    mouse(widget, "release", points[-1], button, mods=mods)


def mask_bytes(image):
    from ui.panel.maskimage import tight_bytes
    return tight_bytes(image)


REPO_ROOT = str(__import__("pathlib").Path(__file__).resolve().parents[2])
