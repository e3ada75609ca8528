"""The Nuke bridge against the strict fake, one block per item of issue 17 (what broke or went
wrong in a real Nuke 14-17): colour configs, node identity, the alpha Read's out-of-range
knobs, masks in proxy mode, paths, layout and output folder, start-up hygiene."""
import os
import sys
from pathlib import Path

import pytest

from tests.bridges.test_nuke_bridge import _read

ROOT = Path(__file__).resolve().parents[2]


def _host():
    from nuke_bridge.host import NukeHost
    return NukeHost()


def _one_line(err):
    assert getattr(err, "user_error", False) and "\n" not in str(err)
    return str(err)


# ---- the fake is as strict as Nuke ----------------------------------------------------------

def test_fake_enumerations_refuse_what_nuke_refuses(fake_nuke):
    root = fake_nuke.root()
    fake_nuke.fake_version(14)
    with pytest.raises(ValueError):  # Nuke 14 ships no ACES 2.0 config
        root["OCIO_config"].setValue("fn-nuke_cg-config-v3.0.0_aces-v2.0_ocio-v2.4")
    fake_nuke.fake_version(17)
    root["OCIO_config"].setValue("fn-nuke_cg-config-v3.0.0_aces-v2.0_ocio-v2.4")
    with pytest.raises(ValueError):
        _read(fake_nuke, frame_mode="start_at")  # the knob's items are 'start at', 'offset', 'expression'


def test_fake_names_clash_undo_and_deleted_nodes_as_in_nuke(fake_nuke):
    a = fake_nuke.nodes.Read(name="Plate")
    b = fake_nuke.nodes.Read(name="Plate")
    assert (a.name(), b.name()) == ("Plate", "Plate1")
    assert len(fake_nuke.undo_history) == 2
    fake_nuke.delete(a)
    with pytest.raises(ValueError):
        a.name()


# ---- 2. colour: the config file Nuke uses --------------------------------------------------

def _builtin(nuke, tmp_path, version, name):
    nuke.fake_version(version, install=tmp_path / ("Nuke%d" % version))
    nuke.fake_set_ocio_config(name)
    path = Path(nuke.fake_config_file(name))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("ocio_profile_version: 2\n")
    return path.as_posix()


def test_nuke17_aces2_config_is_passed_as_nukes_own_file(fake_nuke, tmp_path):
    config = _builtin(fake_nuke, tmp_path, 17, "fn-nuke_cg-config-v3.0.0_aces-v2.0_ocio-v2.4")
    _read(fake_nuke, colorspace="ACEScg")
    plate = _host().selected_plate()
    assert (plate.colourspace, plate.ocio_config) == ("ACEScg", config)


@pytest.mark.parametrize("version", [14, 15, 16, 17])
def test_aces_1x_roles_go_through_nukes_config(fake_nuke, tmp_path, version):
    config = _builtin(fake_nuke, tmp_path, version, "aces_1.2")
    _read(fake_nuke, colorspace="default (matte_paint)")  # an 8-bit plate's default in aces_1.2
    plate = _host().selected_plate()
    assert (plate.colourspace, plate.ocio_config) == ("matte_paint", config)


def test_nuke_default_config_file_keeps_nukes_own_names(fake_nuke, tmp_path):
    config = _builtin(fake_nuke, tmp_path, 16, "nuke-default")
    _read(fake_nuke, colorspace="Cineon")
    plate = _host().selected_plate()
    assert (plate.colourspace, plate.ocio_config) == ("Cineon", config)


def test_custom_config_is_evaluated(fake_nuke, tmp_path, monkeypatch):
    (tmp_path / "show" / "ocio").mkdir(parents=True)
    (tmp_path / "show" / "ocio" / "config.ocio").write_text("ocio_profile_version: 2\n")
    monkeypatch.setenv("SHOW_ROOT", str(tmp_path / "show"))
    fake_nuke.fake_set_ocio_config("custom")
    fake_nuke.root()["customOCIOConfigPath"].setValue("[getenv SHOW_ROOT]/ocio/config.ocio")
    _read(fake_nuke, colorspace="default (ACES - ACEScg)")
    plate = _host().selected_plate()
    assert (plate.colourspace, plate.ocio_config) == ("ACES - ACEScg", (tmp_path / "show/ocio/config.ocio").as_posix())


def test_ocio_env_wins(fake_nuke, tmp_path, monkeypatch):
    _builtin(fake_nuke, tmp_path, 16, "aces_1.2")
    monkeypatch.setenv("OCIO", "/studio/config.ocio")
    _read(fake_nuke, colorspace="ACES - ACEScg")
    assert _host().selected_plate().ocio_config == "/studio/config.ocio"


def test_a_missing_config_file_is_one_line(fake_nuke):
    fake_nuke.fake_set_ocio_config("aces_1.2")  # the fake's default install does not exist on disk
    _read(fake_nuke)
    with pytest.raises(Exception) as info:
        _host().selected_plate()
    assert "aces_1.2/config.ocio" in _one_line(info.value) and "does not exist" in str(info.value)


@pytest.mark.parametrize("name, ocio", [("Log3G10", "Log3G10 REDWideGamutRGB"), ("BT1886", "Gamma 2.4 Encoded Rec.709"),
                                        ("default (sRGB)", "sRGB Encoded Rec.709 (sRGB)")])
def test_without_a_config_file_nuke_default_names_are_mapped(fake_nuke, name, ocio):
    _read(fake_nuke, colorspace=name)
    plate = _host().selected_plate()
    assert (plate.colourspace, plate.ocio_config) == (ocio, None)


@pytest.mark.parametrize("name", ["Cineon", "REDLog", "SLog2", "CLog", "Panalog", "MyStudioLog"])
def test_without_a_config_file_an_unmapped_name_is_one_line_never_a_guess(fake_nuke, name):
    _read(fake_nuke, colorspace=name)
    with pytest.raises(Exception) as info:
        _host().selected_plate()
    assert name in _one_line(info.value) and "Plate" in str(info.value)


def test_mapped_names_exist_in_the_ocio_builtin_config():
    PyOpenColorIO = pytest.importorskip("PyOpenColorIO")
    from tests.bridges.conftest import FAKES  # noqa: F401 - nuke_bridge.host needs `nuke`
    sys.path.insert(0, str(FAKES))
    try:
        from nuke_bridge.host import NUKE_DEFAULT_TO_OCIO
    finally:
        sys.path.remove(str(FAKES))
    config = PyOpenColorIO.Config.CreateFromFile("ocio://studio-config-latest")
    for nuke_name, ocio_name in NUKE_DEFAULT_TO_OCIO.items():
        assert ocio_name is None or config.getColorSpace(ocio_name) is not None, (nuke_name, ocio_name)
    for name in ("Cineon", "REDLog", "SLog1", "SLog2", "CLog", "Panalog", "BT1886", "Log3G10"):
        assert name in NUKE_DEFAULT_TO_OCIO
    assert "REDLog3G10" not in NUKE_DEFAULT_TO_OCIO


# ---- 3. node identity ---------------------------------------------------------------------

def _wire(nuke, host, patterns, shot):
    plate = host.selected_plate()
    host.bring_back(patterns, plate, shot)
    nuke.fake_run_main_thread()
    return plate


def _copies(nuke):
    return [n for n in nuke.allNodes() if n.Class() == "Copy"]


def test_two_reads_of_one_stem_get_their_own_nodes(fake_nuke):
    v1 = _read(fake_nuke, name="Read_v001", file="/plates/v001/sh010.%04d.exr")
    v2 = _read(fake_nuke, name="Read_v002", file="/plates/v002/sh010.%04d.exr", selected=False, xpos=400)
    host = _host()
    _wire(fake_nuke, host, {"hero": "/m/a/sh010_hero.####.exr"}, "/m/a/sh010.matanyone.json")
    v1.setSelected(False)
    v2.setSelected(True)
    _wire(fake_nuke, host, {"hero": "/m/b/sh010_hero.####.exr"}, "/m/b/sh010.matanyone.json")
    v2.setSelected(False)
    v1.setSelected(True)
    _wire(fake_nuke, host, {"hero": "/m/a/sh010_hero.####.exr"}, "/m/a/sh010.matanyone.json")  # re-run v001
    copies = _copies(fake_nuke)
    assert len(copies) == 2
    assert sorted(c.input(0).name() for c in copies) == ["Read_v001", "Read_v002"]
    assert {c.input(0).name(): c.input(1)["file"].value() for c in copies} == {
        "Read_v001": "/m/a/sh010_hero.####.exr", "Read_v002": "/m/b/sh010_hero.####.exr"}


def test_a_renamed_read_is_still_the_source(fake_nuke):
    source = _read(fake_nuke)
    host = _host()
    plate = host.selected_plate()
    source.setName("Plate_renamed")
    host.bring_back({"hero": "/m/sh010_hero.####.exr"}, plate, "/m/sh010.matanyone.json")
    fake_nuke.fake_run_main_thread()
    (copy,) = _copies(fake_nuke)
    assert copy.input(0) is source


def test_a_closed_script_is_never_wired_into_the_next_one(fake_nuke):
    _read(fake_nuke)
    host = _host()
    plate = host.selected_plate()
    fake_nuke.fake_script_close()
    other = _read(fake_nuke, name="Plate")  # the next script has its own 'Plate'
    host.bring_back({"hero": "/m/sh010_hero.####.exr"}, plate, "/m/sh010.matanyone.json")
    fake_nuke.fake_run_main_thread()
    assert _copies(fake_nuke) == [] and other.dependent() == []
    (message,), = fake_nuke.fake_calls("message")
    assert "gone" in message and "\n" not in message


def test_an_artists_node_with_the_bridges_name_is_left_alone(fake_nuke):
    _read(fake_nuke)
    mine = fake_nuke.fake_node("Read", name="MatAnyone_sh010_hero_alpha", file="/artist/own.%04d.exr")
    _wire(fake_nuke, _host(), {"hero": "/m/sh010_hero.####.exr"}, "/m/sh010.matanyone.json")
    assert mine["file"].value() == "/artist/own.%04d.exr"
    (copy,) = _copies(fake_nuke)
    assert copy.input(1) is not mine and copy.input(1).name() == "MatAnyone_sh010_hero_alpha1"


# ---- 4. the alpha Read copies the plate Read's out-of-range behaviour ---------------------------

def test_alpha_read_copies_before_after_and_on_error(fake_nuke):
    _read(fake_nuke, before="black", after="loop", on_error="nearest frame")
    _wire(fake_nuke, _host(), {"hero": "/m/sh010_hero.####.exr"}, "/m/sh010.matanyone.json")
    (copy,) = _copies(fake_nuke)
    read = copy.input(1)
    assert (read["before"].value(), read["after"].value(), read["on_error"].value()) == ("black", "loop", "nearest frame")


# ---- 5. mask from a node: full scale, no undo ----------------------------------------------

def test_mask_renders_at_full_scale_in_proxy_mode_and_leaves_no_undo(fake_nuke, tmp_path):
    fake_nuke.root()["proxy"].setValue(True)
    fake_nuke.fake_node("Grade", name="Roto_hero")
    del fake_nuke.undo_history[:]
    _host().render_mask("Roto_hero", 1010, str(tmp_path))
    (render,) = fake_nuke.fake_calls("execute_render")
    assert render[-1] == 1.0  # rendered at full scale, as the plate is read
    assert fake_nuke.root()["proxy"].value() is True  # the artist's proxy mode is back
    assert fake_nuke.undo_history == []


# ---- 7. paths: Nuke's own evaluation ----------------------------------------------------------

def test_proxy_mode_reads_the_evaluated_full_resolution_file(fake_nuke, monkeypatch):
    monkeypatch.setenv("SHOTS", "/shots")
    fake_nuke.root()["proxy"].setValue(True)
    _read(fake_nuke, file="[getenv SHOTS]/sh010/plate/sh010.%04d.exr", proxy="/shots/sh010/proxy/sh010.%04d.jpg")
    assert _host().selected_plate().path == "/shots/sh010/plate/sh010.%04d.exr"


def test_relative_paths_follow_the_project_directory(fake_nuke):
    fake_nuke.root()["project_directory"].setValue("[python {'/jobs/show'}]")
    _read(fake_nuke, file="plates/sh010/sh010.%04d.exr")
    assert _host().selected_plate().path == "/jobs/show/plates/sh010/sh010.%04d.exr"


def test_dollar_variables_are_expanded(fake_nuke, monkeypatch):
    monkeypatch.setenv("SHOW", "/jobs/show")
    _read(fake_nuke, file="$SHOW/sh010/sh010.%04d.exr")
    assert _host().selected_plate().path == "/jobs/show/sh010/sh010.%04d.exr"


# ---- 8. layout and the output folder ---------------------------------------------------------

def _rect(node):
    return node.xpos(), node.ypos(), node.screenWidth(), node.screenHeight()


def _overlap(a, b):
    ax, ay, aw, ah = _rect(a)
    bx, by, bw, bh = _rect(b)
    return ax < bx + bw and bx < ax + aw and ay < by + bh and by < ay + ah


def test_new_nodes_overlap_nothing_and_the_backdrop_leaves_the_plate_out(fake_nuke):
    source = _read(fake_nuke, xpos=0, ypos=0)
    grade = fake_nuke.fake_node("Grade", name="Grade1", xpos=0, ypos=120)  # the Read's usual downstream
    grade.setInput(0, source)
    fake_nuke.fake_node("Grade", name="Other", xpos=130, ypos=20)  # something just to the right
    _wire(fake_nuke, _host(), {"hero": "/m/h.####.exr", "bike": "/m/b.####.exr"}, "/m/sh010.matanyone.json")
    new = [n for n in fake_nuke.allNodes() if n.knob("matanyone_id") is not None]
    backdrop = [n for n in new if n.Class() == "BackdropNode"][0]
    for node in new:
        for other in fake_nuke.allNodes():
            if other.knob("matanyone_id") is None:
                assert not _overlap(node, other), (node.name(), other.name())
    assert not _overlap(backdrop, source)
    assert all(c["label"].value() for c in new if c.Class() in ("Read", "Copy"))


def test_a_rerun_leaves_the_artists_layout_alone(fake_nuke):
    _read(fake_nuke)
    host = _host()
    _wire(fake_nuke, host, {"hero": "/m/h.####.exr"}, "/m/sh010.matanyone.json")
    (copy,) = _copies(fake_nuke)
    copy.setXYpos(-500, 700)
    backdrop = [n for n in fake_nuke.allNodes() if n.Class() == "BackdropNode"][0]
    backdrop["bdwidth"].setValue(999)
    _wire(fake_nuke, host, {"hero": "/m/h.####.exr"}, "/m/sh010.matanyone.json")
    assert (copy.xpos(), copy.ypos(), backdrop["bdwidth"].value()) == (-500, 700, 999)


def test_mattes_default_to_a_folder_beside_the_script(fake_nuke, tmp_path):
    _read(fake_nuke)
    plate = _host().selected_plate()
    assert plate.output_dir.startswith((tmp_path / "comp" / "matanyone").as_posix() + "/sh010_")


def test_two_plates_of_one_stem_get_two_output_folders(fake_nuke):
    a = _read(fake_nuke, name="A", file="/p/v001/sh010.%04d.exr")
    b = _read(fake_nuke, name="B", file="/p/v002/sh010.%04d.exr", selected=False)
    host = _host()
    assert host.plate_of(a).output_dir != host.plate_of(b).output_dir


@pytest.mark.skipif(os.name == "nt" or (hasattr(os, "geteuid") and os.geteuid() == 0),
                    reason="root (or Windows) can write into a read-only folder")
def test_a_read_only_script_folder_is_one_line(fake_nuke, tmp_path):
    os.chmod(tmp_path / "comp", 0o555)
    try:
        _read(fake_nuke)
        with pytest.raises(Exception) as info:
            _host().selected_plate()
        assert "MATANYONE_NUKE_OUTPUT" in _one_line(info.value)
    finally:
        os.chmod(tmp_path / "comp", 0o755)


def test_a_read_only_output_folder_is_one_line(fake_nuke, tmp_path, monkeypatch):
    from nuke_bridge import host as host_module

    monkeypatch.setattr(host_module.os, "access", lambda path, mode: False)  # as a read-only share answers
    _read(fake_nuke)
    with pytest.raises(Exception) as info:
        _host().selected_plate()
    assert "read-only" in _one_line(info.value) and "MATANYONE_NUKE_OUTPUT" in str(info.value)


def test_an_untitled_script_says_to_save_it(fake_nuke, monkeypatch):
    fake_nuke.root()["name"].setValue("")
    _read(fake_nuke)
    with pytest.raises(Exception) as info:
        _host().selected_plate()
    assert "Save the Nuke script" in _one_line(info.value)
    monkeypatch.setenv("MATANYONE_NUKE_OUTPUT", str(Path(fake_nuke.__file__).parent))  # the setting moves it
    assert _host().selected_plate().output_dir


# ---- 9. start-up hygiene and errors on the main thread -------------------------------------

def test_init_appends_the_package_root_and_names_a_shadowing_package(fake_nuke, monkeypatch, tmp_path, capsys):
    bridge = ROOT / "nuke_bridge"
    root = str(bridge.parent)
    studio = tmp_path / "studio"
    (studio / "ui").mkdir(parents=True)
    (studio / "ui" / "__init__.py").write_text("")
    monkeypatch.setattr(sys, "path", [str(studio)] + [p for p in sys.path if os.path.abspath(p or ".") != root])
    for name in [m for m in sys.modules if m == "ui" or m.startswith("ui.")]:
        monkeypatch.delitem(sys.modules, name)
    fake_nuke._plugin_path[:] = [str(bridge)]
    exec(compile((bridge / "init.py").read_text(), "init.py", "exec"), {"__name__": "__main__"})  # no __file__
    assert sys.path[-1] == root and sys.path[0] == str(studio)
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "'ui'" in err[0] and str(studio / "ui" / "__init__.py") in err[0]


def test_an_unexpected_error_on_the_main_thread_is_shown_and_undone(fake_nuke, monkeypatch):
    _read(fake_nuke)
    from nuke_bridge import host as host_module

    shown = []
    host = host_module.NukeHost(report=shown.append)

    def broken_layer(*a, **k):
        raise RuntimeError("channel limit reached")
    monkeypatch.setattr(fake_nuke, "Layer", broken_layer)
    _wire(fake_nuke, host, {"hero": "/m/h.####.exr", "bike": "/m/b.####.exr"}, "/m/sh010.matanyone.json")
    assert len(shown) == 1 and "channel limit reached" in shown[0] and "\n" not in shown[0]
    assert [n.name() for n in fake_nuke.allNodes()] == ["Plate"]  # no half-made nodes remain
