"""Viewer navigation: F fits, the wheel zooms about the cursor, middle-drag pans, 1 is 100%."""
from __future__ import annotations

import pytest
from ui.qt import QtCore, QtGui, QtWidgets

from tests.ui.conftest import mouse


def _wheel(widget, pos, delta):
    pos = QtCore.QPointF(pos)
    event = QtGui.QWheelEvent(pos, QtCore.QPointF(widget.mapToGlobal(pos.toPoint())), QtCore.QPoint(0, 0),
                              QtCore.QPoint(0, delta), QtCore.Qt.NoButton, QtCore.Qt.NoModifier,
                              QtCore.Qt.NoScrollPhase, False)
    QtWidgets.QApplication.sendEvent(widget, event)


def test_wheel_zooms_about_the_cursor(panel):
    panel, _client = panel
    v = panel.viewer
    cursor = v.to_widget(70.25, 12.5)
    before = v.scale
    _wheel(v, cursor, 240)
    assert v.scale > before * 1.3
    under = v.to_plate(cursor)
    assert under.x() == pytest.approx(70.25, abs=1e-6) and under.y() == pytest.approx(12.5, abs=1e-6)
    _wheel(v, cursor, -480)
    assert v.scale < before


def test_middle_drag_pans_and_f_fits(panel, qtbot):
    panel, _client = panel
    v = panel.viewer
    fitted = (v.scale, v.offset.x(), v.offset.y())
    start = QtCore.QPointF(200, 200)
    mouse(v, "press", start, QtCore.Qt.MiddleButton)
    mouse(v, "move", QtCore.QPointF(260, 170), QtCore.Qt.MiddleButton, buttons=QtCore.Qt.MiddleButton)
    mouse(v, "release", QtCore.QPointF(260, 170), QtCore.Qt.MiddleButton)
    assert (v.offset.x() - fitted[1], v.offset.y() - fitted[2]) == (pytest.approx(60), pytest.approx(-30))
    assert panel.controller.selected is None  # panning painted nothing
    panel.activateWindow()
    v.setFocus()
    qtbot.keyClick(v, QtCore.Qt.Key_1)  # "1" is Nuke's viewer input 1: it no longer zooms
    assert v.scale == pytest.approx(fitted[0])
    qtbot.keyClick(v, QtCore.Qt.Key_1, QtCore.Qt.ControlModifier)
    assert v.scale == pytest.approx(1.0)
    qtbot.keyClick(v, QtCore.Qt.Key_F)
    assert (v.scale, v.offset.x(), v.offset.y()) == pytest.approx(fitted)
    assert panel.zoom_label.text() == f"{fitted[0] * 100:.0f}%"
