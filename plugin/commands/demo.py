"""`matanyone-plugin demo`: matte the bundled sample and show what came out.

Generates the sample plate (32 frames of ACEScg EXR, 512x288, with ground truth) into the user
cache, mattes it with the real checkpoint when it is present, else with stand-in weights
(announced loudly: those alphas are not real mattes), writes a contact sheet, scores the
result against the ground truth and prints where everything is.
"""
from __future__ import annotations

import os
import sys

from plugin.protocol import MODELS

_BANNER_LINES = (
    "STAND-IN WEIGHTS: the real {label} checkpoint ({model}.pth) is not",
    "installed, so this demo runs the network with random, calibrated weights.",
    "The pipeline is real; the alphas are NOT real mattes. Get the weights",
    "with `matanyone-plugin weights get {model}` and run the demo again.",
)


def banner(model: str = MODELS[0]) -> str:
    """The boxed stand-in warning, naming the chosen model's checkpoint."""
    label = "MatAnyone2" if model == "matanyone2" else "MatAnyone"
    lines = [line.format(label=label, model=model) for line in _BANNER_LINES]
    width = max(len(line) for line in lines) + 4
    rule = "+" + "-" * width + "+"
    return "\n".join([rule] + [f"|  {line:<{width - 2}}|" for line in lines] + [rule])




def register(subparsers) -> None:
    p = subparsers.add_parser(
        "demo", help="matte the bundled sample (real weights when present, else stand-in) and score it",
        description="Matte the bundled sample plate, write its alphas, a contact sheet and a quality "
                    "report against the sample's ground truth.")
    p.add_argument("--out", default="matanyone-demo", metavar="DIR",
                   help="folder for the outputs (default: ./matanyone-demo)")
    p.add_argument("--weights", help="auto, stand-in[:SALT] or a checkpoint path "
                                     "(default: the real checkpoint when present, else stand-in)")
    p.add_argument("--model", choices=MODELS, default=MODELS[0],
                   help="matanyone (default) or matanyone2: the checkpoint the demo looks for")
    p.add_argument("--device", default=None, help="auto | cpu | cuda | cuda:N | mps")
    p.add_argument("--max-internal-size", type=int, metavar="PX",
                   help="limit the network input's shorter side (faster on a CPU; default native)")
    p.add_argument("--warmup", type=int, default=10, metavar="N", help="first-frame refinements (default 10)")
    p.add_argument("--force", action="store_true", help="matte again even when the outputs are up to date")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=main)


def choose_weights(given, model: str = MODELS[0]):
    """(weights spec, is_stand_in): `given`, else the model's real checkpoint if installed, else stand-in."""
    if given:
        return given, given.startswith("stand-in")
    from matanyone_engine.weights import resolve
    from plugin import settings
    try:
        resolve("auto", weights_dir=settings.current().weights_dir, model=model)
        return "auto", False
    except Exception as err:  # noqa: BLE001 - only the weights' own one-line error means "absent"
        if not getattr(err, "user_error", False):
            raise
        return "stand-in", True


def demo_shot(sample, out_dir: str, weights: str, *, device=None, max_internal_size=None, warmup=10,
              model="matanyone"):
    from plugin.shot import Shot
    data = {
        "version": 1,
        "plate": {"path": sample.plate_pattern, "first": sample.first, "last": sample.last,
                  "colourspace": sample.colourspace},
        "objects": [{"id": 1, "name": "figure", "keyframes": {str(sample.first): sample.mask_path}}],
        "engine": {"weights": weights, "model": model, "warmup": warmup, "device": device or "auto",
                   "max_internal_size": max_internal_size},
        "output": {"path": os.path.join(os.path.abspath(out_dir), "demo_{object}.####.exr")},
    }
    return Shot.from_dict(data, base_dir=os.path.abspath(out_dir))


def contact_sheet(shot, path: str, count: int = 8) -> str:
    from plugin import color, plates, writers
    obj = shot.objects[0]
    first, last = shot.plate.first, shot.plate.last
    step = max(1, (last - first) // max(1, count - 1))
    frames = list(range(first, last + 1, step))[:count]
    cells = []
    with plates.open(shot.plate.path) as plate, plates.open_alpha(shot.output.pattern_for(obj)) as alpha:
        for f in frames:
            rgb, _ = color.display_frame(plate.read(f), shot.plate.colourspace)
            cells.append((rgb, alpha.read_alpha(f)))
    return writers.contact_sheet(path, cells, columns=4)


def evaluate(shot, gt_pattern: str, out_dir: str):
    """Score the demo's alphas with the eval helper's `plugin.evaluate.evaluate` (None if absent)."""
    try:
        from plugin.evaluate import evaluate as run_eval
    except ImportError:  # the evaluation module is optional in a trimmed install
        return None
    return run_eval(shot.output.pattern_for(shot.objects[0]), gt_pattern, out_dir)


def main(args) -> int:
    from plugin import sample as sample_mod
    from plugin.commands.run import report, run_with_console
    sample = sample_mod.ensure_sample()
    weights, stand_in = choose_weights(args.weights, args.model)
    if stand_in:
        print(banner(args.model), file=sys.stderr)
    shot = demo_shot(sample, args.out, weights, device=args.device,
                     max_internal_size=args.max_internal_size, warmup=args.warmup, model=args.model)
    print(f"sample plate: {sample.plate_pattern} ({sample.first}-{sample.last}, {sample.colourspace})",
          file=sys.stderr)
    result = run_with_console(shot, force=args.force, quiet=args.quiet)
    code = report(result)
    if code != 0:
        return code
    out_dir = os.path.abspath(args.out)
    sheet = contact_sheet(shot, os.path.join(out_dir, "demo_contact_sheet.png"))
    print(f"  contact sheet: {sheet}")
    scores = evaluate(shot, sample.gt_pattern, os.path.join(out_dir, "eval"))
    if scores is not None:
        print("quality against the sample's ground truth:")
        for line in str(scores.summary).splitlines():
            print(f"  {line}")
    if stand_in:
        print(banner(args.model), file=sys.stderr)
    return 0
