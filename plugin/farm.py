"""Render-farm jobs as Open Job Description (OpenJD) templates.

One shot and one object is one sequential task (the engine's memory is recurrent), so a
farm parallelises across shots and objects: the template has one step (more past 1024 tasks)
whose tasks are the (shot file, object name, model) triples, each running
``<python> -m plugin run SHOT --object NAME --model MODEL``. The model is each shot file's
``engine.model`` unless the template is built with one for every shot; it is a task parameter
so a farm monitor shows which checkpoint each task runs.
A retried task runs the same command, and ``run`` resumes after the last whole frame.
AWS Deadline Cloud and other OpenJD schedulers run the file as written; ``openjd run`` runs
it locally (see :func:`run_locally`).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Optional, Sequence

from plugin.errors import FarmError

SPEC_VERSION = "jobtemplate-2023-09"
STEP_NAME = "Matte"
# OpenJD caps a task parameter's range at 1024 values: longer lists go into more steps.
MAX_TASKS_PER_STEP = 1024
# Seconds a cancelled task gets to finish the frame in hand before it is killed.
CANCEL_GRACE_S = 30
WEIGHTS_ENV = "MATANYONE_PLUGIN_WEIGHTS"
# The job environment's onEnter: export WeightsDir only when given (an empty value must not
# hide a worker's own setting), after checking the worker can see it. `openjd_env: NAME=VALUE`
# on stdout sets a variable for the rest of the session; the interpreter is the job's own.
_SET_WEIGHTS = (
    "import os, sys; d = sys.argv[1]; "
    "d and not os.path.exists(d) and sys.exit('error: weights folder ' + d + ' (job parameter WeightsDir) "
    "is not on this worker; mount it there or change WeightsDir'); "
    f"d and print('openjd_env: {WEIGHTS_ENV}=' + d)"
)


@dataclass(frozen=True)
class FarmTask:
    """One task: an object of a shot, matted start to end in one process."""

    shot: str    # absolute path of the shot file
    object: str  # the object's name in that shot file
    model: str   # the shot's engine.model (or the template's override)


def plan_tasks(shot_paths: Iterable[str | os.PathLike], model: Optional[str] = None) -> list[FarmTask]:
    """Read each shot file and list one task per object, in shot then object order.

    Args:
        shot_paths: shot files (JSON, version 1).
        model: run every shot with this model (matanyone | matanyone2); default: each shot's own.

    Returns:
        One `FarmTask` per (shot, object) pair; shots keep their own object lists.
    """
    tasks: list[FarmTask] = []
    seen: set[str] = set()
    for raw in shot_paths:
        path = Path(raw).expanduser().resolve()
        if str(path) in seen:
            raise FarmError(f"{path}: shot file given twice; list each shot once")
        seen.add(str(path))
        names, own_model = _shot_objects(path)
        for name in names:
            tasks.append(FarmTask(shot=str(path), object=name, model=model or own_model))
    if not tasks:
        raise FarmError("no shot files given: name at least one SHOT.json")
    return tasks


def _shot_objects(path: Path) -> tuple[list[str], str]:
    """The object names and model of one shot file, validated as the run command will validate it."""
    from plugin.shot import Shot  # standard library only: fine on a submission machine
    shot = Shot.load(path)
    _check_literal(str(path), f"shot file path {path}")
    return [obj.name for obj in shot.objects], shot.engine.model


def _check_literal(value: str, what: str) -> None:
    # Task parameter values are OpenJD format strings: '{{' would start an expression.
    if "{{" in value or "}}" in value:
        raise FarmError(f"{what} contains '{{{{' or '}}}}', which OpenJD reads as an expression; rename it")
    if len(value) > 1024:
        raise FarmError(f"{what} is longer than OpenJD's 1024 characters; use a shorter path or name")


def build_template(
    shot_paths: Sequence[str | os.PathLike],
    *,
    python: Optional[str] = None,
    device: str = "auto",
    weights_dir: Optional[str] = None,
    gpu: bool = False,
    gpu_memory_gib: Optional[float] = None,
    name: Optional[str] = None,
    model: Optional[str] = None,
) -> dict:
    """An OpenJD job template (a plain dict, spec `jobtemplate-2023-09`) for the shots.

    Args:
        shot_paths: shot files; each object of each shot becomes one task.
        python: default of the `Python` job parameter: the interpreter with this product
            installed, as the workers see it (default: the one running now).
        device: default of the `Device` job parameter (auto | cpu | cuda | cuda:N | mps).
        weights_dir: default of the `WeightsDir` job parameter, a shared studio folder of
            checkpoints, given to each task as $MATANYONE_PLUGIN_WEIGHTS ("" leaves the
            worker's own setting).
        gpu: ask the scheduler for a worker with at least one GPU.
        gpu_memory_gib: ask for at least this much GPU memory (implies `gpu`).
        name: the job's name (default: from the shot files).
        model: the model every task runs (matanyone | matanyone2); default: each shot's own.

    Returns:
        The template, validated with openjd-model.
    """
    from plugin.protocol import MODELS
    if model is not None and model not in MODELS:
        raise FarmError(f"--model {model!r}: use one of {', '.join(MODELS)}")
    tasks = plan_tasks(shot_paths, model)
    python = python or sys.executable
    for value, what in ((python, "--python"), (device, "--device"), (weights_dir or "", "--weights-dir")):
        _check_literal(value, what)
    if not device.strip():
        raise FarmError("--device is empty: give auto, cpu, cuda, cuda:N or mps")
    shots = list(dict.fromkeys(task.shot for task in tasks))
    if name is None:
        first = Path(shots[0]).stem
        more = f" +{len(shots) - 1} shots" if len(shots) > 1 else ""
        name = f"MatAnyone {first[:100]}{more}"
    _check_literal(name, "--name")
    template: dict = {
        "specificationVersion": SPEC_VERSION,
        "name": name,
        "description": (f"MatAnyone mattes: {len(shots)} shot(s), {len(tasks)} task(s), one per shot and "
                        "object; a retried task resumes after its last whole frame."),
        "parameterDefinitions": [
            {"name": "Python", "type": "STRING", "minLength": 1, "default": python,
             "description": "The interpreter with matanyone-plugin installed, as the workers see it."},
            {"name": "Device", "type": "STRING", "minLength": 1, "default": device,
             "description": "Compute device: auto, cpu, cuda, cuda:N or mps."},
            {"name": "WeightsDir", "type": "STRING", "default": weights_dir or "",
             "description": ("Shared studio folder (or file) of checkpoints, set as "
                             "MATANYONE_PLUGIN_WEIGHTS for every task; empty keeps each worker's own setting.")},
        ],
        "jobEnvironments": [
            {"name": "MatAnyoneWeights",
             "description": "Sets MATANYONE_PLUGIN_WEIGHTS from WeightsDir, when given, for every task.",
             "script": {"actions": {"onEnter": {
                 "command": "{{Param.Python}}", "args": ["-c", _SET_WEIGHTS, "{{Param.WeightsDir}}"]}}}},
        ],
        "steps": [],
    }
    chunks = [tasks[i:i + MAX_TASKS_PER_STEP] for i in range(0, len(tasks), MAX_TASKS_PER_STEP)]
    for index, chunk in enumerate(chunks):
        step: dict = {
            "name": STEP_NAME if len(chunks) == 1 else f"{STEP_NAME} {index + 1}",
            "parameterSpace": {
                "taskParameterDefinitions": [
                    {"name": "Shot", "type": "PATH", "range": [task.shot for task in chunk]},
                    {"name": "Object", "type": "STRING", "range": [task.object for task in chunk]},
                    {"name": "Model", "type": "STRING", "range": [task.model for task in chunk]},
                ],
                # Associated, not crossed: each shot brings its own objects and model.
                "combination": "(Shot, Object, Model)",
            },
            "script": {"actions": {"onRun": {
                "command": "{{Param.Python}}",
                "args": ["-m", "plugin", "run", "{{Task.Param.Shot}}",
                         "--object", "{{Task.Param.Object}}", "--model", "{{Task.Param.Model}}",
                         "--device", "{{Param.Device}}"],
                "cancelation": {"mode": "NOTIFY_THEN_TERMINATE", "notifyPeriodInSeconds": CANCEL_GRACE_S},
            }}},
        }
        if gpu or gpu_memory_gib:
            amounts: list = [{"name": "amount.worker.gpu", "min": 1}]
            if gpu_memory_gib:
                if gpu_memory_gib <= 0:
                    raise FarmError(f"--gpu-memory {gpu_memory_gib}: give a size in GiB above 0")
                amounts.append({"name": "amount.worker.gpu.memory", "min": int(round(gpu_memory_gib * 1024))})
            step["hostRequirements"] = {"amounts": amounts}
        template["steps"].append(step)
    validate_template(template)
    return template


def validate_template(template: dict) -> None:
    """Check a template with openjd-model, as a scheduler would on submission: decode it, then
    create the job from its default parameters and count its tasks. Raises `FarmError`."""
    from openjd.model import (DecodeValidationError, StepParameterSpaceIterator, create_job,
                              decode_job_template, preprocess_job_parameters)
    try:
        decoded = decode_job_template(template=template)
        values = preprocess_job_parameters(job_template=decoded, job_parameter_values={},
                                           job_template_dir=Path.cwd(), current_working_dir=Path.cwd())
        job = create_job(job_template=decoded, job_parameter_values=values)
        for step in job.steps:
            len(StepParameterSpaceIterator(space=step.parameterSpace))
    except (DecodeValidationError, ValueError, KeyError) as err:
        raise FarmError(f"the job template is not valid OpenJD: {_one_line(err)}") from None


def _one_line(err: BaseException) -> str:
    return " ".join(str(err).split())[:400]


def write_template(template: dict, out: str | os.PathLike) -> Path:
    """Write the template as YAML (JSON when `out` ends in .json), atomically.

    Returns:
        The absolute path written.
    """
    out = Path(out).expanduser().resolve()
    if out.suffix.lower() == ".json":
        text = json.dumps(template, indent=2) + "\n"
    elif out.suffix.lower() in (".yaml", ".yml"):
        import yaml
        text = yaml.safe_dump(template, sort_keys=False, width=1000, allow_unicode=True)
    else:
        raise FarmError(f"{out}: name the template .yaml, .yml or .json")
    if not out.parent.is_dir():
        raise FarmError(f"{out.parent}: folder not found; create it or choose another --out")
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, out)
    except OSError as err:
        tmp.unlink(missing_ok=True)
        raise FarmError(f"{out}: cannot write the template ({err.strerror or err})") from None
    return out


def load_template(path: str | os.PathLike) -> dict:
    """Read and validate a job template file (YAML or JSON)."""
    path = Path(path).expanduser()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise FarmError(f"{path}: job template not found") from None
    except OSError as err:
        raise FarmError(f"{path}: cannot read the job template ({err.strerror or err})") from None
    from openjd.model import DocumentType, document_string_to_object
    try:
        doc = document_string_to_object(
            document=text, document_type=DocumentType.JSON if path.suffix.lower() == ".json" else DocumentType.YAML)
    except (ValueError, RuntimeError) as err:
        raise FarmError(f"{path}: not a YAML/JSON job template ({_one_line(err)})") from None
    if not isinstance(doc, dict):
        raise FarmError(f"{path}: not a job template (expected a mapping at the top)")
    try:
        validate_template(doc)
    except FarmError as err:
        raise FarmError(f"{path}: {err}") from None
    return doc


def list_tasks(template: dict, job_params: Optional[dict] = None) -> list[tuple[str, dict]]:
    """The (step name, task parameters) pairs of a template's job, in the scheduler's order."""
    from openjd.model import StepParameterSpaceIterator, create_job, decode_job_template, preprocess_job_parameters
    decoded = decode_job_template(template=template)
    try:
        values = preprocess_job_parameters(job_template=decoded, job_parameter_values=dict(job_params or {}),
                                           job_template_dir=Path.cwd(), current_working_dir=Path.cwd())
        job = create_job(job_template=decoded, job_parameter_values=values)
    except (ValueError, KeyError) as err:
        raise FarmError(f"job parameters do not fit the template: {_one_line(err)}") from None
    result = []
    for step in job.steps:
        for params in StepParameterSpaceIterator(space=step.parameterSpace):
            result.append((step.name, {key: value.value for key, value in params.items()}))
    return result


@dataclass(frozen=True)
class TaskOutcome:
    """What `run_locally` did for one task."""

    step: str
    params: dict
    returncode: int
    log_path: Optional[Path]
    error: str = ""  # the task's own one-line error when it failed

    @property
    def ok(self) -> bool:
        return self.returncode == 0


def run_locally(
    template_path: str | os.PathLike,
    *,
    job_params: Optional[dict] = None,
    logs_dir: Optional[str | os.PathLike] = None,
    extra_args: Sequence[str] = (),
    env: Optional[dict] = None,
    on_output: Optional[Callable[[str], None]] = None,
    only: Optional[dict] = None,
    parallel: int = 1,
) -> list[TaskOutcome]:
    """Run the tasks of a template with `openjd run`, each in its own session as a farm
    worker would, and go on past a failed task.

    Args:
        template_path: the job template file.
        job_params: job parameter values (name -> str), e.g. {"Device": "cpu"}.
        logs_dir: when given, each task's log is saved there as
            `<step>.<task number>.<shot>.<object>.log`.
        extra_args: more `openjd run` arguments (e.g. --path-mapping-rules ...).
        env: the environment of the `openjd run` processes (default: this one).
        on_output: called with each line of each task's log (default: none); lines are
            prefixed with `[task number]` when tasks run in parallel.
        only: run only the tasks whose parameters have these values, e.g. {"Object": "hero"}.
        parallel: how many tasks run at once (like that many workers).

    Returns:
        One `TaskOutcome` per task run, in the template's order.
    """
    import threading
    from concurrent.futures import ThreadPoolExecutor

    import importlib.util
    if parallel < 1:
        raise FarmError(f"--parallel {parallel}: give 1 or more tasks at once")
    if importlib.util.find_spec("openjd.cli") is None:
        raise FarmError(f"openjd-cli is not installed in {sys.executable}: "
                        "install it with `python -m pip install openjd-cli`")
    template_path = Path(template_path).expanduser().resolve()
    template = load_template(template_path)
    job_params = dict(job_params or {})
    numbered = list(enumerate(list_tasks(template, job_params), start=1))
    if only:
        names = {name for _, (_, params) in numbered for name in params}
        unknown = sorted(set(only) - names)
        if unknown:
            raise FarmError(f"--only {unknown[0]}: the template's task parameters are {', '.join(sorted(names))}")
        wanted = {key: str(Path(value).expanduser().resolve()) if key == "Shot" else str(value)
                  for key, value in only.items()}
        numbered = [(n, (step, params)) for n, (step, params) in numbered
                    if all(str(params.get(key)) == value for key, value in wanted.items())]
        if not numbered:
            raise FarmError(f"no task of {template_path.name} has {_describe(only)}")
    logs = Path(logs_dir).expanduser().resolve() if logs_dir else None
    if logs is not None:
        logs.mkdir(parents=True, exist_ok=True)
    base = [sys.executable, "-m", "openjd", "run", str(template_path)]
    for key, value in job_params.items():
        base += ["--job-param", f"{key}={value}"]
    output_lock = threading.Lock()

    def run_one(number: int, step: str, params: dict) -> TaskOutcome:
        cmd = base + ["--step", step, "--tasks", json.dumps([params]), *extra_args]
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env,
                                text=True, encoding="utf-8", errors="replace")
        lines = []
        for line in proc.stdout or ():
            lines.append(line)
            if on_output is not None:
                with output_lock:
                    on_output((f"[{number}] " if parallel > 1 else "") + line.rstrip("\n"))
        returncode = proc.wait()
        log_path = None
        if logs is not None:
            log_path = logs / _log_name(number, step, params)
            log_path.write_text("".join(lines), encoding="utf-8")
        error = "" if returncode == 0 else (_error_line(lines) or f"exit code {returncode}")
        return TaskOutcome(step=step, params=params, returncode=returncode, log_path=log_path, error=error)

    if parallel == 1:
        return [run_one(n, step, params) for n, (step, params) in numbered]
    with ThreadPoolExecutor(max_workers=parallel) as pool:
        futures = [pool.submit(run_one, n, step, params) for n, (step, params) in numbered]
        return [future.result() for future in futures]


def _log_name(number: int, step: str, params: dict) -> str:
    parts = [step, f"{number:04d}"]
    parts += [Path(str(v)).stem if k == "Shot" else str(v) for k, v in params.items() if k != "Model"]
    return ".".join("".join(c if c.isalnum() or c in "-_" else "_" for c in part) for part in parts) + ".log"


def _describe(params: dict) -> str:
    return ", ".join(f"{key}={value}" for key, value in params.items())


def _error_line(lines: Sequence[str]) -> str:
    # openjd prefixes each line of the task's output with a timestamp and a tab.
    for line in reversed(lines):
        text = line.split("\t", 1)[-1].strip()
        if text.startswith(("error:", "internal error:")):
            return text
    return ""
