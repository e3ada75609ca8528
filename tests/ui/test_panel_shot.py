"""One shot schema: the panel builds, checks, saves and loads shots through plugin.shot, so its
defaults and checks are the run's (issue 16: ui/panel/shotdoc.py defaulted `direction` to
"both" where the run says "forward", and took object names the run refuses)."""
from __future__ import annotations

import dataclasses
import json

from plugin import shot as shotfile
from tests.ui.conftest import drag, make_panel, open_fake_plate


def _paint(panel):
    v = panel.viewer
    panel.tools.set_tool("brush")
    panel.tools.size.setValue(6)
    drag(v, [v.to_widget(30, 20), v.to_widget(60, 40)])


def test_every_run_setting_defaults_to_the_shot_files_own():
    run = shotfile.RunSettings()
    engine, output = shotfile.EngineSpec(), shotfile.OutputSpec(path="m.####.exr")
    for f in dataclasses.fields(shotfile.EngineSpec):
        assert getattr(run, f.name) == getattr(engine, f.name), f.name
    assert (run.dtype, run.channels) == (output.dtype, output.channels)
    plate = shotfile.PlateSpec(path="p.####.exr", first=1, last=2)
    bare = shotfile.Shot(plate=plate, objects=(), output=output)
    assert (run.dilate, run.erode, run.direction) == (bare.dilate, bare.erode, bare.direction) == (10, 10, "forward")


def test_the_panels_saved_shot_is_the_runs_shot_default_for_default(qtbot, tmp_path):
    panel, holder = make_panel(qtbot)
    open_fake_plate(qtbot, panel, holder, str(tmp_path / "sh040.####.exr"))
    c = panel.controller
    assert c.run_settings == shotfile.RunSettings()
    assert panel.run_box.direction.currentData() == "forward"
    _paint(panel)
    saved = []
    path = str(tmp_path / "sh040.json")
    c.save_shot(path, then=saved.append)
    qtbot.waitUntil(lambda: bool(saved), timeout=5000)
    c.close()
    data = json.load(open(path))
    loaded = shotfile.Shot.load(path)  # the run reads what the panel wrote
    assert loaded.direction == "forward" and loaded.engine == shotfile.EngineSpec()
    assert "direction" in data and (loaded.dilate, loaded.erode) == (10, 10)
    assert shotfile.RunSettings.from_shot(loaded) == dataclasses.replace(
        shotfile.RunSettings(), output_path=loaded.output.path)


def test_the_panel_refuses_the_names_the_run_refuses(qtbot, tmp_path):
    panel, holder = make_panel(qtbot)
    open_fake_plate(qtbot, panel, holder, str(tmp_path / "sh050.####.exr"))
    c = panel.controller
    _paint(panel)
    c.rename_object(c.selected.id, "hero shot")           # a space: the run refuses it
    reason = shotfile.object_name_problem("hero shot")
    assert reason and c.selected.name == "object1"
    assert reason in panel.error_bar.message.text()
    c.rename_object(c.selected.id, "hero_shot")
    assert c.selected.name == "hero_shot"
    # a shot file with a name the run refuses is refused by the panel's load, in the run's words
    path = tmp_path / "bad.json"
    good = tmp_path / "good.json"
    saved = []
    c.save_shot(str(good), then=saved.append)
    qtbot.waitUntil(lambda: bool(saved), timeout=5000)
    data = json.load(open(good))
    data["objects"][0]["name"] = "hero shot"
    path.write_text(json.dumps(data))
    c.load_shot(str(path))
    assert "objects[0].name" in panel.error_bar.message.text() and reason in panel.error_bar.message.text()
    c.close()


def test_the_run_box_offers_exactly_what_the_engine_runs(qtbot):
    from matanyone_engine.device import PRECISIONS as ENGINE_PRECISIONS
    from plugin import protocol

    panel, _holder = make_panel(qtbot)
    box = panel.run_box
    offered = [box.precision.itemData(i) for i in range(box.precision.count())]
    assert offered == list(protocol.PRECISIONS) and set(offered) == set(ENGINE_PRECISIONS)
    assert [box.direction.itemData(i) for i in range(box.direction.count())] == list(protocol.DIRECTIONS)
    panel.controller.close()
