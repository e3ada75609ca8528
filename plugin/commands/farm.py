"""`matanyone-plugin farm`: Open Job Description templates for a render farm.

    farm template SHOT.json [SHOT.json ...] --out job.yaml [--python P] [--device D]
                  [--weights-dir DIR] [--model M] [--gpu] [--gpu-memory GIB] [--name NAME]
    farm run job.yaml [--python P] [--device D] [--weights-dir DIR] [-p KEY=VALUE ...]
             [--only PARAM=VALUE ...] [--parallel N] [--logs DIR] [--openjd-arg ARG ...] [--quiet]
"""
from __future__ import annotations

import sys

from plugin.protocol import MODELS


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "farm", help="render-farm jobs (Open Job Description: Deadline Cloud and other schedulers)",
        description="Build an Open Job Description job template with one task per shot and object, "
                    "or run one locally with `openjd run`.")
    sub = parser.add_subparsers(dest="farm_command", metavar="ACTION")
    parser.set_defaults(func=lambda args: (parser.print_help(), 1)[1])

    tpl = sub.add_parser(
        "template", help="write a job template for shot files",
        description="Write an OpenJD job template (jobtemplate-2023-09): one step, one task per shot x "
                    "object, each running `python -m plugin run SHOT --object NAME` (a retried task "
                    "resumes after its last whole frame).")
    tpl.add_argument("shots", nargs="+", metavar="SHOT.json", help="shot files")
    tpl.add_argument("--out", required=True, metavar="job.yaml", help="template file to write (.yaml or .json)")
    tpl.add_argument("--python", metavar="PATH",
                     help="the interpreter with matanyone-plugin installed, as the workers see it "
                          "(default: this one); a job parameter, so it can be changed at submission")
    tpl.add_argument("--device", default="auto", help="compute device on the workers (default: auto)")
    tpl.add_argument("--weights-dir", metavar="DIR",
                     help="shared studio folder of checkpoints, as the workers see it "
                          "(passed to tasks as MATANYONE_PLUGIN_WEIGHTS)")
    tpl.add_argument("--model", choices=MODELS,
                     help="run every shot with this model (default: each shot file's engine.model)")
    tpl.add_argument("--gpu", action="store_true", help="require a worker with a GPU (amount.worker.gpu >= 1)")
    tpl.add_argument("--gpu-memory", type=float, metavar="GIB",
                     help="require at least this much GPU memory, in GiB (implies --gpu)")
    tpl.add_argument("--name", help="job name (default: from the first shot)")
    tpl.set_defaults(func=_template)

    run = sub.add_parser(
        "run", help="run a job template on this machine with `openjd run`",
        description="Run every task of a job template locally, each in its own `openjd run` session as "
                    "a farm worker would; a failed task does not stop the others.")
    run.add_argument("template", metavar="job.yaml")
    run.add_argument("--python", metavar="PATH", help="set the Python job parameter")
    run.add_argument("--device", help="set the Device job parameter")
    run.add_argument("--weights-dir", metavar="DIR", help="set the WeightsDir job parameter")
    run.add_argument("-p", "--job-param", action="append", default=[], metavar="KEY=VALUE",
                     help="any job parameter (repeatable)")
    run.add_argument("--only", action="append", default=[], metavar="PARAM=VALUE",
                     help="run only the tasks with this task parameter value (repeatable), "
                          "e.g. --only Object=hero --only Shot=/shows/x/sh010.json")
    run.add_argument("--parallel", type=int, default=1, metavar="N",
                     help="run N tasks at once, as N workers would (default 1)")
    run.add_argument("--logs", metavar="DIR", help="save each task's log in this folder")
    run.add_argument("--openjd-arg", action="append", default=[], metavar="ARG",
                     help="pass an argument through to `openjd run` (repeatable), "
                          "e.g. --openjd-arg=--path-mapping-rules --openjd-arg=file://rules.json")
    run.add_argument("--quiet", action="store_true", help="print only the summary, not the task logs")
    run.set_defaults(func=_run)


def _template(args) -> int:
    from plugin import farm
    template = farm.build_template(
        args.shots, python=args.python, device=args.device, weights_dir=args.weights_dir,
        gpu=args.gpu, gpu_memory_gib=args.gpu_memory, name=args.name, model=args.model)
    out = farm.write_template(template, args.out)
    count = sum(len(step["parameterSpace"]["taskParameterDefinitions"][0]["range"])
                for step in template["steps"])
    print(f"wrote {out}: {count} task(s) for {len(args.shots)} shot(s); "
          f"run it here with `matanyone-plugin farm run {out}` or submit it to an OpenJD scheduler")
    return 0


def _pairs(items, flag: str) -> dict:
    from plugin.farm import FarmError
    pairs = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise FarmError(f"{flag} {item!r}: write it as KEY=VALUE")
        pairs[key] = value
    return pairs


def _job_params(args) -> dict:
    params = _pairs(args.job_param, "--job-param")
    for key, value in (("Python", args.python), ("Device", args.device), ("WeightsDir", args.weights_dir)):
        if value is not None:
            params[key] = value
    return params


def _run(args) -> int:
    from plugin import farm
    outcomes = farm.run_locally(
        args.template, job_params=_job_params(args), logs_dir=args.logs, extra_args=args.openjd_arg,
        on_output=None if args.quiet else print, only=_pairs(args.only, "--only"),
        parallel=args.parallel)
    failed = [o for o in outcomes if not o.ok]
    for outcome in failed:
        where = ", ".join(f"{k}={v}" for k, v in outcome.params.items())
        print(f"failed: {outcome.step} [{where}]: {outcome.error}", file=sys.stderr)
    print(f"{len(outcomes)} task(s): {len(outcomes) - len(failed)} done, {len(failed)} failed")
    return 1 if failed else 0
