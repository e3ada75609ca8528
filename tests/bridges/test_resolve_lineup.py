"""A matte made for a Resolve clip lines up with it frame for frame: real media (a ProRes
movie trimmed at its head, an EXR sequence whose timecode comes from its headers, a 50p
movie in a 25p timeline), the plate the bridge asks for, the alpha EXRs the writer makes
and the ProRes 4444 movie matte the worker makes, each frame's number and timecode checked
against the source's."""
import io
import json

import numpy as np
import pytest

av = pytest.importorskip("av")
pytest.importorskip("OpenImageIO")

from plugin import masks, plates, protocol, writers  # noqa: E402
from plugin.worker import Worker  # noqa: E402
from tests.plugin import media  # noqa: E402


def _tc(frames, fps):
    fps = int(round(fps))
    return "%02d:%02d:%02d:%02d" % (frames // (3600 * fps), frames // (60 * fps) % 60, frames // fps % 60, frames % fps)


def _frames_of(tc, fps):
    h, m, s, f = (int(v) for v in tc.split(":"))
    return ((h * 60 + m) * 60 + s) * int(round(fps)) + f


def _plate_ref(dvr, media_item, left, duration, timeline_fps=24):
    item = dvr.TimelineItem("a", "clip", media_item, 86400, duration, left)
    dvr.fake_project([[item]], fps=timeline_fps, start_frame=86400, playhead=86400)
    from resolve_bridge.host import ResolveHost

    return ResolveHost(dvr.scriptapp("Resolve"))


def _write_alphas(plate_ref, out_pattern):
    with plates.open(plate_ref.path, (plate_ref.first, plate_ref.last)) as plate:
        with writers.open(out_pattern, like=plate, channels="matte", layer="hero") as out:  # the bridge's mattes
            for f in range(plate_ref.first, plate_ref.last + 1):
                out.write(f, np.full((plate.height, plate.width), 0.5, np.float32))
        return plate.fps


def _header_timecode(path):
    """The SMPTE time code in one image file's own header."""
    import OpenImageIO as oiio
    from plugin.sequences import _timecode_string

    inp = oiio.ImageInput.open(path)
    try:
        return _timecode_string(inp.spec().getattribute("smpte:TimeCode"))
    finally:
        inp.close()


def _written_timecodes(out_pattern, first, last):
    return {f: _header_timecode(out_pattern.replace("####", "%04d" % f)) for f in range(first, last + 1)}


def _movie(tmp_path, name, frames, fps, timecode):
    path = tmp_path / name
    media.make_prores(path, frames=frames, h=16, w=24, fps=fps, timecode=timecode)
    return str(path)


def _header_timecode_sequence(tmp_path, first, last):
    """EXRs sh020.<first..last>.exr whose headers count from 10:00:00:00 at 24 fps."""
    folder = tmp_path / "s"
    folder.mkdir()
    for i, f in enumerate(range(first, last + 1)):
        h, m, s, ff = (int(v) for v in _tc(_frames_of("10:00:00:00", 24) + i, 24).split(":"))
        media.write_image(folder / f"sh020.{f:04d}.exr", media.source_image(16, 24, seed=i),
                          attributes={"smpte:TimeCode": media.timecode_attribute(h, m, s, ff),
                                      "FramesPerSecond": media.fps_attribute(24)})
    return folder


@pytest.fixture(params=["18.6.6", "19.0.0", "21.0.2"])
def dvr(request, fake_resolve_module):
    fake_resolve_module.fake_reset(version=request.param)
    return fake_resolve_module


def test_a_movie_trimmed_at_its_head(dvr, tmp_path):
    movie = _movie(tmp_path, "A001.mov", 40, 24, "01:00:00:00")
    host = _plate_ref(dvr, dvr.fake_movie("m1", movie, 40, 24, "01:00:00:00"), left=24, duration=10)
    ref = host.selected_plate()
    assert (ref.first, ref.last) == (25, 34)
    out = str(tmp_path / "o" / "a.####.exr")
    _write_alphas(ref, out)
    # source frame f of a movie numbered from 1 carries 01:00:00:00 + (f - 1)
    assert _written_timecodes(out, 25, 34) == {f: _tc(86400 + f - 1, 24) for f in range(25, 35)}


def test_a_sequence_with_header_timecode(dvr, tmp_path):
    folder = _header_timecode_sequence(tmp_path, 987, 1016)
    item = dvr.fake_sequence("m1", str(folder / "sh020.[0987-1016].exr"), 24, header_tc="10:00:00:00")
    ref = _plate_ref(dvr, item, left=13, duration=10).selected_plate()
    assert (ref.first, ref.last) == (1000, 1009)
    out = str(tmp_path / "o" / "a.####.exr")
    _write_alphas(ref, out)
    source = {f: _header_timecode(str(folder / f"sh020.{f:04d}.exr")) for f in range(1000, 1010)}
    assert _written_timecodes(out, 1000, 1009) == source
    assert source[1000] == "10:00:00:13"


def test_a_50p_clip_in_a_25p_timeline(dvr, tmp_path):
    movie = _movie(tmp_path, "B001.mov", 60, 50, "02:00:00:00")
    host = _plate_ref(dvr, dvr.fake_movie("m1", movie, 60, 50, "02:00:00:00"), left=5, duration=10, timeline_fps=25)
    ref = host.selected_plate()
    assert (ref.first, ref.last) == (11, 30)  # 20 media frames at 50p
    out = str(tmp_path / "o" / "a.####.exr")
    assert _write_alphas(ref, out) == pytest.approx(50)
    assert _written_timecodes(out, 11, 30) == {f: _tc(_frames_of("02:00:00:00", 50) + f - 1, 50) for f in range(11, 31)}


# ---- the ProRes 4444 movie matte, made by the worker -----------------------------------

def _shot(tmp_path, plate_ref, out_pattern):
    mask = tmp_path / "masks" / "hero.png"
    mask.parent.mkdir(exist_ok=True)
    with plates.open(plate_ref.path, (plate_ref.first, plate_ref.last)) as plate:
        masks.write_png(str(mask), np.ones((plate.height, plate.width), np.uint8) * 255)
    shot = {"version": 1, "plate": {"path": plate_ref.path, "first": plate_ref.first, "last": plate_ref.last,
                                    "colourspace": None, "ocio_config": None, "frame_offset": plate_ref.frame_offset},
            "objects": [{"id": 1, "name": "hero", "keyframes": {str(plate_ref.first): str(mask)}}],
            "output": {"path": out_pattern.replace("a.####", "a_{object}.####")}}
    path = tmp_path / "sh010.json"
    path.write_text(json.dumps(shot))
    return str(path)


def _ask_worker(request):
    out = io.BytesIO()
    worker = Worker(out)
    worker.greeted = True
    worker._answer(1, lambda: worker.do_write_matte_movie(request))
    reply = json.loads(out.getvalue().decode().splitlines()[-1])
    assert "result" in reply, reply
    return protocol.MatteMovieWritten.from_json(reply["result"])


@pytest.mark.parametrize("case", ["trimmed movie", "header-timecode sequence", "50p in 25p"])
def test_the_movie_matte_starts_at_the_media_with_its_timecode_and_rate(fake_resolve_module, tmp_path, case):
    dvr = fake_resolve_module
    if case == "trimmed movie":
        src = _movie(tmp_path, "A001.mov", 30, 24, "01:00:00:00")
        host = _plate_ref(dvr, dvr.fake_movie("m1", src, 30, 24, "01:00:00:00"), left=6, duration=4)
        fps, start_tc, media_first = 24, "01:00:00:00", 1
    elif case == "50p in 25p":
        src = _movie(tmp_path, "B001.mov", 30, 50, "02:00:00:00")
        host = _plate_ref(dvr, dvr.fake_movie("m1", src, 30, 50, "02:00:00:00"), left=3, duration=4, timeline_fps=25)
        fps, start_tc, media_first = 50, "02:00:00:00", 1
    else:
        folder = _header_timecode_sequence(tmp_path, 995, 1014)
        item = dvr.fake_sequence("m1", str(folder / "sh020.[0995-1014].exr"), 24, header_tc="10:00:00:00")
        host = _plate_ref(dvr, item, left=7, duration=4)
        fps, start_tc, media_first = 24, "10:00:00:00", 995
    host.matte_format = "prores4444"
    ref = host.selected_plate()
    out = str(tmp_path / "o" / "a_hero.####.exr")
    _write_alphas(ref, out)
    shot_path = _shot(tmp_path, ref, str(tmp_path / "o" / "a.####.exr"))
    (request,) = host.matte_movies({"hero": out}, ref, shot_path).values()
    assert (request.start, request.timecode, request.fps) == (media_first, start_tc, fps)
    written = _ask_worker(request)
    assert (written.first, written.last) == (media_first, ref.last)
    with av.open(written.path) as movie:
        stream = movie.streams.video[0]
        assert float(stream.average_rate) == pytest.approx(fps)
        assert (stream.metadata.get("timecode") or movie.metadata.get("timecode")) == start_tc
    with plates.open_alpha(written.path) as back:  # the product's own reader: timecode and alpha
        assert back.timecode == start_tc and back.frames == list(range(1, ref.last - media_first + 2))
        alphas = [float(back.read_alpha(f).mean()) for f in back.frames]
    before = ref.first - media_first  # media frame i of the clip = movie frame i
    assert max(alphas[:before]) < 0.002 and min(alphas[before:]) == pytest.approx(0.5, abs=0.002)


def test_a_movie_matte_for_an_unknown_object_is_one_line(fake_resolve_module, tmp_path):
    dvr = fake_resolve_module
    src = _movie(tmp_path, "A001.mov", 10, 24, "01:00:00:00")
    ref = _plate_ref(dvr, dvr.fake_movie("m1", src, 10, 24), left=0, duration=4).selected_plate()
    shot_path = _shot(tmp_path, ref, str(tmp_path / "o" / "a.####.exr"))
    out = io.BytesIO()
    worker = Worker(out)
    worker._answer(1, lambda: worker.do_write_matte_movie(protocol.WriteMatteMovie(
        shot_path=shot_path, object="bike", path=str(tmp_path / "x.mov"))))
    error = json.loads(out.getvalue().decode().splitlines()[-1])["error"]
    assert "no object 'bike'" in error["message"] and "\n" not in error["message"]
