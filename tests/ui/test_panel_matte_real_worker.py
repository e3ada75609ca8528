"""Checking and correcting the matte with the REAL worker on stand-in weights (issue 19: 1, 2, 3, 4, 5):
the written alpha of every frame, for each object and for all, in every view mode, after an
up-to-date re-run too; a frame with no alpha says so; progress counts plate frames by pass;
a correction keyframe starts from the propagated alpha."""
from __future__ import annotations

import glob
import os

import numpy as np
import pytest
from ui.qt import QtCore, QtGui

from tests.ui.conftest import drag
from tests.ui.test_panel_real_worker import _open, pytestmark  # noqa: F401 - same skip condition


def _bytes(image):
    from ui.panel.maskimage import tight_bytes
    return np.frombuffer(tight_bytes(image), np.uint8).reshape(image.height(), image.width())


def _written(pattern, frame):
    """The alpha file of `frame` as 8-bit, read here independently of the worker."""
    from plugin import framepattern, masks
    alpha = masks.read_mask(framepattern.parse(pattern).path(frame))
    return np.round(np.clip(alpha, 0, 1) * 255).astype(np.uint8)


def _two_objects(panel, c, frame=3):
    """Paint a first mask of two objects, "box" and "corner", on `frame`."""
    v = panel.viewer
    panel.tools.set_tool("brush")
    panel.tools.size.setValue(8)
    panel.tools.hardness.setValue(100)
    c.set_frame(frame)
    c.add_object("box")
    drag(v, [v.to_widget(28, 25), v.to_widget(45, 30), v.to_widget(55, 35)])
    c.add_object("corner")
    drag(v, [v.to_widget(75, 50), v.to_widget(85, 55)])


def _matte_shown(panel):
    """The viewer's picture of the current frame (what the artist sees), as grey bytes."""
    image = panel.viewer.grab().toImage().convertToFormat(QtGui.QImage.Format_Grayscale8)
    return image


def test_every_frame_every_object_full_resolution_after_a_run_and_a_rerun(qtbot, tmp_path):
    panel, c = _open(qtbot, tmp_path, 6)
    try:
        _two_objects(panel, c)
        box, corner = c.objects
        panel.run_box.direction.setCurrentIndex(panel.run_box.direction.findData("both"))
        panel.run_box.set_preview_mode("alpha")
        # before any run: the alpha view says there is none instead of quietly showing the plate
        qtbot.waitUntil(lambda: c.alphas.get(3) is not None, timeout=60000)
        assert c.alphas.get(3) == {box.id: None, corner.id: None}
        assert panel.viewer._matte()[2].startswith("no alpha for this frame")
        seen_passes = []
        c.subscribe(lambda e, p: seen_passes.append((p["pass_name"], p["plate_done"], p["plate_total"]))
                    if e == "progress" else None)
        panel.run_box.run_button.click()
        qtbot.waitUntil(lambda: not c.running, timeout=240000)
        assert not panel.error_bar.isVisible(), panel.error_bar.message.text()
        # progress counted frames of the plate (6), named the pass, never past the plate's length
        assert {name for name, _, _ in seen_passes} == {"Backward pass", "Forward pass"}
        assert all(total == 6 and done <= 6 for _, done, total in seen_passes)
        assert seen_passes[-1][1] == 6
        assert panel.run_box.progress.text() == "finished: 6 frames written"
        assert panel.run_box.rate.text() == ""
        outputs = dict(c.last_outputs)
        for rerun in (False, True):
            if rerun:  # "already up to date": nothing is rewritten, the alpha is still there to check
                panel.run_box.run_button.click()
                qtbot.waitUntil(lambda: not c.running, timeout=240000)
                assert "up to date" in panel.run_box.progress.text()
            for frame in c.plate.frames:
                c.set_frame(frame)
                qtbot.waitUntil(lambda: c.alphas.get(frame) is not None, timeout=60000)
                alphas = c.alphas.get(frame)
                for obj in (box, corner):
                    got = _bytes(alphas[obj.id])
                    assert got.shape == (64, 96)  # full plate resolution, not a 256px preview
                    assert np.abs(got.astype(int) - _written(outputs[obj.name], frame)).max() <= 1
        # per object: the viewer shows the selected object's alpha; all objects: their maximum
        c.set_frame(4)
        qtbot.waitUntil(lambda: c.alphas.get(4) is not None and panel.viewer.image_frame == 4, timeout=60000)
        a_box, a_corner = _written(outputs["box"], 4), _written(outputs["corner"], 4)
        c.select(corner.id)
        corner_grey, _, _ = panel.viewer._matte()
        assert (_bytes(corner_grey) == _bytes(c.alphas.get(4)[corner.id])).all()
        panel.run_box.scope.setCurrentIndex(1)
        all_grey, _, _ = panel.viewer._matte()
        assert np.abs(_bytes(all_grey).astype(int) - np.maximum(a_box, a_corner)).max() <= 1
        # every view mode draws the matte (overlay: one tinted layer per object)
        for mode in ("overlay", "checker", "alpha"):
            panel.run_box.set_preview_mode(mode)
            grey, tinted, note = panel.viewer._matte()
            assert grey is not None and note == ""
            assert len(tinted) == (2 if mode == "overlay" else 0)
        # a frame whose file is gone says so
        os.remove(glob.glob(outputs["corner"].replace("####", "0005"))[0])
        os.remove(glob.glob(outputs["box"].replace("####", "0005"))[0])
        c.alphas.refresh()
        c.set_frame(5)
        qtbot.waitUntil(lambda: c.alphas.get(5) is not None, timeout=60000)
        assert panel.viewer._matte()[2] == "no alpha for this frame"
    finally:
        c.close()


def test_correction_starts_from_the_propagated_alpha(qtbot, tmp_path):
    panel, c = _open(qtbot, tmp_path, 5)
    try:
        v = panel.viewer
        panel.tools.set_tool("brush")
        panel.tools.size.setValue(8)
        panel.tools.hardness.setValue(100)
        c.set_frame(1)
        drag(v, [v.to_widget(28, 25), v.to_widget(45, 30), v.to_widget(55, 35)])
        panel.run_box.direction.setCurrentIndex(panel.run_box.direction.findData("forward"))
        panel.run_box.run_button.click()
        qtbot.waitUntil(lambda: not c.running, timeout=240000)
        obj = c.selected
        c.set_frame(4)
        qtbot.waitUntil(lambda: c.alphas.get(4) is not None, timeout=60000)
        alpha = _written(c.last_outputs[obj.name], 4)
        c.correction_threshold = 0.5
        # one touch-up stroke far from the object: the new keyframe holds the thresholded alpha plus it
        drag(v, [v.to_widget(90, 5), v.to_widget(92, 6)])
        mask = _bytes(c.selected.masks[4])
        outside_stroke = np.ones_like(mask, bool)
        outside_stroke[:20, 70:] = False
        expected = np.where(alpha >= 128, 255, 0)
        assert (mask[outside_stroke] == expected[outside_stroke]).all()
        assert mask[5, 91] == 255
        # undo takes the whole correction back (no keyframe at 4 any more)
        c.undo()
        assert 4 not in c.selected.masks
        # from the nearest keyframe instead
        c.correction_from = "keyframe"
        drag(v, [v.to_widget(90, 5), v.to_widget(92, 6)])
        mask = _bytes(c.selected.masks[4])
        first = _bytes(c.selected.masks[1])
        assert (mask[outside_stroke] == first[outside_stroke]).all()
    finally:
        c.close()


def test_plate_colour_menu_marks_the_guess_and_the_viewer_says_what_it_applies(qtbot, tmp_path):
    panel, c = _open(qtbot, tmp_path, 3)
    try:
        qtbot.waitUntil(lambda: panel.display.count() > 1, timeout=30000)
        guess = c.plate.colourspace_guess
        names = [panel.plate_colour.itemData(i) for i in range(panel.plate_colour.count())]
        assert len(names) > 20 and "ACEScg" in names  # the worker's OCIO config, searchable
        assert panel.plate_colour.currentData() == guess
        assert panel.plate_colour.currentText().endswith("(guess)")
        # a display-referred PNG: shown as the file, so display and view are greyed and say why
        assert c.plate.shown_as_file and not panel.display.isEnabled()
        assert "shown as the file" in panel.display.toolTip()
        before = panel.viewer.image.pixel(2, 2)
        panel.plate_colour.setCurrentIndex(panel.plate_colour.findData("ACEScg"))
        panel.plate_colour.activated.emit(panel.plate_colour.currentIndex())
        qtbot.waitUntil(lambda: c.plate.applied is not None, timeout=60000)
        qtbot.waitUntil(lambda: panel.viewer.image.pixel(2, 2) != before, timeout=60000)  # re-read in ACEScg
        assert c.plate.colourspace == "ACEScg" and panel.display.isEnabled()
        assert c.plate.applied[0] in panel.display.toolTip() or panel.display.currentText() in panel.display.toolTip()
        assert not panel.plate_colour.currentText().endswith("(guess)")
    finally:
        c.close()


def test_in_out_range_runs_only_those_frames(qtbot, tmp_path):
    panel, c = _open(qtbot, tmp_path, 6)
    try:
        v = panel.viewer
        panel.tools.set_tool("brush")
        panel.tools.size.setValue(8)
        c.set_frame(2)
        drag(v, [v.to_widget(28, 25), v.to_widget(45, 30)])
        c.set_in_out("in")
        c.set_frame(4)
        c.set_in_out("out")
        panel.run_box.direction.setCurrentIndex(panel.run_box.direction.findData("forward"))
        panel.run_box.run_button.click()
        qtbot.waitUntil(lambda: not c.running, timeout=240000)
        assert not panel.error_bar.isVisible(), panel.error_bar.message.text()
        written = sorted(glob.glob(c.last_outputs["object1"].replace("####", "[0-9]" * 4)))
        assert [int(p[-8:-4]) for p in written] == [2, 3, 4]
        assert c.last_progress["plate_total"] == 3 and c.last_progress["plate_done"] == 3
    finally:
        c.close()


if __name__ == "__main__":  # pragma: no cover
    pytest.main([__file__, "-q"])


def test_pixel_readout_shows_the_plate_value_and_each_written_alpha(qtbot, tmp_path):
    """Issue 19.6: the readout under the cursor is the plate as decoded (not the viewer's display
    RGB) and each object's written alpha, as the worker's `sample_pixel` reads them."""
    import OpenImageIO as oiio
    from plugin import framepattern, masks
    from tests.ui.conftest import mouse
    panel, c = _open(qtbot, tmp_path, 3)
    try:
        v = panel.viewer
        _two_objects(panel, c, frame=1)
        panel.run_box.direction.setCurrentIndex(panel.run_box.direction.findData("forward"))
        panel.run_box.run_button.click()
        qtbot.waitUntil(lambda: not c.running, timeout=240000)
        assert not panel.error_bar.isVisible(), panel.error_bar.message.text()
        c.set_frame(2)
        qtbot.waitUntil(lambda: panel.viewer.image_frame == 2, timeout=60000)
        for x, y in ((40, 30), (2, 2)):
            mouse(v, "move", v.to_widget(x + 0.5, y + 0.5), buttons=QtCore.Qt.NoButton)
            qtbot.waitUntil(lambda: f"x {x}  y {y}" in panel.status.text(), timeout=60000)
            # the values read here independently of the worker
            plate = oiio.ImageBuf(str(tmp_path / "plates" / "sh040.0002.png")).getpixel(x, y)
            alpha = {o.name: float(masks.read_mask(framepattern.parse(c.last_outputs[o.name]).path(2))[y, x])
                     for o in c.objects}
            assert panel.status.text() == (
                f"frame 2   x {x}  y {y}   RGB "
                + " ".join(f"{p:.4f}" for p in plate[:3])
                + f"   alpha box {alpha['box']:.4f}, corner {alpha['corner']:.4f}")
        assert "none" not in panel.status.text()       # both objects have a written alpha at frame 2
        assert f"in {c.plate.colourspace}, before the viewer's display transform" in panel.status.toolTip()
        assert plate[0] == pytest.approx(40 / 255)   # the PNG's value, not the display transform's
    finally:
        c.close()
