"""The panel against the REAL worker process (`python -m plugin worker`) on stand-in weights:
frames, a SAM click, run with progress and previews, and cancel."""
from __future__ import annotations

import glob
import importlib.util
import os

import pytest
from ui.qt import QtCore, QtGui

from tests.ui.conftest import drag, mouse
from tests.ui.test_panel_run import StallProbe

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("plugin.worker") is None or importlib.util.find_spec("plugin.client") is None,
    reason="plugin.worker / plugin.client not in this checkout (the worker is what these tests drive)")


def _plate(folder, frames):
    """A display-referred PNG sequence: a light box sliding over a dark background."""
    os.makedirs(folder, exist_ok=True)
    for f in range(1, frames + 1):
        img = QtGui.QImage(96, 64, QtGui.QImage.Format_RGB888)
        img.fill(QtGui.QColor(40, 60, 80))
        p = QtGui.QPainter(img)
        p.fillRect(20 + f, 16, 40, 30, QtGui.QColor(220, 200, 180))
        p.end()
        assert img.save(os.path.join(folder, f"sh040.{f:04d}.png"))
    return os.path.join(folder, "sh040.####.png")


def _open(qtbot, tmp_path, frames):
    from ui.panel.widgets import Panel
    panel = Panel()
    qtbot.addWidget(panel)
    panel.resize(1000, 640)
    panel.show()
    c = panel.controller
    c.sam_model = "stand-in"
    c.run_settings.weights = "stand-in"
    c.run_settings.device = "cpu"
    c.run_settings.warmup = 2
    c.run_settings.dilate = c.run_settings.erode = 0
    panel.run_box.load_settings()
    c.open_plate(_plate(str(tmp_path / "plates"), frames))
    qtbot.waitUntil(lambda: panel.viewer.image is not None, timeout=120000)
    return panel, c


def _paint(panel):
    v = panel.viewer
    panel.tools.set_tool("brush")
    panel.tools.size.setValue(8)
    panel.tools.hardness.setValue(100)
    drag(v, [v.to_widget(30, 25), v.to_widget(45, 30), v.to_widget(55, 35)])


def test_real_worker_frames_sam_run_and_progress(qtbot, tmp_path):
    panel, c = _open(qtbot, tmp_path, 6)
    try:
        assert c.plate.frames == [1, 2, 3, 4, 5, 6] and (c.plate.width, c.plate.height) == (96, 64)
        # the worker's display transform of a display-referred PNG: the dark background stays dark
        assert QtGui.qGray(panel.viewer.image.pixel(2, 2)) < 90
        qtbot.waitUntil(lambda: panel.display.count() > 1, timeout=30000)  # OCIO displays from the worker
        c.set_frame(3)
        qtbot.waitUntil(lambda: panel.viewer.image_frame == 3, timeout=30000)
        # a SAM click on stand-in SAM weights comes back as a keyframe mask
        panel.tools.set_tool("sam")
        mouse(panel.viewer, "press", panel.viewer.to_widget(40, 30))
        mouse(panel.viewer, "release", panel.viewer.to_widget(40, 30))
        qtbot.waitUntil(lambda: c.undo_labels()[0] == "add click", timeout=120000)
        assert 3 in c.selected.masks and c.selected.masks[3].size() == QtCore.QSize(96, 64)
        c.clear_mask()
        c.set_frame(1)
        _paint(panel)
        probe = StallProbe()
        panel.run_box.run_button.click()
        qtbot.waitUntil(lambda: not c.running, timeout=240000)
        stall = probe.stop()
        print(f"\nmax UI event-loop stall during a real-worker run: {stall * 1000:.1f} ms")
        assert not panel.error_bar.isVisible(), panel.error_bar.message.text()
        assert panel.run_box.progress.text().startswith("finished")
        assert c.last_progress["total"] >= 6 and c.last_progress["done"] == c.last_progress["total"]
        assert len(c.previews) >= 1
        out = c.last_outputs["object1"]
        assert len(glob.glob(out.replace("####", "[0-9]" * 4))) == 6
    finally:
        c.close()


def test_real_worker_cancel(qtbot, tmp_path):
    panel, c = _open(qtbot, tmp_path, 40)
    try:
        _paint(panel)
        panel.run_box.run_button.click()
        qtbot.waitUntil(lambda: c.last_progress.get("done", 0) >= 2, timeout=240000)
        panel.run_box.cancel_button.click()
        qtbot.waitUntil(lambda: not c.running, timeout=120000)
        assert panel.run_box.progress.text().startswith("cancelled"), panel.run_box.progress.text()
        assert not panel.error_bar.isVisible(), panel.error_bar.message.text()
        assert c.last_progress["done"] < 40
    finally:
        c.close()
