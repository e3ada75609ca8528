"""plugin.evaluate on sequences written by the test: pairing by frame number, outputs, bad input."""
import csv
import json
import os

import numpy as np
import pytest

from plugin import evaluate as E
from plugin.errors import UserError
from tests.plugin.media import write_image


def disc(h, w, t, radius=None, soft=3.0):
    """A soft-edged disc moving right with t: float32 HxW alpha in [0, 1] on 8-bit levels."""
    yy, xx = np.mgrid[0:h, 0:w]
    r = np.hypot(xx - (w * 0.3 + 2 * t), yy - h / 2)
    a = np.clip(((radius or h / 3) - r) / soft + 0.5, 0, 1)
    return (np.round(a * 255) / 255).astype(np.float32)


def write_alpha(directory, name, frames, alphas, *, ext="exr", dtype="float", channels=None, attributes=None):
    """Write alphas[i] as `<directory>/<name>.<frames[i]>.<ext>`; returns the #### pattern."""
    os.makedirs(directory, exist_ok=True)
    for f, a in zip(frames, alphas):
        pixels = a if a.ndim == 3 else a[:, :, None]
        chans = channels or (["A"] if pixels.shape[2] == 1 and ext == "exr" else None)
        write_image(os.path.join(directory, f"{name}.{f:04d}.{ext}"), pixels,
                    dtype="uint8" if ext == "png" else dtype, channels=chans, attributes=attributes)
    return os.path.join(str(directory), f"{name}.####.{ext}")


H, W = 24, 40


@pytest.fixture
def shot(tmp_path):
    """GT as 8-bit PNG 1001-1006; prediction as float EXR: GT blurred on frames 1003/1004."""
    frames = list(range(1001, 1007))
    gt = [disc(H, W, t) for t in range(6)]
    pred = [g.copy() for g in gt]
    pred[2] = disc(H, W, 2, soft=6.0)
    pred[3] = disc(H, W, 3, radius=H / 3 + 2)
    gt_pat = write_alpha(tmp_path / "gt", "alpha", frames, gt, ext="png")
    pred_pat = write_alpha(tmp_path / "pred", "hero", frames, pred,
                           attributes={"matanyone/weights": "stand-in:demo", "matanyone/version": "0.1.0",
                                       "Software": "not ours"})
    return tmp_path, pred_pat, gt_pat, frames, np.stack(pred), np.stack(gt)


def test_evaluate_writes_json_csv_and_report_matching_score_arrays(shot):
    tmp, pred_pat, gt_pat, frames, pred, gt = shot
    out = tmp / "eval"
    result = E.evaluate(pred_pat, gt_pat, out, mode="lr")
    expected = E.score_arrays(pred, gt, mode="lr", frames=frames)
    assert result.frames == frames
    for m in ("mad", "mse", "grad", "dtssd", "conn"):
        assert result.per_frame[m] == pytest.approx(expected.per_frame[m], rel=1e-5, abs=1e-9), m
    assert result.per_frame["mad"][0] == 0.0 and result.per_frame["mad"][2] > 0.0
    assert sorted(os.listdir(out)) == ["metrics.csv", "metrics.json", "report.png"]
    umask = os.umask(0)
    os.umask(umask)
    assert os.stat(out / "metrics.json").st_mode & 0o777 == 0o666 & ~umask  # not mkstemp's 0600

    data = json.loads((out / "metrics.json").read_text())
    assert data["mode"] == "lr" and data["mode_source"] == "given"
    assert data["resolution"] == {"width": W, "height": H}
    assert data["prediction_quantized_8bit"] is True
    assert data["core_region"] is None
    assert data["prediction"]["metadata"] == {"matanyone/weights": "stand-in:demo", "matanyone/version": "0.1.0"}
    assert result.weights == "stand-in:demo"
    assert data["frames"] == {"first": 1001, "last": 1006, "count": 6}
    assert [row["frame"] for row in data["per_frame"]] == frames
    assert data["per_frame"][3]["mad"] == pytest.approx(result.per_frame["mad"][3])
    assert data["totals"]["mad"] == pytest.approx(np.mean(result.per_frame["mad"]))
    assert data["totals"]["dtssd"] == pytest.approx(np.mean(result.per_frame["dtssd"]))  # frame 0 counted
    assert data["per_frame"][0]["dtssd"] == 0.0
    assert data["units"]["grad"] == "/1e3 (sum)"
    assert set(data["worst_frames_by_mad"][:2]) == {1003, 1004}

    rows = list(csv.reader((out / "metrics.csv").read_text().splitlines()))
    assert rows[0] == ["frame", "mad", "mse", "grad", "dtssd", "conn"]
    assert [r[0] for r in rows[1:]] == [str(f) for f in frames] + ["mean"]
    assert float(rows[-1][1]) == pytest.approx(result.totals["mad"], rel=1e-5)

    png = (out / "report.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000
    assert "stand-in:demo" in result.summary and "MAD" in result.summary
    assert str(out / "report.png") in result.summary


def test_auto_mode_picks_lr_for_small_frames_and_can_skip_writing(shot):
    _, pred_pat, gt_pat, *_ = shot
    result = E.evaluate(pred_pat, gt_pat, None)
    assert result.mode == "lr" and result.mode_source == "auto" and "conn" in result.totals
    assert result.files == {}
    hr = E.evaluate(pred_pat, gt_pat, None, mode="hr")
    assert "conn" not in hr.totals
    assert hr.per_frame["mad"] == result.per_frame["mad"]


def test_pairs_frames_by_number_with_gaps(tmp_path):
    gt_frames = [995, 996, 997, 998, 999, 1000, 1001, 1002, 1004, 1005, 1006, 1007]  # no 1003
    gt = {f: disc(H, W, f - 995) for f in gt_frames}
    pred_frames = [1001, 1002, 1004, 1005]  # the same numbers, same gap
    gt_pat = write_alpha(tmp_path / "gt", "alpha", gt_frames, [gt[f] for f in gt_frames], ext="png")
    pred_pat = write_alpha(tmp_path / "pred", "hero", pred_frames, [gt[f] for f in pred_frames])
    result = E.evaluate(pred_pat, gt_pat, None, mode="lr")
    assert result.frames == pred_frames
    # paired by number, every frame is identical (paired by position, they would not be)
    for m, values in result.per_frame.items():
        assert values == [0.0] * 4, m
    assert any("1003" in n for n in result.notes)
    sub = E.evaluate(pred_pat, gt_pat, None, frames=(1002, 1004))
    assert sub.frames == [1002, 1004]


def test_folder_of_numbered_pngs_as_the_test_sets_are_laid_out(tmp_path):
    alphas = [disc(H, W, t) for t in range(3)]
    for sub in ("pha", "pred"):
        os.makedirs(tmp_path / sub)
        for i, a in enumerate(alphas):
            write_image(tmp_path / sub / f"{i:04d}.png", a[:, :, None], dtype="uint8")
    result = E.evaluate(str(tmp_path / "pred"), str(tmp_path / "pha"), None)
    assert result.frames == [0, 1, 2] and result.totals["mad"] == 0.0


def test_rgba_prediction_is_scored_on_its_alpha(tmp_path):
    g = disc(H, W, 0)
    gt_pat = write_alpha(tmp_path / "gt", "alpha", [1], [g], ext="png")
    rgba = np.dstack([np.full_like(g, 0.3)] * 3 + [g])
    pred_pat = write_alpha(tmp_path / "pred", "hero", [1], [rgba], channels=["R", "G", "B", "A"])
    assert E.evaluate(pred_pat, gt_pat, None).totals["mad"] == 0.0


def test_core_mode_is_labelled_ours_everywhere(tmp_path):
    seg = np.zeros((2, 48, 64), np.float32)
    seg[:, 10:40, 12:44] = 1.0
    pred = seg.copy()
    pred[1, 24, 28] = 0.6  # deep inside the core
    gt_pat = write_alpha(tmp_path / "seg", "mask", [1, 2], list(seg), ext="png")
    pred_pat = write_alpha(tmp_path / "pred", "hero", [1, 2], list(pred))
    out = tmp_path / "eval"
    result = E.evaluate(pred_pat, gt_pat, out, core=True)
    assert result.core and result.metrics == ("mad", "mse", "dtssd")
    assert result.per_frame["mad"][0] == 0.0 and result.per_frame["mad"][1] > 0.0
    data = json.loads((out / "metrics.json").read_text())
    assert data["core_region"]["ours"] is True and "our reading" in data["core_region"]["label"]
    assert "our reading" in data["protocol"]
    assert set(data["totals"]) == {"mad_core_ours", "mse_core_ours", "dtssd_core_ours"}
    assert (out / "metrics.csv").read_text().splitlines()[0] == "frame,mad_core_ours,mse_core_ours,dtssd_core_ours"
    assert "our reading" in result.summary


# ---------------------------------------------------------------- bad input: one line, nothing written

def _refused(pred_pat, gt_pat, out, *words, **kw):
    before = sorted(os.listdir(out)) if os.path.isdir(out) else None
    with pytest.raises(UserError) as info:
        E.evaluate(pred_pat, gt_pat, out, **kw)
    message = str(info.value)
    assert "\n" not in message
    for w in words:
        assert w in message, (w, message)
    after = sorted(os.listdir(out)) if os.path.isdir(out) else None
    assert after == before, "something was written"
    return message


def test_mismatched_sizes_name_the_frame_and_both_files(tmp_path):
    gt_pat = write_alpha(tmp_path / "gt", "alpha", [1, 2], [disc(H, W, 0), disc(H, W, 1)], ext="png")
    pred_pat = write_alpha(tmp_path / "pred", "hero", [1, 2], [disc(H, W + 8, 0), disc(H, W + 8, 1)])
    _refused(pred_pat, gt_pat, tmp_path / "eval", "frame 1", "hero.0001.exr", "alpha.0001.png", "48x24", "40x24")
    # a size change inside one sequence is named by the reader
    changing = write_alpha(tmp_path / "pred2", "hero", [1, 2], [disc(H, W, 0), disc(H, W + 8, 1)])
    _refused(changing, gt_pat, tmp_path / "eval", "frame 2", "hero.0002.exr", "48x24")


def test_missing_frames_on_either_side(tmp_path):
    a = [disc(H, W, t) for t in range(3)]
    gt_all = write_alpha(tmp_path / "gt", "alpha", [1, 2, 3], a, ext="png")
    pred_hole = write_alpha(tmp_path / "p1", "hero", [1, 3], [a[0], a[2]])
    _refused(pred_hole, gt_all, tmp_path / "eval", "frame 2", "prediction", "hero.0002.exr", "missing")
    gt_hole = write_alpha(tmp_path / "gt2", "alpha", [1, 3], [a[0], a[2]], ext="png")
    pred_all = write_alpha(tmp_path / "p2", "hero", [1, 2, 3], a)
    _refused(pred_all, gt_hole, tmp_path / "eval", "frame 2", "GT", "alpha.0002.png", "missing")
    _refused(pred_all, gt_all, tmp_path / "eval", "--frames 7-9", frames=(7, 9))
    _refused(pred_all, gt_all, tmp_path / "eval", "frame 4", frames=(1, 4))


@pytest.mark.parametrize("bad, words", [(1.5, ("outside [0, 1]", "1.5")), (-0.25, ("outside [0, 1]",)),
                                        (np.nan, ("NaN",)), (np.inf, ("NaN or infinite",))])
def test_values_outside_0_1_or_nan(tmp_path, bad, words):
    a = [disc(H, W, t) for t in range(3)]
    gt_pat = write_alpha(tmp_path / "gt", "alpha", [1, 2, 3], a, ext="png")
    broken = [x.copy() for x in a]
    broken[2][5, 5] = bad
    pred_pat = write_alpha(tmp_path / "pred", "hero", [1, 2, 3], broken)
    out = tmp_path / "eval"
    os.makedirs(out)
    (out / "metrics.json").write_text("{}")  # an older report stays as it was
    _refused(pred_pat, gt_pat, out, "prediction frame 3", "hero.0003.exr", *words)
    assert (out / "metrics.json").read_text() == "{}"


def test_bad_values_in_gt_are_named_too(tmp_path):
    a = [disc(H, W, 0)]
    bad = a[0].copy()
    bad[0, 0] = 2.0
    gt_pat = write_alpha(tmp_path / "gt", "alpha", [1], [bad])
    pred_pat = write_alpha(tmp_path / "pred", "hero", [1], a)
    _refused(pred_pat, gt_pat, tmp_path / "eval", "GT frame 1", "alpha.0001.exr")


def test_prediction_with_several_channels_and_no_alpha(tmp_path):
    g = disc(H, W, 0)
    gt_pat = write_alpha(tmp_path / "gt", "alpha", [1], [g], ext="png")
    rgb = np.dstack([g, g, g])
    pred_pat = write_alpha(tmp_path / "pred", "hero", [1], [rgb], channels=["R", "G", "B"])
    _refused(pred_pat, gt_pat, tmp_path / "eval", "prediction frame 1", "hero.0001.exr", "3 channels (R, G, B) and no A")


def test_grey_rgb_gt_is_accepted(tmp_path):
    g = disc(H, W, 0)
    gt_pat = write_alpha(tmp_path / "gt", "alpha", [1], [np.dstack([g, g, g])], ext="png")
    pred_pat = write_alpha(tmp_path / "pred", "hero", [1], [g])
    assert E.evaluate(pred_pat, gt_pat, None).totals["mad"] == 0.0


@pytest.mark.parametrize("which", ["pred", "gt"])
@pytest.mark.parametrize("pattern", ["", "   ", None])
def test_empty_patterns(tmp_path, which, pattern):
    ok = write_alpha(tmp_path / "gt", "alpha", [1], [disc(H, W, 0)], ext="png")
    args = (pattern, ok) if which == "pred" else (ok, pattern)
    _refused(*args, tmp_path / "eval", "empty pattern", "prediction" if which == "pred" else "GT")


def test_pattern_matching_no_files(tmp_path):
    ok = write_alpha(tmp_path / "gt", "alpha", [1], [disc(H, W, 0)], ext="png")
    _refused(str(tmp_path / "nothing" / "hero.####.exr"), ok, tmp_path / "eval", "no frames found", "hero.####.exr")
    os.makedirs(tmp_path / "empty")
    _refused(str(tmp_path / "empty"), ok, tmp_path / "eval", "no numbered images")


def test_unwritable_output_is_a_user_error(tmp_path, shot):
    _, pred_pat, gt_pat, *_ = shot
    blocker = tmp_path / "is_a_file"
    blocker.write_text("x")
    with pytest.raises(UserError, match="cannot write the report"):
        E.evaluate(pred_pat, gt_pat, blocker / "eval")


def test_score_arrays_refuses_bad_arrays():
    g = np.zeros((2, 4, 4), np.float32)
    with pytest.raises(UserError, match="differ in shape"):
        E.score_arrays(np.zeros((2, 4, 5), np.float32), g)
    with pytest.raises(UserError, match="prediction frame 1"):
        bad = g.copy()
        bad[1, 0, 0] = np.nan
        E.score_arrays(bad, g)
    with pytest.raises(UserError, match="--mode"):
        E.score_arrays(g, g, mode="4k")


def test_prores_4444_prediction_movie_is_numbered_from_1(tmp_path):
    from tests.plugin.media import make_prores
    alphas = [disc(32, 48, t) for t in range(3)]
    movie = tmp_path / "hero.mov"
    make_prores(movie, frames=3, h=32, w=48, profile="4444", alpha=np.stack(alphas))
    gt_pat = write_alpha(tmp_path / "gt", "alpha", [1, 2, 3], alphas, ext="png")
    result = E.evaluate(str(movie), gt_pat, None, quantize=True)
    assert result.frames == [1, 2, 3]
    # the 10-bit alpha plane is within 0.125/255 of the 8-bit GT, so quantising lands on it exactly
    assert result.totals["mad"] == 0.0 and result.prediction_metadata == {}
