"""plugin.sample: the generated sample plate, its mask and ground truth."""
import os
import shutil

import numpy as np
import OpenImageIO as oiio
import pytest

from plugin import color, plates, sample, settings
from tests.plugin.media import plates_untouched  # noqa: F401 - autouse: every plate read stays byte-identical


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    directory = tmp_path_factory.mktemp("sample") / "sample"
    return sample.ensure_sample(directory)


def test_layout(made):
    assert (made.first, made.last) == (1001, 1032)
    assert made.colourspace == "ACEScg"
    assert sorted(n for n in os.listdir(made.directory) if n.startswith(".")) == []   # no temporaries
    with plates.open(made.plate_pattern) as plate:
        assert plate.frames == list(range(1001, 1033))
        assert (plate.width, plate.height) == (sample.WIDTH, sample.HEIGHT) == (512, 288)
        assert plate.pixel_type == "half" and plate.channels == ("R", "G", "B")
        assert plate.colourspace_guess == "ACEScg"          # chromaticities say AP1
        rgb = plate.read(1001)
        assert rgb.max() > 1.0 and rgb.min() >= 0.0        # scene-linear, with highlights
    with plates.open_alpha(made.gt_pattern) as gt:
        assert gt.frames == list(range(1001, 1033))


def test_mask_is_8bit_first_frame_of_ground_truth(made):
    inp = oiio.ImageInput.open(made.mask_path)
    spec = inp.spec()
    mask = np.asarray(inp.read_image(0, 0, 0, 1, "uint8")).reshape(spec.height, spec.width)
    inp.close()
    assert str(spec.format) == "uint8" and spec.nchannels == 1
    assert set(np.unique(mask)) == {0, 255}
    with plates.open_alpha(made.gt_pattern) as gt:
        a = gt.read_alpha(1001)
    np.testing.assert_array_equal(mask == 255, a > 0.5)
    assert 0.1 < (mask == 255).mean() < 0.5


def test_soft_edges_hair_and_motion(made):
    with plates.open_alpha(made.gt_pattern) as gt:
        centres = []
        for f in (1001, 1016, 1032):
            a = gt.read_alpha(f)
            soft = (a > 0.02) & (a < 0.98)
            assert soft.sum() > 1500, f          # hair strands and a soft body edge
            # thin strands: many soft pixels far above the solid head
            rows = np.where((a > 0.98).any(axis=1))[0]
            assert soft[: rows.min()].sum() > 100
            ys, xs = np.nonzero(a > 0.5)
            centres.append(xs.mean())
    assert centres[1] - centres[0] > 40 and centres[2] - centres[1] > 40   # the subject crosses the frame


def test_plate_is_the_composite_of_its_ground_truth(made):
    scene = sample._Scene()
    plate_px, alpha = sample.render_frame(scene, 7)
    with plates.open(made.plate_pattern) as plate, plates.open_alpha(made.gt_pattern) as gt:
        np.testing.assert_allclose(plate.read(1008), plate_px, rtol=2e-3, atol=2e-4)
        np.testing.assert_allclose(gt.read_alpha(1008), alpha, atol=5e-4)
    # the network-input image of the sample is sensible: not black, not clipped white
    net = color.to_network_input(plate_px, made.colourspace)
    assert 0.1 < net.mean() < 0.7


def test_deterministic():
    a = sample.render_frame(sample._Scene(), 3)
    b = sample.render_frame(sample._Scene(), 3)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])


def test_reused_when_complete_and_detected_when_damaged(made, tmp_path, monkeypatch):
    mtimes = {n: os.stat(os.path.join(made.directory, n)).st_mtime_ns for n in os.listdir(made.directory)}
    again = sample.ensure_sample(made.directory)
    assert again == made
    assert mtimes == {n: os.stat(os.path.join(made.directory, n)).st_mtime_ns for n in os.listdir(made.directory)}
    copy = tmp_path / "copy"
    shutil.copytree(made.directory, copy)
    assert sample._complete(copy)
    frame = copy / "sample_plate.1010.exr"
    frame.write_bytes(frame.read_bytes()[:100])       # a half-copied frame
    assert not sample._complete(copy)
    (copy / "manifest.json").unlink()
    assert not sample._complete(copy)


def test_default_location_is_the_user_cache(made, monkeypatch):
    calls = []

    def fake_generate(directory):
        calls.append(directory)
        for name in os.listdir(made.directory):
            shutil.copy2(os.path.join(made.directory, name), directory / name)
    monkeypatch.setattr(sample, "_generate", fake_generate)
    got = sample.ensure_sample()
    assert got.directory == str(settings.cache_dir() / "sample")
    assert len(calls) == 1 and calls[0].name.startswith(".sample.tmp-")
    assert sample.ensure_sample() == got and len(calls) == 1
    assert not [n for n in os.listdir(settings.cache_dir()) if ".tmp-" in n]
