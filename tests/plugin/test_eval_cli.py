"""`matanyone-plugin eval` end to end on EXR sequences written by the test."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from plugin import cli
from tests.plugin.test_evaluate import disc, write_alpha

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
H, W = 36, 64


@pytest.fixture
def sequences(tmp_path):
    frames = list(range(1001, 1009))
    gt = [disc(H, W, t) for t in range(8)]
    pred = [np.clip(g + np.float32(3 / 255) * (g > 0), 0, 1) for g in gt]  # a slightly dense matte
    pred[5] = disc(H, W, 5, radius=H / 3 + 3)
    gt_pat = write_alpha(tmp_path / "gt", "alpha", frames, gt, dtype="half")
    pred_pat = write_alpha(tmp_path / "out", "hero", frames, pred, dtype="half",
                           attributes={"matanyone/weights": "stand-in:demo"})
    return tmp_path, pred_pat, gt_pat


def test_cli_scores_exr_sequences_and_writes_the_report(sequences, capsys):
    tmp, pred_pat, gt_pat = sequences
    out = tmp / "report"
    code = cli.main(["eval", "--pred", pred_pat, "--gt", gt_pat, "--frames", "1002-1007", "--mode", "lr",
                     "--out", str(out)])
    printed = capsys.readouterr().out
    assert code == 0
    data = json.loads((out / "metrics.json").read_text())
    assert [r["frame"] for r in data["per_frame"]] == list(range(1002, 1008))
    assert data["worst_frames_by_mad"][0] == 1006
    assert data["prediction"]["metadata"] == {"matanyone/weights": "stand-in:demo"}
    assert data["totals"]["mad"] > 0 and data["totals"]["conn"] > 0
    assert (out / "report.png").stat().st_size > 10_000
    assert "eval 1002-1007 (6 frames, 64x36" in printed
    assert "matanyone/weights=stand-in:demo" in printed
    assert f"MAD {data['totals']['mad']:.2f}" in printed


def test_cli_default_out_is_eval_beside_the_prediction(sequences, capsys):
    tmp, pred_pat, gt_pat = sequences
    assert cli.main(["eval", "--pred", pred_pat, "--gt", gt_pat, "--no-report", "--float"]) == 0
    assert sorted(os.listdir(tmp / "out" / "eval")) == ["metrics.csv", "metrics.json"]
    data = json.loads((tmp / "out" / "eval" / "metrics.json").read_text())
    assert data["prediction_quantized_8bit"] is False


def test_cli_core_flag(sequences, capsys):
    tmp, pred_pat, gt_pat = sequences
    assert cli.main(["eval", "--pred", pred_pat, "--gt", gt_pat, "--core", "--out", str(tmp / "c")]) == 0
    assert "our reading" in capsys.readouterr().out
    assert "mad_core_ours" in json.loads((tmp / "c" / "metrics.json").read_text())["totals"]


@pytest.mark.parametrize("argv, words", [
    (["--frames", "1001-1020"], ["frame 1020"]),
    (["--frames", "1005-1001"], ["after the last"]),
])
def test_cli_bad_input_exits_1_and_writes_nothing(sequences, capsys, argv, words):
    tmp, pred_pat, gt_pat = sequences
    out = tmp / "report"
    code = cli.main(["eval", "--pred", pred_pat, "--gt", gt_pat, "--out", str(out)] + argv)
    err = capsys.readouterr().err.strip()
    assert code == 1
    assert len(err.splitlines()) == 1 and err.startswith("error: ")
    for w in words:
        assert w in err
    assert not out.exists()


def test_cli_empty_pattern_exits_1(sequences, capsys):
    tmp, pred_pat, _ = sequences
    assert cli.main(["eval", "--pred", pred_pat, "--gt", "", "--out", str(tmp / "r")]) == 1
    assert "GT: empty pattern" in capsys.readouterr().err
    assert not (tmp / "r").exists()


def test_cli_bad_frame_range_syntax_is_an_argparse_error(sequences, capsys):
    _, pred_pat, gt_pat = sequences
    with pytest.raises(SystemExit) as info:
        cli.main(["eval", "--pred", pred_pat, "--gt", gt_pat, "--frames", "first-last"])
    assert info.value.code == cli.EXIT_USAGE   # a usage error, not an internal one (2)
    assert "frame range" in capsys.readouterr().err


def test_python_m_plugin_eval_in_a_subprocess(sequences):
    tmp, pred_pat, gt_pat = sequences
    bad = write_alpha(tmp / "bad", "hero", [1001], [np.full((H, W), 1.25, np.float32)])
    env = dict(os.environ, PYTHONPATH=REPO)
    proc = subprocess.run([sys.executable, "-m", "plugin", "eval", "--pred", bad, "--gt", gt_pat,
                           "--out", str(tmp / "r")], capture_output=True, text=True, cwd=REPO, env=env, timeout=120)
    assert proc.returncode == 1, proc.stderr
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
    assert "prediction frame 1001" in proc.stderr and "outside [0, 1]" in proc.stderr
    assert not (tmp / "r").exists()
