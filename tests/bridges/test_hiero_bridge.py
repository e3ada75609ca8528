"""Nuke Studio / Hiero against the fake `hiero`: the plate from a track item (with handles, within
the media), the alpha back as a clip in a MatAnyone bin and a track item above the plate at the
same timeline position and source range, a re-run replacing it, all in one undo step."""
import pytest


def _timeline(hiero, *, start=1001, duration=100, source_in=20, source_out=59, timeline_in=86400,
              colour="default (linear)", below=0, above=0):
    """A sequence whose video track `below + 1` (bottom first) holds one shot: media frames
    start..start+duration-1, cut source_in..source_out (from the media's start), placed at
    timeline_in; `below` empty tracks under it and `above` tracks over it, each with a shot."""
    core = hiero.core
    project = hiero.fake_project
    sequence = core.Sequence("edit_v001", project)
    for n in range(below):
        sequence.addTrack(core.VideoTrack(f"Video {n + 1}"))
    track = core.VideoTrack(f"Video {below + 1}")
    sequence.addTrack(track)
    clip = core.Clip(core.MediaSource("/plates/sh010/sh010.%04d.exr", fake_start=start, fake_duration=duration))
    clip.setName("sh010")
    clip.setSourceMediaColourTransform(colour)
    item = track.createTrackItem("sh010")
    item.setSource(clip)
    item.setSourceIn(source_in)
    item.setSourceOut(source_out)
    item.setTimelineIn(timeline_in)
    item.setTimelineOut(timeline_in + source_out - source_in)
    track.addItem(item)
    for n in range(above):
        over = core.VideoTrack(f"Video {below + 2 + n}")
        sequence.addTrack(over)
        other = over.createTrackItem(f"grade{n + 1}")
        other.setTimelineIn(timeline_in)
        other.setTimelineOut(timeline_in + 10)
        over.addItem(other)
    hiero.ui.state.update(sequence=sequence, selection=[item])
    del core.log[:]
    return sequence, item


def test_plate_from_the_selected_track_item_with_handles(fake_hiero, tmp_path):
    _, item = _timeline(fake_hiero)
    from nuke_bridge.hiero_host import HieroHost

    plate = HieroHost(handles=12).selected_plate()
    assert plate.path == "/plates/sh010/sh010.%04d.exr"
    assert (plate.first, plate.last) == (1021 - 12, 1060 + 12)  # the cut 1021-1060 plus handles
    assert plate.frame_offset == 86400 - 1021  # timeline frame = file frame + offset
    assert plate.colourspace == "Linear Rec.709 (sRGB)" and plate.ocio_config is None
    assert plate.output_dir.startswith((tmp_path / "edit" / "matanyone").as_posix())


def test_handles_stop_at_the_media(fake_hiero):
    _timeline(fake_hiero, source_in=3, source_out=97)
    from nuke_bridge.hiero_host import HieroHost

    plate = HieroHost(handles=12).selected_plate()
    assert (plate.first, plate.last) == (1001, 1100)


def test_project_ocio_config_is_passed_through(fake_hiero):
    fake_hiero.fake_project.fake_ocio = "/show/ocio/config.ocio"
    _timeline(fake_hiero, colour="ARRI LogC3 (EI800)")
    from nuke_bridge.hiero_host import HieroHost

    plate = HieroHost().selected_plate()
    assert (plate.colourspace, plate.ocio_config) == ("ARRI LogC3 (EI800)", "/show/ocio/config.ocio")


@pytest.mark.parametrize("selection", [[], "two"])
def test_no_or_several_shots_selected_is_one_line(fake_hiero, selection):
    _, item = _timeline(fake_hiero)
    fake_hiero.ui.state["selection"] = [item, item] if selection == "two" else []
    from nuke_bridge.hiero_host import HieroHost

    with pytest.raises(Exception) as info:
        HieroHost().selected_plate()
    assert getattr(info.value, "user_error", False) and "exactly one shot" in str(info.value)


def test_a_retimed_shot_is_refused_in_one_line(fake_hiero):
    _, item = _timeline(fake_hiero)
    item._speed = 2.0
    from nuke_bridge.hiero_host import HieroHost

    with pytest.raises(Exception, match="sh010 is retimed"):
        HieroHost().selected_plate()


def _alpha_track(sequence):
    return [t for t in sequence.videoTracks() if t.name().startswith("MatAnyone")]


def test_alpha_comes_back_above_the_plate_at_its_position_and_range(fake_hiero, tmp_path):
    sequence, item = _timeline(fake_hiero)
    from nuke_bridge.hiero_host import HieroHost

    host = HieroHost(handles=12)
    plate = host.selected_plate()
    shot = (tmp_path / "sh010.matanyone.json").as_posix()
    host.bring_back({"hero": "matte/sh010_hero.####.exr"}, plate, shot)

    (track,) = _alpha_track(sequence)
    assert sequence.videoTracks().index(track) == sequence.videoTracks().index(item_track(sequence, item)) + 1
    assert track.name() == "MatAnyone sh010"
    (alpha,) = track.items()
    assert (alpha.timelineIn(), alpha.timelineOut()) == (item.timelineIn(), item.timelineOut())
    clip = alpha.source()
    media = clip.mediaSource()
    assert media.fileinfos()[0].filename() == (tmp_path / "matte" / "sh010_hero.%04d.exr").as_posix()
    # the alpha media starts at the plate's first frame (1021 - 12 handles): the cut is 12 frames in
    assert (alpha.sourceIn(), alpha.sourceOut()) == (12, 12 + 39)
    assert clip.sourceMediaColourTransform() == "raw"
    (bin_,) = fake_hiero.fake_project.clipsBin().bins()
    assert bin_.name() == "MatAnyone" and [b.activeItem() for b in bin_.items()] == [clip]
    (step,) = fake_hiero.fake_project.fake_steps  # one undo step holds every change
    assert step[0] == "MatAnyone: sh010" and len(step[1]) == len(fake_hiero.core.log)


def item_track(sequence, item):
    return next(t for t in sequence.videoTracks() if item in t.items())


def test_a_rerun_replaces_the_alpha_instead_of_stacking(fake_hiero, tmp_path):
    sequence, item = _timeline(fake_hiero)
    from nuke_bridge.hiero_host import HieroHost

    host = HieroHost()
    shot = (tmp_path / "sh010.matanyone.json").as_posix()
    host.bring_back({"hero": "matte/v1.####.exr"}, host.selected_plate(), shot)
    host.bring_back({"hero": "matte/v2.####.exr"}, host.selected_plate(), shot)
    (track,) = _alpha_track(sequence)
    (alpha,) = track.items()
    assert alpha.source().mediaSource().fileinfos()[0].filename().endswith("matte/v2.%04d.exr")
    (bin_,) = fake_hiero.fake_project.clipsBin().bins()
    assert len(bin_.items()) == 1 and len(sequence.videoTracks()) == 2


def _names(sequence):
    return [t.name() for t in sequence.videoTracks()]


def test_alpha_goes_directly_above_a_plate_on_a_middle_track(fake_hiero, tmp_path):
    """Sequence.addTrack only adds on top: the tracks above the plate come off and go back on
    above the alpha track, keeping their shots and their order, all in the one undo step."""
    sequence, item = _timeline(fake_hiero, below=1, above=2)
    before = {t.name(): (t, t.items()) for t in sequence.videoTracks()}
    from nuke_bridge.hiero_host import HieroHost

    host = HieroHost()
    host.bring_back({"hero": "matte/sh010_hero.####.exr"}, host.selected_plate(),
                    (tmp_path / "sh010.matanyone.json").as_posix())

    assert _names(sequence) == ["Video 1", "Video 2", "MatAnyone sh010", "Video 3", "Video 4"]
    for track in sequence.videoTracks():
        if track.name() in before:  # the same track objects, each with its own shots
            assert (track, track.items()) == before[track.name()]
    assert item.parentTrack().name() == "Video 2"
    (alpha,) = _alpha_track(sequence)[0].items()
    assert (alpha.timelineIn(), alpha.timelineOut()) == (item.timelineIn(), item.timelineOut())
    (step,) = fake_hiero.fake_project.fake_steps
    assert len(step[1]) == len(fake_hiero.core.log)


def test_a_rerun_on_a_middle_track_replaces_without_moving_tracks(fake_hiero, tmp_path):
    sequence, item = _timeline(fake_hiero, above=2)
    from nuke_bridge.hiero_host import HieroHost

    host = HieroHost()
    shot = (tmp_path / "sh010.matanyone.json").as_posix()
    host.bring_back({"hero": "matte/v1.####.exr"}, host.selected_plate(), shot)
    order = sequence.videoTracks()
    host.bring_back({"hero": "matte/v2.####.exr"}, host.selected_plate(), shot)

    assert sequence.videoTracks() == order
    assert _names(sequence) == ["Video 1", "MatAnyone sh010", "Video 2", "Video 3"]
    (alpha,) = _alpha_track(sequence)[0].items()
    assert alpha.source().mediaSource().fileinfos()[0].filename().endswith("matte/v2.%04d.exr")
    second = fake_hiero.fake_project.fake_steps[-1][1]
    assert not [what for what, _ in second if what.startswith("Sequence.")]  # no track moved


def test_several_objects_stack_directly_above_the_plate_in_order(fake_hiero, tmp_path):
    sequence, item = _timeline(fake_hiero, above=1)
    from nuke_bridge.hiero_host import HieroHost

    host = HieroHost()
    host.bring_back({"hero": "matte/hero.####.exr", "bag": "matte/bag.####.exr"}, host.selected_plate(),
                    (tmp_path / "sh010.matanyone.json").as_posix())
    assert _names(sequence) == ["Video 1", "MatAnyone sh010 hero", "MatAnyone sh010 bag", "Video 2"]


def test_an_error_while_wiring_is_undone_and_reported(fake_hiero, tmp_path, monkeypatch):
    sequence, item = _timeline(fake_hiero)
    from nuke_bridge.hiero_host import HieroHost

    said = []
    host = HieroHost(report=said.append)
    plate = host.selected_plate()

    def broken(self, name):
        raise RuntimeError("media offline")
    monkeypatch.setattr(fake_hiero.core.VideoTrack, "createTrackItem", broken)
    host.bring_back({"hero": "matte/sh010_hero.####.exr"}, plate, (tmp_path / "sh010.matanyone.json").as_posix())
    assert len(said) == 1 and "media offline" in said[0] and "\n" not in said[0]
    assert fake_hiero.core.log[-1] == ("Project.undo", ("MatAnyone: sh010",))


def test_menus_in_the_menu_bar_and_the_timeline_context_menu(qtbot, fake_hiero):
    pytest.importorskip("PySide6")
    from ui.qt import QtWidgets
    from nuke_bridge import hiero_host

    hiero_host.register()
    bar = fake_hiero.ui.menuBar()
    (menu,) = [a.menu() for a in bar.actions() if a.text() == "MatAnyone"]
    assert [a.text() for a in menu.actions()] == ["Matte selected shot"]
    ((kind, callback),) = fake_hiero.core.events.interests
    assert kind == "kShowContextMenu/kTimeline"
    event = type("Event", (), {"menu": QtWidgets.QMenu()})()
    callback(event)
    (sub,) = [a.menu() for a in event.menu.actions() if a.text() == "MatAnyone"]
    assert [a.text() for a in sub.actions()] == ["Matte selected shot"]
