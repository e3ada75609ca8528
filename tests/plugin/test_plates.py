"""plugin.plates on real files written here with OpenImageIO and PyAV."""
import os

import numpy as np
import pytest

from plugin import framepattern, plates
from plugin.errors import PlateError
from tests.plugin import media
from tests.plugin.media import plates_untouched  # noqa: F401 - autouse: every plate read stays byte-identical


# --------------------------------------------------------------------------- patterns

@pytest.mark.parametrize("given, prefix, suffix, padding", [
    ("/p/shot.####.exr", "shot.", ".exr", 4),
    ("/p/shot.%04d.exr", "shot.", ".exr", 4),
    ("/p/shot.%d.exr", "shot.", ".exr", 1),
    ("/p/shot.$F4.exr", "shot.", ".exr", 4),
    ("/p/shot.$F.exr", "shot.", ".exr", 1),
    ("/p/shot.@@@@@.exr", "shot.", ".exr", 5),
    ("/p/sh010_v002.1001.exr", "sh010_v002.", ".exr", 4),
    ("/p/sh010_v002_####.dpx", "sh010_v002_", ".dpx", 4),
    ("/p/shot_1001.exr", "shot_", ".exr", 4),
    ("/p/shot-0099.tif", "shot-", ".tif", 4),
])
def test_pattern_parsing(given, prefix, suffix, padding):
    pat = framepattern.parse(given)
    assert (pat.directory, pat.prefix, pat.suffix, pat.padding) == ("/p", prefix, suffix, padding)


def test_pattern_paths_and_frame_of():
    pat = framepattern.parse("/p/shot.####.exr")
    assert pat.path(1001) == "/p/shot.1001.exr"
    assert pat.path(7) == "/p/shot.0007.exr"
    assert pat.path(-3) == "/p/shot.-0003.exr"
    assert pat.frame_of("shot.0998.exr") == 998
    assert pat.frame_of("shot.998.exr") is None     # wrong padding is not this sequence
    assert pat.frame_of("shot.1001.exr.tmp") is None
    assert pat.frame_of("other.1001.exr") is None
    assert framepattern.compact_ranges([5, 1, 2, 3, 9]) == "1-3, 5, 9"


@pytest.mark.parametrize("spelling", ["shot.####.exr", "shot.%04d.exr", "shot.$F4.exr", "shot.@@@@.exr",
                                      "shot.1002.exr"])
def test_every_spelling_opens_the_same_sequence(tmp_path, spelling):
    media.make_exr_sequence(tmp_path, frames=3, h=8, w=12)
    (tmp_path / "shot.1001.exr.tmp").write_bytes(b"junk")   # not part of the sequence
    (tmp_path / "other.1004.exr").write_bytes(b"junk")
    with media.assert_plate_untouched(tmp_path):
        with plates.open(str(tmp_path / spelling)) as plate:
            assert plate.frames == [1001, 1002, 1003]
            assert (plate.first, plate.last) == (1001, 1003)
            assert plate.source_paths()[0] == str(tmp_path / "shot.1001.exr")


def test_unpadded_and_negative_frames(tmp_path):
    for f in (-2, -1, 0, 1):
        media.write_image(tmp_path / f"neg.{f}.exr" if f >= 0 else tmp_path / f"neg.{f}.exr",
                          media.source_image(4, 4))
    with plates.open(str(tmp_path / "neg.%d.exr")) as plate:
        assert plate.frames == [-2, -1, 0, 1]


def test_gaps_are_named(tmp_path):
    media.make_exr_sequence(tmp_path, frames=8, h=8, w=8)
    for f in (1003, 1005, 1006):
        os.remove(tmp_path / f"shot.{f}.exr")
    with pytest.raises(PlateError) as err:
        plates.open(str(tmp_path / "shot.####.exr"))
    assert "1003, 1005-1006" in str(err.value)
    # a range without the gaps opens
    with plates.open(str(tmp_path / "shot.####.exr"), frame_range=(1007, 1008)) as plate:
        assert plate.frames == [1007, 1008]


# --------------------------------------------------------------------------- stills

@pytest.mark.parametrize("dtype, tol", [("half", 1e-3), ("float", 0.0)])
def test_exr_half_and_float(tmp_path, dtype, tol):
    pattern, pixels = media.make_exr_sequence(tmp_path, frames=2, h=20, w=30, dtype=dtype)
    pixels[1, 3, 4] = (7.5, -0.25, 0.001)    # scene-linear values outside [0, 1] survive reading
    media.write_image(tmp_path / "shot.1002.exr", pixels[1], dtype=dtype)
    with media.assert_plate_untouched(tmp_path):
        with plates.open(pattern) as plate:
            assert plate.pixel_type == dtype
            assert (plate.width, plate.height) == (30, 20)
            for i, f in enumerate(plate.frames):
                rgb = plate.read(f)
                assert rgb.dtype == np.float32 and rgb.shape == (20, 30, 3)
                np.testing.assert_allclose(rgb, pixels[i], atol=tol, rtol=tol)
            assert plate.read(1002)[3, 4, 0] == pytest.approx(7.5, rel=1e-3)


def test_exr_multichannel_picks_rgb_by_name(tmp_path):
    h, w = 10, 14
    rgb = media.source_image(h, w)
    extra = np.random.default_rng(0).random((h, w, 3), dtype=np.float32)
    # channels stored out of order, with alpha, depth and a layer
    stack = np.concatenate([extra[:, :, :1], rgb[:, :, 2:3], rgb[:, :, 0:1], extra[:, :, 1:2],
                            rgb[:, :, 1:2], extra[:, :, 2:3]], axis=2)
    media.write_image(tmp_path / "mc.1001.exr", stack, dtype="float",
                      channels=["A", "B", "R", "Z", "G", "diffuse.R"])
    with plates.open(str(tmp_path / "mc.1001.exr")) as plate:
        assert set(plate.channels) == {"A", "B", "R", "Z", "G", "diffuse.R"}
        np.testing.assert_array_equal(plate.read(1001), rgb)
        np.testing.assert_array_equal(plate.read_alpha(1001), extra[:, :, 0])


def test_rgba_alpha_is_ignored_for_colour(tmp_path):
    px = media.source_image(6, 9, channels=4)
    media.write_image(tmp_path / "a.0001.exr", px, dtype="float")
    with plates.open(str(tmp_path / "a.####.exr")) as plate:
        assert plate.channels == ("R", "G", "B", "A")
        np.testing.assert_array_equal(plate.read(1), px[:, :, :3])
        np.testing.assert_array_equal(plate.read_alpha(1), px[:, :, 3])


def test_data_window_smaller_than_display_is_padded(tmp_path):
    data = media.source_image(6, 8)
    media.write_image(tmp_path / "dw.1001.exr", data, dtype="float",
                      data_window=(5, 3, 8, 6), display_window=(0, 0, 20, 12))
    with plates.open(str(tmp_path / "dw.####.exr")) as plate:
        assert plate.display_window.as_tuple() == (0, 0, 20, 12)
        assert plate.data_window.as_tuple() == (5, 3, 8, 6)
        rgb = plate.read(1001)
        assert rgb.shape == (12, 20, 3)
        np.testing.assert_array_equal(rgb[3:9, 5:13], data)
        outside = rgb.copy()
        outside[3:9, 5:13] = 0
        assert not outside.any()


def test_overscan_data_window_is_cropped(tmp_path):
    data = media.source_image(10, 12)
    media.write_image(tmp_path / "os.1001.exr", data, dtype="float",
                      data_window=(-2, -1, 12, 10), display_window=(0, 0, 8, 6))
    with plates.open(str(tmp_path / "os.####.exr")) as plate:
        np.testing.assert_array_equal(plate.read(1001), data[1:7, 2:10])


def test_dpx_10bit(tmp_path):
    pattern, pixels = media.make_dpx_sequence(tmp_path, frames=2, h=16, w=24)
    with plates.open(pattern) as plate:
        assert plate.pixel_type == "uint10"
        rgb = plate.read(1002)
        np.testing.assert_allclose(rgb, pixels[1], atol=1.0 / 1023 + 1e-6)  # OIIO truncates to 10 bits when writing
        # values sit on the 10-bit grid, finer than 8 bits
        codes = rgb * 1023
        np.testing.assert_allclose(codes, np.round(codes), atol=0.02)  # 10->16-bit replication
        assert np.abs(rgb * 255 - np.round(rgb * 255)).max() > 0.2   # not squeezed through 8 bits


def test_tiff_16bit_keeps_16bit_levels(tmp_path):
    w = 1200
    ramp = np.linspace(0.0, 1.0, w, dtype=np.float32)
    px = np.repeat(np.stack([ramp, ramp[::-1], ramp], -1)[None], 4, axis=0)
    media.write_image(tmp_path / "t.1001.tif", px, dtype="uint16")
    with plates.open(str(tmp_path / "t.####.tif")) as plate:
        assert plate.pixel_type == "uint16"
        rgb = plate.read(1001)
        np.testing.assert_allclose(rgb, px, atol=0.5 / 65535 + 1e-7)
        assert len(np.unique(rgb[..., 0])) > 1000


def test_png_8bit_and_odd_size(tmp_path):
    pattern, pixels = media.make_png_sequence(tmp_path, frames=2, h=7, w=13)
    with plates.open(pattern) as plate:
        assert (plate.width, plate.height) == (13, 7)
        np.testing.assert_allclose(plate.read(1001), pixels[0], atol=0.5 / 255 + 1e-6)


def test_jpeg_reads(tmp_path):
    media.write_image(tmp_path / "j.0001.jpg", media.source_image(16, 16), dtype="uint8")
    with plates.open(str(tmp_path / "j.0001.jpg")) as plate:
        assert plate.read(1).shape == (16, 16, 3)


def test_exr_fps_timecode_metadata(tmp_path):
    media.write_image(tmp_path / "tc.1001.exr", media.source_image(4, 4),
                      attributes={"FramesPerSecond": media.fps_attribute(24000, 1001),
                                  "smpte:TimeCode": media.timecode_attribute(1, 2, 3, 4),
                                  "Owner": "the test"})
    with plates.open(str(tmp_path / "tc.1001.exr")) as plate:
        assert plate.metadata.get("Owner") == "the test"
        assert plate.fps == pytest.approx(23.976, abs=1e-3)
        assert plate.timecode == "01:02:03:04"


def test_dpx_fps(tmp_path):
    media.write_image(tmp_path / "tc.1001.dpx", media.source_image(4, 4), dtype="uint16", bits=10,
                      attributes={"dpx:FrameRate": 25.0})
    with plates.open(str(tmp_path / "tc.1001.dpx")) as plate:
        assert plate.fps == pytest.approx(25.0)


def test_mismatched_resolution_mid_sequence_names_the_frame(tmp_path):
    pattern, _ = media.make_exr_sequence(tmp_path, frames=3, h=8, w=8)
    media.write_image(tmp_path / "shot.1002.exr", media.source_image(9, 8))
    with plates.open(pattern) as plate:
        plate.read(1001)
        with pytest.raises(PlateError, match=r"shot\.1002\.exr.*frame 1002.*8x9"):
            plate.read(1002)


def test_frame_outside_range(tmp_path):
    pattern, _ = media.make_exr_sequence(tmp_path, frames=2, h=4, w=4)
    with plates.open(pattern) as plate, pytest.raises(PlateError, match="frame 1005"):
        plate.read(1005)


# --------------------------------------------------------------------------- movies

@pytest.mark.parametrize("profile, pix_tol", [("422hq", 0.03), ("4444", 0.02)])
def test_prores_matches_source_pixels(tmp_path, profile, pix_tol):
    path = tmp_path / f"clip_{profile}.mov"
    src = media.make_prores(path, frames=5, h=32, w=48, profile=profile)
    with media.assert_plate_untouched([path]):
        with plates.open(str(path)) as plate:
            assert plate.is_movie and plate.frames == [1, 2, 3, 4, 5]
            assert (plate.width, plate.height) == (48, 32)
            assert plate.fps == pytest.approx(24.0)
            assert "10le" in plate.pixel_type or "12le" in plate.pixel_type
            for f in (1, 4, 2, 5, 3, 3):   # random access, backwards, repeats
                rgb = plate.read(f)
                assert rgb.dtype == np.float32 and rgb.shape == (32, 48, 3)
                err = np.abs(rgb - src[f - 1])
                assert err.max() < pix_tol, (f, err.max())
                assert err.mean() < 0.004, (f, err.mean())
                # the right frame: much closer to its own source than to its neighbours'
                other = src[f % 5]
                assert err.mean() < 0.5 * np.abs(rgb - other).mean()


@pytest.mark.parametrize("profile", ["422hq", "4444"])
def test_prores_keeps_more_than_8_bits(tmp_path, profile):
    w = 1024
    ramp = np.linspace(0.05, 0.95, w, dtype=np.float32)
    frame = np.repeat(np.stack([ramp, ramp, ramp], -1)[None], 8, axis=0)
    path = tmp_path / "ramp.mov"
    media.make_prores(path, frames=frame[None], profile=profile)
    with plates.open(str(path)) as plate:
        rgb = plate.read(1)
    levels = len(np.unique(np.round(rgb[4, :, 1] * 65535)))
    assert levels > 600, levels                       # 10-bit: ~790 codes across this ramp
    np.testing.assert_allclose(rgb[4, :, 1], ramp, atol=2.5e-3)


def test_prores_4444_alpha(tmp_path):
    h, w = 16, 32
    alpha = np.tile(np.linspace(0, 1, w, dtype=np.float32), (2, h, 1))
    path = tmp_path / "a.mov"
    media.make_prores(path, frames=2, h=h, w=w, profile="4444", alpha=alpha)
    with plates.open_alpha(str(path)) as plate:
        assert plate.channels[-1] == "A"
        np.testing.assert_allclose(plate.read_alpha(2), alpha[1], atol=2e-3)


def test_movie_frame_range_is_checked(tmp_path):
    path = tmp_path / "c.mov"
    media.make_prores(path, frames=3, h=8, w=16)
    with plates.open(str(path), frame_range=(2, 3)) as plate:
        assert plate.frames == [2, 3]
    with pytest.raises(PlateError, match="outside the movie"):
        plates.open(str(path), frame_range=(2, 9))


def test_registry_and_formats():
    fmts = plates.formats()
    assert fmts[".exr"].startswith("image") and fmts[".mov"].startswith("movie")
    with pytest.raises(PlateError, match="unknown plate format"):
        plates.open("clip.xyz")


def test_movie_timecode(tmp_path):
    path = tmp_path / "tc.mov"
    media.make_prores(path, frames=2, h=8, w=16, timecode="10:00:00:00")
    with plates.open(str(path)) as plate:
        assert plate.timecode == "10:00:00:00"


def test_grey_rgb_matte_reads_as_alpha_but_colour_does_not(tmp_path):
    a = np.linspace(0, 1, 48, dtype=np.float32).reshape(6, 8)
    media.write_image(tmp_path / "grey.1001.png", np.repeat(a[:, :, None], 3, axis=2), dtype="uint16")
    with plates.open_alpha(str(tmp_path / "grey.1001.png")) as matte:
        np.testing.assert_allclose(matte.read_alpha(1001), a, atol=1 / 65535)
    media.write_image(tmp_path / "col.1001.png", media.source_image(6, 8), dtype="uint16")
    with plates.open_alpha(str(tmp_path / "col.1001.png")) as matte, \
            pytest.raises(PlateError, match="no alpha channel"):
        matte.read_alpha(1001)


def test_h264_with_b_frames_random_access(tmp_path):
    import contextlib

    import av
    if "libx264" not in av.codecs_available:
        pytest.skip("this FFmpeg build has no libx264 encoder")
    path, count, h, w = tmp_path / "edit.mp4", 30, 32, 48
    with contextlib.closing(av.open(str(path), "w")) as out:
        stream = out.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        stream.options = {"g": "8", "bf": "2", "crf": "10"}
        for i in range(count):
            img = np.full((h, w, 3), i * 8, np.uint8)
            vf = av.VideoFrame.from_ndarray(img, format="rgb24")
            vf.pts = i
            for packet in stream.encode(vf):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    with plates.open(str(path)) as plate:
        assert plate.frames == list(range(1, count + 1)) and plate.fps == pytest.approx(25)
        for f in (1, 30, 12, 13, 14, 3, 29, 17, 17, 2):     # key frames, B-frames, backwards
            level = float(np.median(plate.read(f))) * 255
            assert abs(level - (f - 1) * 8) < 3, (f, level)


def test_untouched_guard_sees_a_changed_source(tmp_path, plates_untouched):
    pattern, _ = media.make_exr_sequence(tmp_path, frames=2, h=4, w=4)
    with plates.open(pattern):
        pass
    target = tmp_path / "shot.1002.exr"
    assert str(target) in plates_untouched
    original = target.read_bytes()
    target.write_bytes(original + b"\0")
    assert media.changed_sources(plates_untouched) == [str(target)]
    target.write_bytes(original)                       # put it back so the guard itself passes
    assert media.changed_sources(plates_untouched) == []


def test_layered_exr_without_plain_rgb_uses_the_first_rgb_layer(tmp_path):
    h, w = 5, 7
    rgb = media.source_image(h, w, channels=4)
    # EXR sorts channels by name: beauty.A, beauty.B, beauty.G, beauty.R, depth.Z
    stack = np.stack([rgb[..., 3], rgb[..., 2], rgb[..., 1], rgb[..., 0], rgb[..., 0] * 9], axis=-1)
    media.write_image(tmp_path / "lay.1001.exr", stack, dtype="float",
                      channels=["beauty.A", "beauty.B", "beauty.G", "beauty.R", "depth.Z"])
    with plates.open(str(tmp_path / "lay.1001.exr")) as plate:
        np.testing.assert_array_equal(plate.read(1001), rgb[..., :3])
        np.testing.assert_array_equal(plate.read_alpha(1001), rgb[..., 3])


def test_no_colour_channels_is_an_error(tmp_path):
    media.write_image(tmp_path / "xyz.1001.exr", media.source_image(4, 4), channels=["X", "Y", "Z"])
    with plates.open(str(tmp_path / "xyz.1001.exr")) as plate, \
            pytest.raises(PlateError, match="no R, G, B channels"):
        plate.read(1001)


def test_folder_with_one_sequence_opens_it_and_two_is_an_error(tmp_path):
    media.make_exr_sequence(tmp_path, frames=2, h=4, w=4)
    (tmp_path / ".hidden.1001.exr").write_bytes(b"")
    (tmp_path / "notes.txt").write_text("x")
    with plates.open(str(tmp_path)) as plate:
        assert plate.path == str(tmp_path / "shot.####.exr") and plate.frames == [1001, 1002]
    media.make_exr_sequence(tmp_path, frames=2, h=4, w=4, name="other")
    with pytest.raises(PlateError, match=r"2 sequences \(other\.####\.exr, shot\.####\.exr\)"):
        plates.open(str(tmp_path))
    (tmp_path / "empty").mkdir()
    with pytest.raises(PlateError, match="no image sequence"):
        plates.open(str(tmp_path / "empty"))
