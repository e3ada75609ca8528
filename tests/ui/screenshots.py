"""Render the app in each state to PNG (offscreen) for the README: `python -m tests.ui.screenshots OUTDIR`.

Made with the REAL worker (`python -m plugin worker`) on STAND-IN weights (seeded random
weights of the real network layout, `weights: stand-in`): the pictures show what the panel
really shows, not a test fake; the alpha is what stand-in weights make, not MatAnyone's quality.
The plate is the painted street scene of tests/ui/fakes.py written as a PNG sequence.
"""
from __future__ import annotations

import os
import sys
import tempfile
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

STATES = ("empty", "plate", "mask", "running", "finished_checker", "finished_alpha", "between_previews",
          "correction", "error", "docked")
WIDTH, HEIGHT, FRAMES, FIRST = 768, 432, 24, 1001
KEYFRAME = 1016  # late in the plate, so a two-way run has a long backward pass to show


def write_plate(folder: str) -> str:
    """The scene as a display-referred PNG sequence, and the figure's matte at the keyframe."""
    from tests.ui.fakes import scene_alpha, scene_frame
    os.makedirs(folder, exist_ok=True)
    for i in range(FRAMES):
        scene_frame(i, WIDTH, HEIGHT).save(os.path.join(folder, f"sh010.{FIRST + i}.png"))
    scene_alpha(KEYFRAME - FIRST, WIDTH, HEIGHT, soft=False).save(os.path.join(folder, "hero_key.png"))
    return os.path.join(folder, "sh010.####.png")


def render(outdir: str) -> list:
    from ui.qt import QtCore, QtWidgets
    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication([sys.argv[0]])
    app.setStyle("Fusion")
    from ui.app.window import MainWindow, dark_palette
    from ui.panel.widgets import Panel
    from tests.ui.conftest import drag
    app.setPalette(dark_palette())

    def pump(seconds=0.3, until=None, timeout=240.0):
        end = time.time() + (timeout if until else seconds)
        while time.time() < end:
            app.processEvents()
            if until and until():
                break
            time.sleep(0.005)
        else:
            if until and not until():
                raise RuntimeError("screenshots: timed out waiting for the panel")
        for _ in range(5):
            app.processEvents()

    work = tempfile.mkdtemp(prefix="screenshots-")
    plate = write_plate(os.path.join(work, "sh010", "plates"))
    settings = QtCore.QSettings(os.path.join(work, "app.ini"), QtCore.QSettings.IniFormat)
    panel = Panel()
    c = panel.controller
    c.sam_model = "stand-in"
    c.run_settings.weights = "stand-in"
    c.run_settings.device = "cpu"
    c.run_settings.warmup = 2
    panel.run_box.load_settings()
    win = MainWindow(panel=panel, settings=settings)
    win.resize(1440, 860)
    win.show()
    os.makedirs(outdir, exist_ok=True)
    written = []

    def shot(name, widget=None):
        QtWidgets.QApplication.sendEvent(panel.viewer, QtCore.QEvent(QtCore.QEvent.Leave))  # no brush circle
        pump(0.2)
        path = os.path.join(outdir, name + ".png")
        (widget or win).grab().save(path)
        written.append(path)

    shot("empty")
    c.open_plate(plate)
    pump(until=lambda: panel.viewer.image is not None and panel.display.count() > 1)
    c.set_frame(1004)
    pump(until=lambda: panel.viewer.image_frame == 1004)
    shot("plate")

    c.set_frame(KEYFRAME)
    pump(until=lambda: panel.viewer.image_frame == KEYFRAME)
    c.add_object("hero")
    c.import_mask(os.path.join(os.path.dirname(plate), "hero_key.png"))
    pump(until=lambda: KEYFRAME in c.selected.masks)
    v = panel.viewer
    panel.tools.set_tool("brush")
    panel.tools.size.setValue(14)
    x0 = WIDTH * 0.32 + (KEYFRAME - FIRST) * 9 * HEIGHT / 540.0
    drag(v, [v.to_widget(x0 + 60, HEIGHT * 0.35 + 4 * i) for i in range(6)])  # a touch-up stroke
    shot("mask")

    panel.run_box.direction.setCurrentIndex(panel.run_box.direction.findData("both"))
    panel.run_box.run_button.click()
    pump(until=lambda: c.last_progress.get("phase") == "backward" and c.last_progress.get("plate_done", 0) >= 9)
    shot("running")
    pump(until=lambda: not c.running, timeout=600)
    if panel.error_bar.isVisible():
        raise RuntimeError("screenshots: the run failed: " + panel.error_bar.message.text())

    c.set_frame(1010)
    pump(until=lambda: panel.viewer.image_frame == 1010 and c.alphas.get(1010) is not None)
    panel.run_box.set_preview_mode("checker")
    shot("finished_checker")
    panel.run_box.set_preview_mode("alpha")
    shot("finished_alpha")
    # a frame the run sent no preview of: the written alpha, read through the worker at full resolution
    between = next(f for f in c.plate.frames if c.previews.get(f) is None and f not in (FIRST, KEYFRAME))
    c.set_frame(between)
    pump(until=lambda: panel.viewer.image_frame == between and c.alphas.get(between) is not None)
    panel.run_box.set_preview_mode("overlay")
    shot("between_previews")

    # a correction on a later frame starts from that frame's matte (cut at 50%), with onion skin
    c.set_frame(1020)
    pump(until=lambda: panel.viewer.image_frame == 1020 and c.alphas.get(1020) is not None)
    panel.tools.set_tool("eraser")
    drag(v, [v.to_widget(WIDTH * 0.62, HEIGHT * 0.30 + 6 * i) for i in range(8)])
    panel.run_box.set_preview_mode("masks")
    shot("correction")
    c.undo()

    panel.run_box.set_preview_mode("masks")
    c.error("the MatAnyone model is not installed, so Run cannot work yet: click Download models…, "
            "or ask your TD to install matanyone",
            "While starting the run: WeightsError: matanyone.pth (sha256 ...) not found in /studio/weights")
    shot("error")
    panel.error_bar.hide()
    win.hide()
    panel.setParent(None)
    panel.resize(500, 600)
    panel.show()
    pump(0.5)
    panel.run_box.set_preview_mode("overlay")
    panel.objects_box.setChecked(False)  # a folded section leaves room for the mask tools
    c.set_frame(1012)
    pump(until=lambda: panel.viewer.image_frame == 1012 and c.alphas.get(1012) is not None)
    shot("docked", panel)
    panel.close()
    win.close()
    c.close()
    return written


if __name__ == "__main__":
    for p in render(sys.argv[1] if len(sys.argv) > 1 else "docs/screenshots"):
        print(p)
