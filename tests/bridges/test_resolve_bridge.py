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


def _item(dvr, uid, media, start, duration, left_offset, **kw):
    return dvr.TimelineItem(uid, "clip_" + uid, media, start, duration, left_offset, **kw)


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


@pytest.mark.parametrize("left, duration, clip_fps, tl_fps, expected", [
    (5, 40, 24, 24, (1006, 1045)),     # same rate: one media frame per timeline frame
    (0, 100, 24, 24, (1001, 1100)),    # the whole media
    (5, 40, 50, 25, (1011, 1090)),     # 50p in 25p: two media frames per timeline frame
    (10, 20, 25, 50, (1006, 1015)),    # 25p in 50p: half a media frame per timeline frame
])
def test_used_frames(fake_resolve_module, left, duration, clip_fps, tl_fps, expected):
    from resolve_bridge.media import used_frames

    assert used_frames(left, duration, clip_fps, tl_fps, 100, 1001) == expected


def test_used_frames_outside_the_media_is_one_line(fake_resolve_module):
    from resolve_bridge.media import used_frames

    with pytest.raises(Exception, match="outside the media's 100 frames: relink"):
        used_frames(70, 40, 24, 24, 100, 1001)


def test_sequence_form_is_resolves_clip_name(fake_resolve_module):
    from resolve_bridge.media import sequence_form

    assert sequence_form("/o/sh010_hero.####.exr", 1001, 1100) == "/o/sh010_hero.[1001-1100].exr"
    assert sequence_form("/o/v.%05d.exr", 7, 9) == "/o/v.[00007-00009].exr"
    assert sequence_form("/o/hero.mov", 1, 9) == "/o/hero.mov"


# ---- every Resolve from 18.6 to 21 ------------------------------------------------------

@pytest.fixture(params=["18.6.6", "19.0.0", "19.0.2", "19.1.0", "20.3.0", "21.0.2"])
def dvr(request, fake_resolve_module):
    """The fake as each Resolve release documents its calls."""
    fake_resolve_module.fake_reset(version=request.param)
    return fake_resolve_module


def test_the_fake_offers_each_call_only_from_its_readme(dvr):
    item = _item(dvr, "a", _media(dvr), 86400, 10, 0)
    dvr.fake_project([[item]])
    new = dvr._state["version"] >= (19, 0, 2)
    assert (item.GetSourceStartFrame is not None) == new
    assert (item.GetMediaPoolItem().GetThirdPartyMetadata is not None) == new
    with pytest.raises(TypeError):
        item.GetStart() if new else item.GetStart(False)


@pytest.mark.parametrize("release", ["18.6.6", "19.0.0", "19.0.2", "19.1.0", "20.3.0", "21.0.2"])
def test_the_fake_offers_each_call_as_that_releases_readme_has_it(fake_resolve_module, release):
    import inspect
    import json

    table = json.loads((Path(__file__).resolve().parent / "fakes" / "resolve_readme_calls.json").read_text())
    dvr = fake_resolve_module
    dvr.fake_reset(version=release)
    assert len(table["calls"][release]) >= 40
    for key, params in table["calls"][release].items():
        cls, name = key.split(".")
        value = getattr(object.__new__(getattr(dvr, cls)), name)
        if params is None:
            assert value is None, f"{key} is not in the {release} README"
            continue
        readme = [p for p in params.split(",") if p.strip()]
        assert len(inspect.signature(value).parameters) == len(readme), f"{key}: README {release} has ({params})"


def test_the_fake_refuses_offsets_outside_the_media(fake_resolve_module):
    dvr = fake_resolve_module
    with pytest.raises(ValueError, match="left offset"):
        dvr.fake_project([[_item(dvr, "a", _media(dvr), 86400, 40, 61)]])
    dvr.fake_project([[_item(dvr, "a", _media(dvr), 86400, 40, 60)]])  # 0 <= left <= frames - duration


@pytest.mark.parametrize("source_frames", ["zero", "timecode"])
def test_single_clip_plate_with_offsets_and_colour(dvr, source_frames):
    dvr._state["source_frames"] = source_frames
    media = _media(dvr)
    item = _item(dvr, "a", media, start=86410, duration=40, left_offset=5)
    host = _host(dvr, [[item]], playhead=86420,
                 settings={"colorScienceMode": "davinciYRGBColorManagedv2", "colorSpaceInput": "Rec.709 Gamma 2.4"})
    plate = host.selected_plate()
    assert (plate.path, plate.first, plate.last) == ("/shots/sh010/sh010.####.exr", 1006, 1045)
    assert plate.frame_offset == 86410 - 1006  # timeline frame = source frame + offset
    assert plate.colourspace == "ARRI LogC3 (EI800)"
    assert plate.extra == {"item": "a", "media": "m1", "kind": "sequence", "media_first": "1001",
                           "start_tc": "00:00:41:17", "fps": "24", "timeline_start": "86410",
                           "timeline_fps": "24"}
    assert host.current_frame() == 86420


def test_sequence_with_header_timecode_is_placed_by_its_file_numbers(dvr):
    """The manual recommends taking a sequence's timecode from its DPX/EXR headers: the
    start timecode then says nothing about the file numbers."""
    media = dvr.fake_sequence("m1", "/s/sh020.[0987-1086].dpx", fps=24, header_tc="10:00:00:00")
    item = _item(dvr, "a", media, start=86400, duration=30, left_offset=13)
    plate = _host(dvr, [[item]], playhead=86401).selected_plate()
    assert (plate.path, plate.first, plate.last) == ("/s/sh020.####.dpx", 1000, 1029)
    assert plate.extra["start_tc"] == "10:00:00:00" and plate.extra["media_first"] == "987"


def test_50p_clip_in_a_25p_timeline_is_not_a_retime(dvr):
    media = dvr.fake_movie("m1", "/m/A001_C002.mov", frames=500, fps=50, start_tc="01:00:00:00")
    item = _item(dvr, "a", media, start=90000, duration=40, left_offset=12)
    plate = _host(dvr, [[item]], fps=25, start_frame=90000, playhead=90010).selected_plate()
    assert (plate.first, plate.last) == (25, 104)  # 80 media frames from media frame 24 (numbered from 1)
    assert plate.extra["fps"] == "50"


@pytest.mark.parametrize("clip_fps, timeline_fps, per_frame", [(50, 25, 2), (25, 25, 1), (24, 24, 1)])
def test_playhead_maps_to_the_source_frame_at_the_clips_rate(dvr, clip_fps, timeline_fps, per_frame):
    """A timeline frame shows clip_fps / timeline_fps media frames: 50p in 25p steps two source
    frames per timeline frame, which no plain offset maps; same-rate clips step one."""
    media = dvr.fake_movie("m1", "/m/A001_C002.mov", frames=500, fps=clip_fps, start_tc="01:00:00:00")
    item = _item(dvr, "a", media, start=90000, duration=40, left_offset=12)
    host = _host(dvr, [[item]], fps=timeline_fps, start_frame=90000, playhead=90010)
    plate = host.selected_plate()
    assert plate.first == 1 + 12 * per_frame and plate.last == plate.first + 40 * per_frame - 1
    for k in (0, 1, 10, 39):
        assert host.source_frame(plate, 90000 + k) == plate.first + k * per_frame
        assert host.timeline_frame(plate, plate.first + k * per_frame) == 90000 + k
    assert host.playhead_source_frame(plate) == plate.first + 10 * per_frame
    assert host.timeline_frame(plate, plate.last) == 90039  # the clip's last frame, not past its end
    if per_frame == 1:
        assert plate.frame_offset == 90000 - plate.first  # the shot file's plain offset holds then


def test_retimed_clip_is_refused_where_resolve_says_so(dvr):
    item = _item(dvr, "a", _media(dvr), 86400, 40, 5, speed=2.0)
    host = _host(dvr, [[item]], playhead=86401)
    if dvr._state["version"] < (19, 0, 2):
        assert host.selected_plate().first == 1006  # 18.6-19.0.1 document no call that shows a retime
        return
    with pytest.raises(Exception, match="speed change"):
        host.selected_plate()


def test_project_input_colourspace_and_unmanaged_projects(dvr):
    media = _media(dvr, ics="Project")
    item = _item(dvr, "a", media, 86400, 10, 0)
    host = _host(dvr, [[item]], settings={"colorScienceMode": "davinciYRGBColorManagedv2",
                                          "colorSpaceInput": "Rec.709 Gamma 2.4"})
    assert host.selected_plate().colourspace == "Gamma 2.4 Encoded Rec.709"
    host = _host(dvr, [[item]], settings={"colorScienceMode": "davinciYRGB"})
    assert host.selected_plate().colourspace is None  # not colour-managed: the plugin guesses


def test_movie_counts_from_one(dvr):
    media = _media(dvr, "mov", "/m/A001_C002.mov", start_tc="01:00:00:00", frames=240, ics="")
    item = _item(dvr, "a", media, start=86400 + 100, duration=48, left_offset=24)
    plate = _host(dvr, [[item]], playhead=86400 + 110).selected_plate()
    assert (plate.path, plate.first, plate.last) == ("/m/A001_C002.mov", 25, 72)
    assert plate.frame_offset == 86500 - 25 and plate.extra["kind"] == "movie"


def test_overlapping_clips_top_enabled_track_by_default_and_user_choice(dvr):
    low = _item(dvr, "low", _media(dvr, "m1"), 86400, 100, 0)
    high = _item(dvr, "high", _media(dvr, "m2", "/s/sh020.[1-50].exr", "00:00:00:01", 50), 86420, 30, 0)
    elsewhere = _item(dvr, "later", _media(dvr, "m3"), 87000, 10, 0)
    host = _host(dvr, [[low, elsewhere], [high]], playhead=86430)
    assert [(t, i.GetUniqueId()) for t, i in host.clips_at_playhead()] == [(2, "high"), (1, "low")]
    assert host.selected_plate().extra["item"] == "high"
    assert "V2  clip_high (sh020.[1-50].exr)" == host.describe(2, high)
    host.choose(low)
    assert host.selected_plate().extra["item"] == "low"


@pytest.mark.parametrize("disable", ["track", "clip"])
def test_disabled_tracks_and_clips_are_not_the_top_clip(dvr, disable):
    low = _item(dvr, "low", _media(dvr, "m1"), 86400, 100, 0)
    high = _item(dvr, "high", _media(dvr, "m2"), 86400, 100, 0, enabled=disable != "clip")
    host = _host(dvr, [[low], [high]], playhead=86430, disabled_tracks=(2,) if disable == "track" else ())
    assert [i.GetUniqueId() for _, i in host.clips_at_playhead()] == ["low"]
    assert host.selected_plate().extra["item"] == "low"


@pytest.mark.parametrize("page", ["media", "fusion"])
def test_pages_without_a_playhead_say_where_to_go(dvr, page):
    dvr._state["page"] = page
    host = _host(dvr, [[_item(dvr, "a", _media(dvr), 86400, 10, 0)]])
    with pytest.raises(Exception) as info:
        host.selected_plate()
    message = str(info.value)
    assert getattr(info.value, "user_error", False) and "\n" not in message
    assert page.capitalize() in message and "Edit or Color page" in message


def test_items_without_media_are_skipped_and_no_clip_is_one_line(dvr):
    title = dvr.TimelineItem("title", "Title", None, 86400, 100)
    host = _host(dvr, [[title]], playhead=86410)
    with pytest.raises(Exception) as info:
        host.selected_plate()
    assert getattr(info.value, "user_error", False)
    assert "Edit v3" in str(info.value) and "01:00:00:10" in str(info.value) and "\n" not in str(info.value)


def test_clip_at_its_end_frame_is_not_under_the_playhead(dvr):
    item = _item(dvr, "a", _media(dvr), 86400, 10, 0)
    assert _host(dvr, [[item]], playhead=86410).clips_at_playhead() == []
    assert len(_host(dvr, [[item]], playhead=86409).clips_at_playhead()) == 1


# ---- matte back --------------------------------------------------------------------------

def _frames(tmp_path, name, first, last):
    for f in range(first, last + 1):
        (tmp_path / f"{name}.{f:04d}.exr").write_bytes(b"exr")
    return str(tmp_path / f"{name}.####.exr")


def _one_clip(dvr, media=None, other_timelines=()):
    media = media or _media(dvr)
    item = _item(dvr, "a", media, 86400, 3, 0)
    return media, _host(dvr, [[item]], playhead=86401, other_timelines=other_timelines)


def test_attach_clip_matte_as_one_sequence_then_replace_on_rerun(dvr, tmp_path):
    media, host = _one_clip(dvr)
    plate = host.selected_plate()
    pattern = _frames(tmp_path, "sh010_hero", 1001, 1003)
    seq = pattern.replace("####", "[1001-1003]")
    other = str(tmp_path / "someone_else.exr")
    media._mattes.append(other)

    host.bring_back({"hero": pattern}, plate, str(tmp_path / "sh010.json"))
    assert dvr.fake_calls("AddClipMattesToMediaPool") == [("m1", [seq], None)]
    assert media._mattes == [other, seq] and dvr.fake_calls("DeleteClipMattes") == []

    host.bring_back({"hero": pattern}, plate, str(tmp_path / "sh010.json"))
    assert media._mattes == [other, seq]  # the same files: left attached, nothing stacked


def test_rerun_into_a_new_version_folder_adds_first_then_removes_the_old(dvr, tmp_path):
    media, host = _one_clip(dvr)
    plate = host.selected_plate()
    (tmp_path / "v001").mkdir()
    (tmp_path / "v002").mkdir()
    v1 = _frames(tmp_path / "v001", "sh010_hero", 1001, 1003)
    v2 = _frames(tmp_path / "v002", "sh010_hero", 1001, 1003)
    shot = str(tmp_path / "sh010.matanyone.json")
    host.bring_back({"hero": v1}, plate, shot)
    del dvr.calls[:]
    host.bring_back({"hero": v2}, plate, shot)
    assert [n for n, _ in dvr.calls if n in ("AddClipMattesToMediaPool", "DeleteClipMattes")] == [
        "AddClipMattesToMediaPool", "DeleteClipMattes"]
    assert media._mattes == [v2.replace("####", "[1001-1003]")]
    if dvr._state["version"] >= (19, 0, 2):
        assert dvr.fake_calls("SetThirdPartyMetadata")[-1][1:] == ("MatAnyone sh010 hero", media._mattes[0])
    else:
        assert dvr.fake_calls("SetThirdPartyMetadata") == []
    assert (tmp_path / "sh010.matanyone.resolve.json").is_file()


def test_a_failed_add_keeps_the_old_matte(dvr, tmp_path):
    media, host = _one_clip(dvr)
    plate = host.selected_plate()
    (tmp_path / "v001").mkdir()
    (tmp_path / "v002").mkdir()
    v1 = _frames(tmp_path / "v001", "sh010_hero", 1001, 1003)
    v2 = _frames(tmp_path / "v002", "sh010_hero", 1001, 1003)
    shot = str(tmp_path / "sh010.json")
    host.bring_back({"hero": v1}, plate, shot)
    dvr.MediaStorage.AddClipMattesToMediaPool = lambda self, item, paths, stereoEye=None: False
    with pytest.raises(Exception, match="would not add .* still attached"):
        host.bring_back({"hero": v2}, plate, shot)
    assert media._mattes == [v1.replace("####", "[1001-1003]")]


def test_two_cuts_of_one_source_keep_each_others_matte(dvr, tmp_path):
    """A clip matte belongs to the media pool item: sh010 and sh020 cut from one source
    each replace only their own."""
    media, host = _one_clip(dvr)
    plate = host.selected_plate()
    (tmp_path / "sh010").mkdir()
    (tmp_path / "sh020").mkdir()
    a = _frames(tmp_path / "sh010", "hero", 1001, 1003)
    b = _frames(tmp_path / "sh020", "hero", 1001, 1003)
    host.bring_back({"hero": a}, plate, str(tmp_path / "sh010" / "sh010.json"))
    host.bring_back({"hero": b}, plate, str(tmp_path / "sh020" / "sh020.json"))
    host.bring_back({"hero": a}, plate, str(tmp_path / "sh010" / "sh010.json"))
    assert sorted(media._mattes) == sorted([a.replace("####", "[1001-1003]"), b.replace("####", "[1001-1003]")])


def test_a_missing_object_attaches_nothing(dvr, tmp_path):
    media, host = _one_clip(dvr)
    hero = _frames(tmp_path, "sh010_hero", 1001, 1003)
    with pytest.raises(Exception, match="sh010_bike.1001.exr is missing"):
        host.bring_back({"hero": hero, "bike": str(tmp_path / "sh010_bike.####.exr")}, host.selected_plate(), "")
    assert dvr.fake_calls("AddClipMattesToMediaPool") == []


def test_attach_refuses_a_half_written_matte(dvr, tmp_path):
    media, host = _one_clip(dvr)
    pattern = _frames(tmp_path, "sh010_hero", 1001, 1002)  # frame 1003 missing
    with pytest.raises(Exception, match="1003.exr is missing"):
        host.bring_back({"hero": pattern}, host.selected_plate(), "")
    assert dvr.fake_calls("AddClipMattesToMediaPool") == []


def test_the_fake_refuses_missing_matte_files(fake_resolve_module, tmp_path):
    dvr = fake_resolve_module
    media = _media(dvr)
    storage = dvr.Resolve().GetMediaStorage()
    assert not storage.AddClipMattesToMediaPool(media, [str(tmp_path / "x.[0001-0002].exr")])
    _frames(tmp_path, "x", 1, 2)
    assert storage.AddClipMattesToMediaPool(media, [str(tmp_path / "x.[0001-0002].exr")])
    assert media._mattes == [str(tmp_path / "x.[0001-0002].exr")]


@pytest.mark.parametrize("mode", ["timeline", "bin"])
def test_bin_modes_replace_their_matte_and_restore_the_current_folder(dvr, tmp_path, mode):
    media, host = _one_clip(dvr)
    host.matte_mode = mode
    pool = dvr._state["project"].GetMediaPool()
    elsewhere = pool.AddSubFolder(pool.GetRootFolder(), "Edit bin")
    pool.SetCurrentFolder(elsewhere)
    pattern = _frames(tmp_path, "sh010_hero", 1001, 1003)
    plate = host.selected_plate()
    host.bring_back({"hero": pattern}, plate, "")
    host.bring_back({"hero": pattern}, plate, "")
    assert pool.GetCurrentFolder() is elsewhere
    (bin_,) = [f for f in pool.GetRootFolder().GetSubFolderList() if f.GetName() == "MatAnyone"]
    kept = pool.GetTimelineMatteList(bin_) if mode == "timeline" else bin_.GetClipList()
    assert len(kept) == 1 and kept[0].GetClipProperty("File Path") == pattern.replace("####", "[1001-1003]")
    assert pool.GetTimelineMatteList(elsewhere) == [] and elsewhere.GetClipList() == []
    if mode == "bin":
        first, _ = dvr.fake_calls("ImportMedia")
        assert first == ([{"FilePath": pattern.replace("####", "%04d"), "StartIndex": 1001, "EndIndex": 1003}],)
    assert dvr.fake_calls("AddClipMattesToMediaPool") == []


def test_a_matte_cut_into_a_timeline_is_never_deleted(dvr, tmp_path):
    media, host = _one_clip(dvr)
    host.matte_mode = "bin"
    pattern = _frames(tmp_path, "sh010_hero", 1001, 1003)
    plate = host.selected_plate()
    host.bring_back({"hero": pattern}, plate, "")
    pool = dvr._state["project"].GetMediaPool()
    (bin_,) = [f for f in pool.GetRootFolder().GetSubFolderList() if f.GetName() == "MatAnyone"]
    (used,) = bin_.GetClipList()
    dvr._state["project"]._timelines.append(dvr.Timeline("Comp", 24, 86400, [[
        dvr.TimelineItem("u", "used", used, 86400, 3)]]))
    host.bring_back({"hero": pattern}, plate, "")
    assert used in bin_.GetClipList() and len(bin_.GetClipList()) == 2
    assert dvr.fake_calls("DeleteClips") == []


def test_a_movie_is_imported_by_its_path(dvr, tmp_path):
    media, host = _one_clip(dvr)
    host.matte_mode = "bin"
    movie = tmp_path / "sh010_hero_matte4444.mov"
    movie.write_bytes(b"mov")
    host.bring_back({"hero": str(movie)}, host.selected_plate(), "")
    assert dvr.fake_calls("ImportMedia") == [([str(movie)],)]


def test_prores_matte_attaches_the_movie(dvr, tmp_path):
    media, host = _one_clip(dvr)
    movie = tmp_path / "sh010_hero_4444.mov"
    movie.write_bytes(b"mov")
    host.bring_back({"hero": str(movie)}, host.selected_plate(), "")
    assert dvr.fake_calls("AddClipMattesToMediaPool") == [("m1", [str(movie)], None)]


def test_prores_format_asks_the_worker_for_a_movie_matte_that_lines_up(dvr, tmp_path):
    """The movie is the worker's job (never a blocking subprocess on the panel's thread): the
    host says what to write, starting at the media's first frame with its timecode and rate."""
    media, host = _one_clip(dvr, media=_media(dvr))
    item = _item(dvr, "a", media, 86400, 3, 5)
    host = _host(dvr, [[item]], playhead=86401)
    host.matte_format = "prores4444"
    pattern = _frames(tmp_path, "sh010_hero", 1006, 1008)
    plate = host.selected_plate()
    shot = str(tmp_path / "sh010.json")
    (request,) = host.matte_movies({"hero": pattern}, plate, shot).values()
    assert request.to_json() == {"shot_path": shot, "object": "hero", "path": str(tmp_path / "sh010_hero_matte4444.mov"),
                                 "start": 1001, "timecode": "00:00:41:17", "fps": 24.0}
    host.matte_format = "exr"
    assert host.matte_movies({"hero": pattern}, plate, shot) == {}
    with pytest.raises(Exception, match="matte format 'dnxhr'"):
        type(host)(dvr.scriptapp("Resolve"), matte_format="dnxhr")


def test_the_panel_attaches_the_movie_after_the_worker_wrote_it(fake_resolve_module, tmp_path):
    from plugin import protocol
    from ui.panel.runs import Runs

    class Shell:
        shot_path = str(tmp_path / "sh010.json")
        errors, statuses, asked = [], [], []

        class host:
            brought = []

            @staticmethod
            def matte_movies(outputs, ref, shot_path):
                return {obj: protocol.WriteMatteMovie(shot_path=shot_path, object=obj, path=f"/o/{obj}.mov")
                        for obj in outputs}

            @classmethod
            def bring_back(cls, paths, ref, shot_path):
                cls.brought.append(paths)

        def call(self, method, params, on_result, on_error=None):
            self.asked.append((method, params, on_result))

        def emit(self, event, value):
            self.statuses.append(value)

        def error_from(self, err, what):
            self.errors.append((err, what))

    shell = Shell()
    runs = Runs.__new__(Runs)
    runs.shell, runs.last_outputs = shell, {"hero": "/o/hero.####.exr", "bike": "/o/bike.####.exr"}
    runs.bring_back("ref")
    assert [m for m, _, _ in shell.asked] == ["write_matte_movie", "write_matte_movie"]
    assert shell.host.brought == []  # nothing attached before the worker answered
    for method, params, on_result in shell.asked:
        on_result({"path": params["path"], "first": 1, "last": 3})
    assert shell.host.brought == [{"hero": "/o/hero.mov", "bike": "/o/bike.mov"}] and shell.errors == []


# ---- launch ------------------------------------------------------------------------------

def test_outside_resolve_without_external_scripting_says_one_sentence(fake_resolve_module):
    fake_resolve_module.fake_reset(reachable=False)
    from resolve_bridge.launch import main

    said, shown = [], []
    assert main([], show=shown.append, pick=None, notify=said.append) == 1
    (line,) = said
    assert shown == [] and "\n" not in line and line.count(". ") == 0
    assert "Studio" in line and "Workspace > Scripts" in line and "free version" in line


def test_the_bridge_works_through_the_menu_scripts_relay(dvr, tmp_path):
    """What the free version runs: the panel's process calls Resolve through the menu script."""
    import os
    import threading

    from resolve_bridge.relay import connect, serve

    media, _ = _one_clip(dvr)
    to_menu_r, to_menu_w = os.pipe()
    to_panel_r, to_panel_w = os.pipe()
    menu = threading.Thread(target=serve, args=(dvr.scriptapp("Resolve"), os.fdopen(to_menu_r, "rb"),
                                                os.fdopen(to_panel_w, "wb")), daemon=True)
    menu.start()
    requests = os.fdopen(to_menu_w, "w")
    from resolve_bridge.host import ResolveHost

    host = ResolveHost(connect(requests, os.fdopen(to_panel_r, "r")))
    plate = host.selected_plate()
    assert (plate.first, plate.last) == (1001, 1003)
    pattern = _frames(tmp_path, "sh010_hero", 1001, 1003)
    host.bring_back({"hero": pattern}, plate, str(tmp_path / "sh010.json"))
    assert media._mattes == [pattern.replace("####", "[1001-1003]")]
    requests.close()
    menu.join(5)
    assert not menu.is_alive()


def test_launch_survives_an_attribute_error_from_the_resolve_module(monkeypatch, tmp_path):
    monkeypatch.setenv("FAKE_RESOLVE_IMPORT_ERROR", "AttributeError")
    monkeypatch.setenv("RESOLVE_SCRIPT_API", str(tmp_path))
    monkeypatch.syspath_prepend(str(Path(__file__).resolve().parent / "fakes"))
    monkeypatch.delitem(sys.modules, "DaVinciResolveScript", raising=False)
    for name in [m for m in sys.modules if m.startswith("resolve_bridge")]:
        monkeypatch.delitem(sys.modules, name)
    from resolve_bridge.launch import main

    said = []
    assert main([], show=pytest.fail, pick=pytest.fail, notify=said.append) == 1
    assert "does not load in Python" in said[0] and "Workspace > Scripts" in said[0] and "\n" not in said[0]


def test_menu_script_starts_the_product_in_a_clean_environment_and_relays(fake_resolve_module, tmp_path, monkeypatch):
    import json
    import runpy
    import tempfile

    dvr = fake_resolve_module
    dvr.fake_project([[_item(dvr, "a", _media(dvr), 86400, 10, 0)]])
    root = Path(__file__).resolve().parents[2]
    out = tmp_path / "child.json"
    child = tmp_path / "child.py"
    child.write_text(
        "import json, os, sys\n"
        f"sys.path.insert(0, {str(root)!r})\n"
        "from resolve_bridge.relay import relayed_resolve\n"
        "resolve = relayed_resolve()\n"
        "print('printed: into the log')\n"
        "name = resolve.GetProjectManager().GetCurrentProject().GetCurrentTimeline().GetName()\n"
        f"open({str(out)!r}, 'w').write(json.dumps(dict(name=name, argv=sys.argv[1:], cwd=os.getcwd(), "
        "home=os.environ.get('PYTHONHOME'), path=os.environ.get('PYTHONPATH'), "
        "log=os.environ.get('MATANYONE_RESOLVE_LOG'))))\n"
        "sys.stderr.write('child error line\\n')\n")
    python = tmp_path / "python"
    python.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{child}" "$@"\n')
    python.chmod(0o755)
    monkeypatch.setenv("MATANYONE_PLUGIN_PYTHON", str(python))
    monkeypatch.setenv("MATANYONE_PLUGIN_ROOT", str(root))
    monkeypatch.setenv("PYTHONHOME", str(tmp_path / "resolve-python-home"))  # a launcher's, for Resolve's Python
    monkeypatch.setenv("PYTHONPATH", str(tmp_path / "resolve-modules"))
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    runpy.run_path(str(root / "resolve_bridge" / "MatAnyone.py"), init_globals={"resolve": dvr.scriptapp("Resolve")},
                   run_name="__main__")
    seen = json.loads(out.read_text())
    log = tmp_path / "matanyone-resolve.log"
    assert seen == {"name": "Edit v3", "argv": ["-m", "resolve_bridge"], "cwd": str(root), "home": None,
                    "path": None, "log": str(log)}
    assert log.read_text().splitlines() == ["printed: into the log", "child error line"]


def test_menu_script_without_the_products_python_says_so(tmp_path, monkeypatch, capsys):
    import runpy
    import tempfile

    monkeypatch.setenv("MATANYONE_PLUGIN_PYTHON", str(tmp_path / "nope" / "python"))
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    runpy.run_path(str(Path(__file__).resolve().parents[2] / "resolve_bridge" / "MatAnyone.py"), run_name="__main__")
    line = capsys.readouterr().out.strip()
    assert "MATANYONE_PLUGIN_PYTHON" in line and "\n" not in line
    assert (tmp_path / "matanyone-resolve.log").read_text().strip() == line


def test_menu_script_and_relay_run_on_python_3_6():
    import ast

    for name in ("MatAnyone.py", "relay.py"):
        text = (Path(__file__).resolve().parents[2] / "resolve_bridge" / name).read_text()
        ast.parse(text, feature_version=(3, 6))
        assert "from __future__ import annotations" not in text and "f\"" not in text.split('"""', 2)[2]


def test_launch_asks_which_clip_when_several_overlap(fake_resolve_module, monkeypatch):
    monkeypatch.setenv("MATANYONE_PLUGIN_PYTHON", sys.executable)
    dvr = fake_resolve_module
    low = _item(dvr, "low", _media(dvr, "m1"), 86400, 100, 0)
    high = _item(dvr, "high", _media(dvr, "m2"), 86400, 100, 0)
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
    dvr.fake_project([[_item(dvr, "a", _media(dvr), 86400, 10, 0)]])
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
