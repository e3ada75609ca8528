"""plugin.writers: round trips through OpenImageIO, atomic frames, never over a source."""
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import OpenImageIO as oiio
import pytest

from plugin import plates, writers
from plugin.errors import OutputError
from tests.plugin import media
from tests.plugin.media import plates_untouched  # noqa: F401 - autouse: every plate read stays byte-identical

REPO = Path(__file__).resolve().parents[2]


def _read(path):
    inp = oiio.ImageInput.open(str(path))
    assert inp is not None, oiio.geterror()
    spec = inp.spec()
    px = inp.read_image(0, 0, 0, spec.nchannels, "float")
    inp.close()
    return spec, np.asarray(px, np.float32).reshape(spec.height, spec.width, spec.nchannels)


def _alpha(h, w, seed=0):
    rng = np.random.default_rng(seed)
    return rng.random((h, w), dtype=np.float32)


@pytest.mark.parametrize("dtype, compression, tol", [("half", "zip", 1e-3), ("float", "piz", 0.0),
                                                     ("half", "piz", 1e-3), ("float", "zip", 0.0)])
def test_alpha_round_trip(tmp_path, dtype, compression, tol):
    pattern, _ = media.make_exr_sequence(tmp_path / "plate", frames=3, h=12, w=20)
    meta = {"source": pattern, "colourspace": "ACEScg", "engine": "matanyone-plugin 0.1.0",
            "weights": "stand-in:demo", "shot": "/shots/sh010.json"}
    with media.assert_plate_untouched(tmp_path / "plate"):
        with plates.open(pattern) as plate, \
                writers.open(str(tmp_path / "out" / "hero.####.exr"), like=plate, dtype=dtype,
                             compression=compression, metadata=meta) as out:
            alphas = {f: _alpha(12, 20, f) for f in plate.frames}
            for f in plate.frames:
                assert out.write(f, alphas[f]) == str(tmp_path / "out" / f"hero.{f}.exr")
    names = sorted(os.listdir(tmp_path / "out"))
    assert names == ["hero.1001.exr", "hero.1002.exr", "hero.1003.exr"]   # no temporaries left
    for f, alpha in alphas.items():
        spec, px = _read(tmp_path / "out" / f"hero.{f}.exr")
        assert tuple(spec.channelnames) == ("A",)
        assert str(spec.format) == dtype
        assert spec.get_string_attribute("compression") == compression
        np.testing.assert_allclose(px[:, :, 0], alpha, atol=tol, rtol=tol)
        got = writers.read_metadata(tmp_path / "out" / f"hero.{f}.exr")
        assert got["frame"] == str(f)
        for k, v in meta.items():
            assert got[k] == v
    # and the alpha sequence opens as a plate of its own, same numbers
    with plates.open_alpha(str(tmp_path / "out" / "hero.####.exr")) as matte:
        assert matte.frames == [1001, 1002, 1003]
        np.testing.assert_allclose(matte.read_alpha(1002), alphas[1002], atol=tol)


def test_windows_follow_the_source(tmp_path):
    data = media.source_image(6, 8)
    for f in (1001, 1002):
        media.write_image(tmp_path / f"dw.{f}.exr", data, data_window=(5, 3, 8, 6),
                          display_window=(0, 0, 20, 12), attributes={"FramesPerSecond": media.fps_attribute(25)})
    with plates.open(str(tmp_path / "dw.####.exr")) as plate:
        alpha = np.zeros((12, 20), np.float32)
        alpha[3:9, 5:13] = 0.75
        alpha[0, 0] = 1.0                     # outside the data window: not stored
        with writers.open(str(tmp_path / "m" / "dw_alpha.%04d.exr"), like=plate) as out:
            out.write(1002, alpha)
    spec, px = _read(tmp_path / "m" / "dw_alpha.1002.exr")
    assert (spec.x, spec.y, spec.width, spec.height) == (5, 3, 8, 6)
    assert (spec.full_x, spec.full_y, spec.full_width, spec.full_height) == (0, 0, 20, 12)
    np.testing.assert_allclose(px[:, :, 0], 0.75, atol=1e-3)
    assert spec.getattribute("FramesPerSecond") == (25, 1)
    with plates.open_alpha(str(tmp_path / "m" / "dw_alpha.1002.exr")) as back:
        a = back.read_alpha(1002)
        assert a.shape == (12, 20) and a[0, 0] == 0.0 and a[4, 6] == pytest.approx(0.75, abs=1e-3)


def test_matte_channels_are_a_grey_rgba_matte_in_the_objects_layer(tmp_path):
    """What Resolve's External Matte Saver writes for a named RGBA matte (the Resolve bridge's
    default): the alpha in R, G, B and A of a layer named after the object."""
    pattern, _ = media.make_exr_sequence(tmp_path / "p", frames=2, h=8, w=10, dtype="float")
    alphas = {f: np.linspace(0, 1, 80, dtype=np.float32).reshape(8, 10) ** (f - 1000) for f in (1001, 1002)}
    with plates.open(pattern) as plate:
        with writers.open(str(tmp_path / "o" / "x_{0}.####.exr".format("hero")), like=plate, channels="matte",
                          dtype="float", layer="hero") as out:
            for frame, alpha in alphas.items():
                out.write(frame, alpha)
        with pytest.raises(OutputError, match="layer named after its object"):
            writers.open(str(tmp_path / "o" / "y.####.exr"), like=plate, channels="matte")
    for frame, alpha in alphas.items():
        spec, px = _read(tmp_path / "o" / f"x_hero.{frame}.exr")
        assert sorted(spec.channelnames) == ["hero.A", "hero.B", "hero.G", "hero.R"]
        for i, name in enumerate(spec.channelnames):
            np.testing.assert_array_equal(px[:, :, i], alpha, err_msg=name)
        assert writers.read_metadata(tmp_path / "o" / f"x_hero.{frame}.exr")["frame"] == str(frame)
    with plates.open_alpha(str(tmp_path / "o" / "x_hero.####.exr")) as back:  # the panel's viewer reads it
        assert back.frames == [1001, 1002]
        np.testing.assert_array_equal(back.read_alpha(1002), alphas[1002])


def test_rgba_premultiplied_and_png_preview(tmp_path):
    pattern, pixels = media.make_exr_sequence(tmp_path / "p", frames=1, h=8, w=10, dtype="float")
    alpha = np.linspace(0, 1, 80, dtype=np.float32).reshape(8, 10)
    with plates.open(pattern) as plate:
        with writers.open(str(tmp_path / "o" / "x.####.exr"), like=plate, channels="RGBA", dtype="float",
                          preview=str(tmp_path / "o" / "preview" / "x.####.png")) as out:
            out.write(1001, alpha, rgb=plate.read(1001))
            with pytest.raises(ValueError, match="RGBA"):
                out.write(1001, alpha)
    spec, px = _read(tmp_path / "o" / "x.1001.exr")
    assert tuple(spec.channelnames) == ("R", "G", "B", "A")
    np.testing.assert_allclose(px[:, :, :3], pixels[0] * alpha[:, :, None], atol=1e-6)
    np.testing.assert_allclose(px[:, :, 3], alpha, atol=1e-6)
    pspec, ppx = _read(tmp_path / "o" / "preview" / "x.1001.png")
    assert str(pspec.format) == "uint16" and pspec.nchannels == 1
    np.testing.assert_allclose(ppx[:, :, 0], alpha, atol=1 / 65535)
    assert len(np.unique(ppx)) == 80      # finer than 8 bits would allow for a long ramp


def test_movie_plate_writes_from_frame_one(tmp_path):
    mov = tmp_path / "c.mov"
    media.make_prores(mov, frames=2, h=8, w=16)
    with plates.open(str(mov)) as plate, writers.open(str(tmp_path / "a.####.exr"), like=plate) as out:
        out.write(1, np.ones((8, 16), np.float32))
    spec, _ = _read(tmp_path / "a.0001.exr")
    assert spec.getattribute("FramesPerSecond") == (24, 1)


def test_refuses_output_over_the_source(tmp_path):
    pattern, _ = media.make_exr_sequence(tmp_path, frames=2, h=4, w=4)
    with media.assert_plate_untouched(tmp_path), plates.open(pattern) as plate:
        for spelling in (pattern, str(tmp_path / "shot.%04d.exr"), str(tmp_path / "." / "shot.$F4.exr")):
            with pytest.raises(OutputError, match="would overwrite source file"):
                writers.open(spelling, like=plate)
        os.symlink(tmp_path, tmp_path.parent / f"{tmp_path.name}_link")
        with pytest.raises(OutputError, match="would overwrite source file"):
            writers.open(str(tmp_path.parent / f"{tmp_path.name}_link" / "shot.####.exr"), like=plate)


@pytest.mark.parametrize("kwargs, match", [
    ({"dtype": "uint8"}, "output dtype"),
    ({"compression": "lzma"}, "output compression"),
    ({"channels": "RGB"}, "output channels"),
])
def test_bad_options(tmp_path, kwargs, match):
    with pytest.raises(OutputError, match=match):
        writers.open(str(tmp_path / "a.####.exr"), display_window=(0, 0, 4, 4), **kwargs)


def test_pattern_needs_token_and_exr(tmp_path):
    with pytest.raises(OutputError, match="no frame token"):
        writers.open(str(tmp_path / "a.exr"), display_window=(0, 0, 4, 4))
    with pytest.raises(OutputError, match="must end in .exr"):
        writers.open(str(tmp_path / "a.####.png"), display_window=(0, 0, 4, 4))


def test_failed_write_leaves_nothing(tmp_path, monkeypatch):
    out = writers.open(str(tmp_path / "a.####.exr"), display_window=(0, 0, 4, 4))

    def broken(path, spec, pixels):
        Path(path).write_bytes(b"half a frame")
        raise OSError("disk full")
    monkeypatch.setattr(writers, "_oiio_write", broken)
    with pytest.raises(OSError):
        out.write(1, np.zeros((4, 4), np.float32))
    assert os.listdir(tmp_path) == []


_KILL_SCRIPT = textwrap.dedent("""
    import sys, numpy as np
    sys.path.insert(0, {repo!r})
    from plugin import writers
    out = writers.open({pattern!r}, display_window=(0, 0, 1024, 768), dtype="float", compression="piz")
    rng = np.random.default_rng(0)
    alpha = rng.random((768, 1024), dtype=np.float32)
    f = 1
    while True:
        out.write(f, alpha)
        print(f, flush=True)
        f += 1
""")


def test_killed_writer_leaves_only_whole_frames(tmp_path):
    pattern = str(tmp_path / "out" / "k.####.exr")
    script = tmp_path / "writer.py"
    script.write_text(_KILL_SCRIPT.format(repo=str(REPO), pattern=pattern))
    proc = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    try:
        for _ in range(3):                 # let a few frames land, then kill mid-loop
            assert proc.stdout.readline(), "writer died early"
        time.sleep(0.05)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
    names = sorted(os.listdir(tmp_path / "out"))
    finals = [n for n in names if not writers.is_temp_name(n)]
    assert len(finals) >= 3
    for name in finals:                     # every finished name is a whole, readable frame
        spec, px = _read(tmp_path / "out" / name)
        assert (spec.width, spec.height) == (1024, 768) and np.isfinite(px).all()
    # a temporary possibly left by the kill is not part of the sequence...
    with plates.open_alpha(pattern) as seq:
        assert seq.frames == list(range(1, len(finals) + 1))
    # ...and the next writer on that folder clears it
    writers.open(pattern, display_window=(0, 0, 4, 4))
    assert not [n for n in os.listdir(tmp_path / "out") if writers.is_temp_name(n)]


def test_contact_sheet(tmp_path):
    cells = [(media.source_image(30, 40, seed=i), np.full((30, 40), i / 5, np.float32)) for i in range(5)]
    path = writers.contact_sheet(tmp_path / "sheet" / "contact.png", cells, columns=3, thumb_width=40, gap=2)
    spec, px = _read(path)
    # 2 rows x 3 columns of (plate | gap | alpha) cells
    assert (spec.width, spec.height) == (3 * (40 + 2 + 40 + 2) + 2, 2 * (30 + 2) + 2)
    cell_alpha = px[2 + 32 + 10, 2 + 84 + 42 + 20]     # row 1, column 1 = cell 4: alpha 0.8
    np.testing.assert_allclose(cell_alpha, 0.8, atol=2 / 255)
    assert os.listdir(tmp_path / "sheet") == ["contact.png"]


def test_timecode_and_pixel_aspect_follow_the_source(tmp_path):
    (tmp_path / "p").mkdir()
    for f in (1001, 1002, 1003):
        media.write_image(tmp_path / "p" / f"tc.{f}.exr", media.source_image(4, 6),
                          attributes={"smpte:TimeCode": media.timecode_attribute(0, 59, 59, 22),
                                      "FramesPerSecond": media.fps_attribute(24), "PixelAspectRatio": 2.0})
    with plates.open(str(tmp_path / "p" / "tc.####.exr")) as plate:
        with writers.open(str(tmp_path / "o" / "a.####.exr"), like=plate) as out:
            out.write(1003, np.zeros((4, 6), np.float32))
    with plates.open_alpha(str(tmp_path / "o" / "a.1003.exr")) as back:
        assert back.timecode == "01:00:00:00"         # 00:59:59:22 + 2 frames at 24 fps
        assert back.metadata["PixelAspectRatio"] == pytest.approx(2.0)


def test_cleanup_spares_live_writers(tmp_path):
    mine = tmp_path / f".a.0001.exr.tmp-{os.getpid()}.exr"
    mine.write_bytes(b"in progress")                    # another writer of this process, mid-frame
    parent = tmp_path / f".a.0002.exr.tmp-{os.getppid()}.exr"
    parent.write_bytes(b"in progress")                  # a live process
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = tmp_path / f".a.0003.exr.tmp-{dead.pid}.exr"
    stale.write_bytes(b"left by a crash")
    writers.open(str(tmp_path / "a.####.exr"), display_window=(0, 0, 4, 4))
    assert mine.exists() and parent.exists() and not stale.exists()
