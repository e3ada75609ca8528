"""Painting, erasing, fill hole, SAM clicks and undo/redo, checked pixel by pixel."""
from __future__ import annotations

import math

import pytest
from ui.qt import QtCore, QtGui

from tests.ui.conftest import drag, mask_bytes, mouse


def _seg_dist(px, py, ax, ay, bx, by):
    dx, dy = bx - ax, by - ay
    t = max(0.0, min(1.0, ((px - ax) * dx + (py - ay) * dy) / float(dx * dx + dy * dy or 1)))
    return math.hypot(px - (ax + t * dx), py - (ay + t * dy))


def _stroke(panel, a, b, steps=6, mods=QtCore.Qt.NoModifier):
    v = panel.viewer
    pts = [v.to_widget(a[0] + (b[0] - a[0]) * i / steps, a[1] + (b[1] - a[1]) * i / steps) for i in range(steps + 1)]
    drag(v, pts, mods=mods)


@pytest.mark.parametrize("zoom,pan", [(None, (0, 0)), (2.5, (-40, 15)), (0.37, (13, -7))])
def test_brush_paints_exactly_where_drawn(panel, zoom, pan):
    panel, _client = panel
    v, c = panel.viewer, panel.controller
    if zoom:
        v.set_zoom(zoom)
    v.pan(*pan)
    panel.tools.set_tool("brush")
    panel.tools.size.setValue(6)
    panel.tools.hardness.setValue(100)
    a, b = (20.0, 20.0), (60.0, 30.0)
    _stroke(panel, a, b)
    obj = c.selected
    assert obj is not None and c.current_frame in obj.masks
    data = mask_bytes(obj.masks[c.current_frame])
    w, h = c.plate.width, c.plate.height
    inside = outside = 0
    for y in range(h):
        for x in range(w):
            d = _seg_dist(x + 0.5, y + 0.5, *a, *b)
            value = data[y * w + x]
            if d < 6 - 1.0:
                assert value == 255, (x, y, d, value)
                inside += 1
            elif d > 6 + 1.0:
                assert value == 0, (x, y, d, value)
                outside += 1
    assert inside > 300 and outside > 4000


def test_eraser_and_alt_brush_remove(panel):
    panel, _client = panel
    c = panel.controller
    panel.tools.size.setValue(10)
    panel.tools.hardness.setValue(100)
    _stroke(panel, (10, 30), (85, 30))
    mask = c.selected.masks[c.current_frame]
    assert mask_bytes(mask)[30 * 96 + 40] == 255
    panel.tools.set_tool("eraser")
    panel.tools.size.setValue(4)
    _stroke(panel, (40, 10), (40, 50))
    data = mask_bytes(c.selected.masks[c.current_frame])
    assert data[30 * 96 + 40] == 0 and data[30 * 96 + 20] == 255
    panel.tools.set_tool("brush")
    _stroke(panel, (60, 10), (60, 50), mods=QtCore.Qt.AltModifier)  # Alt paints away
    data = mask_bytes(c.selected.masks[c.current_frame])
    assert data[30 * 96 + 60] == 0 and data[30 * 96 + 70] == 255


def test_soft_brush_has_soft_edge(panel):
    panel, _client = panel
    c = panel.controller
    panel.tools.size.setValue(12)
    panel.tools.hardness.setValue(0)
    mouse(panel.viewer, "press", panel.viewer.to_widget(48, 32))
    mouse(panel.viewer, "release", panel.viewer.to_widget(48, 32))
    data = mask_bytes(c.selected.masks[c.current_frame])
    centre, edge = data[32 * 96 + 48], data[32 * 96 + 48 + 9]
    assert centre > 200 and 0 < edge < centre


def test_undo_redo_every_stroke(panel, qtbot):
    panel, _client = panel
    c = panel.controller
    panel.tools.size.setValue(5)
    panel.tools.hardness.setValue(100)
    frame = c.current_frame
    _stroke(panel, (10, 10), (30, 10))
    first = mask_bytes(c.selected.masks[frame])
    _stroke(panel, (10, 40), (30, 40))
    second = mask_bytes(c.selected.masks[frame])
    assert first != second
    assert panel.tools.undo_button.isEnabled() and "paint" in panel.tools.undo_button.text()
    c.undo()
    assert mask_bytes(c.selected.masks[frame]) == first
    c.undo()
    assert frame not in c.selected.masks  # the keyframe made by the first stroke goes with it
    assert not panel.tools.undo_button.isEnabled()
    c.redo()
    assert mask_bytes(c.selected.masks[frame]) == first
    c.redo()
    assert mask_bytes(c.selected.masks[frame]) == second
    # keyboard: Ctrl+Z / Ctrl+Shift+Z reach the same stacks
    panel.activateWindow()
    panel.viewer.setFocus()
    qtbot.keyClick(panel.viewer, QtCore.Qt.Key_Z, QtCore.Qt.ControlModifier)
    assert mask_bytes(c.selected.masks[frame]) == first
    qtbot.keyClick(panel.viewer, QtCore.Qt.Key_Z, QtCore.Qt.ControlModifier | QtCore.Qt.ShiftModifier)
    assert mask_bytes(c.selected.masks[frame]) == second
    c.undo()
    # a new stroke clears the redo stack
    _stroke(panel, (60, 50), (80, 50))
    assert c.redo() is None


def test_fill_hole_and_edge_refusal(panel):
    panel, _client = panel
    c = panel.controller
    panel.tools.size.setValue(3)
    panel.tools.hardness.setValue(100)
    for a, b in (((20, 15), (70, 15)), ((70, 15), (70, 50)), ((70, 50), (20, 50)), ((20, 50), (20, 15))):
        _stroke(panel, a, b)
    frame = c.current_frame
    assert mask_bytes(c.selected.masks[frame])[32 * 96 + 45] == 0
    panel.tools.set_tool("fill")
    mouse(panel.viewer, "press", panel.viewer.to_widget(45, 32))
    mouse(panel.viewer, "release", panel.viewer.to_widget(45, 32))
    data = mask_bytes(c.selected.masks[frame])
    assert all(data[y * 96 + x] == 255 for y in range(18, 48) for x in range(23, 68))
    assert data[5 * 96 + 5] == 0 and data[60 * 96 + 90] == 0  # outside the ring untouched
    c.undo()
    assert mask_bytes(c.selected.masks[frame])[32 * 96 + 45] == 0
    mouse(panel.viewer, "press", panel.viewer.to_widget(5, 5))  # background, not a hole
    mouse(panel.viewer, "release", panel.viewer.to_widget(5, 5))
    assert panel.error_bar.isVisible()
    assert "frame edge" in panel.error_bar.message.text()


@pytest.mark.parametrize("zoom,pan", [(None, (0, 0)), (3.0, (-120, -60)), (0.5, (25, 10))])
def test_sam_clicks_reach_worker_in_plate_pixels(panel, qtbot, zoom, pan):
    panel, client = panel
    v, c = panel.viewer, panel.controller
    if zoom:
        v.set_zoom(zoom)
    v.pan(*pan)
    panel.tools.set_tool("sam")
    mouse(v, "press", v.to_widget(30.5, 20.25))
    mouse(v, "release", v.to_widget(30.5, 20.25))
    qtbot.waitUntil(lambda: len(client.calls_of("sam_mask")) == 1 and bool(c.selected.masks), timeout=5000)
    assert client.calls_of("sam_embed")[0]["frame"] == c.current_frame
    call = client.calls_of("sam_mask")[0]
    assert call["handle"] == f"embed-{c.current_frame}"
    assert call["points_pos"] == [[pytest.approx(30.5, abs=0.02), pytest.approx(20.25, abs=0.02)]]
    assert call["points_neg"] == []
    qtbot.waitUntil(lambda: c.current_frame in c.selected.masks, timeout=5000)
    assert mask_bytes(c.selected.masks[c.current_frame])[20 * 96 + 30] == 255
    # right click subtracts, Alt+left subtracts too
    mouse(v, "press", v.to_widget(33, 22), QtCore.Qt.RightButton)
    mouse(v, "release", v.to_widget(33, 22), QtCore.Qt.RightButton)
    mouse(v, "press", v.to_widget(28, 18), mods=QtCore.Qt.AltModifier)
    mouse(v, "release", v.to_widget(28, 18), mods=QtCore.Qt.AltModifier)
    qtbot.waitUntil(lambda: len(client.calls_of("sam_mask")) == 3, timeout=5000)
    last = client.calls_of("sam_mask")[-1]
    assert last["points_pos"] == [[pytest.approx(30.5, abs=0.02), pytest.approx(20.25, abs=0.02)]]
    assert last["points_neg"] == [[pytest.approx(33, abs=0.02), pytest.approx(22, abs=0.02)],
                                  [pytest.approx(28, abs=0.02), pytest.approx(18, abs=0.02)]]
    assert len(client.calls_of("sam_embed")) == 1  # the embedding is reused
    qtbot.waitUntil(lambda: c.undo_labels()[0] == "subtract click", timeout=5000)
    # box drag
    drag(v, [v.to_widget(60, 40), v.to_widget(70, 45), v.to_widget(80, 55)])
    qtbot.waitUntil(lambda: "box" in client.calls_of("sam_mask")[-1], timeout=5000)
    assert client.calls_of("sam_mask")[-1]["box"] == [pytest.approx(60, abs=0.02), pytest.approx(40, abs=0.02),
                                                      pytest.approx(80, abs=0.02), pytest.approx(55, abs=0.02)]
    qtbot.waitUntil(lambda: c.undo_labels()[0] == "box", timeout=5000)
    assert mask_bytes(c.selected.masks[c.current_frame])[50 * 96 + 70] == 255
    # undo takes the box away, then the clicks, one at a time
    c.undo()
    assert c.sam_state().box is None
    assert mask_bytes(c.selected.masks[c.current_frame])[50 * 96 + 70] == 0
    c.undo()
    assert len(c.sam_state().points_neg) == 1
    c.redo()
    assert len(c.sam_state().points_neg) == 2


def test_clear_and_import_mask(panel, qtbot, tmp_path):
    panel, _client = panel
    c = panel.controller
    image = QtGui.QImage(96, 64, QtGui.QImage.Format_ARGB32)
    image.fill(QtGui.QColor(200, 10, 10, 0))
    painter = QtGui.QPainter(image)
    painter.fillRect(10, 12, 30, 20, QtGui.QColor(0, 0, 0, 255))  # the alpha is the mask, not the colour
    painter.end()
    path = str(tmp_path / "hero.1001.png")
    assert image.save(path)
    c.import_mask(path)
    qtbot.waitUntil(lambda: c.selected is not None and c.current_frame in c.selected.masks, timeout=5000)
    data = mask_bytes(c.selected.masks[c.current_frame])
    assert data[20 * 96 + 20] == 255 and data[40 * 96 + 60] == 0
    c.clear_mask()
    assert c.current_frame not in c.selected.masks
    c.undo()
    assert mask_bytes(c.selected.masks[c.current_frame])[20 * 96 + 20] == 255
    bad = str(tmp_path / "small.png")
    QtGui.QImage(10, 10, QtGui.QImage.Format_Grayscale8).save(bad)
    c.import_mask(bad)
    qtbot.waitUntil(panel.error_bar.isVisible, timeout=5000)
    assert "10x10" in panel.error_bar.message.text() and "96x64" in panel.error_bar.message.text()


def test_bracket_keys_resize_brush(panel, qtbot):
    panel, _client = panel
    panel.tools.size.setValue(20)
    panel.viewer.setFocus()
    qtbot.keyClick(panel.viewer, QtCore.Qt.Key_BracketRight)
    assert panel.viewer.brush_radius > 20
    qtbot.keyClick(panel.viewer, QtCore.Qt.Key_BracketLeft)
    qtbot.keyClick(panel.viewer, QtCore.Qt.Key_BracketLeft)
    assert panel.viewer.brush_radius < 20


def test_exr_mask_import_says_what_to_do(panel, qtbot, tmp_path):
    panel, client = panel
    path = str(tmp_path / "hero.exr")
    open(path, "wb").write(b"not really an exr")
    panel.controller.import_mask(path)
    qtbot.waitUntil(panel.error_bar.isVisible, timeout=5000)
    assert client.calls_of("read_mask")[0]["path"] == path
    assert "save the mask as a PNG" in panel.error_bar.message.text()
