"""Messages that were clean but confusing (issue 21, "Messages that are clean but confusing"):
each case makes its input, runs it, and checks the one line says what is really wrong."""
import contextlib
import os
from fractions import Fraction

import numpy as np
import pytest

from plugin import cli, plates, protocol
from plugin.errors import MaskError, PlateError, ShotFileError
from plugin.shot import Shot
from tests.plugin import media
from tests.plugin.pipeline_media import make_shot
from tests.plugin.test_shot import shot_dict


def _shot_with(tmp_path, **over):
    data = shot_dict()
    data.update(over)
    for key in [k for k, v in over.items() if v is None]:
        del data[key]
    return lambda: Shot.from_dict(data, base_dir=tmp_path)


def version_text(tmp_path):
    return _shot_with(tmp_path, version="1"), ShotFileError, "version is the text '1'; write the number 1, without quotes"


def version_missing(tmp_path):
    return _shot_with(tmp_path, version=None), ShotFileError, 'version is missing; add "version": 1'


def version_newer(tmp_path):
    return _shot_with(tmp_path, version=2), ShotFileError, "version is 2, a format this plugin does not read"


def plate_folder_missing(tmp_path):
    return (lambda: plates.open(str(tmp_path / "no" / "plates"))), PlateError, "plates: no such file or folder"


def truncated_mp4(tmp_path):
    import av
    with contextlib.closing(av.open(str(tmp_path / "c.mp4"), "w")) as out:
        stream = out.add_stream("mpeg4", rate=24)
        stream.width, stream.height, stream.pix_fmt = 32, 16, "yuv420p"
        for i in range(10):
            vf = av.VideoFrame.from_ndarray(np.full((16, 32, 3), 20 * i, np.uint8), format="rgb24")
            vf = vf.reformat(format="yuv420p")
            vf.pts, vf.time_base = i, Fraction(1, 24)
            for packet in stream.encode(vf):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    data = (tmp_path / "c.mp4").read_bytes()
    (tmp_path / "cut.mp4").write_bytes(data[:len(data) // 2])
    return (lambda: plates.open(str(tmp_path / "cut.mp4"))), PlateError, "as in a file cut short"


def dangling_link_frame(tmp_path):
    media.make_exr_sequence(tmp_path, frames=3, h=4, w=4)
    os.remove(tmp_path / "shot.1002.exr")
    os.symlink(tmp_path / "gone" / "x.exr", tmp_path / "shot.1002.exr")

    def read_all():
        with plates.open(str(tmp_path / "shot.####.exr")) as plate:
            for f in plate.frames:
                plate.read(f)
    return read_all, PlateError, f"frame 1002 cannot be read (it is a link to {tmp_path / 'gone' / 'x.exr'}, which does not exist)"


def mask_is_a_folder(tmp_path):
    from plugin import masks
    (tmp_path / "masks").mkdir()
    return (lambda: masks.read_mask(str(tmp_path / "masks"))), MaskError, "masks: a folder, not a mask file"


def shot_file_is_a_folder(tmp_path):
    (tmp_path / "sh.json").mkdir()
    return (lambda: Shot.load(tmp_path / "sh.json")), ShotFileError, "a folder, not a shot file"


CASES = [version_text, version_missing, version_newer, plate_folder_missing, truncated_mp4,
         dangling_link_frame, mask_is_a_folder, shot_file_is_a_folder]


@pytest.mark.parametrize("case", CASES, ids=[c.__name__ for c in CASES])
def test_the_message_says_what_is_wrong(tmp_path, case):
    run, kind, words = case(tmp_path)
    with pytest.raises(kind) as err:
        run()
    msg = str(err.value)
    assert words in msg and "\n" not in msg, msg


def test_frames_option_without_a_shot_file_blames_the_option(tmp_path, capsys):
    shot = Shot.load(make_shot(tmp_path, n=3))
    mask = shot.objects[0].keyframes[1001]
    code = cli.main(["run", "--quiet", "--plate", shot.plate.path, "--mask", f"1001={mask}",
                     "--frames", "1002-1003", "--out", str(tmp_path / "o" / "m.####.exr")])
    err = capsys.readouterr().err
    assert code == cli.EXIT_USER and err.count("\n") == 1
    assert "frame 1001 of object 'matte' is outside --frames 1002-1003" in err
    assert "shot file" not in err and "plate range" not in err


def test_a_shot_file_with_a_byte_order_mark_is_read(tmp_path):
    path = make_shot(tmp_path, n=2)
    text = path.read_text(encoding="utf-8")
    path.write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    assert Shot.load(path).objects[0].name == "hero"


def test_a_huge_path_is_not_echoed_whole(tmp_path, capsys):
    huge = "/x" * 1_500_000 + ".exr"               # 3 MB
    line = protocol.error(7, protocol.USER_ERROR, PlateError(f"{huge}: no such file; check the path"))
    msg = line["error"]["message"]
    assert len(msg) <= 2000 and msg.startswith("/x/x") and msg.endswith("no such file; check the path")
    assert cli.main(["info", huge]) == cli.EXIT_USER
    assert len(capsys.readouterr().err) < 2100


def test_an_unpadded_sequence_across_a_digit_boundary_is_one_sequence(tmp_path):
    for f in range(997, 1003):
        media.write_image(tmp_path / f"p.{f}.exr", media.source_image(4, 4, seed=f))
    with plates.open(str(tmp_path)) as plate:
        assert plate.frames == list(range(997, 1003))
        np.testing.assert_allclose(plate.read(1001), media.source_image(4, 4, seed=1001), atol=1e-3)
    with plates.open(str(tmp_path / "p.997.exr")) as plate:
        assert plate.frames == list(range(997, 1003))


def test_padded_sequences_stay_apart_from_unpadded_ones(tmp_path):
    for f in (1, 2):
        media.write_image(tmp_path / f"p.{f:04d}.exr", media.source_image(4, 4))
    for f in (10001, 10002):
        media.write_image(tmp_path / f"q.{f}.exr", media.source_image(4, 4))
    from plugin import framepattern
    found = framepattern.sequences_in(str(tmp_path), {".exr"})
    assert [(p.prefix, p.padding) for p in found] == [("p.", 4), ("q.", 5)]


def test_eval_hr_note_is_grammatical():
    from types import SimpleNamespace

    from plugin import evaluate
    for mode, words in (("hr", "Grad is a sum over 1920x1080 pixels"), ("lr", "Grad and Conn are sums over")):
        scorer = SimpleNamespace(metrics=("mad", "grad"), frames=[], mode=mode, core=False, quantize=False,
                                 totals=lambda: {}, dtssd_after_first=lambda: None)
        notes = evaluate._result(scorer, 1920, 1080, "given").notes
        assert any(words in n for n in notes), notes
        assert not any("Grad are" in n for n in notes)



def _worker_answer(method, params):
    import io

    from plugin.worker import Worker
    from tests.plugin.test_protocol import _Now
    out = io.BytesIO()
    w = Worker(out)
    w.pool = w.frame_pool = _Now()
    try:
        w.handle_line(protocol.encode(protocol.request(0, "hello", {"protocol": protocol.PROTOCOL_VERSION})))
        start = len(out.getvalue())
        w.handle_line(protocol.encode(protocol.request(9, method, params)))
        if w._job_thread is not None:
            w._job_thread.join(30)
        (answer,) = [protocol.decode(x) for x in out.getvalue()[start:].splitlines() if b'"id"' in x]
        return answer
    finally:
        w.close()


def test_worker_run_shot_with_one_name_as_text_is_not_spelt_out(tmp_path):
    answer = _worker_answer("run_shot", {"shot_path": str(make_shot(tmp_path, n=2)), "objects": "matte"})
    msg = answer["error"]["message"]
    assert answer["error"]["code"] == protocol.INVALID_PARAMS and "objects must be a list" in msg
    assert "'m'" not in msg


def test_worker_error_with_a_huge_path_is_cut(tmp_path):
    huge = str(tmp_path) + "/x" * 1_500_000 + ".####.exr"
    answer = _worker_answer("open_plate", {"path": huge})
    msg = answer["error"]["message"]
    assert len(msg) <= 2000 and str(tmp_path) in msg and "\n" not in msg, msg[:300]
