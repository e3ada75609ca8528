"""The run box offers exactly the shot file's bounds (issue 21.10): what the panel lets an artist
type is what the run accepts, from one table (`plugin.shot.LIMITS`)."""
from plugin.shot import LIMITS
from tests.ui.conftest import make_panel


def test_run_box_spin_boxes_use_the_shot_limits(qtbot):
    panel, _ = make_panel(qtbot)
    box = panel.run_box
    assert (box.warmup.minimum(), box.warmup.maximum()) == (LIMITS["warmup"].low, LIMITS["warmup"].high)
    assert (box.cleanup.minimum(), box.cleanup.maximum()) == (LIMITS["dilate"].low, LIMITS["dilate"].high)
