"""The README screenshots render in every state (offscreen, separate process: Fusion + dark palette)."""
from __future__ import annotations

import subprocess
import sys

from ui.qt import QtGui

from tests.ui.conftest import REPO_ROOT
from tests.ui.screenshots import STATES


def test_screenshots_render_each_state(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "tests.ui.screenshots", str(tmp_path)], cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    for state in STATES:
        image = QtGui.QImage(str(tmp_path / f"{state}.png"))
        assert image.width() >= 1200 and image.height() >= 700, state
        colours = {image.pixel(x, y) for x in range(0, image.width(), 37) for y in range(0, image.height(), 29)}
        assert len(colours) > 20, f"{state}.png looks blank"
    # the running state shows progress; the finished states show a cut-out / an alpha
    alpha = QtGui.QImage(str(tmp_path / "finished_alpha.png"))
    greys = {QtGui.qGray(alpha.pixel(x, 400)) for x in range(100, 1000, 5)}
    assert min(greys) < 10 and max(greys) > 245
