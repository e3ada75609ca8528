"""Render the app in each state to PNG (offscreen) for the README: `python -m tests.ui.screenshots OUTDIR`.

Uses the fake worker's painted street scene (tests/ui/fakes.py) so the pictures show what an
artist sees: empty, plate loaded, mask painted, running, finished (alpha and checkerboard), error.
"""
from __future__ import annotations

import os
import sys
import tempfile
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

STATES = ("empty", "plate", "mask", "running", "finished_checker", "finished_alpha", "error")


def render(outdir: str) -> list:
    from ui.qt import QtCore, QtWidgets
    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication([sys.argv[0]])
    app.setStyle("Fusion")
    from ui.app.window import MainWindow, dark_palette
    from ui.panel.widgets import Panel
    from tests.ui.fakes import FakeWorkerClient
    app.setPalette(dark_palette())
    holder = {}

    def factory(cb):
        holder["c"] = FakeWorkerClient(cb, width=960, height=540, frames=range(1001, 1049), frame_delay=0.01,
                                       scene=True, displays={"sRGB - Display": ["ACES 2.0 - SDR 100 nits (Rec.709)",
                                                                                "Un-tone-mapped", "Raw"]})
        return holder["c"]

    def pump(seconds=0.3, until=None, timeout=20.0):
        end = time.time() + timeout
        stop = time.time() + seconds
        while time.time() < (end if until else stop):
            app.processEvents()
            if until and until():
                break
            time.sleep(0.005)
        for _ in range(5):
            app.processEvents()

    settings = QtCore.QSettings(os.path.join(tempfile.mkdtemp(), "app.ini"), QtCore.QSettings.IniFormat)
    panel = Panel(client_factory=factory)
    win = MainWindow(panel=panel, settings=settings)
    win.resize(1440, 860)
    win.show()
    os.makedirs(outdir, exist_ok=True)
    written = []

    def shot(name):
        pump(0.2)
        path = os.path.join(outdir, name + ".png")
        win.grab().save(path)
        written.append(path)

    shot("empty")
    c = panel.controller
    work = tempfile.mkdtemp(prefix="screenshots-")  # the run writes its shot file and masks here
    c.open_plate(os.path.join(work, "sh010", "plates", "sh010.####.exr"))
    pump(until=lambda: panel.viewer.image is not None)
    c.set_frame(1012)
    pump(until=lambda: panel.viewer.image_frame == 1012)
    shot("plate")

    c.add_object("hero")
    panel.tools.set_tool("sam")
    v = panel.viewer
    from tests.ui.conftest import drag, mouse
    for x, y in ((415, 260), (400, 380)):
        mouse(v, "press", v.to_widget(x, y))
        mouse(v, "release", v.to_widget(x, y))
    pump(until=lambda: c.undo_labels()[0] == "add click" and len(c.sam_state().points_pos) == 2)
    pump(until=lambda: 1012 in c.selected.masks)
    c.set_frame(1036)
    pump(until=lambda: panel.viewer.image_frame == 1036)
    panel.tools.set_tool("brush")
    panel.tools.size.setValue(30)
    drag(v, [v.to_widget(560 + 6 * i, 250 + 18 * i) for i in range(12)])
    c.set_frame(1012)
    pump(until=lambda: panel.viewer.image_frame == 1012)
    panel.tools.set_tool("sam")
    shot("mask")
    c.undo()  # the brush stroke at 1036 was only to show a second keyframe tick
    c.set_frame(1012)
    pump(until=lambda: panel.viewer.image_frame == 1012)

    holder["c"].frame_delay = 0.03
    panel.run_box.run_button.click()
    pump(until=lambda: c.last_progress.get("done", 0) >= 22, timeout=30)
    holder["c"].paused.set()
    pump(0.6)
    shot("running")
    holder["c"].paused.clear()
    pump(until=lambda: not c.running, timeout=30)
    pump(until=lambda: len(c.previews) >= 48, timeout=10)
    c.set_frame(1030)
    pump(until=lambda: panel.viewer.image_frame == 1030)
    panel.run_box.set_preview_mode("checker")
    shot("finished_checker")
    panel.run_box.set_preview_mode("alpha")
    shot("finished_alpha")

    panel.run_box.set_preview_mode("masks")
    c.error("the weights file matanyone.pth is not in /studio/weights: place it there, or run "
            "`matanyone-plugin weights get matanyone`",
            "While starting the run: WeightsError: matanyone.pth (sha256 ...) not found in /studio/weights")
    shot("error")
    win.close()
    c.close()
    return written


if __name__ == "__main__":
    for p in render(sys.argv[1] if len(sys.argv) > 1 else "docs/screenshots"):
        print(p)
