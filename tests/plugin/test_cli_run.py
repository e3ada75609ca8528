"""`matanyone-plugin run` end to end on synthetic EXR shots (stand-in weights, 48x64 plates).

The reference for every comparison is the engine itself on the same converted frames:
`matte_frames`, or a `Session` driven by hand for keyframes and directions.
"""
import json
import os

import numpy as np
import pytest

from plugin import cli, masks
from plugin.shot import Shot
from tests.plugin.pipeline_media import (FIRST, WEIGHTS, converted_frames, make_shot, read_alpha,
                                         write_mask, object_mask)


def run_cli(*argv) -> int:
    return cli.main(["run", "--quiet", *map(str, argv)])


def alphas(tmp_path, name, shot) -> np.ndarray:
    return np.stack([read_alpha(tmp_path / "out" / f"sh010_{name}.{f}.exr")
                     for f in range(shot.plate.first, shot.plate.last + 1)])


def session(warmup=2):
    from matanyone_engine import EngineSettings, Session
    return Session(_net(), EngineSettings(warmup=warmup))


def _net():
    """The network the CLI runs used (shared by the tests, conftest.py), so each test builds it once."""
    from tests.plugin.pipeline_media import cached_network
    return cached_network(WEIGHTS)


def drive(frames, order, keyed, warmup=2):
    """Step a fresh session over frames[order]; keyed: {index: {obj: mask}} fed on that index."""
    s = session(warmup)
    out = {}
    for i in order:
        if i in keyed:
            s.add_mask(keyed[i])
        out[i] = s.step(frames[i])
    return out


def test_cli_run_equals_matte_frames(tmp_path, capsys):
    from matanyone_engine import matte_frames
    shot_path = make_shot(tmp_path, n=5)
    assert run_cli(shot_path) == 0
    shot = Shot.load(shot_path)
    frames = converted_frames(shot)
    mask = masks.read_mask(shot.objects[0].keyframes[FIRST])
    expected = matte_frames(WEIGHTS, frames, mask[None], warmup=2, device="cpu")[:, 0]
    got = alphas(tmp_path, "hero", shot)
    np.testing.assert_array_equal(got, expected)
    assert got.dtype == np.float32 and 0.05 < got.mean() < 0.95
    out = capsys.readouterr().out
    assert "done: 5 frames" in out and "stand-in" in out
    # Beside the outputs: the shot file, the run record and the log; no state left.
    names = sorted(os.listdir(tmp_path / "out"))
    assert "sh010.shot.json" in names and "sh010.run.json" in names and "sh010.log" in names
    assert not [n for n in names if n.startswith(".sh010.matanyone")]
    copy = Shot.load(tmp_path / "out" / "sh010.shot.json")
    assert copy.to_dict() == shot.to_dict()
    # Output metadata records the weights.
    from plugin.writers import read_metadata
    meta = read_metadata(tmp_path / "out" / f"sh010_hero.{FIRST}.exr")
    assert meta["weights"] == WEIGHTS and "stand-in" in meta["WARNING"]
    # Running again changes nothing.
    before = {n: os.stat(tmp_path / "out" / n).st_mtime_ns for n in names if n.endswith(".exr")}
    assert run_cli(shot_path) == 0
    assert "up to date" in capsys.readouterr().out
    assert before == {n: os.stat(tmp_path / "out" / n).st_mtime_ns for n in before}


def test_cli_build_mode_writes_a_shot_file_that_reruns(tmp_path, capsys):
    shot_path = make_shot(tmp_path, n=3)
    plate = tmp_path / "plates" / "plate.####.exr"
    code = run_cli("--plate", plate, "--mask", f"{FIRST}={tmp_path / 'masks' / f'hero.{FIRST}.png'}",
                   "--out", tmp_path / "built" / "b_{object}.####.exr", "--colorspace", "ACEScg",
                   "--weights", WEIGHTS, "--device", "cpu", "--warmup", "2", "--dilate", "0", "--erode", "0")
    assert code == 0
    saved = tmp_path / "built" / "b.shot.json"
    data = json.loads(saved.read_text())
    assert data["objects"][0]["name"] == "matte" and data["plate"]["first"] == FIRST
    assert data["plate"]["path"] == "../plates/plate.####.exr"
    built = np.stack([read_alpha(tmp_path / "built" / f"b_matte.{f}.exr") for f in range(FIRST, FIRST + 3)])
    # Same inputs as the shot file (output half here, float there): same alphas within half precision.
    assert run_cli(shot_path) == 0
    ref = alphas(tmp_path, "hero", Shot.load(shot_path))
    np.testing.assert_allclose(built, ref, atol=1e-3)
    capsys.readouterr()
    assert run_cli(saved) == 0
    assert "up to date" in capsys.readouterr().out


def test_multi_object_with_a_later_keyframe(tmp_path):
    shot_path = make_shot(tmp_path, n=5, objects=("hero", "prop"), keyframes={"hero": [FIRST], "prop": [FIRST + 2]})
    assert run_cli(shot_path) == 0
    shot = Shot.load(shot_path)
    frames = converted_frames(shot)
    hero = alphas(tmp_path, "hero", shot)
    prop = alphas(tmp_path, "prop", shot)
    m_hero = masks.read_mask(shot.objects[0].keyframes[FIRST])
    m_prop = masks.read_mask(shot.objects[1].keyframes[FIRST + 2])
    ref = drive(frames, range(5), {0: {1: m_hero}, 2: {2: m_prop}})
    for i in range(5):
        np.testing.assert_array_equal(hero[i], ref[i][1])
        if i < 2:
            assert not prop[i].any(), "an object has alpha 0 before its first keyframe"
        else:
            np.testing.assert_array_equal(prop[i], ref[i][2])
    assert prop[2:].mean() > 0.02


def test_later_keyframe_is_a_correction(tmp_path):
    shot_path = make_shot(tmp_path, n=5, keyframes={"hero": [FIRST, FIRST + 3]})
    # Make the correction clearly different from what the engine would predict.
    write_mask(tmp_path / "masks" / f"hero.{FIRST + 3}.png", object_mask(1, 3))
    assert run_cli(shot_path) == 0
    shot = Shot.load(shot_path)
    frames = converted_frames(shot)
    got = alphas(tmp_path, "hero", shot)
    kf = {i: {1: masks.read_mask(p)} for i, p in ((f - FIRST, p) for f, p in shot.objects[0].keyframes.items())}
    ref = drive(frames, range(5), kf)
    plain = drive(frames, range(5), {0: kf[0]})
    for i in range(5):
        np.testing.assert_array_equal(got[i], ref[i][1])
    assert np.abs(got[3] - plain[3][1]).mean() > 1e-3


def test_backward_from_the_last_keyframe(tmp_path):
    shot_path = make_shot(tmp_path, n=5, keyframes={"hero": [FIRST + 3]}, direction="backward")
    assert run_cli(shot_path) == 0
    shot = Shot.load(shot_path)
    frames = converted_frames(shot)
    got = alphas(tmp_path, "hero", shot)
    m = masks.read_mask(shot.objects[0].keyframes[FIRST + 3])
    ref = drive(frames, [3, 2, 1, 0], {3: {1: m}})
    for i in range(4):
        np.testing.assert_array_equal(got[i], ref[i][1])
    assert not got[4].any(), "backward: frames after the last keyframe stay 0"


def test_both_directions_blend_by_distance(tmp_path):
    shot_path = make_shot(tmp_path, n=5, keyframes={"hero": [FIRST, FIRST + 4]}, direction="both")
    assert run_cli(shot_path) == 0
    shot = Shot.load(shot_path)
    frames = converted_frames(shot)
    got = alphas(tmp_path, "hero", shot)
    m0, m4 = (masks.read_mask(shot.objects[0].keyframes[f]) for f in (FIRST, FIRST + 4))
    fwd = drive(frames, range(5), {0: {1: m0}, 4: {1: m4}})
    bwd = drive(frames, [4, 3, 2, 1, 0], {4: {1: m4}, 0: {1: m0}})
    for i in range(5):
        if i in (0, 4):
            wf = 0.5
        else:
            wf = (4 - i) / 4.0
        expected = (wf * fwd[i][1] + (1.0 - wf) * bwd[i][1]).astype(np.float32)
        np.testing.assert_array_equal(got[i], expected)
    assert np.abs(fwd[2][1] - bwd[2][1]).mean() > 1e-4  # the blend is not trivial


def test_max_internal_size_resizes_in_and_out(tmp_path):
    import torch
    import torch.nn.functional as F
    shot_path = make_shot(tmp_path, n=3, max_internal_size=32)
    assert run_cli(shot_path) == 0
    shot = Shot.load(shot_path)
    frames = converted_frames(shot)
    got = alphas(tmp_path, "hero", shot)
    assert got.shape == (3, 48, 64)
    small = F.interpolate(torch.from_numpy(frames).permute(0, 3, 1, 2), size=(32, 42), mode="area")
    small = small.permute(0, 2, 3, 1).contiguous().numpy()
    m = masks.read_mask(shot.objects[0].keyframes[FIRST]).astype(np.float32)
    m_small = F.interpolate(torch.from_numpy(m)[None, None], size=(32, 42), mode="nearest")[0, 0].numpy()
    ref = drive(small, range(3), {0: {1: m_small.astype(np.uint8)}})
    for i in range(3):
        a = torch.from_numpy(ref[i][1])[None, None]
        up = F.interpolate(a, size=(48, 64), mode="bilinear", align_corners=False)[0, 0].clamp(0, 1).numpy()
        np.testing.assert_array_equal(got[i], up)


def test_mask_cleanup_goes_through_the_engine_closing(tmp_path):
    pytest.importorskip("matanyone_engine.maskprep")
    from matanyone_engine.maskprep import close_mask
    from matanyone_engine import matte_frames
    shot_path = make_shot(tmp_path, n=3, dilate=5, erode=5)
    m = (object_mask(0, 0) * 255).astype(np.uint8)
    m[18:21, 20:23] = 0  # a hole the closing fills
    write_mask(tmp_path / "masks" / f"hero.{FIRST}.png", m / 255.0)
    assert run_cli(shot_path) == 0
    shot = Shot.load(shot_path)
    closed = close_mask(masks.read_mask(shot.objects[0].keyframes[FIRST]), dilate=5, erode=5)
    expected = matte_frames(WEIGHTS, converted_frames(shot), closed[None], warmup=2, device="cpu")[:, 0]
    np.testing.assert_array_equal(alphas(tmp_path, "hero", shot), expected)


@pytest.mark.parametrize("kind", ["h264", "prores4444", "matte4444"])
def test_quicktime_preview(tmp_path, kind):
    import av
    shot_path = make_shot(tmp_path, n=3)
    movie = tmp_path / "review" / "{object}_preview.mov"
    assert run_cli(shot_path, "--preview", movie, "--preview-kind", kind) == 0
    path = tmp_path / "review" / "hero_preview.mov"
    with av.open(str(path)) as c:
        stream = c.streams.video[0]
        frames = list(c.decode(video=0))
        assert len(frames) == 3 and (stream.width, stream.height) == (64, 48)
        if kind != "h264":
            assert stream.codec_context.name == "prores" and "yuva" in stream.codec_context.pix_fmt
            rgba = frames[0].to_ndarray(format="rgba64le") / 65535.0
            expected = read_alpha(tmp_path / "out" / f"sh010_hero.{FIRST}.exr")
            assert np.abs(rgba[..., 3] - expected).mean() < 0.01
            # matte4444: the picture is the matte too; prores4444: the picture is the plate
            picture_is_matte = np.abs(rgba[..., 1] - expected).mean() < 0.01
            assert picture_is_matte == (kind == "matte4444")
        else:
            assert stream.codec_context.name == "h264"


@pytest.mark.slow
def test_demo_end_to_end_with_stand_in_banner(tmp_path, capsys):
    """The demo on the bundled sample (small internal size to keep the test short)."""
    out = tmp_path / "demo"
    assert cli.main(["demo", "--out", str(out), "--max-internal-size", "64", "--warmup", "1", "--quiet"]) == 0
    captured = capsys.readouterr()
    assert "STAND-IN WEIGHTS" in captured.err
    assert "contact sheet" in captured.out and "MAD" in captured.out
    frames = sorted(n for n in os.listdir(out) if n.startswith("demo_figure.") and n.endswith(".exr"))
    assert len(frames) == 32
    assert (out / "demo_contact_sheet.png").stat().st_size > 1000
    assert (out / "eval" / "metrics.json").is_file()
    from plugin.writers import read_metadata
    assert read_metadata(out / frames[0])["weights"] == "stand-in:demo"
