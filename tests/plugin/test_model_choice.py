"""The model choice (MatAnyone | MatAnyone2) from the shot file, the CLI, the farm template and the
demo to the engine, with stand-in checkpoints saved as `matanyone.pth` and `matanyone2.pth` in one
studio folder (the same layout, different values), and what the outputs record."""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np
import pytest

from matanyone_engine import weights
from plugin import job, protocol
from plugin.errors import ShotFileError
from plugin.shot import Shot
from tests.plugin.pipeline_media import make_shot, output_alphas


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory):
    """A studio folder holding both checkpoints (stand-in values, two salts)."""
    import torch

    from matanyone_engine import load_network
    from matanyone_engine.standin import standin_state_dict

    folder = tmp_path_factory.mktemp("studio")
    one = load_network("stand-in:model-one", device="cpu", cpu_layout=False).state_dict()
    torch.save(one, folder / "matanyone.pth")
    torch.save(standin_state_dict(one, "model-two"), folder / "matanyone2.pth")
    return folder


@pytest.fixture
def studio(checkpoints, monkeypatch):
    monkeypatch.setenv("MATANYONE_PLUGIN_WEIGHTS", str(checkpoints))
    return checkpoints


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _with_engine(shot_path: Path, **engine) -> Path:
    data = json.loads(shot_path.read_text())
    data["engine"].update(engine)
    shot_path.write_text(json.dumps(data, indent=2))
    return shot_path


def _meta(out_dir: Path) -> dict:
    from plugin.writers import read_metadata

    return read_metadata(str(sorted(out_dir.glob("*.exr"))[0]))


def test_the_vocabulary_is_the_registrys_network_checkpoints():
    assert protocol.MODELS == weights.models()
    assert protocol.MODELS[0] == weights.DEFAULT_MODEL == "matanyone"


def test_shot_file_model_defaults_to_matanyone_and_is_checked(tmp_path):
    base = {"version": 1, "plate": {"path": "p.####.exr", "first": 1, "last": 2},
            "objects": [{"id": 1, "name": "hero", "keyframes": {"1": "m.png"}}], "output": {"path": "o.####.exr"}}
    old = Shot.from_dict(base, base_dir=tmp_path)
    assert old.engine.model == "matanyone"
    two = Shot.from_dict(dict(base, engine={"model": "matanyone2"}), base_dir=tmp_path)
    assert two.engine.model == "matanyone2"
    assert two.to_dict(tmp_path)["engine"]["model"] == "matanyone2"
    assert Shot.from_dict(two.to_dict(tmp_path), base_dir=tmp_path) == two
    with pytest.raises(ShotFileError) as info:
        Shot.from_dict(dict(base, engine={"model": "MatAnyone2"}), base_dir=tmp_path)
    msg = str(info.value)
    assert "engine.model" in msg and "'MatAnyone2'" in msg and "matanyone, matanyone2" in msg and "\n" not in msg


def test_fingerprint_changes_with_the_model_and_not_for_old_shots(tmp_path):
    shot = Shot.load(make_shot(tmp_path, weights="stand-in:pipeline"))
    from dataclasses import replace

    explicit = replace(shot, engine=replace(shot.engine, model="matanyone"))
    second = replace(shot, engine=replace(shot.engine, model="matanyone2"))
    fp = [job.global_fingerprint(s, "plate", "stand-in:pipeline", "cpu") for s in (shot, explicit, second)]
    assert fp[0] == fp[1] != fp[2]


@pytest.mark.slow  # three small CPU runs and a CLI process (~1 min on 2 busy cores)
def test_model_reaches_the_engine_from_shot_file_and_cli_and_outputs_record_it(studio, tmp_path, capsys):
    from plugin.cli import main as cli_main

    # An old shot file (no engine.model) with auto weights runs matanyone.pth, bit for bit as
    # the same shot pointing at that file did before models existed.
    old = make_shot(tmp_path / "old", weights="auto", n=4)
    assert "model" not in json.loads(old.read_text())["engine"]
    before = make_shot(tmp_path / "before", weights=str(studio / "matanyone.pth"), n=4)
    assert job.run(Shot.load(old)).status == "done"
    assert job.run(Shot.load(before)).status == "done"
    a_old, a_before = output_alphas(tmp_path / "old" / "out"), output_alphas(tmp_path / "before" / "out")
    assert sorted(a_old) == sorted(a_before)
    for name in a_old:
        np.testing.assert_array_equal(a_old[name], a_before[name], err_msg=name)
    meta = _meta(tmp_path / "old" / "out")
    assert meta["model"] == "matanyone" and meta["weights"] == f"matanyone.pth sha256:{_sha(studio / 'matanyone.pth')}"

    # Writing the default out changes nothing: the earlier run is up to date.
    assert job.run(Shot.load(_with_engine(old, model="matanyone"))).status == "up-to-date"

    # The shot file chooses MatAnyone2: a different run, other alphas, recorded everywhere.
    two = _with_engine(make_shot(tmp_path / "two", weights="auto", n=4), model="matanyone2")
    result = job.run(Shot.load(two))
    assert result.status == "done"
    sha2 = _sha(studio / "matanyone2.pth")
    assert result.weights_id == f"matanyone2.pth sha256:{sha2}"
    meta = _meta(tmp_path / "two" / "out")
    assert meta["model"] == "matanyone2" and meta["weights"] == result.weights_id
    a_two = output_alphas(tmp_path / "two" / "out")
    assert any(not np.array_equal(a_two[n], a_old[n]) for n in a_old)
    log = Path(result.log_path).read_text()
    assert f"model matanyone2, weights matanyone2.pth sha256:{sha2}" in log
    record = json.loads(Path(result.record_path).read_text())
    assert {o["model"] for o in record["objects"].values()} == {"matanyone2"}
    assert json.loads(Path(result.shot_path).read_text())["engine"]["model"] == "matanyone2"

    # The CLI's --model overrides the shot file: back to MatAnyone, which re-runs (the record
    # was made by MatAnyone2) and gives the MatAnyone alphas.
    assert cli_main(["run", str(two), "--model", "matanyone", "--quiet"]) == 0
    capsys.readouterr()
    assert _meta(tmp_path / "two" / "out")["model"] == "matanyone"
    a_cli = output_alphas(tmp_path / "two" / "out")
    for name in a_old:
        np.testing.assert_array_equal(a_cli[name], a_old[name], err_msg=name)


def test_a_missing_model_checkpoint_is_a_one_line_error_naming_it(checkpoints, tmp_path, monkeypatch, capsys):
    from plugin.cli import main as cli_main

    studio = tmp_path / "only_v1"
    studio.mkdir()
    os.symlink(checkpoints / "matanyone.pth", studio / "matanyone.pth")
    monkeypatch.setenv("MATANYONE_PLUGIN_WEIGHTS", str(studio))
    shot = make_shot(tmp_path / "sh", weights="auto", n=2)
    assert cli_main(["run", str(shot), "--model", "matanyone2", "--quiet"]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: checkpoint matanyone2.pth not found") and "weights get matanyone2" in err
    assert "\n" not in err and not (tmp_path / "sh" / "out").exists()


def test_a_wrong_file_as_matanyone2_is_refused_naming_the_keys(tmp_path, monkeypatch, capsys):
    import torch

    from plugin.cli import main as cli_main

    studio = tmp_path / "studio"
    studio.mkdir()
    torch.save({"pixel_encoder.conv1.weight": torch.zeros(1)}, studio / "matanyone2.pth")
    monkeypatch.setenv("MATANYONE_PLUGIN_WEIGHTS", str(studio))
    shot = _with_engine(make_shot(tmp_path / "sh", weights="auto", n=2), model="matanyone2")
    assert cli_main(["run", str(shot), "--quiet"]) == 1
    err = capsys.readouterr().err.strip()
    assert "matanyone2.pth" in err and "missing key(s), first: " in err and "\n" not in err


def test_farm_template_carries_each_shots_model_or_one_for_all(tmp_path):
    from plugin import farm
    from tests.plugin.test_farm import make_shot as farm_shot

    one = farm_shot(tmp_path / "sh010", "sh010", objects=("hero",))
    two = _with_engine(farm_shot(tmp_path / "sh020", "sh020", objects=("hero",)), model="matanyone2")
    tasks = farm.list_tasks(farm.build_template([one, two]))
    assert [(Path(p["Shot"]).name, p["Model"]) for _, p in tasks] == [("sh010.json", "matanyone"),
                                                                     ("sh020.json", "matanyone2")]
    tasks = farm.list_tasks(farm.build_template([one, two], model="matanyone2"))
    assert [p["Model"] for _, p in tasks] == ["matanyone2", "matanyone2"]
    with pytest.raises(farm.FarmError, match="--model 'v3': use one of matanyone, matanyone2"):
        farm.build_template([one], model="v3")


@pytest.mark.slow  # one `openjd run` task: a subprocess with torch (~20 s)
def test_farm_task_runs_the_templates_model(studio, tmp_path):
    import importlib.util

    from plugin import farm
    from tests.plugin.test_farm import make_shot as farm_shot

    if importlib.util.find_spec("openjd.cli") is None:
        pytest.skip("openjd-cli is not installed")
    shot = _with_engine(farm_shot(tmp_path / "sh010", "sh010", objects=("hero",)), weights="auto")
    job_file = farm.write_template(farm.build_template([shot], device="cpu", model="matanyone2"),
                                   tmp_path / "job.yaml")
    [outcome] = farm.run_locally(job_file, env=dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[2])))
    assert outcome.ok, outcome.error
    meta = _meta(tmp_path / "sh010" / "matte")
    assert meta["model"] == "matanyone2"
    assert meta["weights"] == f"matanyone2.pth sha256:{_sha(studio / 'matanyone2.pth')}"


def test_demo_looks_for_the_chosen_models_checkpoint(studio, tmp_path, monkeypatch):
    from plugin.commands import demo

    assert demo.choose_weights(None, "matanyone2") == ("auto", False)
    monkeypatch.setenv("MATANYONE_PLUGIN_WEIGHTS", str(tmp_path))  # an empty studio folder
    assert demo.choose_weights(None, "matanyone2") == ("stand-in", True)
    text = demo.banner("matanyone2")
    assert "(matanyone2.pth)" in text and "weights get matanyone2`" in text
    assert len({len(line) for line in text.splitlines()}) == 1  # a closed box
    sample = type("Sample", (), {"plate_pattern": str(tmp_path / "p.####.exr"), "first": 1, "last": 2,
                                 "colourspace": "sRGB", "mask_path": str(tmp_path / "m.png")})
    assert demo.demo_shot(sample, str(tmp_path / "out"), "auto", model="matanyone2").engine.model == "matanyone2"
    from plugin.cli import build_parser

    args = build_parser().parse_args(["demo", "--model", "matanyone2"])
    assert args.model == "matanyone2"


def test_eval_report_names_the_model_and_its_sha256(tmp_path, capsys):
    from plugin import cli, report
    from plugin.evaluate import evaluate
    from tests.plugin.test_evaluate import disc, write_alpha

    frames = list(range(1001, 1005))
    gt = [disc(36, 64, t) for t in range(4)]
    made_by = {"matanyone:model": "matanyone2", "matanyone:weights": "matanyone2.pth sha256:" + "ab" * 32}
    gt_pat = write_alpha(tmp_path / "gt", "alpha", frames, gt, dtype="half")
    pred_pat = write_alpha(tmp_path / "out", "hero", frames, gt, dtype="half", attributes=made_by)
    assert cli.main(["eval", "--pred", pred_pat, "--gt", gt_pat, "--mode", "lr", "--no-report",
                     "--out", str(tmp_path / "ev")]) == 0
    printed = capsys.readouterr().out
    assert "matanyone:model=matanyone2" in printed and "matanyone:weights=matanyone2.pth sha256:abab" in printed
    data = json.loads((tmp_path / "ev" / "metrics.json").read_text())
    assert data["prediction"]["metadata"] == made_by
    result = evaluate(pred_pat, gt_pat, str(tmp_path / "ev2"), mode="lr")
    assert result.model == "matanyone2" and result.weights == made_by["matanyone:weights"]
    assert f"(model matanyone2, weights {made_by['matanyone:weights']})" in report._title(result)


@pytest.mark.slow  # a real worker process (~30 s): the path the panel, Nuke and Resolve use
def test_worker_runs_the_shot_files_model_and_lists_both_checkpoints(studio, tmp_path):
    import sys

    from plugin.client import WorkerClient

    shot = _with_engine(make_shot(tmp_path / "sh", weights="auto", n=3), model="matanyone2")
    with WorkerClient(python=sys.executable) as client:
        client.start(timeout=120)
        rows = {r["name"]: r for r in client.call("weights_status", timeout=60)["weights"]}
        assert rows["matanyone2"]["path"] == str(studio / "matanyone2.pth") and rows["matanyone2"]["where"] == "studio"
        assert rows["matanyone"]["path"] == str(studio / "matanyone.pth")
        result = client.call("run_shot", shot_path=str(shot), timeout=600)
    assert result["status"] == "done"
    assert result["weights_id"] == f"matanyone2.pth sha256:{_sha(studio / 'matanyone2.pth')}"
    assert _meta(tmp_path / "sh" / "out")["model"] == "matanyone2"
