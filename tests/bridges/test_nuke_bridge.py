"""The Nuke bridge against the fake `nuke` module: registration, plate extraction from
Read knobs, alpha Read + Copy creation and re-run update, main-thread use."""
import os
import sys

import pytest

from ui.host import PlateRef


def _read(nuke, **knobs):
    base = dict(name="Plate", selected=True, xpos=100, ypos=-50,
                file="/shots/sh010/plate/sh010.%04d.exr", first=1001, last=1100,
                origfirst=1001, origlast=1100)
    base.update(knobs)
    return nuke.fake_node("Read", **base)


# ---- registration ---------------------------------------------------------------------

def test_menu_registers_the_pane_and_builds_no_qt(fake_nuke, monkeypatch):
    import nukescripts

    nukescripts.panels.registered.clear()
    qt_before = {m for m in sys.modules if m.startswith(("PySide", "Qt"))}
    import importlib.util
    from pathlib import Path

    menu_py = Path(__file__).resolve().parents[2] / "nuke_bridge" / "menu.py"
    spec = importlib.util.spec_from_file_location("nuke_menu_startup", menu_py)
    spec.loader.exec_module(importlib.util.module_from_spec(spec))

    widget, title = nukescripts.panels.registered["com.matanyone.plugin.panel"]
    assert widget == "nuke_bridge.panel.make_widget" and title == "MatAnyone"
    # the widget path resolves from Nuke's __main__ namespace, where Nuke evaluates it
    import __main__
    assert callable(eval(widget, vars(__main__)))
    entries = fake_nuke.menu("Nuke").items["MatAnyone"].items
    assert set(entries) == {"Matte selected Read", "Mask from selected node's alpha"}
    assert all(callable(cmd) for cmd in entries.values())
    assert {m for m in sys.modules if m.startswith(("PySide", "Qt"))} == qt_before


def test_open_panel_without_worker_python_says_one_line(fake_nuke, monkeypatch, tmp_path):
    monkeypatch.setenv("MATANYONE_PLUGIN_PYTHON", str(tmp_path / "missing" / "python"))
    from nuke_bridge import panel

    assert panel.open_panel() is None
    (msg,), = fake_nuke.fake_calls("message")
    assert "\n" not in msg and "MATANYONE_PLUGIN_PYTHON" in msg and "missing" in msg


# ---- plate extraction -------------------------------------------------------------------

def test_plate_from_selected_read(fake_nuke):
    _read(fake_nuke, colorspace="default (linear)")
    from nuke_bridge.host import NukeHost

    plate = NukeHost().selected_plate()
    assert (plate.path, plate.first, plate.last, plate.frame_offset, plate.label) == (
        "/shots/sh010/plate/sh010.%04d.exr", 1001, 1100, 0, "Plate")
    # no config file named by Nuke here: the nuke-default name is mapped to the built-in config's
    assert (plate.colourspace, plate.ocio_config) == ("Linear Rec.709 (sRGB)", None)


def test_hash_pattern_and_trimmed_range(fake_nuke):
    _read(fake_nuke, file="/s/sh020.####.dpx", first=1010, last=1050, origfirst=1001, origlast=1100,
          colorspace="AlexaV3LogC")
    from nuke_bridge.host import NukeHost

    plate = NukeHost().selected_plate()
    assert (plate.path, plate.first, plate.last) == ("/s/sh020.####.dpx", 1010, 1050)
    assert plate.colourspace == "ARRI LogC3 (EI800)"


@pytest.mark.parametrize("mode, value, offset", [
    ("start at", "1", -1000),      # file 1001 shows at host frame 1
    ("start at", "2001", 1000),
    ("offset", "-24", -24),
    ("offset", "10", 10),
    ("expression", "", 0),
    ("expression", "frame+10", -10),  # host f reads file f+10: file 1011 at host 1001
    ("expression", "frame - 5", 5),
])
def test_frame_offset_knobs(fake_nuke, mode, value, offset):
    _read(fake_nuke, frame_mode=mode, frame=value)
    from nuke_bridge.host import NukeHost

    assert NukeHost().selected_plate().frame_offset == offset


def test_unmappable_frame_expression_is_one_line(fake_nuke):
    _read(fake_nuke, frame_mode="expression", frame="frame*2")
    from nuke_bridge.host import NukeHost

    with pytest.raises(Exception) as info:
        NukeHost().selected_plate()
    assert getattr(info.value, "user_error", False)
    assert "Plate" in str(info.value) and "frame*2" in str(info.value) and "\n" not in str(info.value)


def test_no_or_several_reads_selected(fake_nuke):
    from nuke_bridge.host import NukeHost

    fake_nuke.fake_node("Grade", selected=True)
    with pytest.raises(Exception, match="exactly one Read"):
        NukeHost().selected_plate()
    _read(fake_nuke, name="A")
    _read(fake_nuke, name="B")
    with pytest.raises(Exception, match="exactly one Read"):
        NukeHost().selected_plate()


def test_read_inside_a_group_is_refused_in_one_line(fake_nuke):
    _read(fake_nuke, group="Comp_Group.")
    from nuke_bridge.host import NukeHost

    with pytest.raises(Exception, match=r"Comp_Group\.Plate is inside a Group"):
        NukeHost().selected_plate()


def test_frame_range_and_current_frame(fake_nuke):
    fake_nuke.root()["first_frame"].setValue(1001)
    fake_nuke.root()["last_frame"].setValue(1100)
    fake_nuke.frame(1042)
    from nuke_bridge.host import NukeHost

    host = NukeHost()
    assert host.frame_range() == (1001, 1100) and host.current_frame() == 1042


# ---- mask from another node's alpha ------------------------------------------------------

def test_render_mask_uses_a_temporary_write(fake_nuke, tmp_path):
    fake_nuke.fake_node("Grade", name="Roto_hero")
    fake_nuke.frame(1010)
    from nuke_bridge.host import NukeHost

    path = NukeHost().render_mask("Roto_hero", 1010, str(tmp_path))
    assert path == str(tmp_path / "Roto_hero_mask.1010.exr").replace("\\", "/")
    (write_name,), = fake_nuke.fake_calls("nodes.Write")
    (render,) = fake_nuke.fake_calls("execute_render")
    assert render == (write_name, 1010, 1010, path, "Roto_hero", 1.0)
    assert fake_nuke.fake_calls("delete") == [(write_name,)]
    assert fake_nuke.toNode(write_name) is None


def test_render_mask_removes_the_write_when_the_render_fails(fake_nuke, monkeypatch, tmp_path):
    fake_nuke.fake_node("Grade", name="Roto_hero")

    def boom(*a, **k):
        raise RuntimeError("cancelled")
    monkeypatch.setattr(fake_nuke, "execute", boom)
    from nuke_bridge.host import NukeHost

    with pytest.raises(RuntimeError):
        NukeHost().render_mask("Roto_hero", 1, str(tmp_path))
    assert [n for n in fake_nuke._nodes.values() if n.Class() == "Write"] == []


# ---- bring back ---------------------------------------------------------------------------

def _bring_back(nuke, patterns, shot="/shots/sh010/matte/sh010.matanyone.json", host=None):
    from nuke_bridge.host import NukeHost

    host = host or NukeHost()
    plate = host.selected_plate()
    host.bring_back(patterns, plate, shot)
    return host, plate


def _mine(nuke, role):
    """The nodes the bridge made with `role` (alpha, copy, backdrop), found by their hidden id knob."""
    return [n for n in nuke.allNodes() if n.knob("matanyone_id") is not None
            and n.knob("matanyone_id").value().endswith("|" + role)]


def test_bring_back_runs_on_the_main_thread_and_wires_read_and_copy(fake_nuke):
    _read(fake_nuke, frame_mode="start at", frame="1")
    _bring_back(fake_nuke, {"hero": "/shots/sh010/matte/sh010_hero.####.exr"})
    # nothing touched the graph before Nuke's main thread ran the queued call
    assert fake_nuke.fake_calls("executeInMainThread") == [("wire_alphas",)]
    assert fake_nuke.fake_calls("nodes.Read") == []
    fake_nuke.fake_run_main_thread()

    (read,), (copy,), (backdrop,) = _mine(fake_nuke, "alpha"), _mine(fake_nuke, "copy"), _mine(fake_nuke, "backdrop")
    source = fake_nuke.toNode("Plate")
    assert read.name() == "MatAnyone_sh010_hero_alpha" and copy.name() == "MatAnyone_sh010_hero_copy"
    assert read["file"].value() == "/shots/sh010/matte/sh010_hero.####.exr"
    assert [read[k].value() for k in ("first", "last", "origfirst", "origlast")] == [1001, 1100, 1001, 1100]
    assert (read["frame_mode"].value(), read["frame"].value()) == ("start at", "1")
    assert read["raw"].value() is True
    assert read.knob("matanyone_id").getFlag(fake_nuke.INVISIBLE)  # the id is hidden from the artist
    assert copy.input(0) is source and copy.input(1) is read
    assert (copy["from0"].value(), copy["to0"].value()) == ("rgba.alpha", "rgba.alpha")
    assert backdrop["label"].value() == "MatAnyone sh010"
    bx, by = backdrop.xpos(), backdrop.ypos()
    bw, bh = backdrop["bdwidth"].value(), backdrop["bdheight"].value()
    for node in (read, copy):
        assert bx <= node.xpos() and node.xpos() + node.screenWidth() <= bx + bw
        assert by <= node.ypos() and node.ypos() + node.screenHeight() <= by + bh


def test_rerun_updates_and_reloads_instead_of_stacking(fake_nuke):
    _read(fake_nuke)
    _bring_back(fake_nuke, {"hero": "/m/v1/sh010_hero.####.exr"})
    fake_nuke.fake_run_main_thread()
    count = len(fake_nuke._nodes)
    assert fake_nuke.fake_calls("execute") == []  # first time: nothing to reload
    del fake_nuke.calls[:]

    _bring_back(fake_nuke, {"hero": "/m/v2/sh010_hero.####.exr"})
    fake_nuke.fake_run_main_thread()
    assert len(fake_nuke._nodes) == count
    (read,) = _mine(fake_nuke, "alpha")
    assert read["file"].value() == "/m/v2/sh010_hero.####.exr"
    assert fake_nuke.fake_calls("execute") == [(read.name(), "reload")]
    assert [c for c in fake_nuke.calls if c[0].startswith("nodes.")] == []


def test_several_objects_go_to_named_channels_in_a_chain(fake_nuke):
    _read(fake_nuke)
    _bring_back(fake_nuke, {"hero": "/m/sh010_hero.####.exr", "bike 2": "/m/sh010_bike_2.####.exr"})
    fake_nuke.fake_run_main_thread()
    hero = fake_nuke.toNode("MatAnyone_sh010_hero_copy")
    bike = fake_nuke.toNode("MatAnyone_sh010_bike_2_copy")
    assert hero["to0"].value() == "ma_hero.a" and bike["to0"].value() == "ma_bike_2.a"
    assert bike.input(0) is hero and hero.input(0) is fake_nuke.toNode("Plate")
    assert fake_nuke.fake_calls("Layer") == [("ma_hero", ["ma_hero.a"]), ("ma_bike_2", ["ma_bike_2.a"])]


def test_bring_back_when_the_source_read_is_gone(fake_nuke):
    _read(fake_nuke)
    _bring_back(fake_nuke, {"hero": "/m/sh010_hero.####.exr"})
    fake_nuke.delete(fake_nuke.toNode("Plate"))
    fake_nuke.fake_run_main_thread()  # runs where no caller could catch: says it in a message
    (message,), = fake_nuke.fake_calls("message")
    assert "Plate is gone" in message and "/m/sh010_hero.####.exr" in message and "\n" not in message
    assert [n for n in fake_nuke.calls if n[0].startswith("nodes.")] == []


def test_wiring_is_one_undo_step(fake_nuke):
    _read(fake_nuke)
    _bring_back(fake_nuke, {"hero": "/m/sh010_hero.####.exr", "bike": "/m/sh010_bike.####.exr"})
    fake_nuke.fake_run_main_thread()
    assert len(fake_nuke.undo_history) == 1  # every node, knob and wire of the run: one Ctrl+Z
    assert any(change[0] == "create" for change in fake_nuke.undo_history[0])
    assert fake_nuke.fake_calls("Undo.begin") == [("MatAnyone: sh010",)]


# ---- Nuke's progress bar --------------------------------------------------------------------

class _Controller:
    def __init__(self):
        self.listeners, self.cancels = [], 0
        self.plate = type("P", (), {"path": "/s/sh010.####.exr"})()

    def subscribe(self, fn):
        self.listeners.append(fn)

    def emit(self, event, payload):
        for fn in self.listeners:
            fn(event, payload)

    def cancel(self):
        self.cancels += 1


def test_progress_task_follows_the_run_and_cancels_it(fake_nuke):
    from nuke_bridge.progress import NukeProgress

    controller = _Controller()
    progress = NukeProgress(controller)
    controller.emit("progress", {"done": 1, "total": 4})  # no run yet: nothing shown
    assert fake_nuke.fake_calls("ProgressTask") == []
    controller.emit("run_state", "running")
    assert fake_nuke.fake_calls("ProgressTask") == [("MatAnyone sh010.####.exr",)]
    controller.emit("progress", {"frame": 1002, "done": 2, "total": 4, "fps": 3.25})
    assert fake_nuke.fake_calls("ProgressTask.setProgress") == [(50,)]
    assert fake_nuke.fake_calls("ProgressTask.setMessage") == [("frame 1002 (2/4, 3.2 fps)",)]
    assert controller.cancels == 0
    progress.task.fake_cancelled = True
    controller.emit("progress", {"frame": 1003, "done": 3, "total": 4})
    assert controller.cancels == 1
    controller.emit("run_state", "cancelled")
    assert progress.task is None
