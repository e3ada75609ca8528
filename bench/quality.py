"""Check the product against MatAnyone's Table 1 on a VideoMatte / YouTubeMatte test set.

    python bench/quality.py DATASET_DIR [--weights auto|PATH|stand-in] [--model M [--model M2]]
                            [--protocol auto|lr|hr]
                            [--benchmark videomatte|youtubematte] [--work DIR] [--device D]
                            [--precision fp32|official-mixed] [--clips N] [--mask-from-gt]

DATASET_DIR holds one folder per clip, as the public test sets are laid out::

    DATASET_DIR/<clip>/com/0000.png ...   composite frames (the plate; 8-bit sRGB PNG/JPEG or any sequence)
    DATASET_DIR/<clip>/pha/0000.png ...   ground-truth alpha, same frame numbers
    DATASET_DIR/<clip>/mask.png           first-frame segmentation mask (0/255), for the first com frame
                                          (also accepted: the first image in <clip>/mask/ or <clip>/msk/)

Each clip runs through the whole product (`python -m plugin run --plate ... --mask ...
--out ... --weights ...`, the same command a user types) with the papers' inference settings
(`infer_batch_{lr,hr}.sh`): at 512x288 the first-frame mask is dilated and eroded by 4 and
warmed up once; at 1920x1080 by 15 with 10 warm-up steps. Every frame is then scored with
`plugin.evaluate` (8-bit quantised predictions; lr: MAD, MSE, Grad, dtSSD, Conn; hr: no Conn),
averaged as the papers' spreadsheets do (per frame index over clips, then over indices), and
printed as a table row beside the published MatAnyone row. Grad and Conn are sums, so they
only compare at the data set's own resolution. `--model matanyone --model matanyone2` scores
both checkpoints on the same clips and prints one row each (predictions in WORK/<model>/<clip>).
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import Callable, Dict, List, Optional, Sequence

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if REPO not in sys.path:
    sys.path.insert(0, REPO)

from plugin import metrics as M  # noqa: E402
from plugin.errors import UserError  # noqa: E402
from plugin.protocol import MODELS, PRECISIONS  # noqa: E402

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".exr", ".tif", ".tiff", ".dpx")


@dataclass(frozen=True)
class Protocol:
    """The papers' inference settings for one resolution (MatAnyone `infer_batch_{lr,hr}.sh`)."""

    name: str
    size: str
    dilate: int
    erode: int
    warmup: int


PROTOCOLS = {"lr": Protocol("lr", "512x288", 4, 4, 1), "hr": Protocol("hr", "1920x1080", 15, 15, 10)}

# MatAnyone paper, Table 1 (MAD/MSE x1e3, Grad/Conn /1e3, dtSSD x1e2).
PUBLISHED = {
    ("videomatte", "lr"): {"mad": 5.15, "mse": 0.93, "grad": 0.67, "dtssd": 1.18, "conn": 0.26},
    ("videomatte", "hr"): {"mad": 4.24, "mse": 0.33, "grad": 4.00, "dtssd": 1.19},
    ("youtubematte", "lr"): {"mad": 2.72, "mse": 1.01, "grad": 0.97, "dtssd": 1.60, "conn": 0.39},
    ("youtubematte", "hr"): {"mad": 1.99, "mse": 0.71, "grad": 8.91, "dtssd": 1.65},
}


@dataclass
class Clip:
    name: str
    com: str      # folder of composite frames
    pha: str      # folder of GT alpha
    mask: str     # first-frame mask file
    first: int    # the first com frame number (the mask's frame)


@dataclass
class ClipResult:
    clip: Clip
    result: object      # plugin.evaluate.EvalResult
    seconds: float


# ---------------------------------------------------------------- the pipeline call

def run_pipeline(clip: Clip, out_pattern: str, protocol: Protocol, *, weights: str, device: Optional[str],
                 precision: Optional[str], model: str = MODELS[0]) -> None:
    """Matte one clip with the product's CLI, exactly as a user would run it."""
    cmd = [sys.executable, "-m", "plugin", "run", "--plate", clip.com, "--mask", f"{clip.first}={clip.mask}",
           "--out", out_pattern, "--weights", weights, "--model", model, "--warmup", str(protocol.warmup),
           "--dilate", str(protocol.dilate), "--erode", str(protocol.erode), "--quiet", "--force"]
    if device:
        cmd += ["--device", device]
    if precision:
        cmd += ["--precision", precision]
    env = dict(os.environ)
    env["PYTHONPATH"] = REPO + os.pathsep + env.get("PYTHONPATH", "")
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=REPO)
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["(no message)"])[-1]
        raise UserError(f"clip {clip.name}: `matanyone-plugin run` failed (exit {proc.returncode}): {last}")


# ---------------------------------------------------------------- data set

def find_clips(dataset: str, *, mask_from_gt: bool = False, work: Optional[str] = None) -> List[Clip]:
    """The clips of a data set folder, in name order; a one-line error for anything missing."""
    if not os.path.isdir(dataset):
        raise UserError(f"{dataset}: no such folder; give the data set folder (one sub-folder per clip)")
    clips = []
    for name in sorted(os.listdir(dataset)):
        folder = os.path.join(dataset, name)
        if not os.path.isdir(folder):
            continue
        com, pha = os.path.join(folder, "com"), os.path.join(folder, "pha")
        if not (os.path.isdir(com) and os.path.isdir(pha)):
            continue
        frames = _numbered(com)
        if not frames:
            raise UserError(f"clip {name}: {com} holds no numbered frames")
        first = min(frames)
        mask = _mask_of(folder)
        if mask is None:
            if not mask_from_gt:
                raise UserError(f"clip {name}: no first-frame mask; put it at {os.path.join(folder, 'mask.png')} "
                                f"or pass --mask-from-gt to threshold the first GT alpha at 0.5")
            mask = _mask_from_gt(name, pha, first, work or folder)
        clips.append(Clip(name, _pattern_of(frames[first]), pha, mask, first))
    if not clips:
        raise UserError(f"{dataset}: no clips found; expected <clip>/com/*.png and <clip>/pha/*.png")
    return clips


def _numbered(folder: str) -> Dict[int, str]:
    from plugin import framepattern
    out = {}
    for n in os.listdir(folder):
        if n.lower().endswith(IMAGE_SUFFIXES):
            try:
                pattern = framepattern.parse(os.path.join(folder, n))
            except ValueError:
                continue
            frame = pattern.frame_of(n)
            if frame is not None:
                out[frame] = os.path.join(folder, n)
    return out


def _pattern_of(one_frame: str) -> str:
    from plugin import framepattern
    return framepattern.parse(one_frame).display


def _mask_of(folder: str) -> Optional[str]:
    direct = os.path.join(folder, "mask.png")
    if os.path.isfile(direct):
        return direct
    for sub in ("mask", "msk"):
        d = os.path.join(folder, sub)
        if os.path.isdir(d):
            names = sorted(n for n in os.listdir(d) if n.lower().endswith(IMAGE_SUFFIXES))
            if names:
                return os.path.join(d, names[0])
    return None


def _mask_from_gt(name: str, pha: str, first: int, work: str) -> str:
    """First GT alpha >= 0.5 as an 8-bit mask (ours, for sets shipped without masks)."""
    import numpy as np
    import OpenImageIO as oiio

    from plugin.evaluate import open_alpha_sequence
    with open_alpha_sequence(pha, f"clip {name} GT") as seq:
        alpha = seq.read(first)
    mask = ((alpha >= 0.5) * 255).astype(np.uint8)
    os.makedirs(work, exist_ok=True)
    path = os.path.join(work, f"{name}.mask_from_gt.png")
    out = oiio.ImageOutput.create(path)
    if out is None or not out.open(path, oiio.ImageSpec(mask.shape[1], mask.shape[0], 1, oiio.UINT8)):
        raise UserError(f"clip {name}: cannot write {path}; choose a writable --work folder")
    out.write_image(mask[:, :, None])  # OIIO reads a 2-D array as one long row of channels
    out.close()
    return path


# ---------------------------------------------------------------- the bench

def paper_mean(per_clip: List[List[float]]) -> float:
    """The papers' spreadsheet mean: per frame index over the clips that have it, then over indices."""
    longest = max(len(v) for v in per_clip)
    rows = [[v[i] for v in per_clip if i < len(v)] for i in range(longest)]
    return sum(sum(r) / len(r) for r in rows) / len(rows)


def run_bench(dataset: str, *, weights: str = "auto", models: Sequence[str] = MODELS[:1], protocol: str = "auto",
              benchmark: Optional[str] = None, work: Optional[str] = None, device: Optional[str] = None,
              precision: Optional[str] = None, max_clips: Optional[int] = None, mask_from_gt: bool = False,
              pipeline: Callable = run_pipeline, out=print) -> dict:
    """Run every clip through the pipeline once per model, score it, and print the table.

    Returns:
        {"protocol", "benchmark", "published", "models": {model: {"weights", "totals", "clips"}}, and the
        first model's "model", "weights", "totals", "clips": [{name, frames, seconds, totals}]}.
    """
    from plugin.evaluate import evaluate, open_alpha_sequence

    models = list(dict.fromkeys(models))
    unknown = [m for m in models if m not in MODELS]
    if unknown or not models:
        raise UserError(f"--model {unknown[0] if unknown else ''!r}: use {' and/or '.join(MODELS)}")
    if len(models) > 1 and weights not in ("auto",) and not weights.startswith("stand-in"):
        raise UserError(f"--weights {weights} with {len(models)} models would score one file twice: "
                        "use --weights auto (each model's own checkpoint)")

    work = os.path.abspath(work or os.path.join(dataset.rstrip("/\\") + "_matanyone_bench"))
    clips = find_clips(dataset, mask_from_gt=mask_from_gt, work=work)[:max_clips or None]
    with open_alpha_sequence(clips[0].pha, f"clip {clips[0].name} GT") as seq:
        h, w = seq.read(seq.frames[0]).shape
    proto = PROTOCOLS[_protocol_for(protocol, w, h)]
    bench_name = benchmark or _benchmark_guess(dataset)
    out(f"quality bench: {dataset} ({len(clips)} clips, {w}x{h}), protocol {proto.name} "
        f"(papers' {proto.size} settings: dilate {proto.dilate}, erode {proto.erode}, warm-up {proto.warmup})")
    metrics = M.METRICS_BY_MODE[proto.name]
    rows: Dict[str, dict] = {}
    for model in models:
        model_work = os.path.join(work, model) if len(models) > 1 else work
        results: List[ClipResult] = []
        for clip in clips:
            clip_dir = os.path.join(model_work, clip.name)
            pred = os.path.join(clip_dir, "pred.####.exr")
            t0 = time.perf_counter()
            pipeline(clip, pred, proto, weights=weights, device=device, precision=precision, model=model)
            seconds = time.perf_counter() - t0
            result = evaluate(pred, clip.pha, os.path.join(clip_dir, "eval"), mode=proto.name)
            results.append(ClipResult(clip, result, seconds))
            out(f"  {model} {clip.name}: {len(result.frames)} frames in {seconds:.1f} s  {result.table_row()}")
        rows[model] = {"weights": results[0].result.weights or weights,
                       "totals": {m: paper_mean([r.result.per_frame[m] for r in results]) for m in metrics},
                       "clips": [{"name": r.clip.name, "frames": len(r.result.frames), "seconds": r.seconds,
                                  "totals": r.result.totals} for r in results]}
    published = {k: v for k, v in PUBLISHED.items() if k[1] == proto.name and (bench_name in (None, k[0]))}
    for line in format_table({f"{m} ({r['weights']})": r["totals"] for m, r in rows.items()}, metrics, published):
        out(line)
    if any(r["weights"].startswith("stand-in") for r in rows.values()):
        out("NOTE: stand-in weights: the row checks the machinery, not the quality; use --weights auto "
            "(the real checkpoint) to compare with the paper")
    first = rows[models[0]]
    summary = {"dataset": os.path.abspath(dataset), "resolution": [w, h], "protocol": proto.name,
               "settings": {"dilate": proto.dilate, "erode": proto.erode, "warmup": proto.warmup},
               "benchmark": bench_name, "model": models[0], "totals": first["totals"], "weights": first["weights"],
               "published": {k[0]: v for k, v in published.items()}, "clips": first["clips"], "models": rows}
    path = os.path.join(work, "quality_bench.json")
    with open(path + ".tmp", "w", encoding="utf-8") as fh:
        json.dump(summary, fh, indent=1)
    os.replace(path + ".tmp", path)
    out(f"per-clip reports: {work}/<clip>/eval/report.png; summary: {path}")
    return summary


def format_table(ours: Dict[str, Dict[str, float]], metrics, published) -> List[str]:
    """The table rows in the papers' order and units: ours (label -> totals, one per model) first."""
    width = 42
    head = f"{'':{width}s}" + "".join(f"{M.LABELS[m]:>8s}" for m in metrics)
    units = f"{'':{width}s}" + "".join(f"{_unit(m):>8s}" for m in metrics)
    rows = [head, units]
    for label, totals in ours.items():
        label = f"this product, {label}"
        if len(label) > width - 1:
            label = label[:width - 5] + "...)"
        rows.append(f"{label:{width}s}" + "".join(f"{totals[m]:8.2f}" for m in metrics))
    for (bench_name, _), values in sorted(published.items()):
        rows.append(f"{'MatAnyone, paper Table 1 (' + bench_name + ')':{width}s}"
                    + "".join(f"{values[m]:8.2f}" for m in metrics))
    return rows


def _unit(m: str) -> str:
    return {"mad": "x1e3", "mse": "x1e3", "grad": "/1e3", "conn": "/1e3", "dtssd": "x1e2"}[m]


def _protocol_for(protocol: str, width: int, height: int) -> str:
    if protocol in PROTOCOLS:
        return protocol
    from plugin.evaluate import AUTO_HR_PIXELS
    return "hr" if width * height > AUTO_HR_PIXELS else "lr"


def _benchmark_guess(dataset: str) -> Optional[str]:
    low = os.path.basename(os.path.abspath(dataset)).lower()
    if "youtube" in low:
        return "youtubematte"
    if "videomatte" in low:
        return "videomatte"
    return None


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("dataset", metavar="DATASET_DIR")
    p.add_argument("--weights", default="auto", help="auto (the real checkpoint), a path, or stand-in[:SALT]")
    p.add_argument("--model", action="append", choices=MODELS, metavar="MODEL",
                   help=f"{' | '.join(MODELS)} (default {MODELS[0]}); repeat to score several side by side")
    p.add_argument("--protocol", choices=("auto", "lr", "hr"), default="auto",
                   help="papers' settings: lr = 512x288, hr = 1920x1080 (auto: by the frames' size)")
    p.add_argument("--benchmark", choices=("videomatte", "youtubematte"),
                   help="which published row to print (default: from the folder name, else both)")
    p.add_argument("--work", metavar="DIR", help="where predictions and reports go (default: DATASET_DIR_matanyone_bench)")
    p.add_argument("--device", help="auto | cpu | cuda | mps")
    p.add_argument("--precision", choices=PRECISIONS,
                   help="the papers ran CUDA autocast (official-mixed); default: the product's default")
    p.add_argument("--clips", type=int, metavar="N", help="only the first N clips")
    p.add_argument("--mask-from-gt", action="store_true",
                   help="for sets without masks: first GT alpha >= 0.5 as the mask (ours, not the papers')")
    args = p.parse_args(argv)
    try:
        run_bench(args.dataset, weights=args.weights, models=args.model or MODELS[:1], protocol=args.protocol,
                  benchmark=args.benchmark, work=args.work, device=args.device, precision=args.precision,
                  max_clips=args.clips, mask_from_gt=args.mask_from_gt)
    except UserError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
