"""Farm jobs: OpenJD templates built from shot files, validated with openjd-model, and run
with `openjd run` against local runs of the same shots."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from plugin import farm
from plugin.cli import main as cli_main
from plugin.errors import ShotFileError

REPO = Path(__file__).resolve().parents[2]
H, W, FIRST, LAST = 48, 64, 1001, 1006


# -- test data --------------------------------------------------------------------

def _write_image(path: Path, pixels: np.ndarray, fmt: str) -> None:
    import OpenImageIO as oiio
    spec = oiio.ImageSpec(pixels.shape[1], pixels.shape[0], pixels.shape[2] if pixels.ndim == 3 else 1, fmt)
    out = oiio.ImageOutput.create(str(path))
    assert out is not None, oiio.geterror()
    assert out.open(str(path), spec), out.geterror()
    assert out.write_image(pixels), out.geterror()
    out.close()


def make_plate(folder: Path) -> str:
    """6 frames of 48x64 RGB half EXR: two soft squares moving over a gradient."""
    folder.mkdir(parents=True, exist_ok=True)
    yy, xx = np.mgrid[0:H, 0:W].astype(np.float32)
    for i, frame in enumerate(range(FIRST, LAST + 1)):
        img = np.stack([0.05 + 0.2 * xx / W, 0.1 + 0.1 * yy / H, np.full_like(xx, 0.15)], axis=-1)
        a = (abs(xx - (14 + 2 * i)) < 8) & (abs(yy - 16) < 8)
        b = (abs(xx - (46 - 2 * i)) < 7) & (abs(yy - 32) < 7)
        img[a] = (0.9, 0.3, 0.2)
        img[b] = (0.2, 0.8, 0.4)
        _write_image(folder / f"plate.{frame:04d}.exr", img.astype(np.float16), "half")
    return str(folder / "plate.####.exr")


def make_mask(path: Path, cx: int, cy: int, r: int) -> None:
    yy, xx = np.mgrid[0:H, 0:W]
    mask = ((abs(xx - cx) < r) & (abs(yy - cy) < r)).astype(np.uint8) * 255
    path.parent.mkdir(parents=True, exist_ok=True)
    _write_image(path, mask[..., None], "uint8")


def make_shot(folder: Path, name: str, objects=("hero", "prop"), out_dir="matte") -> Path:
    """A shot file with its own plate and one first-frame mask per object (stand-in weights)."""
    folder.mkdir(parents=True, exist_ok=True)
    if not (folder / "plates").is_dir():
        make_plate(folder / "plates")
    squares = [(14, 16, 8), (46, 32, 7), (30, 40, 5)]
    objs = []
    for i, obj in enumerate(objects):
        cx, cy, r = squares[i % len(squares)]
        mask = folder / "masks" / f"{obj}.{FIRST}.png"
        if not mask.is_file():
            make_mask(mask, cx, cy, r)
        objs.append({"id": i + 1, "name": obj, "keyframes": {str(FIRST): f"masks/{obj}.{FIRST}.png"}})
    data = {
        "version": 1,
        "plate": {"path": "plates/plate.####.exr", "first": FIRST, "last": LAST,
                  "colourspace": None, "ocio_config": None, "frame_offset": 0},
        "network_input": {"display": None, "view": None},
        "objects": objs,
        "mask_cleanup": {"dilate": 0, "erode": 0},
        "engine": {"weights": "stand-in", "warmup": 2, "mem_every": 5, "max_mem_frames": 5,
                   "top_k": 30, "precision": "fp32", "device": "cpu", "max_internal_size": None},
        "output": {"path": f"{out_dir}/{name}_{{object}}.####.exr", "dtype": "half", "channels": "A"},
    }
    path = folder / f"{name}.json"
    path.write_text(json.dumps(data, indent=2), encoding="utf-8")
    return path


@pytest.fixture
def three_shots(tmp_path):
    """Three shots of two objects each; the third shot's objects differ from the others'."""
    return [make_shot(tmp_path / "sh010", "sh010"),
            make_shot(tmp_path / "sh020", "sh020"),
            make_shot(tmp_path / "sh030", "sh030", objects=("car", "dog"))]


def _decode(template: dict):
    from openjd.model import decode_job_template
    return decode_job_template(template=template)


# -- templates --------------------------------------------------------------------

def test_one_shot_template_is_valid_openjd_with_a_task_per_object(tmp_path):
    shot = make_shot(tmp_path / "sh010", "sh010")
    template = farm.build_template([shot], python="/studio/bin/python", device="cuda", weights_dir="/mnt/weights")
    decoded = _decode(template)
    assert decoded.specificationVersion.value == "jobtemplate-2023-09"
    assert [s.name for s in decoded.steps] == ["Matte"]
    tasks = farm.list_tasks(template)
    assert tasks == [("Matte", {"Shot": str(shot.resolve()), "Object": "hero", "Model": "matanyone"}),
                     ("Matte", {"Shot": str(shot.resolve()), "Object": "prop", "Model": "matanyone"})]
    params = {p["name"]: p for p in template["parameterDefinitions"]}
    assert params["Python"]["default"] == "/studio/bin/python"
    assert params["Device"]["default"] == "cuda"
    assert params["WeightsDir"]["default"] == "/mnt/weights"
    on_enter = template["jobEnvironments"][0]["script"]["actions"]["onEnter"]
    assert on_enter["command"] == "{{Param.Python}}" and on_enter["args"][-1] == "{{Param.WeightsDir}}"
    action = template["steps"][0]["script"]["actions"]["onRun"]
    assert action["command"] == "{{Param.Python}}"
    assert action["args"] == ["-m", "plugin", "run", "{{Task.Param.Shot}}", "--object", "{{Task.Param.Object}}",
                              "--model", "{{Task.Param.Model}}", "--device", "{{Param.Device}}"]
    assert "hostRequirements" not in template["steps"][0]


def test_three_shots_with_different_objects_pair_each_shot_with_its_own_objects(three_shots):
    template = farm.build_template(three_shots)
    _decode(template)
    pairs = [(Path(p["Shot"]).name, p["Object"]) for _, p in farm.list_tasks(template)]
    assert pairs == [("sh010.json", "hero"), ("sh010.json", "prop"), ("sh020.json", "hero"),
                     ("sh020.json", "prop"), ("sh030.json", "car"), ("sh030.json", "dog")]
    assert template["name"] == "MatAnyone sh010 +2 shots"
    # Default interpreter: the one building the template.
    assert template["parameterDefinitions"][0]["default"] == sys.executable


def test_job_parameters_resolve_into_the_task_command(tmp_path):
    from openjd.model import create_job, preprocess_job_parameters
    shot = make_shot(tmp_path / "sh010", "sh010")
    template = farm.build_template([shot], python="python3")
    decoded = _decode(template)
    values = preprocess_job_parameters(job_template=decoded, job_parameter_values={"Device": "cuda:1"},
                                       job_template_dir=tmp_path, current_working_dir=tmp_path)
    assert {k: v.value for k, v in values.items()} == {"Python": "python3", "Device": "cuda:1", "WeightsDir": ""}
    job = create_job(job_template=decoded, job_parameter_values=values)
    assert job.parameters["Device"].value == "cuda:1"


def test_gpu_host_requirements(tmp_path):
    shot = make_shot(tmp_path / "sh010", "sh010")
    plain = farm.build_template([shot], gpu=True)
    assert plain["steps"][0]["hostRequirements"] == {"amounts": [{"name": "amount.worker.gpu", "min": 1}]}
    sized = farm.build_template([shot], gpu_memory_gib=12)
    assert sized["steps"][0]["hostRequirements"]["amounts"] == [
        {"name": "amount.worker.gpu", "min": 1}, {"name": "amount.worker.gpu.memory", "min": 12288}]
    job_step = _decode(sized).steps[0]
    assert [a.name for a in job_step.hostRequirements.amounts] == ["amount.worker.gpu", "amount.worker.gpu.memory"]


def test_more_tasks_than_openjd_allows_in_one_step_go_into_more_steps(three_shots, monkeypatch):
    monkeypatch.setattr(farm, "MAX_TASKS_PER_STEP", 4)
    template = farm.build_template(three_shots)
    _decode(template)
    tasks = farm.list_tasks(template)
    assert [step for step, _ in tasks] == ["Matte 1"] * 4 + ["Matte 2"] * 2
    assert [p["Object"] for _, p in tasks] == ["hero", "prop", "hero", "prop", "car", "dog"]


def test_written_template_passes_openjd_check_and_reloads(three_shots, tmp_path):
    out = farm.write_template(farm.build_template(three_shots, gpu=True), tmp_path / "job.yaml")
    assert sorted(p.name for p in tmp_path.iterdir() if p.is_file()) == ["job.yaml"]  # no temp file left
    check = subprocess.run([sys.executable, "-m", "openjd", "check", str(out)], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    assert farm.load_template(out) == yaml.safe_load(out.read_text())
    as_json = farm.write_template(farm.build_template(three_shots), tmp_path / "job.json")
    assert len(farm.list_tasks(json.loads(as_json.read_text()))) == 6


def test_cli_template_writes_the_file(three_shots, tmp_path, capsys):
    out = tmp_path / "job.yaml"
    rc = cli_main(["farm", "template", *map(str, three_shots), "--out", str(out), "--python", "/opt/py",
                   "--device", "cuda", "--weights-dir", "/mnt/w", "--gpu"])
    assert rc == 0
    assert "6 task(s) for 3 shot(s)" in capsys.readouterr().out
    template = farm.load_template(out)
    assert {p["name"]: p["default"] for p in template["parameterDefinitions"]} == {
        "Python": "/opt/py", "Device": "cuda", "WeightsDir": "/mnt/w"}
    assert template["steps"][0]["hostRequirements"]["amounts"][0]["name"] == "amount.worker.gpu"


def test_a_broken_shot_file_stops_the_template_with_one_line_naming_it(three_shots, tmp_path, capsys):
    out = tmp_path / "job.yaml"
    out.write_text("keep me\n")
    three_shots[1].write_text('{"version": 1, "plate": ')
    rc = cli_main(["farm", "template", *map(str, three_shots), "--out", str(out)])
    err = capsys.readouterr().err
    assert rc == 1
    assert err.count("\n") == 1 and err.startswith("error: ") and "sh020.json" in err and "JSON" in err
    assert out.read_text() == "keep me\n"  # nothing half-written, nothing replaced
    with pytest.raises(ShotFileError, match="not found"):
        farm.plan_tasks([tmp_path / "missing.json"])


@pytest.mark.parametrize("args, message", [
    (["--out", "{tmp}/nofolder/job.yaml"], "folder not found"),
    (["--out", "{tmp}/job.txt"], ".yaml, .yml or .json"),
    (["--out", "{tmp}/job.yaml", "--gpu-memory", "-2"], "above 0"),
    (["--out", "{tmp}/job.yaml", "--device", " "], "--device is empty"),
    (["--out", "{tmp}/job.yaml", "--python", "{{{{Param.X}}}}"], "OpenJD reads as an expression"),
    (["--out", "{tmp}/job.yaml", "--name", "x" * 200], "name must be at most 128 characters"),
])
def test_bad_template_options_are_one_line_errors(tmp_path, capsys, args, message):
    shot = make_shot(tmp_path / "sh010", "sh010")
    args = [a.format(tmp=tmp_path) for a in args]
    rc = cli_main(["farm", "template", str(shot), *args])
    err = capsys.readouterr().err
    assert rc == 1 and err.count("\n") == 1 and message in err, err
    assert not (tmp_path / "job.yaml").exists()


def test_same_shot_twice_is_refused(tmp_path):
    shot = make_shot(tmp_path / "sh010", "sh010")
    with pytest.raises(farm.FarmError, match="given twice"):
        farm.build_template([shot, tmp_path / "sh010" / ".." / "sh010" / "sh010.json"])


@pytest.mark.parametrize("text, message", [
    ("specificationVersion: jobtemplate-2023-09\nname: x\nsteps: []\n", "the job template is not valid OpenJD"),
    ("a: [\n", "not a YAML/JSON job template"),
    ("[1, 2]\n", "not a YAML/JSON job template"),
    (None, "job template not found"),
])
def test_farm_run_refuses_a_bad_template_in_one_line(tmp_path, capsys, text, message):
    bad = tmp_path / "bad.yaml"
    if text is not None:
        bad.write_text(text)
    with pytest.raises(farm.FarmError, match=f"bad.yaml: {message}"):
        farm.load_template(bad)
    assert cli_main(["farm", "run", str(bad)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err


def test_farm_run_without_openjd_cli_says_how_to_install_it(tmp_path, monkeypatch):
    import importlib.util
    job = farm.write_template(farm.build_template([make_shot(tmp_path / "sh010", "sh010")]), tmp_path / "job.yaml")
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "openjd.cli" else real(name, *a))
    with pytest.raises(farm.FarmError, match="openjd-cli is not installed .* pip install openjd-cli"):
        farm.run_locally(job)


# -- openjd run: what each task runs (a stand-in interpreter that records it) ------

def _recording_python(tmp_path: Path) -> Path:
    """An 'interpreter' that runs the job environment's `-c` code with this Python and
    prints, instead of matting, the task's arguments and weights variable."""
    script = tmp_path / "recording-python"
    script.write_text(
        "#!/bin/sh\n"
        f'if [ "$1" = "-c" ]; then exec "{sys.executable}" "$@"; fi\n'
        'echo "ARGS $*"\n'
        'echo "WEIGHTS=${MATANYONE_PLUGIN_WEIGHTS-unset}"\n')
    script.chmod(0o755)
    return script


@pytest.mark.skipif(sys.platform == "win32", reason="the recording interpreter is a POSIX shell script")
def test_openjd_run_gives_each_task_its_shot_object_device_and_weights(three_shots, tmp_path):
    job = farm.write_template(farm.build_template(three_shots, device="cpu"), tmp_path / "job.yaml")
    weights = tmp_path / "studio_weights"
    weights.mkdir()
    python = _recording_python(tmp_path)
    lines = []
    outcomes = farm.run_locally(job, job_params={"Python": str(python), "WeightsDir": str(weights)},
                                logs_dir=tmp_path / "logs", parallel=3, on_output=lines.append)
    assert [o.ok for o in outcomes] == [True] * 6
    assert [o.log_path.name for o in outcomes][::2] == ["Matte.0001.sh010.hero.log", "Matte.0003.sh020.hero.log",
                                                        "Matte.0005.sh030.car.log"]
    assert {line[:4] for line in lines} == {f"[{n}] " for n in range(1, 7)}  # each line names its task
    for outcome, (shot, obj) in zip(outcomes, [(0, "hero"), (0, "prop"), (1, "hero"), (1, "prop"),
                                               (2, "car"), (2, "dog")]):
        log = outcome.log_path.read_text()
        assert f"ARGS -m plugin run {three_shots[shot].resolve()} --object {obj} --model matanyone --device cpu\n" in log
        assert f"WEIGHTS={weights}\n" in log
    # A WeightsDir the worker cannot see: every task fails with one line saying so.
    missing = farm.run_locally(job, job_params={"Python": str(python), "WeightsDir": str(tmp_path / "nope")})
    assert [o.ok for o in missing] == [False] * 6
    assert missing[0].error == (f"error: weights folder {tmp_path / 'nope'} (job parameter WeightsDir) is not on "
                                "this worker; mount it there or change WeightsDir")


@pytest.mark.skipif(sys.platform == "win32", reason="the recording interpreter is a POSIX shell script")
def test_openjd_run_without_weights_dir_keeps_the_workers_setting(tmp_path, monkeypatch):
    shot = make_shot(tmp_path / "sh010", "sh010", objects=("hero",))
    job = farm.write_template(farm.build_template([shot], python=str(_recording_python(tmp_path))),
                              tmp_path / "job.yaml")
    monkeypatch.setenv("MATANYONE_PLUGIN_WEIGHTS", "/worker/own")
    lines = []
    [outcome] = farm.run_locally(job, job_params={"Device": "cuda:1"}, on_output=lines.append)
    assert outcome.ok and outcome.log_path is None
    log = "\n".join(lines)
    assert "WEIGHTS=/worker/own" in log and "--object hero --model matanyone --device cuda:1" in log


@pytest.mark.skipif(sys.platform == "win32", reason="the recording interpreter is a POSIX shell script")
def test_farm_run_only_some_tasks(three_shots, tmp_path, monkeypatch, capsys):
    job = farm.write_template(farm.build_template(three_shots, python=str(_recording_python(tmp_path))),
                              tmp_path / "job.yaml")
    monkeypatch.chdir(three_shots[2].parent)
    rc = cli_main(["farm", "run", str(job), "--only", "Shot=sh030.json", "--only", "Object=dog"])
    out = capsys.readouterr().out
    assert rc == 0 and "1 task(s): 1 done, 0 failed" in out
    assert f"ARGS -m plugin run {three_shots[2].resolve()} --object dog --model matanyone --device auto" in out
    assert "--object car" not in out
    for only, message in ((["Object=cat"], "no task of job.yaml has Object=cat"),
                          (["Frame=3"], "--only Frame: the template's task parameters are Model, Object, Shot"),
                          (["Object"], "--only 'Object': write it as KEY=VALUE")):
        rc = cli_main(["farm", "run", str(job), *[f"--only={o}" for o in only]])
        err = capsys.readouterr().err
        assert rc == 1 and err == f"error: {message}\n"


# -- end to end: real tasks on stand-in weights ------------------------------------

def _require_pipeline():
    """The end-to-end tests need the engine and the `run` command (issue 6) in the tree."""
    import importlib
    missing = []
    for module in ("matanyone_engine.session", "plugin.job", "plugin.commands.run"):
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as err:
            if not module.startswith(str(err.name)):
                raise
            missing.append(module)
    if missing:
        pytest.skip(f"end-to-end farm run needs the pipeline: {', '.join(missing)} not in the tree yet")


@pytest.fixture
def runnable(monkeypatch):
    """Subprocesses (openjd's tasks run in a temporary folder) import this checkout's packages."""
    _require_pipeline()
    path = os.environ.get("PYTHONPATH")
    monkeypatch.setenv("PYTHONPATH", str(REPO) + (os.pathsep + path if path else ""))


@pytest.fixture(scope="module")
def local_alphas(tmp_path_factory):
    """Alphas of a local `python -m plugin run SHOT` of the test shot, all objects in one run
    (made once for the module): {(object, frame): pixels}. Farm outputs, one task per object,
    must equal these: MatAnyone keeps one memory per object."""
    _require_pipeline()
    folder = tmp_path_factory.mktemp("local")
    shot = make_shot(folder / "sh010", "local")
    path = os.environ.get("PYTHONPATH")
    env = dict(os.environ, PYTHONPATH=str(REPO) + (os.pathsep + path if path else ""),
               MATANYONE_PLUGIN_CONFIG_DIR=str(folder / "config"), MATANYONE_PLUGIN_CACHE_DIR=str(folder / "cache"),
               MATANYONE_PLUGIN_OFFLINE="1")
    env.pop("MATANYONE_PLUGIN_WEIGHTS", None)
    proc = subprocess.run([sys.executable, "-m", "plugin", "run", str(shot), "--device", "cpu"],
                          capture_output=True, text=True, timeout=900, env=env)
    assert proc.returncode == 0, proc.stderr
    frames = _alpha_frames(folder / "sh010" / "matte", "local")
    assert set(frames) == {(obj, f) for obj in ("hero", "prop") for f in range(FIRST, LAST + 1)}
    assert frames[("hero", LAST)][0] != frames[("prop", LAST)][0]  # two objects, two mattes
    return frames


def _alpha_frames(folder: Path, prefix: str) -> dict:
    """{(object, frame): raw pixel bytes, channel names} of every alpha EXR under `folder`."""
    import OpenImageIO as oiio
    frames = {}
    for path in sorted(folder.glob(f"{prefix}_*.exr")):
        obj, frame = path.name[len(prefix) + 1:].rsplit(".", 2)[:2]
        inp = oiio.ImageInput.open(str(path))
        assert inp is not None, oiio.geterror()
        pixels = inp.read_image(format=oiio.UNKNOWN)  # native type: compare stored bits
        channels = tuple(inp.spec().channelnames)
        inp.close()
        frames[(obj, int(frame))] = (pixels.tobytes(), pixels.dtype.str, channels)
    return frames


@pytest.mark.slow
def test_farm_run_equals_local_runs_and_a_broken_shot_fails_only_its_tasks(tmp_path, runnable, local_alphas,
                                                                           capsys):
    good = make_shot(tmp_path / "sh010", "sh010")
    other = make_shot(tmp_path / "sh020", "sh020", objects=("car", "dog"))
    job = farm.write_template(farm.build_template([good, other], device="cpu"), tmp_path / "job.yaml")
    other.write_text('{"version": 1, "plate": {"path": ')  # broken after submission

    # Two workers: the two objects of sh010 run at the same time, in the same output folder.
    rc = cli_main(["farm", "run", str(job), "--logs", str(tmp_path / "logs"), "--quiet", "--parallel", "2"])
    out, err = capsys.readouterr()
    assert rc == 1
    assert "4 task(s): 2 done, 2 failed" in out
    failed = [line for line in err.splitlines() if line.startswith("failed: ")]
    assert len(failed) == 2 and all("sh020.json" in line and "error: " in line for line in failed), err
    logs = sorted((tmp_path / "logs").glob("*.log"))
    assert [p.name for p in logs] == ["Matte.0001.sh010.hero.log", "Matte.0002.sh010.prop.log",
                                      "Matte.0003.sh020.car.log", "Matte.0004.sh020.dog.log"]
    for log in logs[2:]:  # the broken shot's tasks: one line naming the file, no traceback
        text = log.read_text()
        errors = [line.split("\t", 1)[-1] for line in text.splitlines() if "\terror: " in line]
        assert len(errors) == 1 and str(other.resolve()) in errors[0] and "JSON" in errors[0], text
        assert "Traceback" not in text
    assert not (tmp_path / "sh020" / "matte").exists()

    farm_frames = _alpha_frames(tmp_path / "sh010" / "matte", "sh010")
    assert set(farm_frames) == set(local_alphas)
    for key in sorted(local_alphas):
        assert farm_frames[key] == local_alphas[key], f"{key}: farm alpha differs from the local run"


def _break_frame(path: Path) -> bytes:
    """Make a plate frame unreadable with the same size and time, so that a fixed plate
    counts as unchanged (the pipeline's plate fingerprint is size + mtime); returns its bytes."""
    st, data = path.stat(), path.read_bytes()
    path.write_bytes(b"\0" * len(data))
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    return data


def _mend_frame(path: Path, data: bytes) -> None:
    st = path.stat()
    path.write_bytes(data)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))


@pytest.mark.slow
def test_a_retried_task_resumes_after_its_last_whole_frame(tmp_path, runnable, local_alphas, monkeypatch):
    # The pipeline saves its engine state every frame here (by default every 10 s).
    monkeypatch.setenv("MATANYONE_PLUGIN_CHECKPOINT_FRAMES", "1")
    shot = make_shot(tmp_path / "sh010", "sh010")
    job = farm.write_template(farm.build_template([shot], device="cpu"), tmp_path / "job.yaml")
    matte = tmp_path / "sh010" / "matte"

    # First attempt of hero's task: the worker loses frame 1004 mid-task.
    bad = tmp_path / "sh010" / "plates" / "plate.1004.exr"
    data = _break_frame(bad)
    [first] = farm.run_locally(job, only={"Object": "hero"}, logs_dir=tmp_path / "logs1")
    assert not first.ok and first.error.startswith("error: ") and "1004" in first.error, first.log_path.read_text()
    done = sorted(p.name for p in matte.glob("sh010_hero.*.exr"))
    assert done == [f"sh010_hero.{f}.exr" for f in range(FIRST, FIRST + 3)]  # whole frames only
    kept = {name: os.stat(matte / name) for name in done}
    _mend_frame(bad, data)

    # Meanwhile a sibling task (another object of the same shot) runs to the end.
    [sibling] = farm.run_locally(job, only={"Object": "prop"}, logs_dir=tmp_path / "logs2")
    assert sibling.ok, sibling.log_path.read_text()

    # The scheduler retries hero's task: it continues after frame 1003.
    [retry] = farm.run_locally(job, only={"Object": "hero"}, logs_dir=tmp_path / "logs3")
    assert retry.ok, retry.log_path.read_text()
    for name, before in kept.items():  # finished frames are not redone
        after = os.stat(matte / name)
        assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns), name

    # ...and the result is what uninterrupted local runs give.
    assert _alpha_frames(matte, "sh010") == local_alphas
