"""The panel docked small (issue 19.10) and never losing work (19.5), on the fake worker: the
layout at 500x600, an error over the image, Run greyed without a plate, shot open/save in the
panel, asking before unsaved masks are dropped, and the autosave beside the outputs."""
from __future__ import annotations

import json
import os

from ui.qt import QtCore, QtWidgets

from tests.ui.conftest import drag, make_panel, open_fake_plate


def test_fits_a_500x600_dock_with_elided_menus_and_an_error_over_the_image(qtbot):
    panel, holder = make_panel(qtbot, displays={"sRGB - Display": ["ACES 2.0 - SDR 100 nits (Rec.709)", "Raw"]})
    assert panel.minimumSizeHint().width() <= 500 and panel.minimumSizeHint().height() <= 600
    panel.resize(500, 600)
    open_fake_plate(qtbot, panel, holder)
    qtbot.waitUntil(lambda: panel.display.count() >= 1 and panel.view.count() >= 2, timeout=5000)
    assert panel.width() == 500 and panel.height() == 600
    assert panel.splitter.orientation() == QtCore.Qt.Vertical  # the side column is below the viewer
    assert panel.viewer.height() >= 150 and panel.viewer.width() >= 450
    for combo in (panel.display, panel.view):  # menus fit, full names in the tooltip
        assert combo.geometry().right() <= panel.width()
        assert combo.currentText() in combo.toolTip() or combo.itemText(combo.currentIndex()) in combo.toolTip()
    before = panel.viewer.geometry()
    panel.controller.error("a long error " * 8)
    assert panel.error_bar.isVisible() and panel.error_bar.parentWidget() is panel.viewer
    assert panel.viewer.geometry() == before  # the image did not move
    assert panel.error_bar.width() <= panel.viewer.width()
    panel.controller.close()


def test_run_greyed_without_a_plate_and_shot_menu_in_the_panel(qtbot):
    panel, holder = make_panel(qtbot)
    assert not panel.run_box.run_button.isEnabled() and not panel.save_action.isEnabled()
    actions = [a.text() for a in panel.shot_button.menu().actions()]
    assert actions == ["Open Shot…", "Save Shot", "Save Shot As…"]
    open_fake_plate(qtbot, panel, holder)
    assert panel.run_box.run_button.isEnabled() and panel.save_action.isEnabled()
    panel.controller.close()


def test_asks_before_dropping_unsaved_masks_and_autosaves_beside_the_outputs(qtbot):
    panel, holder = make_panel(qtbot)
    client = open_fake_plate(qtbot, panel, holder)
    c, v = panel.controller, panel.viewer
    drag(v, [v.to_widget(20, 20), v.to_widget(40, 30)])
    assert c.dirty
    answers = []
    panel.ask = lambda title, text, buttons: answers.pop(0)
    box = QtWidgets.QMessageBox
    answers.append(box.Cancel)
    assert not panel.confirm_discard("opening another plate")
    # autosave: beside the outputs, its own masks folder, the shot still unsaved
    c.runs.autosave()
    path = c.runs.autosave_path()
    qtbot.waitUntil(lambda: os.path.isfile(path), timeout=5000)
    assert os.path.dirname(path) == os.path.dirname(os.path.dirname(c.output_pattern()))
    doc = json.load(open(path, encoding="utf-8"))
    mask = doc["objects"][0]["keyframes"][str(c.current_frame)]
    assert mask.startswith("autosave_masks/") and c.shot_path is None and c.dirty
    answers.append(box.Save)
    assert panel.confirm_discard("opening another plate")
    qtbot.waitUntil(lambda: c.shot_path is not None, timeout=5000)
    assert not c.dirty and os.path.isfile(c.shot_path)
    drag(v, [v.to_widget(50, 20), v.to_widget(60, 30)])
    answers.append(box.Discard)
    assert panel.confirm_discard("opening another plate")
    assert answers == [] and len(client.calls_of("open_plate")) == 1
    # opening the plate again says where the autosave is
    c.open_plate(c.plate.path)
    qtbot.waitUntil(lambda: len(client.calls_of("open_plate")) == 2 and "autosaved" in panel.status.text(),
                    timeout=5000)
    assert path in panel.status.text()
    c.close()
