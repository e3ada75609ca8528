"""Plates that are not plain RGB pictures (issue 21: defects 8, 13, 16, 18), made here with
OpenImageIO and PyAV: integer id EXRs, luminance-only and luminance/chroma EXRs, deep EXRs,
absurd windows, variable-frame-rate movies."""
import contextlib
from fractions import Fraction

import numpy as np
import pytest

from plugin import cli, plates
from plugin.errors import PlateError
from tests.plugin import media
from tests.plugin.media import plates_untouched  # noqa: F401 - autouse: every plate read stays byte-identical


def _write_exr(path, spec, pixels=None, deep=None):
    import OpenImageIO as oiio
    out = oiio.ImageOutput.create(str(path))
    assert out.open(str(path), spec), out.geterror()
    assert (out.write_deep_image(deep) if deep is not None else out.write_image(pixels)), out.geterror()
    out.close()


# --------------------------------------------------------------------------- defect 8: integer channels

def test_uint_exr_plate_is_refused_in_one_line(tmp_path):
    import OpenImageIO as oiio
    spec = oiio.ImageSpec(6, 4, 3, "uint")
    spec.channelnames = ("R", "G", "B")
    values = np.linspace(0, 58982, 6 * 4 * 3).astype(np.uint32).reshape(4, 6, 3)
    _write_exr(tmp_path / "ids.1001.exr", spec, values)
    with plates.open(str(tmp_path / "ids.1001.exr")) as plate:
        with pytest.raises(PlateError, match=r"ids\.1001\.exr: frame 1001 has integer \(uint\) channels "
                                             r"R, G, B: ids, not colour; give a half or float EXR") as err:
            plate.read(1001)
        assert "\n" not in str(err.value)
        with pytest.raises(PlateError, match="integer"):
            plate.read_alpha(1001)


def test_uint_id_channel_beside_half_colour_is_not_read(tmp_path):
    import OpenImageIO as oiio
    spec = oiio.ImageSpec(4, 2, 4, "half")
    spec.channelnames = ("R", "G", "B", "id")
    spec.channelformats = (oiio.TypeDesc("half"),) * 3 + (oiio.TypeDesc("uint"),)
    rgb = media.source_image(2, 4)
    pixels = np.concatenate([rgb, np.full((2, 4, 1), 7.0, np.float32)], axis=2)
    _write_exr(tmp_path / "mixed.1001.exr", spec, pixels)
    with plates.open(str(tmp_path / "mixed.1001.exr")) as plate:
        np.testing.assert_allclose(plate.read(1001), rgb, atol=1e-3)


# --------------------------------------------------------------------------- defect 16: grey, Y/RY/BY, deep

def test_luminance_only_exr_is_a_grey_plate(tmp_path):
    y = media.source_image(5, 7)[:, :, 0]
    media.write_image(tmp_path / "garden.1001.exr", y, dtype="float", channels=["Y"])
    with plates.open(str(tmp_path / "garden.1001.exr")) as plate:
        rgb = plate.read(1001)
    assert rgb.shape == (5, 7, 3)
    for c in range(3):
        np.testing.assert_array_equal(rgb[:, :, c], y)


def test_luminance_chroma_exr_converts_as_openexr_does(tmp_path):
    rgb = media.source_image(6, 8) * np.float32(2.0) + np.float32(0.01)
    w = np.array([0.2126, 0.7152, 0.0722], np.float32)    # Rec.709 (no chromaticities in the file)
    y = rgb @ w
    ry, by = (rgb[..., 0] - y) / y, (rgb[..., 2] - y) / y
    media.write_image(tmp_path / "yc.1001.exr", np.stack([by, ry, y], axis=-1), dtype="float",
                      channels=["BY", "RY", "Y"])
    with plates.open(str(tmp_path / "yc.1001.exr")) as plate:
        np.testing.assert_allclose(plate.read(1001), rgb, atol=2e-4)


def test_one_channel_that_is_not_luminance_is_refused(tmp_path):
    media.write_image(tmp_path / "z.1001.exr", media.source_image(4, 4)[:, :, 0], channels=["Z"])
    with plates.open(str(tmp_path / "z.1001.exr")) as plate, \
            pytest.raises(PlateError, match="not a colour or grey plate"):
        plate.read(1001)


def test_deep_exr_in_a_named_part_is_flattened_not_read_as_samples(tmp_path):
    import OpenImageIO as oiio
    h, w = 3, 4
    spec = oiio.ImageSpec(w, h, 5, "float")
    spec.channelnames = ("R", "G", "B", "A", "Z")
    spec.alpha_channel, spec.z_channel = 3, 4
    spec.deep = True
    spec.attribute("name", "rgba.left")
    deep = oiio.DeepData()
    deep.init(spec)
    front = (0.2, 0.1, 0.05, 0.5)     # premultiplied, as deep samples are
    back = (0.6, 0.3, 0.9, 1.0)
    for p in range(h * w):
        deep.set_samples(p, 2)
    for p in range(h * w):
        for s, (sample, z) in enumerate(((front, 1.0), (back, 2.0))):
            for c, v in enumerate(sample + (z,)):
                deep.set_deep_value(p, c, s, v)
    _write_exr(tmp_path / "trunks.1001.exr", spec, deep=deep)
    over = [f + b * (1 - front[3]) for f, b in zip(front, back)]   # front over back
    with plates.open(str(tmp_path / "trunks.1001.exr")) as plate:
        np.testing.assert_allclose(plate.read(1001), np.broadcast_to(over[:3], (h, w, 3)), atol=1e-6)
        np.testing.assert_allclose(plate.read_alpha(1001), np.full((h, w), over[3]), atol=1e-6)


# --------------------------------------------------------------------------- defect 13: absurd windows

def test_absurd_display_window_is_refused_before_anything_is_allocated(tmp_path, capsys):
    media.write_image(tmp_path / "huge.1001.exr", media.source_image(4, 4),
                      display_window=(0, 0, 1000000, 1000000))
    with pytest.raises(PlateError, match=r"huge\.1001\.exr: frame 1001 has a 1000000x1000000 display window"):
        plates.open(str(tmp_path / "huge.1001.exr"))
    assert cli.main(["info", "--check", str(tmp_path / "huge.1001.exr")]) == cli.EXIT_USER
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "display window" in err and "16384x16384" in err


def test_a_window_at_the_limit_opens(tmp_path):
    media.write_image(tmp_path / "wide.1001.exr", media.source_image(4, 4),
                      display_window=(0, 0, 16384, 16384), data_window=(0, 0, 4, 4))
    with plates.open(str(tmp_path / "wide.1001.exr")) as plate:
        assert (plate.width, plate.height) == (16384, 16384)


# --------------------------------------------------------------------------- defect 18: variable frame rate

def _vfr_movie(path, times, rate=24):
    """Frame i is flat grey 20 i + 10 (8-bit), shown at `times[i]` / `rate` seconds."""
    import av
    with contextlib.closing(av.open(str(path), "w")) as out:
        stream = out.add_stream("mpeg4", rate=rate)
        stream.width, stream.height, stream.pix_fmt = 32, 16, "yuv420p"
        stream.codec_context.time_base = Fraction(1, rate)
        for i, t in enumerate(times):
            img = np.full((16, 32, 3), 20 * i + 10, np.uint8)
            vf = av.VideoFrame.from_ndarray(img, format="rgb24").reformat(format="yuv420p")
            vf.pts, vf.time_base = t, Fraction(1, rate)
            for packet in stream.encode(vf):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)


def _level(plate, frame) -> int:
    """Which picture of `_vfr_movie` the frame is (its grey level back to i)."""
    return round((float(plate.read(frame)[8, 16].mean()) * 255 - 10) / 20)


def _levels(plate):
    return [_level(plate, f) for f in plate.frames]


def test_variable_frame_rate_is_numbered_the_same_in_every_container(tmp_path, capsys):
    times = [0, 1, 2, 5, 6, 10, 11, 12]
    seen = {}
    for ext in ("mp4", "mkv", "mov"):
        _vfr_movie(tmp_path / f"vfr.{ext}", times)
        with plates.open(str(tmp_path / f"vfr.{ext}")) as plate:
            seen[ext] = (plate.frames, _levels(plate))
            assert plate.variable_rate
            assert dict(plate.describe())["fps"].startswith("variable frame rate")
    assert seen["mp4"] == seen["mkv"] == seen["mov"] == (list(range(1, 9)), [0, 1, 2, 3, 4, 5, 6, 7])
    with plates.open(str(tmp_path / "vfr.mkv")) as plate:     # random access: seeks by picture
        backwards = [_level(plate, f) for f in (8, 3, 6, 1)]
    assert backwards == [7, 2, 5, 0]
    assert cli.main(["info", str(tmp_path / "vfr.mkv")]) == 0
    assert "variable frame rate" in capsys.readouterr().out


def test_constant_rate_matroska_counts_its_frames(tmp_path):
    _vfr_movie(tmp_path / "cfr.mkv", list(range(5)))
    with plates.open(str(tmp_path / "cfr.mkv")) as plate:
        assert plate.frames == [1, 2, 3, 4, 5] and not plate.variable_rate
        assert plate.fps == 24 and _levels(plate) == [0, 1, 2, 3, 4]
        assert dict(plate.describe())["fps"] == "24"


# --------------------------------------------------------------------------- the same files as keyframe masks

def _deep_exr(path):
    import OpenImageIO as oiio
    spec = oiio.ImageSpec(2, 2, 2, "float")
    spec.channelnames, spec.alpha_channel, spec.deep = ("A", "Z"), 0, True
    deep = oiio.DeepData()
    deep.init(spec)
    for p in range(4):
        deep.set_samples(p, 1)
    for p in range(4):
        deep.set_deep_value(p, 0, 0, 0.5)
        deep.set_deep_value(p, 1, 0, 1.0)
    _write_exr(path, spec, deep=deep)


def _uint_exr(path):
    import OpenImageIO as oiio
    spec = oiio.ImageSpec(2, 2, 1, "uint")
    spec.channelnames = ("A",)
    _write_exr(path, spec, np.full((2, 2, 1), 7, np.uint32))


@pytest.mark.parametrize("make, words", [
    (lambda p: media.write_image(p, np.ones((4, 4), np.float32), channels=["A"],
                                 display_window=(0, 0, 1000000, 1000000)), "1000000x1000000 display window"),
    (_deep_exr, "a deep image, not a flat mask"),
    (_uint_exr, "integer (uint) channels: ids, not coverage"),
], ids=["absurd window", "deep", "uint"])
def test_odd_mask_files_are_one_line(tmp_path, make, words):
    from plugin import masks
    from plugin.errors import MaskError
    path = tmp_path / "m.1001.exr"
    make(path)
    with pytest.raises(MaskError, match="m.1001.exr: ") as err:
        masks.read_mask(str(path))
    assert words in str(err.value) and "\n" not in str(err.value)
