"""The run box's model menu (MatAnyone | MatAnyone2): which checkpoints are installed, the
download of the chosen one when missing, and the choice written into the shot file the worker
runs, and read back (fake worker client, tests/ui/fakes.py)."""
from __future__ import annotations

import json

from ui.qt import QtWidgets

from tests.ui.conftest import make_panel, open_fake_plate
from tests.ui.test_panel_run import _paint


def _texts(combo):
    return [combo.itemText(i) for i in range(combo.count())]


def test_menu_shows_installed_checkpoints_and_the_chosen_one_is_downloaded(qtbot, tmp_path):
    panel, holder = make_panel(qtbot, installed={"matanyone": True, "matanyone2": False, "sam2.1-tiny": True})
    open_fake_plate(qtbot, panel, holder, str(tmp_path / "plates" / "sh010.####.exr"))
    c, box, client = panel.controller, panel.run_box, holder["client"]
    qtbot.waitUntil(lambda: c.models.installed is not None, timeout=5000)
    assert _texts(box.model) == ["MatAnyone (installed)", "MatAnyone2 (not installed)"]
    assert box.model.currentData() == "matanyone" and box.run_button.isEnabled()
    assert not box.download_button.isVisibleTo(panel)
    # beside precision: the row under Speed
    form = box.layout().itemAt(0).layout()
    labels = [form.itemAt(i, QtWidgets.QFormLayout.LabelRole).widget().text() for i in range(form.rowCount())]
    assert labels.index("Model") == labels.index("Speed") + 1
    assert "matanyone2" in box.model.toolTip() and "same speed" in box.model.toolTip()

    box.model.setCurrentIndex(box.model.findData("matanyone2"))
    assert c.run_settings.model == "matanyone2"
    assert not box.run_button.isEnabled()
    assert "MatAnyone2 model is not installed" in box.run_button.toolTip()
    assert box.download_button.isVisibleTo(panel)

    asked = []
    panel.ask = lambda title, text, buttons: asked.append((title, text)) or QtWidgets.QMessageBox.Yes
    box.download_button.click()
    assert [t for t, _ in asked] == ["Download matanyone2"]
    assert client.calls_of("weights_get") == [{"name": "matanyone2", "accept_licence": True}]
    qtbot.waitUntil(lambda: box.model.itemText(1) == "MatAnyone2 (installed)", timeout=5000)
    assert box.run_button.isEnabled() and not box.download_button.isVisibleTo(panel)

    # back to MatAnyone: nothing to download, Run stays possible
    box.model.setCurrentIndex(box.model.findData("matanyone"))
    assert c.run_settings.model == "matanyone" and box.run_button.isEnabled()
    c.close()


def test_the_chosen_model_goes_into_the_shot_file_and_comes_back(qtbot, tmp_path):
    from plugin.shot import Shot

    installed = {"matanyone": True, "matanyone2": False, "sam2.1-tiny": True}
    panel, holder = make_panel(qtbot, installed=dict(installed, matanyone2=True))
    open_fake_plate(qtbot, panel, holder, str(tmp_path / "plates" / "sh010.####.exr"))
    c, box = panel.controller, panel.run_box
    qtbot.waitUntil(lambda: c.models.installed is not None, timeout=5000)
    _paint(panel)
    c.rename_object(c.selected.id, "hero")
    box.model.setCurrentIndex(box.model.findData("matanyone2"))
    box.run_button.click()
    qtbot.waitUntil(lambda: bool(holder["client"].calls_of("run_shot")), timeout=10000)
    qtbot.waitUntil(lambda: not c.running, timeout=20000)
    shot_path = holder["client"].calls_of("run_shot")[0]["shot_path"]
    data = json.loads(open(shot_path).read())
    assert data["engine"]["model"] == "matanyone2"
    assert Shot.load(shot_path).engine.model == "matanyone2"  # what the worker's job runs
    c.close()

    # Another machine without MatAnyone2 opens the shot: the menu shows the shot's model, and
    # Run says what is missing.
    panel2, holder2 = make_panel(qtbot, installed=installed)
    c2 = panel2.controller
    loaded = []
    c2.subscribe(lambda event, payload: loaded.append(payload) if event == "shot_loaded" else None)
    c2.load_shot(shot_path)
    qtbot.waitUntil(lambda: bool(loaded) and c2.models.installed is not None, timeout=5000)
    assert c2.run_settings.model == "matanyone2" and panel2.run_box.model.currentData() == "matanyone2"
    qtbot.waitUntil(lambda: "MatAnyone2 model is not installed" in panel2.run_box.run_button.toolTip(), timeout=5000)
    c2.close()


def test_the_default_model_leaves_the_shot_file_as_before(tmp_path):
    from plugin import shot as shotfile

    run = shotfile.RunSettings()
    plate = shotfile.PlateSpec(path=str(tmp_path / "p.####.exr"), first=1, last=2)
    doc = shotfile.Shot(plate=plate, objects=(), output=run.output(str(tmp_path / "m.####.exr")), engine=run.engine())
    assert "model" not in doc.to_dict(tmp_path)["engine"]
    run.model = "matanyone2"
    doc = shotfile.Shot(plate=plate, objects=(), output=run.output(str(tmp_path / "m.####.exr")), engine=run.engine())
    assert list(doc.to_dict(tmp_path)["engine"])[:2] == ["weights", "model"]
