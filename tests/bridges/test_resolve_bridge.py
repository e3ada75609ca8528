"""The Resolve bridge against the fake DaVinciResolveScript: clip selection rules, frame
range maths with offsets, matte attach and replace, the free-version path, install."""
import sys
from pathlib import Path

import pytest

SEQ = "/shots/sh010/sh010.[1001-1100].exr"


def _media(dvr, uid="m1", path=SEQ, start_tc="00:00:41:17", frames=100, fps=24, ics="ARRI LogC3"):
    # a sequence starting at 1001: Resolve gives it the timecode of frame 1001 at 24 fps
    return dvr.MediaPoolItem(uid, path.split("/")[-1], {
        "File Path": path, "FPS": str(fps), "Start TC": start_tc, "Frames": str(frames),
        "Input Color Space": ics})


def _item(dvr, uid, media, start, duration, source_start, **kw):
    return dvr.TimelineItem(uid, "clip_" + uid, media, start, duration, source_start, **kw)


def _host(dvr, tracks, **kw):
    dvr.fake_project(tracks, **kw)
    from resolve_bridge.host import ResolveHost

    return ResolveHost(dvr.scriptapp("Resolve"))


# ---- pure maths ------------------------------------------------------------------------

@pytest.mark.parametrize("tc, fps, frames", [
    ("00:00:00:00", 24, 0), ("01:00:00:00", 24, 86400), ("00:00:41:17", 24, 1001),
    ("00:01:00:00", 25, 1500), ("00:00:59;29", 29.97, 1799), ("00:01:00;02", 29.97, 1800),
    ("00:10:00;00", 29.97, 17982), ("01:00:00:00", 23.976, 86400), ("00:01:00;04", 59.94, 3600),
])
def test_timecode_to_frames(fake_resolve_module, tc, fps, frames):
    from resolve_bridge.media import timecode_to_frames

    assert timecode_to_frames(tc, fps) == frames


def test_frame_rates_as_resolve_writes_them(fake_resolve_module):
    from resolve_bridge.media import frame_rate

    assert [frame_rate(t, 24) for t in ("24", "23.976", "29.97 DF", "", None, "n/a")] == [24, 23.976, 29.97, 24, 24, 24]


def test_sequence_patterns_and_frame_paths(fake_resolve_module):
    from resolve_bridge.media import frame_paths, is_sequence, printf_pattern, sequence_pattern

    assert sequence_pattern(SEQ) == ("/shots/sh010/sh010.####.exr", 1001, 1100)
    assert sequence_pattern("/a/b.[0001-0010].dpx") == ("/a/b.####.dpx", 1, 10)
    assert sequence_pattern("/m/A001.mov") == ("/m/A001.mov", None, None)
    assert is_sequence(SEQ) and is_sequence("/x/y.%04d.exr") and not is_sequence("/m/A001_0101.mov")
    assert frame_paths("/o/sh010_hero.####.exr", 1001, 1003) == [
        "/o/sh010_hero.1001.exr", "/o/sh010_hero.1002.exr", "/o/sh010_hero.1003.exr"]
    assert frame_paths("/o/v.%05d.exr", 7, 7) == ["/o/v.00007.exr"]
    assert frame_paths("/o/hero_4444.mov", 1, 50) == ["/o/hero_4444.mov"]
    assert printf_pattern("/o/#1/sh.####.exr") == "/o/#1/sh.%04d.exr"


def test_matte_matches_resolve_listings(fake_resolve_module):
    from resolve_bridge.media import matte_matches

    pattern = "/o/sh010_hero.####.exr"
    assert matte_matches("/o/sh010_hero.1001.exr", pattern)
    assert matte_matches("/o/sh010_hero.[1001-1100].exr", pattern)
    assert not matte_matches("/o/sh010_bike.1001.exr", pattern)
    assert not matte_matches("/other/sh010_hero.1001.exr", pattern)
    assert matte_matches("/o/hero.mov", "/o/hero.mov") and not matte_matches("/o/hero2.mov", "/o/hero.mov")


@pytest.mark.parametrize("start, end, expected", [
    (1006, 1046, (1006, 1045)),   # counted from the media's start timecode (absolute)
    (5, 45, (1006, 1045)),        # counted from 0
    (5, 44, (1006, 1045)),        # an inclusive end frame
    (5, None, (1006, 1045)),      # only the left offset known
    (90, 130, (1091, 1100)),      # clipped at the media's end
])
def test_source_range(fake_resolve_module, start, end, expected):
    from resolve_bridge.media import source_range

    assert source_range(start, end, 40, 1001, 100, 1001) == expected


def test_left_offset_settles_a_start_frame_both_countings_fit(fake_resolve_module):
    from resolve_bridge.media import source_range

    # a sequence numbered from 1: start frame 3 may be index 3 (from 0) or index 2 (from frame 1)
    assert source_range(3, 13, 10, 1, 50, 1, left_offset=3) == (4, 13)
    assert source_range(3, 13, 10, 1, 50, 1, left_offset=2) == (3, 12)
    assert source_range(3, 13, 10, 1, 50, 1) == (3, 12)  # without it: the media's own counting


def test_retimed_clip_is_refused(fake_resolve_module):
    from resolve_bridge.media import source_range

    with pytest.raises(Exception, match="speed change"):
        source_range(5, 85, 40, 1001, 100, 1001)


# ---- clip selection --------------------------------------------------------------------

def test_single_clip_plate_with_offsets_and_colour(fake_resolve_module):
    dvr = fake_resolve_module
    media = _media(dvr)
    item = _item(dvr, "a", media, start=86410, duration=40, source_start=1006, left_offset=5)
    host = _host(dvr, [[item]], playhead=86420,
                 settings={"colorScienceMode": "davinciYRGBColorManagedv2", "colorSpaceInput": "Rec.709 Gamma 2.4"})
    plate = host.selected_plate()
    assert (plate.path, plate.first, plate.last) == ("/shots/sh010/sh010.####.exr", 1006, 1045)
    assert plate.frame_offset == 86410 - 1006  # timeline frame = source frame + offset
    assert plate.colourspace == "ARRI LogC3 (EI800)"
    assert plate.extra == {"item": "a", "media": "m1", "kind": "sequence"}
    assert host.current_frame() == 86420


def test_project_input_colourspace_and_unmanaged_projects(fake_resolve_module):
    dvr = fake_resolve_module
    media = _media(dvr, ics="Project")
    item = _item(dvr, "a", media, 86400, 10, 1001, left_offset=0)
    host = _host(dvr, [[item]], settings={"colorScienceMode": "davinciYRGBColorManagedv2",
                                          "colorSpaceInput": "Rec.709 Gamma 2.4"})
    assert host.selected_plate().colourspace == "Gamma 2.4 Encoded Rec.709"
    host = _host(dvr, [[item]], settings={"colorScienceMode": "davinciYRGB"})
    assert host.selected_plate().colourspace is None  # not colour-managed: the plugin guesses


def test_movie_counts_from_one_and_media_timecode(fake_resolve_module):
    dvr = fake_resolve_module
    media = _media(dvr, "mov", "/m/A001_C002.mov", start_tc="01:00:00:00", frames=240, ics="")
    item = _item(dvr, "a", media, start=86400 + 100, duration=48, source_start=86400 + 24, left_offset=24)
    plate = _host(dvr, [[item]], playhead=86400 + 110).selected_plate()
    assert (plate.path, plate.first, plate.last) == ("/m/A001_C002.mov", 25, 72)
    assert plate.frame_offset == 86500 - 25 and plate.extra["kind"] == "movie"


def test_older_resolve_without_source_frames_uses_the_left_offset(fake_resolve_module):
    dvr = fake_resolve_module
    item = _item(dvr, "a", _media(dvr), start=86410, duration=40, source_start=1006, left_offset=5)
    item.GetSourceStartFrame = None  # what a Resolve without the call hands back for it
    plate = _host(dvr, [[item]], playhead=86420).selected_plate()
    assert (plate.first, plate.last, plate.frame_offset) == (1006, 1045, 86410 - 1006)


def test_overlapping_clips_top_track_by_default_and_user_choice(fake_resolve_module):
    dvr = fake_resolve_module
    low = _item(dvr, "low", _media(dvr, "m1"), 86400, 100, 1001, left_offset=0)
    high = _item(dvr, "high", _media(dvr, "m2", "/s/sh020.[1-50].exr", "00:00:00:01", 50), 86420, 30, 1, left_offset=0)
    elsewhere = _item(dvr, "later", _media(dvr, "m3"), 87000, 10, 1001)
    host = _host(dvr, [[low, elsewhere], [high]], playhead=86430)
    assert [(t, i.GetUniqueId()) for t, i in host.clips_at_playhead()] == [(2, "high"), (1, "low")]
    assert host.selected_plate().extra["item"] == "high"
    assert "V2  clip_high (sh020.[1-50].exr)" == host.describe(2, high)
    host.choose(low)
    assert host.selected_plate().extra["item"] == "low"


def test_items_without_media_are_skipped_and_no_clip_is_one_line(fake_resolve_module):
    dvr = fake_resolve_module
    title = _item(dvr, "title", None, 86400, 100, 0)
    host = _host(dvr, [[title]], playhead=86410)
    with pytest.raises(Exception) as info:
        host.selected_plate()
    assert getattr(info.value, "user_error", False)
    assert "Edit v3" in str(info.value) and "01:00:00:10" in str(info.value) and "\n" not in str(info.value)


def test_clip_at_its_end_frame_is_not_under_the_playhead(fake_resolve_module):
    dvr = fake_resolve_module
    item = _item(dvr, "a", _media(dvr), 86400, 10, 1001)
    assert _host(dvr, [[item]], playhead=86410).clips_at_playhead() == []
    assert len(_host(dvr, [[item]], playhead=86409).clips_at_playhead()) == 1


# ---- matte back --------------------------------------------------------------------------

def _frames(tmp_path, name, first, last):
    for f in range(first, last + 1):
        (tmp_path / f"{name}.{f:04d}.exr").write_bytes(b"exr")
    return str(tmp_path / f"{name}.####.exr")


def _one_clip(dvr):
    media = _media(dvr)
    item = _item(dvr, "a", media, 86400, 3, 1001, left_offset=0)
    return media, _host(dvr, [[item]], playhead=86401)


def test_attach_clip_matte_then_replace_on_rerun(fake_resolve_module, tmp_path):
    dvr = fake_resolve_module
    media, host = _one_clip(dvr)
    plate = host.selected_plate()
    pattern = _frames(tmp_path, "sh010_hero", 1001, 1003)
    other = str(tmp_path / "someone_else.exr")
    media._mattes.append(other)

    host.bring_back({"hero": pattern}, plate, str(tmp_path / "sh010.json"))
    (added,) = dvr.fake_calls("AddClipMattesToMediaPool")
    assert added == ("m1", [pattern.replace("####", "%04d" % f) for f in (1001, 1002, 1003)], None)
    assert dvr.fake_calls("DeleteClipMattes") == []

    del dvr.calls[:]
    host.bring_back({"hero": pattern}, plate, str(tmp_path / "sh010.json"))
    (deleted,) = dvr.fake_calls("DeleteClipMattes")
    assert deleted[0] == "m1" and len(deleted[1]) == 3 and other not in deleted[1]
    assert len(dvr.fake_calls("AddClipMattesToMediaPool")) == 1
    assert media._mattes.count(other) == 1 and len(media._mattes) == 4


def test_rerun_into_a_new_version_folder_still_replaces_the_matte(fake_resolve_module, tmp_path):
    dvr = fake_resolve_module
    media, host = _one_clip(dvr)
    plate = host.selected_plate()
    (tmp_path / "v001").mkdir()
    (tmp_path / "v002").mkdir()
    v1 = _frames(tmp_path / "v001", "sh010_hero", 1001, 1003)
    v2 = _frames(tmp_path / "v002", "sh010_hero", 1001, 1003)
    host.bring_back({"hero": v1}, plate, str(tmp_path / "sh010.matanyone.json"))
    assert dvr.fake_calls("SetThirdPartyMetadata") == [("m1", "MatAnyone sh010 hero", v1)]
    host.bring_back({"hero": v2}, plate, str(tmp_path / "sh010.matanyone.json"))
    (deleted,) = dvr.fake_calls("DeleteClipMattes")
    assert all("v001" in p for p in deleted[1]) and len(deleted[1]) == 3
    assert all("v002" in p for p in media._mattes) and len(media._mattes) == 3


def test_a_missing_object_attaches_nothing(fake_resolve_module, tmp_path):
    dvr = fake_resolve_module
    media, host = _one_clip(dvr)
    hero = _frames(tmp_path, "sh010_hero", 1001, 1003)
    with pytest.raises(Exception, match="sh010_bike.1001.exr is missing"):
        host.bring_back({"hero": hero, "bike": str(tmp_path / "sh010_bike.####.exr")}, host.selected_plate(), "")
    assert dvr.fake_calls("AddClipMattesToMediaPool") == []


def test_attach_refuses_a_half_written_matte(fake_resolve_module, tmp_path):
    dvr = fake_resolve_module
    media, host = _one_clip(dvr)
    pattern = _frames(tmp_path, "sh010_hero", 1001, 1002)  # frame 1003 missing
    with pytest.raises(Exception, match="1003.exr is missing"):
        host.bring_back({"hero": pattern}, host.selected_plate(), "")
    assert dvr.fake_calls("AddClipMattesToMediaPool") == []


def test_timeline_matte_mode_replaces_its_previous_matte(fake_resolve_module, tmp_path):
    dvr = fake_resolve_module
    media, host = _one_clip(dvr)
    host.matte_mode = "timeline"
    pattern = _frames(tmp_path, "sh010_hero", 1001, 1003)
    plate = host.selected_plate()
    host.bring_back({"hero": pattern}, plate, "")
    host.bring_back({"hero": pattern}, plate, "")
    assert len(dvr.fake_calls("AddTimelineMattesToMediaPool")) == 2
    (deleted,) = dvr.fake_calls("DeleteClips")
    pool = dvr._state["project"].GetMediaPool()
    assert len(pool.GetTimelineMatteList(pool.GetCurrentFolder())) == 1
    assert dvr.fake_calls("AddClipMattesToMediaPool") == []


def test_bin_mode_imports_the_sequence_into_the_matanyone_bin(fake_resolve_module, tmp_path):
    dvr = fake_resolve_module
    media, host = _one_clip(dvr)
    host.matte_mode = "bin"
    pattern = _frames(tmp_path, "sh010_hero", 1001, 1003)
    plate = host.selected_plate()
    host.bring_back({"hero": pattern}, plate, "")
    host.bring_back({"hero": pattern}, plate, "")
    assert dvr.fake_calls("AddSubFolder") == [("Master", "MatAnyone")]  # made once, found the second time
    first, second = dvr.fake_calls("ImportMedia")
    assert first == ([{"FilePath": pattern.replace("####", "%04d"), "StartIndex": 1001, "EndIndex": 1003}],)
    (bin_,) = dvr._state["project"].GetMediaPool().GetRootFolder().GetSubFolderList()
    assert len(bin_.GetClipList()) == 1  # the second import replaced the first


def test_prores_matte_attaches_the_movie(fake_resolve_module, tmp_path):
    dvr = fake_resolve_module
    media, host = _one_clip(dvr)
    movie = tmp_path / "sh010_hero_4444.mov"
    movie.write_bytes(b"mov")
    host.bring_back({"hero": str(movie)}, host.selected_plate(), "")
    assert dvr.fake_calls("AddClipMattesToMediaPool") == [("m1", [str(movie)], None)]


def test_prores_format_attaches_a_movie_made_from_the_exrs(fake_resolve_module, tmp_path):
    dvr = fake_resolve_module
    media, host = _one_clip(dvr)
    ran = []

    def run_command(args):  # stands in for the worker interpreter writing the movie
        ran.append(list(args))
        Path(args[args.index("--preview") + 1]).write_bytes(b"mov")

    host.matte_format, host._run_command = "prores4444", run_command
    pattern = _frames(tmp_path, "sh010_hero", 1001, 1003)
    shot = str(tmp_path / "sh010.json")
    host.bring_back({"hero": pattern}, host.selected_plate(), shot)
    movie = str(tmp_path / "sh010_hero_matte4444.mov")
    assert ran == [["-m", "plugin", "run", shot, "--object", "hero", "--preview", movie,
                    "--preview-kind", "matte4444", "--quiet"]]
    assert dvr.fake_calls("AddClipMattesToMediaPool") == [("m1", [movie], None)]


def test_prores_format_error_is_the_workers_one_line(fake_resolve_module, tmp_path, monkeypatch):
    monkeypatch.setenv("MATANYONE_PLUGIN_PYTHON", sys.executable)
    monkeypatch.setenv("PYTHONPATH", str(Path(__file__).resolve().parents[2]))
    from resolve_bridge.host import ResolveHost, _run_worker_command

    with pytest.raises(Exception) as err:
        _run_worker_command(["-m", "plugin", "run", str(tmp_path / "missing.json")])
    assert getattr(err.value, "user_error", False) and "missing.json" in str(err.value)
    assert "\n" not in str(err.value) and "Traceback" not in str(err.value)
    with pytest.raises(Exception, match="matte format 'dnxhr'"):
        ResolveHost(fake_resolve_module.scriptapp("Resolve"), matte_format="dnxhr")


# ---- launch ------------------------------------------------------------------------------

def test_free_version_says_one_sentence(fake_resolve_module):
    fake_resolve_module.fake_reset(studio=False)
    from resolve_bridge.launch import main

    said, shown = [], []
    assert main([], show=shown.append, pick=None, notify=said.append) == 1
    (line,) = said
    assert shown == [] and "\n" not in line and line.count(". ") == 0
    assert "Studio" in line and "standalone app" in line and "Add As Matte" in line


def test_launch_asks_which_clip_when_several_overlap(fake_resolve_module, monkeypatch):
    monkeypatch.setenv("MATANYONE_PLUGIN_PYTHON", sys.executable)
    dvr = fake_resolve_module
    low = _item(dvr, "low", _media(dvr, "m1"), 86400, 100, 1001, left_offset=0)
    high = _item(dvr, "high", _media(dvr, "m2"), 86400, 100, 1001, left_offset=0)
    dvr.fake_project([[low], [high]], playhead=86401)
    from resolve_bridge.launch import main

    asked, shown = [], []

    def pick(labels):
        asked.append(labels)
        return 1
    assert main(["--matte", "timeline"], show=shown.append, pick=pick, notify=pytest.fail) == 0
    assert asked == [["V2  clip_high (sh010.[1001-1100].exr)", "V1  clip_low (sh010.[1001-1100].exr)"]]
    (host,) = shown
    assert host.matte_mode == "timeline" and host.selected_plate().extra["item"] == "low"


def test_launch_without_worker_python_is_one_line(fake_resolve_module, monkeypatch, tmp_path):
    monkeypatch.setenv("MATANYONE_PLUGIN_PYTHON", str(tmp_path / "nope" / "python"))
    dvr = fake_resolve_module
    dvr.fake_project([[_item(dvr, "a", _media(dvr), 86400, 10, 1001)]])
    from resolve_bridge.launch import main

    said = []
    assert main([], show=pytest.fail, pick=pytest.fail, notify=said.append) == 1
    assert "MATANYONE_PLUGIN_PYTHON" in said[0] and "\n" not in said[0]


def test_launch_without_the_resolve_module_points_to_the_setup(monkeypatch, tmp_path):
    monkeypatch.setenv("RESOLVE_SCRIPT_API", str(tmp_path))
    monkeypatch.setitem(sys.modules, "DaVinciResolveScript", None)
    for name in [m for m in sys.modules if m.startswith("resolve_bridge")]:
        monkeypatch.delitem(sys.modules, name)
    from resolve_bridge.launch import main

    said = []
    assert main([], show=pytest.fail, pick=pytest.fail, notify=said.append) == 1
    assert "RESOLVE_SCRIPT_API" in said[0] and "PYTHONPATH" in said[0]


# ---- install -----------------------------------------------------------------------------

@pytest.mark.parametrize("system, all_users, env, expected", [
    ("Darwin", False, {"HOME": "/Users/ana"},
     "/Users/ana/Library/Application Support/Blackmagic Design/DaVinci Resolve/Fusion/Scripts/Utility"),
    ("Darwin", True, {"HOME": "/Users/ana"},
     "/Library/Application Support/Blackmagic Design/DaVinci Resolve/Fusion/Scripts/Utility"),
    ("Linux", False, {"HOME": "/home/ana"}, "/home/ana/.local/share/DaVinciResolve/Fusion/Scripts/Utility"),
    ("Linux", True, {"HOME": "/home/ana"}, "/opt/resolve/Fusion/Scripts/Utility"),
    ("Windows", False, {"APPDATA": "C:/Users/ana/AppData/Roaming", "HOME": "C:/Users/ana"},
     "C:/Users/ana/AppData/Roaming/Blackmagic Design/DaVinci Resolve/Support/Fusion/Scripts/Utility"),
    ("Windows", True, {"PROGRAMDATA": "C:/ProgramData", "HOME": "C:/Users/ana"},
     "C:/ProgramData/Blackmagic Design/DaVinci Resolve/Fusion/Scripts/Utility"),
])
def test_scripts_folders(system, all_users, env, expected):
    from resolve_bridge.install import scripts_folder

    assert scripts_folder(system, all_users, env).as_posix() == expected


def test_install_writes_a_script_that_knows_the_product(tmp_path):
    from resolve_bridge.install import ROOT, install

    target = install(tmp_path / "Utility", python="/opt/matanyone/.venv/bin/python")
    text = target.read_text()
    assert target.name == "MatAnyone.py" and "@MATANYONE" not in text
    assert str(ROOT) in text and "/opt/matanyone/.venv/bin/python" in text
    compile(text, str(target), "exec")


def test_resolve_colour_names_exist_in_ocio_builtin_config(fake_resolve_module):
    PyOpenColorIO = pytest.importorskip("PyOpenColorIO")
    from resolve_bridge.host import RESOLVE_TO_OCIO

    config = PyOpenColorIO.Config.CreateFromFile("ocio://studio-config-latest")
    for resolve_name, ocio_name in RESOLVE_TO_OCIO.items():
        assert config.getColorSpace(ocio_name) is not None, (resolve_name, ocio_name)


def test_install_command_line(tmp_path, capsys):
    from resolve_bridge.install import main

    assert main(["--dest", str(tmp_path / "Utility"), "--python", "/opt/p/python"]) == 0
    assert (tmp_path / "Utility" / "MatAnyone.py").is_file()
    assert "Workspace > Scripts > MatAnyone" in capsys.readouterr().out
    blocked = tmp_path / "file"
    blocked.write_text("")
    assert main(["--dest", str(blocked / "Utility")]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--dest" in err


def test_menu_script_without_qt_starts_the_panel_in_the_products_python(fake_resolve_module, monkeypatch, capsys):
    import resolve_bridge.launch as launch

    started = []
    monkeypatch.setitem(sys.modules, "ui.qt", None)  # Resolve's Python has no Qt
    monkeypatch.setattr(launch.subprocess, "Popen", lambda cmd, cwd, env: started.append((cmd, cwd, env)))
    launch.run_from_menu("/opt/matanyone", sys.executable)
    ((cmd, cwd, env),) = started
    assert cmd == [sys.executable, "-m", "resolve_bridge"] and cwd == "/opt/matanyone"
    assert env["PYTHONPATH"].split(__import__("os").pathsep)[0] == "/opt/matanyone"
    launch.run_from_menu("/opt/matanyone", "@MATANYONE_PYTHON@")
    assert len(started) == 1 and "MATANYONE_PLUGIN_PYTHON" in capsys.readouterr().out
