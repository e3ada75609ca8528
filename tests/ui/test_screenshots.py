"""The README screenshots render in every state with the real worker on stand-in weights (offscreen,
separate process: Fusion + dark palette)."""
from __future__ import annotations

import subprocess
import sys

from ui.qt import QtGui

from tests.ui.conftest import REPO_ROOT
from tests.ui.screenshots import STATES


def test_screenshots_render_each_state(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "tests.ui.screenshots", str(tmp_path)], cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    for state in STATES:
        image = QtGui.QImage(str(tmp_path / f"{state}.png"))
        assert state == "docked" or (image.width() >= 1200 and image.height() >= 700), state
        colours = {image.pixel(x, y) for x in range(0, image.width(), 37) for y in range(0, image.height(), 29)}
        assert len(colours) > 20, f"{state}.png looks blank"
    docked = QtGui.QImage(str(tmp_path / "docked.png"))
    assert (docked.width(), docked.height()) == (500, 600)
    # the alpha view shows the written (stand-in) alpha: greys, not the colours of the plate
    alpha = QtGui.QImage(str(tmp_path / "finished_alpha.png"))
    row = [alpha.pixelColor(x, 400) for x in range(100, 900, 5)]
    greys = [abs(c.red() - c.green()) <= 2 and abs(c.green() - c.blue()) <= 2 for c in row]
    assert sum(greys) >= 0.9 * len(row)  # (the keyframe's outline crosses the row in the object's colour)
