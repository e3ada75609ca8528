"""`matanyone-plugin run`: matte one shot.

    run SHOT.json [--object NAME ...] [--frames A-B] [--device D] [--model M] [--weights W] [--force]
    run --plate PATTERN [--object NAME] --mask FRAME=MASK.png [--mask ...] [--object NAME --mask ...]
        --out PATTERN [--colorspace NAME] [--model matanyone|matanyone2]
        [--weights auto|stand-in[:SALT]|PATH] [--device D]
        [--frames A-B] [--warmup N] [--direction forward|backward|both] [--force]

With a shot file, `--object` picks objects to run. Without one, each `--object NAME`
starts an object and the `--mask` options after it are its keyframes. A shot file is
written beside the outputs either way, so the shot re-runs with `run <out>/<name>.shot.json`.
"""
from __future__ import annotations

import argparse
import signal
import sys
import threading
import time

from plugin.protocol import MODELS


class _Ordered(argparse.Action):
    """Keep --object and --mask in command-line order (masks belong to the object before them)."""

    def __call__(self, parser, namespace, values, option_string=None):
        items = list(getattr(namespace, "ordered", None) or [])
        items.append((self.dest, values))
        namespace.ordered = items


def add_engine_options(parser: argparse.ArgumentParser) -> None:
    from plugin.protocol import DIRECTIONS, PRECISIONS

    g = parser.add_argument_group("engine (override the shot file)")
    g.add_argument("--weights", help="auto (the real checkpoint; default), stand-in[:SALT] or a checkpoint path")
    g.add_argument("--model", choices=MODELS,
                   help="the checkpoint auto weights mean: matanyone (default) or matanyone2 "
                        "(same network, newer training)")
    g.add_argument("--device", help="auto | cpu | cuda | cuda:N | mps")
    g.add_argument("--precision", choices=PRECISIONS,
                   help="fp32 (default, exact); official-mixed (the official drivers' autocast); fp16 | bf16")
    g.add_argument("--warmup", type=int, metavar="N", help="first-frame refinements (default 10)")
    g.add_argument("--max-internal-size", type=int, metavar="PX",
                   help="limit the network input's shorter side (alphas are resized back); default native")
    g.add_argument("--direction", choices=DIRECTIONS,
                   help="matte forward from the first keyframe, backward from the last, or both blended")
    g.add_argument("--dilate", type=int, metavar="PX", help="mask clean-up dilate size (default 10; 0 = off)")
    g.add_argument("--erode", type=int, metavar="PX", help="mask clean-up erode size (default 10; 0 = off)")


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "run", help="matte a shot (shot file, or plate + masks)",
        description="Matte a shot: plate in, one linear float alpha EXR sequence per object out. "
                    "Re-running an unfinished shot resumes after its last whole frame.")
    p.add_argument("shot", nargs="?", metavar="SHOT.json", help="a shot file (version 1)")
    p.add_argument("--plate", metavar="PATTERN", help="plate sequence (shot.####.exr) or movie")
    p.add_argument("--object", dest="object", action=_Ordered, metavar="NAME",
                   help="with a shot file: run only this object (repeatable); "
                        "without: start an object (its --mask options follow)")
    p.add_argument("--mask", dest="mask", action=_Ordered, metavar="FRAME=MASK",
                   help="keyframe mask (8/16-bit PNG or EXR) of the current object at source frame FRAME")
    p.add_argument("--out", metavar="PATTERN", help="output pattern, e.g. matte/sh010_{object}.####.exr")
    p.add_argument("--colorspace", "--colourspace", dest="colourspace", metavar="NAME",
                   help="the plate's OCIO colourspace (default: guessed from the file)")
    p.add_argument("--ocio-config", metavar="PATH", help="OCIO config (default: settings, $OCIO, built-in)")
    p.add_argument("--frames", metavar="A-B", help="source frames to matte (default: the whole plate/shot)")
    p.add_argument("--force", action="store_true", help="run everything again (no resume, no kept objects)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--preview", metavar="MOVIE",
                   help="also write a QuickTime preview per object (path may hold {object}; .mov or .mp4)")
    p.add_argument("--preview-kind", choices=("h264", "prores4444", "matte4444"), default="h264",
                   help="h264: plate with the matte overlaid (default); prores4444: plate RGB + matte alpha; matte4444: the matte as picture and alpha (a movie matte, e.g. for Resolve)")
    add_engine_options(p)
    p.set_defaults(func=main, ordered=[])


def build_shot(args):
    """The Shot the options describe (from the shot file, or built from --plate/--mask/--out)."""
    import os

    from plugin.errors import ShotFileError
    from plugin.shot import Shot, parse_frame_range

    ordered = list(getattr(args, "ordered", None) or [])
    if args.shot:
        for flag in ("plate", "out", "colourspace", "ocio_config"):
            if getattr(args, flag, None):
                raise ShotFileError(f"--{flag.replace('_', '-')} cannot be combined with a shot file "
                                    f"({args.shot}); edit the shot file instead")
        if any(kind == "mask" for kind, _ in ordered):
            raise ShotFileError(f"--mask cannot be combined with a shot file ({args.shot}); "
                                "add keyframes to the shot file instead")
        shot = Shot.load(args.shot)
        names = [v for kind, v in ordered if kind == "object"]
        return _apply_engine(shot, args), names

    if not args.plate:
        raise ShotFileError("give a shot file (run SHOT.json) or a plate (--plate shot.####.exr)")
    if not args.out:
        raise ShotFileError("--out is missing: give an output pattern such as matte/sh010_{object}.####.exr")
    objects = []
    current = None
    for kind, value in ordered:
        if kind == "object":
            current = {"name": value, "keyframes": {}}
            objects.append(current)
            continue
        if current is None:
            current = {"name": "matte", "keyframes": {}}
            objects.append(current)
        frame_text, sep, path = value.partition("=")
        if not sep or not path:
            raise ShotFileError(f"--mask {value!r}: write it as FRAME=MASK.png, e.g. --mask 1001=hero.1001.png")
        try:
            frame = int(frame_text)
        except ValueError:
            raise ShotFileError(f"--mask {value!r}: {frame_text!r} is not a frame number") from None
        if frame in current["keyframes"]:
            raise ShotFileError(f"--mask {value!r}: object {current['name']!r} has a mask for frame "
                                f"{frame} already; give one mask per frame")
        current["keyframes"][frame] = os.path.abspath(os.path.expanduser(path))
    if not objects:
        raise ShotFileError("no --mask given: give at least one keyframe mask, e.g. --mask 1001=hero.1001.png")
    for o in objects:
        if not o["keyframes"]:
            raise ShotFileError(f"object {o['name']!r} has no --mask after it")

    first = last = None
    if args.frames:
        first, last = parse_frame_range(args.frames)
        where = f"--frames {args.frames}"
    else:
        from plugin import plates
        with plates.open(args.plate) as plate:
            first, last = plate.first, plate.last
        where = f"the plate's frames {first}-{last}"
    for o in objects:
        outside = [f for f in o["keyframes"] if not first <= f <= last]
        if outside:
            raise ShotFileError(f"--mask {outside[0]}=...: frame {outside[0]} of object {o['name']!r} is "
                                f"outside {where}; give a keyframe inside them, or widen --frames")
    out = args.out
    if len(objects) > 1 and "{object}" not in out:
        raise ShotFileError(f"--out {out!r} needs '{{object}}' since there are {len(objects)} objects")
    data = {
        "version": 1,
        "plate": {"path": os.path.abspath(args.plate), "first": first, "last": last,
                  "colourspace": args.colourspace, "ocio_config": args.ocio_config},
        "objects": [{"id": i + 1, "name": o["name"], "keyframes": {str(f): p for f, p in o["keyframes"].items()}}
                    for i, o in enumerate(objects)],
        "output": {"path": os.path.abspath(out)},
    }
    shot = Shot.from_dict(data, base_dir=os.getcwd(), shot_file=None)
    shot = _apply_engine(shot, args)
    return shot, []


def _apply_engine(shot, args):
    from dataclasses import replace
    e = shot.engine
    changes = {}
    for name in ("weights", "model", "device", "precision", "warmup", "max_internal_size"):
        value = getattr(args, name, None)
        if value is not None:
            changes[name] = value
    if "weights" in changes and changes["weights"] not in ("auto",) and not changes["weights"].startswith("stand-in"):
        import os
        changes["weights"] = os.path.abspath(os.path.expanduser(changes["weights"]))
    from plugin.shot import check_limit
    for name in ("warmup", "max_internal_size"):
        if changes.get(name) is not None:
            check_limit(name, changes[name], "command line", f"--{name.replace('_', '-')}")
    shot = replace(shot, engine=replace(e, **changes))
    top = {}
    if getattr(args, "direction", None):
        top["direction"] = args.direction
    for name in ("dilate", "erode"):
        value = getattr(args, name, None)
        if value is not None:
            top[name] = check_limit(name, value, "command line", f"--{name}")
    return replace(shot, **top) if top else shot


class ConsoleProgress:
    """One stderr line, rewritten in place on a terminal; a line every few seconds otherwise."""

    def __init__(self, stream=None, quiet: bool = False, label: str = ""):
        self.stream = stream or sys.stderr
        self.quiet = quiet
        self.tty = hasattr(self.stream, "isatty") and self.stream.isatty()
        self.label = label
        self._last = 0.0
        self._lock = threading.Lock()
        self._shown = False

    def __call__(self, p) -> None:
        if self.quiet:
            return
        now = time.monotonic()
        final = p.done >= p.total
        with self._lock:
            if not final and now - self._last < (0.1 if self.tty else 5.0):
                return
            self._last = now
            width = 30
            filled = int(width * p.done / max(1, p.total))
            bar = "#" * filled + "." * (width - filled)
            eta = "--:--" if p.eta_s is None else _clock(p.eta_s)
            phase = " (backward pass)" if p.phase == "backward" and not p.paths else ""
            text = (f"{self.label}[{bar}] {p.done}/{p.total} frame {p.frame}{phase} "
                    f"{p.fps:.2f} fps ETA {eta}")
            if self.tty:
                self.stream.write("\r" + text.ljust(79) + ("\n" if final else ""))
            else:
                self.stream.write(text + "\n")
            self.stream.flush()
            self._shown = not final

    def finish(self) -> None:
        if self._shown and self.tty:
            self.stream.write("\n")
            self.stream.flush()
            self._shown = False


def _clock(seconds: float) -> str:
    seconds = int(round(seconds))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m:02d}:{s:02d}"


def run_with_console(shot, *, force=False, objects=None, frames=None, quiet=False, label=""):
    """Run a shot with a console progress bar. Ctrl-C or SIGTERM (a farm's cancel) stops at
    the next frame or warm-up refinement, with the state saved for a resume; twice: at once."""
    from plugin import job
    cancel = threading.Event()
    progress = ConsoleProgress(quiet=quiet, label=label)
    previous = {}
    signals = []

    def on_signal(signum, frame):
        from plugin.cli import Terminated
        if cancel.is_set():
            raise Terminated if signum == signal.SIGTERM else KeyboardInterrupt
        signals.append(signum)
        cancel.set()
        if sys.stderr.isatty():  # a person waits for it; a farm log gets only the final line
            sys.stderr.write("\ncancelling: stopping at the next step (Ctrl-C again to stop at once)...\n")

    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGINT, signal.SIGTERM):
            previous[sig] = signal.signal(sig, on_signal)
    try:
        result = job.run(shot, on_progress=progress, cancel=cancel, force=force, objects=objects or None,
                         frames=frames)
        if result.status == "cancelled" and signal.SIGTERM in signals:
            from plugin.cli import Terminated
            raise Terminated  # the one cancel line, and the exit code of SIGTERM
        return result
    finally:
        progress.finish()
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def main(args) -> int:
    shot, names = build_shot(args)
    frames = args.frames if args.shot else None
    if args.preview and len(names or shot.objects) > 1 and "{object}" not in args.preview:
        from plugin.errors import OutputError
        raise OutputError(f"--preview {args.preview!r} needs '{{object}}' since several objects run")
    result = run_with_console(shot, force=args.force, objects=names, frames=frames, quiet=args.quiet)
    code = report(result)
    if code == 0 and args.preview:
        import os
        from plugin import preview
        ran = shot.with_objects(list(result.outputs)) if names else shot
        if frames:
            from plugin.shot import parse_frame_range
            ran = ran.with_frames(*parse_frame_range(frames))
        for obj in ran.objects:
            path = os.path.abspath(args.preview.replace("{object}", obj.name))
            print(f"  preview: {preview.write_preview(ran, path, kind=args.preview_kind, obj=obj)}")
    return code


def report(result) -> int:
    if result.status == "cancelled":
        print(f"cancelled: whole frames written so far are kept ({result.frames_written} this run); "
              "run the same command again to resume.", file=sys.stderr)
        from plugin.cli import EXIT_CANCELLED
        return EXIT_CANCELLED
    if result.status == "up-to-date":
        print("up to date: nothing changed since the last run (use --force to run again)")
    else:
        resumed = f", resumed after frame {result.resumed_from}" if result.resumed_from is not None else ""
        kept = f", kept unchanged: {', '.join(result.objects_kept)}" if result.objects_kept else ""
        print(f"done: {result.frames_written} frames in {result.elapsed_s:.1f} s{resumed}{kept}")
    if result.weights_id.startswith("stand-in"):
        print(f"NOTE: stand-in weights ({result.weights_id}): these alphas are not real mattes")
    for name, pattern in result.outputs.items():
        print(f"  {name}: {pattern}")
    print(f"  shot file: {result.shot_path}")
    print(f"  log: {result.log_path}")
    return 0
