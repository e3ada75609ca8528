"""Frames, keyframe ticks, run/cancel/progress/preview, errors, host hand-off and the shot file,
against the fake worker client (tests/ui/fakes.py)."""
from __future__ import annotations

import json
import os
import time

import pytest
from ui.qt import QtCore, QtGui

from tests.ui.conftest import drag, make_panel, mask_bytes, open_fake_plate


def _paint(panel, a=(30, 20), b=(60, 40), radius=6):
    v = panel.viewer
    panel.tools.set_tool("brush")
    panel.tools.size.setValue(radius)
    panel.tools.hardness.setValue(100)
    drag(v, [v.to_widget(*a), v.to_widget((a[0] + b[0]) / 2, (a[1] + b[1]) / 2), v.to_widget(*b)])


class StallProbe:
    """Measures the longest gap between 5 ms timer ticks: how long the UI thread was blocked."""

    def __init__(self):
        self.max_gap = 0.0
        self._last = time.perf_counter()
        self.timer = QtCore.QTimer()
        self.timer.setInterval(5)
        self.timer.timeout.connect(self._tick)
        self.timer.start()

    def _tick(self):
        now = time.perf_counter()
        self.max_gap = max(self.max_gap, now - self._last)
        self._last = now

    def stop(self):
        self.timer.stop()
        return self.max_gap


def test_frames_are_source_numbers_and_decoded_off_the_ui_thread(panel, qtbot):
    panel, client = panel
    c = panel.controller
    assert panel.slider.frames[0] == 1001 and panel.slider.frames[-1] == 1010
    c.set_frame(1007)
    qtbot.waitUntil(lambda: panel.viewer.image_frame == 1007, timeout=5000)
    assert QtGui.QColor(panel.viewer.image.pixel(0, 0)).red() == 1007 % 256
    assert panel.frame_box.value() == 1007
    # neighbours are prefetched, so the next frame is shown from the cache at once
    qtbot.waitUntil(lambda: c.frame_cache.get(1008) is not None, timeout=5000)
    c.step_frame(1)
    assert panel.viewer.image_frame == 1008
    assert panel.display.count() == 1 and panel.display.currentText() == "sRGB"
    assert [panel.view.itemText(i) for i in range(panel.view.count())] == ["ACES 1.0 - SDR Video", "Un-tone-mapped"]
    panel.exposure.setValue(1.5)
    bright = lambda: [p["frame"] for p in client.calls_of("read_frame") if p.get("exposure") == 1.5]  # noqa: E731
    qtbot.waitUntil(lambda: bool(bright()), timeout=5000)
    assert bright()[0] == 1008  # the frame on screen first, then its neighbours


def test_keyframe_ticks(panel, qtbot):
    panel, _client = panel
    c = panel.controller
    _paint(panel)
    c.set_frame(1006)
    qtbot.waitUntil(lambda: panel.viewer.image_frame == 1006, timeout=5000)
    _paint(panel, (10, 10), (20, 20))
    colour = c.selected.colour
    assert panel.slider.marks == [(1001, colour), (1006, colour)]
    other = c.add_object("prop")
    _paint(panel, (70, 40), (80, 50))
    assert (1006, other.colour) in panel.slider.marks and len(panel.slider.marks) == 3
    image = panel.slider.grab().toImage()
    x = int(round(panel.slider.tick_x(1001)))
    assert QtGui.QColor(image.pixel(x, 8)).name() == colour
    c.set_visible(other.id, False)
    assert len(panel.slider.marks) == 2
    c.jump_keyframe(-1)
    assert c.current_frame == 1001
    c.jump_keyframe(1)
    assert c.current_frame == 1006


def test_run_progress_preview_and_shot_file(qtbot, tmp_path):
    panel, holder = make_panel(qtbot, frame_delay=0.03)
    plate = tmp_path / "plates" / "sh010.####.exr"
    open_fake_plate(qtbot, panel, holder, str(plate))
    c = panel.controller
    _paint(panel)
    c.rename_object(c.selected.id, "hero")
    probe = StallProbe()
    panel.run_box.run_button.click()
    qtbot.waitUntil(lambda: c.running and c.last_progress.get("done", 0) >= 3, timeout=10000)
    assert panel.run_box.cancel_button.isEnabled() and not panel.run_box.run_button.isEnabled()
    assert "fps" in panel.run_box.rate.text() and "ETA" in panel.run_box.rate.text()
    assert panel.viewer.preview_mode == "overlay"
    qtbot.waitUntil(lambda: not c.running, timeout=20000)
    stall = probe.stop()
    print(f"\nmax UI event-loop stall during a fake run: {stall * 1000:.1f} ms")
    assert panel.run_box.progress.value() == panel.run_box.progress.maximum() == 10
    assert panel.run_box.progress.text().startswith("finished")
    assert panel.run_box.run_button.isEnabled()
    qtbot.waitUntil(lambda: len(c.previews) == 10, timeout=5000)
    assert c.current_frame == 1010  # the viewer followed the run
    # the shot file: DESIGN's v1 keys in DESIGN's order, paths relative to it, masks written
    shot_path = holder["client"].calls_of("run_shot")[0]["shot_path"]
    assert shot_path == str(tmp_path / "plates" / "sh010.matanyone.json")
    data = json.loads(open(shot_path).read())
    assert list(data) == ["version", "plate", "network_input", "objects", "mask_cleanup", "engine", "output",
                          "direction"]
    assert list(data["plate"]) == ["path", "first", "last", "colourspace", "ocio_config", "frame_offset"]
    assert list(data["engine"]) == ["weights", "warmup", "mem_every", "max_mem_frames", "top_k", "precision",
                                    "device", "max_internal_size"]
    assert data["plate"]["path"] == "sh010.####.exr" and data["plate"]["first"] == 1001
    assert data["output"]["path"] == "matte/sh010_{object}.####.exr"
    obj = data["objects"][0]
    assert obj["name"] == "hero" and list(obj["keyframes"]) == ["1001"]
    mask = QtGui.QImage(os.path.join(os.path.dirname(shot_path), obj["keyframes"]["1001"]))
    assert mask.width() == 96 and QtGui.qGray(mask.pixel(45, 30)) == 255 and QtGui.qGray(mask.pixel(5, 60)) == 0
    try:
        from plugin.shot import Shot
    except ImportError:
        return
    shot = Shot.load(shot_path)  # the pipeline reads what the panel writes
    assert shot.objects[0].name == "hero" and 1001 in shot.objects[0].keyframes
    # alpha-only and checkerboard previews draw without the plate hiding them
    panel.run_box.set_preview_mode("alpha")
    grab = panel.viewer.grab().toImage()
    centre = panel.viewer.to_widget(48, 32)
    assert QtGui.qGray(grab.pixel(int(centre.x()), int(centre.y()))) > 240
    corner = panel.viewer.to_widget(3, 3)
    assert QtGui.qGray(grab.pixel(int(corner.x()), int(corner.y()))) < 15
    panel.run_box.set_preview_mode("checker")
    grab = panel.viewer.grab().toImage()
    assert QtGui.QColor(grab.pixel(int(corner.x()), int(corner.y()))).name() in ("#666666", "#999999")
    panel.controller.close()


def test_cancel(qtbot):
    panel, holder = make_panel(qtbot, frame_delay=0.15)
    open_fake_plate(qtbot, panel, holder)
    c = panel.controller
    _paint(panel)
    panel.run_box.run_button.click()
    qtbot.waitUntil(lambda: c.last_progress.get("done", 0) >= 1, timeout=10000)
    panel.run_box.cancel_button.click()
    assert panel.run_box.progress.text().startswith("cancelling")
    qtbot.waitUntil(lambda: not c.running, timeout=10000)
    assert ("cancel", {}) in holder["client"].calls
    assert panel.run_box.progress.text().startswith("cancelled")
    assert c.last_progress["done"] < 10
    assert not panel.error_bar.isVisible()  # a cancel is not an error
    assert panel.run_box.run_button.isEnabled()
    panel.controller.close()


def test_errors_show_one_sentence_with_details(qtbot):
    panel, holder = make_panel(qtbot, fail={"run_shot": "weights file matanyone.pth not found: place it in "
                                                         "/studio/weights or run `matanyone-plugin weights get "
                                                         "matanyone`"})
    c = panel.controller
    # nothing open yet: Run is greyed out and says why; the key (Ctrl+Return) still explains in one line
    assert not panel.run_box.run_button.isEnabled()
    assert "open a plate" in panel.run_box.run_button.toolTip().lower()
    panel.run_box.run_clicked()
    assert panel.error_bar.isVisible() and "open a plate" in panel.error_bar.message.text().lower()
    open_fake_plate(qtbot, panel, holder)
    assert not panel.error_bar.isVisible()
    panel.run_box.run_button.click()  # no mask yet
    assert "paint or click a mask" in panel.error_bar.message.text().lower()
    _paint(panel)
    panel.run_box.run_button.click()
    qtbot.waitUntil(lambda: "matanyone.pth" in panel.error_bar.message.text(), timeout=10000)
    text = panel.error_bar.message.text()
    assert "\n" not in text and text.endswith(".")
    assert not c.running and panel.run_box.progress.text().startswith("failed")
    assert panel.viewer.preview_mode == "masks"
    assert panel.error_bar.toggle.isVisible() and not panel.error_bar.details.isVisible()
    panel.error_bar.toggle.click()
    assert panel.error_bar.details.isVisible() and "run" in panel.error_bar.details.toPlainText()
    panel.error_bar.close_button.click()
    assert not panel.error_bar.isVisible()
    panel.controller.close()


def test_worker_that_cannot_start(qtbot):
    from ui.panel.widgets import Panel

    class Broken(Exception):
        user_error = True

    def factory(_cb):
        raise Broken("no worker interpreter is set: point MATANYONE_PLUGIN_PYTHON at the product's python")
    panel = Panel(client_factory=factory)
    qtbot.addWidget(panel)
    panel.show()
    panel.controller.open_plate("/x/y.####.exr")
    qtbot.waitUntil(panel.error_bar.isVisible, timeout=5000)
    assert "MATANYONE_PLUGIN_PYTHON" in panel.error_bar.message.text()


class FakeHost:
    name = "fake"

    def __init__(self, plate_ref):
        self.ref = plate_ref
        self.brought_back = []

    def selected_plate(self):
        return self.ref

    def frame_range(self):
        return (self.ref.first, self.ref.last)

    def current_frame(self):
        return self.ref.first

    def bring_back(self, alpha_patterns, plate, shot_path):
        self.brought_back.append((alpha_patterns, plate, shot_path))


def test_host_use_selected_and_bring_back(qtbot, tmp_path):
    from ui.host import PlateRef
    ref = PlateRef(path=str(tmp_path / "sh020.####.exr"), first=1003, last=1006, colourspace="ACEScg",
                   frame_offset=-1000, label="Read1")
    host = FakeHost(ref)
    panel, holder = make_panel(qtbot, host=host)
    assert panel.use_selected.isVisibleTo(panel)
    panel.use_selected.click()
    qtbot.waitUntil(lambda: panel.viewer.image is not None, timeout=5000)
    client = holder["client"]
    assert client.calls_of("open_plate")[0] == {"path": ref.path, "colourspace": "ACEScg"}
    assert panel.controller.plate.frames == [1003, 1004, 1005, 1006]  # the host's range
    _paint(panel)
    panel.run_box.run_button.click()
    qtbot.waitUntil(lambda: bool(host.brought_back), timeout=10000)
    patterns, plate, shot_path = host.brought_back[0]
    assert patterns == {"object1": str(tmp_path / "matte" / "sh020_object1.####.exr")} and plate is ref
    assert json.load(open(shot_path))["plate"]["frame_offset"] == -1000
    panel.controller.close()


def test_shot_save_and_load_round_trip(qtbot, tmp_path):
    panel, holder = make_panel(qtbot)
    open_fake_plate(qtbot, panel, holder, str(tmp_path / "sh030.####.exr"))
    c = panel.controller
    _paint(panel)
    c.rename_object(c.selected.id, "hero")
    c.set_colour(c.selected.id, "#10ff20")
    c.run_settings.warmup = 4
    saved = []
    shot = str(tmp_path / "work" / "sh030.json")
    c.save_shot(shot, then=saved.append)
    qtbot.waitUntil(lambda: bool(saved), timeout=5000)
    painted = mask_bytes(c.selected.masks[1001])
    panel.controller.close()
    panel2, holder2 = make_panel(qtbot)
    c2 = panel2.controller
    loaded = []
    c2.subscribe(lambda event, payload: loaded.append(payload) if event == "shot_loaded" else None)
    c2.load_shot(shot)
    qtbot.waitUntil(lambda: bool(loaded), timeout=5000)
    assert [o.name for o in c2.objects] == ["hero"] and c2.objects[0].colour == "#10ff20"
    assert mask_bytes(c2.objects[0].masks[1001]) == painted
    assert c2.run_settings.warmup == 4 and panel2.run_box.warmup.value() == 4
    assert holder2["client"].calls_of("open_plate")[0]["path"] == str(tmp_path / "sh030.####.exr")
    c2.load_shot(str(tmp_path / "missing.json"))
    assert "shot file not found" in panel2.error_bar.message.text().lower()
    panel2.controller.close()


@pytest.mark.parametrize("name", ["object1", "  "])
def test_rename_refuses_duplicates(panel, name):
    panel, _client = panel
    c = panel.controller
    a = c.add_object()
    b = c.add_object()
    c.rename_object(b.id, name)
    assert b.name == "object2"
    if name.strip():
        assert "already called" in panel.error_bar.message.text()
    assert a.name == "object1"
