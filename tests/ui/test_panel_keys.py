"""Nuke's viewer keys, playback at the plate's rate, in/out run range, brush resize by drag, pixel
readout and the proxy badge (issue 19: 1, 6, 8) on the fake worker: none of these is about what the
worker returns beyond a frame."""
from __future__ import annotations

from ui.qt import QtCore, QtGui, QtWidgets

from tests.ui.conftest import drag


def _key(widget, key, mods=QtCore.Qt.NoModifier):
    from pytestqt.qtbot import QtBot
    QtBot.keyClick(widget, key, mods)


def test_channel_and_matte_keys_toggle_as_in_nuke(panel, qtbot):
    panel, _client = panel
    v = panel.viewer
    v.setFocus()
    _key(v, QtCore.Qt.Key_R)
    assert v.channel == "r"
    grey = v.shown_image()
    assert grey.format() == QtGui.QImage.Format_Grayscale8
    # the fake's frames hold frame % 256 in red: the red channel shown as grey is that value
    assert QtGui.qGray(grey.pixel(0, 0)) == panel.controller.current_frame % 256
    _key(v, QtCore.Qt.Key_R)
    assert v.channel == "rgb"
    _key(v, QtCore.Qt.Key_A)
    assert v.preview_mode == "alpha" and panel.controller.show_alpha
    _key(v, QtCore.Qt.Key_A)
    assert v.preview_mode == "masks"
    _key(v, QtCore.Qt.Key_M)
    assert v.preview_mode == "overlay"
    panel.tools.set_tool("eraser")
    _key(v, QtCore.Qt.Key_B)  # B is the blue channel, never the brush
    assert v.channel == "b" and v.tool == "eraser"
    _key(v, QtCore.Qt.Key_N)
    assert v.tool == "brush"


def test_left_right_step_frames_while_the_frame_box_has_focus(panel, qtbot):
    panel, _client = panel
    c = panel.controller
    c.set_frame(1004)
    panel.frame_box.setFocus()
    _key(panel.frame_box, QtCore.Qt.Key_Right)
    assert c.current_frame == 1005
    _key(panel.frame_box, QtCore.Qt.Key_Left)
    _key(panel.frame_box, QtCore.Qt.Key_Left)
    assert c.current_frame == 1003


def _frame_keys_move(panel, qtbot, widget):
    """Focus `widget`, press Right, Left, Left, End: the frame after each (frame 1004 at the start)."""
    c = panel.controller
    c.set_frame(1004)
    widget.setFocus()
    qtbot.waitUntil(widget.hasFocus, timeout=2000)
    frames = []
    for key in (QtCore.Qt.Key_Right, QtCore.Qt.Key_Left, QtCore.Qt.Key_Left, QtCore.Qt.Key_End):
        _key(widget, key)
        frames.append(c.current_frame)
    return frames


def test_frame_keys_work_in_fields_that_do_not_need_the_arrows(panel, qtbot):
    """Issue 19.6: Left/Right/End step frames from the frame box, a combo box, a slider, a button, a
    checkbox and the object list, as from the viewer; the field itself is left as it was."""
    panel, _client = panel
    panel.controller.add_object("hero")
    tools = panel.tools
    fields = {"viewer": panel.viewer, "frame box": panel.frame_box, "combo box": panel.display,
              "slider": tools.hardness, "button": panel.objects_box.add_button, "checkbox": tools.onion,
              "object list": panel.objects_box.list}
    for name, widget in fields.items():
        before = widget.value() if isinstance(widget, QtWidgets.QSlider) else None
        assert _frame_keys_move(panel, qtbot, widget) == [1005, 1004, 1003, 1010], name
        if before is not None:
            assert widget.value() == before  # the slider did not move
    assert panel.frame_box.value() == 1010


def test_text_fields_keep_left_right_for_their_cursor(panel, qtbot):
    """...but in a text field Left/Right/End move the text cursor and the frame stays (Nuke: the
    viewer's keys give way while a text entry is edited)."""
    panel, _client = panel
    run_box = panel.run_box
    run_box.output.setText("matte/{object}.####.exr")
    texts = {"text field": (run_box.output, run_box.output),
             "number box": (run_box.warmup, run_box.warmup.findChild(QtWidgets.QLineEdit)),
             "searchable menu": (panel.plate_colour, panel.plate_colour.lineEdit())}
    for name, (widget, line) in texts.items():
        line.setCursorPosition(1)
        assert _frame_keys_move(panel, qtbot, widget) == [1004] * 4, name
        assert line.cursorPosition() == len(line.text()), name  # Right, Left, Left, End: moved as text
        line.setCursorPosition(1)
        _key(widget, QtCore.Qt.Key_Right)
        assert line.cursorPosition() == 2, name


def test_playback_follows_the_plate_frame_rate_and_loops_over_in_out(panel, qtbot):
    panel, _client = panel
    c, play = panel.controller, panel.playback
    assert play.fps == 24.0  # the fake plate says 24 fps
    c.set_frame(1003)
    c.set_in_out("in")
    c.set_frame(1006)
    c.set_in_out("out")
    assert c.run_range == (1003, 1006) and panel.slider.run_range == (1003, 1006)
    c.set_frame(1003)
    play.play(1)
    # frame-rate aware: the frame due after t seconds is start + t*fps, wrapped over in..out
    assert play.frame_at(0.0) == 1003 and play.frame_at(1 / 24.0 + 1e-6) == 1004
    assert play.frame_at(4 / 24.0 + 1e-6) == 1003  # 1003, 1004, 1005, 1006, then 1003 again
    seen = set()
    c.subscribe(lambda e, p: seen.add(p) if e == "current_frame" else None)
    qtbot.waitUntil(lambda: seen >= {1004, 1005, 1006} and 1003 in seen, timeout=5000)
    assert seen <= {1003, 1004, 1005, 1006}
    panel.viewer.setFocus()
    _key(panel.viewer, QtCore.Qt.Key_K)
    assert play.direction == 0
    play.loop = False
    play.play(-1)
    assert play.frame_at(4 / 24.0 + 1e-6) is None  # backwards past the in point: stops
    play.stop()
    c.set_in_out("clear")
    assert c.run_range is None


def test_shift_or_ctrl_drag_resizes_the_brush_without_painting(panel, qtbot):
    panel, _client = panel
    v, c = panel.viewer, panel.controller
    panel.tools.set_tool("brush")
    panel.tools.size.setValue(10)
    v.set_zoom(2.0)
    for mods in (QtCore.Qt.ShiftModifier, QtCore.Qt.ControlModifier):
        start = v.to_widget(40, 30)
        drag(v, [start, start + QtCore.QPointF(20, 0)], mods=mods)
        assert c.keyframes() == []  # nothing painted
    assert panel.tools.size.value() == 30  # +10 plate px per drag at 2x zoom (20 widget px)


def test_pixel_readout_proxy_badge_and_slider_values(panel, qtbot):
    panel, client = panel
    c = panel.controller
    c.add_object("hero")
    c.set_frame(1004)
    v = panel.viewer
    from tests.ui.conftest import mouse
    mouse(v, "move", v.to_widget(10.5, 20.5), buttons=QtCore.Qt.NoButton)
    qtbot.waitUntil(lambda: "x 10  y 20" in panel.status.text(), timeout=5000)
    # the plate's value from the worker (the fake's red is frame % 256), not the viewer's display RGB
    assert panel.status.text() == ("frame 1004   x 10  y 20   RGB "
                                   f"{1004 % 256 / 255:.4f} {(10 * 255 // 95) / 255:.4f} {(20 * 255 // 63) / 255:.4f}"
                                   "   alpha hero none")
    assert client.calls_of("sample_pixel")[-1]["paths"] == {str(c.objects[0].id): c.alphas.patterns()[c.objects[0].id]}
    # throttled: a burst of moves sends a few requests, and the last position wins
    before = len(client.calls_of("sample_pixel"))
    for x in range(30, 60):
        c.pixels.hover(x, 5)
    qtbot.waitUntil(lambda: "x 59  y 5" in panel.status.text(), timeout=5000)
    assert len(client.calls_of("sample_pixel")) - before <= 3
    # the frame changes under a still cursor: the readout follows
    c.set_frame(1005)
    qtbot.waitUntil(lambda: panel.status.text().startswith("frame 1005   x 59  y 5"), timeout=5000)
    assert panel.tools.hardness.value_label.text() == f"{panel.tools.hardness.value()}%"
    panel.proxy.setCurrentIndex(panel.proxy.findData(2))
    image = panel.viewer.grab().toImage()
    assert c.downscale == 2
    # the badge is drawn at the top right in amber
    amber = [image.pixelColor(x, y) for x in range(image.width() - 120, image.width()) for y in range(6, 22)]
    assert any(p.red() > 200 and 150 < p.green() < 230 and p.blue() < 160 for p in amber)
