"""Masks are always drawn on top with an outline, in every view mode (issue 19: 3, 8); object colours
stay away from skin tones and the UI accent. On the fake worker: drawing is the panel's own."""
from __future__ import annotations

from ui.qt import QtGui

from tests.ui.conftest import drag


def _near(colour: QtGui.QColor, hex_colour: str, tol: int = 60) -> bool:
    want = QtGui.QColor(hex_colour)
    return all(abs(a - b) <= tol for a, b in ((colour.red(), want.red()), (colour.green(), want.green()),
                                                 (colour.blue(), want.blue())))


def test_a_stroke_shows_in_every_view_mode_after_a_run(panel, qtbot):
    panel, _client = panel
    c, v = panel.controller, panel.viewer
    drag(v, [v.to_widget(20, 20), v.to_widget(30, 22)])
    panel.run_box.run_button.click()
    qtbot.waitUntil(lambda: not c.running, timeout=10000)
    assert v.preview_mode == "overlay"  # Run switched to the matte view and stays there
    c.set_frame(1005)
    qtbot.waitUntil(lambda: v.image_frame == 1005 and c.alphas.get(1005) is not None, timeout=5000)
    panel.tools.set_tool("brush")
    panel.tools.size.setValue(6)
    panel.tools.hardness.setValue(100)
    drag(v, [v.to_widget(80, 50), v.to_widget(90, 50)])  # a correction at 1005, outside the fake's alpha box
    colour = c.selected.colour
    for mode in ("overlay", "alpha", "checker", "masks"):
        panel.run_box.set_preview_mode(mode)
        image = v.grab().toImage()
        edge = v.to_widget(85, 50 - 5.5)  # the stroke's top edge: its outline, in the object's colour
        pixels = [image.pixelColor(int(edge.x()) + dx, int(edge.y()) + dy) for dx in (-1, 0, 1) for dy in (-1, 0, 1)]
        assert any(_near(p, colour, 70) for p in pixels), (mode, [p.name() for p in pixels])


def test_outline_is_the_edge_only():
    from ui.panel import maskimage
    mask = QtGui.QImage(20, 10, maskimage.GREY)
    mask.fill(0)
    p = QtGui.QPainter(mask)
    p.fillRect(5, 2, 8, 6, QtGui.QColor(255, 255, 255))
    p.end()
    layer = maskimage.outline(mask, QtGui.QColor("#2ee6ff"))
    alpha = [[QtGui.QColor.fromRgba(layer.pixel(x, y)).alpha() for x in range(20)] for y in range(10)]
    assert alpha[2][8] > 200 and alpha[7][8] > 200 and alpha[4][5] > 200 and alpha[4][12] > 200  # the edge
    assert alpha[4][8] == 0 and alpha[0][0] == 0 and alpha[4][14] == 0  # inside and outside: nothing


def test_default_object_colours_stay_away_from_skin_and_the_ui_accent():
    from ui.panel.model import PALETTE
    for colour in PALETTE:
        hue = QtGui.QColor(colour).hsvHue()
        assert not 0 <= hue <= 50, colour  # skin tones and the panel's orange highlight (hue ~33)
