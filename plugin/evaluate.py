"""Score a predicted alpha sequence against ground truth the way the papers do, and report.

Python use (the demo calls the second form)::

    from plugin.evaluate import score_arrays, evaluate
    result = score_arrays(pred, gt, mode="lr")          # pred, gt: float [T,H,W] in [0,1]
    result = evaluate("out/hero.####.exr", "gt/alpha.####.png", "out/eval")
    print(result.summary)                                # a few lines for the terminal
    result.totals["mad"]                                 # x1e3, as Table 1 reports it

`evaluate(pred_pattern, gt_pattern, out_dir, *, frames=None, mode="auto", core=False,
quantize=True)` reads both sequences (frame numbers paired, not list positions), scores
every frame, and writes `out_dir/metrics.json`, `out_dir/metrics.csv` and
`out_dir/report.png` only after everything was read and scored. Bad input raises
`plugin.errors.UserError` with one line naming the file or frame; nothing is written then.

Patterns: `name.####.exr`, `name.%04d.png`, `name.@@@@.tif`, one frame's path, or a folder
of numbered images (`clip/pha/`, as the public test sets are laid out).
"""
from __future__ import annotations

import os
import re
import tempfile
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from plugin import metrics as M
from plugin import report as R
from plugin.errors import UserError

IMAGE_SUFFIXES = (".exr", ".png", ".tif", ".tiff", ".dpx", ".jpg", ".jpeg")
MOVIE_SUFFIXES = (".mov", ".mp4", ".m4v", ".mxf", ".mkv", ".avi")
# Above this many pixels "auto" picks the 1920x1080 protocol ("hr": no Conn, no min-max).
AUTO_HR_PIXELS = 1920 * 1080 // 2
WORST_FRAMES = 3
OUTPUT_FILES = ("metrics.json", "metrics.csv", "report.png")


class EvalError(UserError):
    """An evaluation input that cannot be scored (sizes, frames, values, channels)."""


@dataclass
class EvalResult:
    """Scores of one sequence.

    Attributes:
        frames: scored frame numbers, ascending.
        per_frame: {metric: [value per frame]} scaled as the tables report them.
        totals: {metric: mean over every frame} (dtSSD's frame-0 zero included, as published).
        dtssd_after_first: dtSSD mean over real frame pairs only (None for one frame).
        mode: "lr" or "hr"; core: core-region metrics (ours); quantized: 8-bit predictions.
        width, height: frame size in pixels.
        prediction_metadata: "matanyone*" string attributes of the first predicted frame.
        summary: a few lines for the terminal.
    """

    frames: List[int]
    per_frame: Dict[str, List[float]]
    totals: Dict[str, float]
    dtssd_after_first: Optional[float]
    mode: str
    core: bool
    quantized: bool
    width: int
    height: int
    mode_source: str = "given"
    prediction: str = ""
    ground_truth: str = ""
    prediction_metadata: Dict[str, str] = field(default_factory=dict)
    notes: List[str] = field(default_factory=list)
    files: Dict[str, str] = field(default_factory=dict)
    summary: str = ""

    @property
    def metrics(self) -> Tuple[str, ...]:
        return M.CORE_METRICS if self.core else M.METRICS_BY_MODE[self.mode]

    def worst_frames(self, count: int = WORST_FRAMES) -> List[int]:
        """Frame numbers with the highest MAD, worst first."""
        order = sorted(range(len(self.frames)), key=lambda i: (-self.per_frame["mad"][i], i))
        return [self.frames[i] for i in order[:count]]

    @property
    def weights(self) -> Optional[str]:
        """The weights that made the prediction, from its metadata (`matanyone:weights` or `matanyone/weights`)."""
        return self._made_by("weights")

    @property
    def model(self) -> Optional[str]:
        """The model (matanyone | matanyone2) that made the prediction, from its metadata."""
        return self._made_by("model")

    def _made_by(self, name: str) -> Optional[str]:
        for key, value in self.prediction_metadata.items():
            if re.fullmatch(rf"matanyone[:/._]{name}", key.lower()):
                return value
        return None

    def protocol_label(self) -> str:
        if self.core:
            return M.CORE_LABEL
        return {"lr": "papers' 512x288 protocol (RVM evaluate_lr.py / MatAnyone eval_yt_lr.py)",
                "hr": "papers' 1920x1080 protocol (RVM evaluate_hr.py / MatAnyone eval_yt_hr.py)"}[self.mode]

    def column(self, metric: str) -> str:
        """CSV/JSON name of a metric: core-region ones carry `_core_ours`."""
        return f"{metric}_core_ours" if self.core else metric

    def table_row(self) -> str:
        """`MAD 5.15  MSE 0.93  Grad 0.67  dtSSD 1.18  Conn 0.26` in the papers' order."""
        return "  ".join(f"{M.LABELS[m]} {self.totals[m]:.2f}" for m in self.metrics)


# ---------------------------------------------------------------- arrays

def score_arrays(pred, gt, mode: str = "lr", *, core: bool = False, quantize: bool = True,
                 frames: Optional[Sequence[int]] = None) -> EvalResult:
    """Score arrays with the same code as `evaluate`.

    Args:
        pred: float [T,H,W] (or [H,W]) predicted alpha in [0, 1].
        gt: float [T,H,W] ground-truth alpha (with `core`, a segmentation mask) in [0, 1].
        mode: "lr" (512x288 protocol) or "hr" (1920x1080 protocol), or "auto" by size.
        core: core-region metrics (our reading of the paper; MAD, MSE, dtSSD).
        quantize: 8-bit quantise predictions first, as the published numbers were.
        frames: frame numbers for the T frames (default 0..T-1).

    Returns:
        EvalResult (files empty; summary filled).
    """
    p = np.asarray(pred, dtype=np.float32)
    g = np.asarray(gt, dtype=np.float32)
    if p.ndim == 2:
        p, g = p[None], g[None] if g.ndim == 2 else g
    if p.ndim != 3 or g.ndim != 3 or p.shape[0] == 0:
        raise EvalError(f"score_arrays: expected [T,H,W] arrays, got prediction {p.shape} and GT {g.shape}")
    if p.shape != g.shape:
        raise EvalError(f"score_arrays: prediction {p.shape} and GT {g.shape} differ in shape")
    numbers = list(range(p.shape[0])) if frames is None else [int(f) for f in frames]
    if len(numbers) != p.shape[0]:
        raise EvalError(f"score_arrays: {len(numbers)} frame numbers for {p.shape[0]} frames")
    mode, source = _resolve_mode(mode, p.shape[2], p.shape[1])
    scorer = M.SequenceScorer(mode=mode, core=core, quantize=quantize)
    for i, f in enumerate(numbers):
        _check_values(p[i], f"prediction frame {f}")
        _check_values(g[i], f"GT frame {f}")
        scorer.add(f, p[i], g[i])
    result = _result(scorer, p.shape[2], p.shape[1], mode_source=source)
    result.summary = R.summary(result)
    return result


# ---------------------------------------------------------------- sequences

def evaluate(pred_pattern: str, gt_pattern: str, out_dir: Optional[str], *,
             frames: Optional[Tuple[int, int]] = None, mode: str = "auto", core: bool = False,
             quantize: bool = True, report: bool = True) -> EvalResult:
    """Score a predicted alpha sequence against GT and write the report.

    Args:
        pred_pattern: predicted alpha (EXR/PNG/TIFF sequence pattern or folder).
        gt_pattern: ground-truth alpha (with `core`, per-frame segmentation masks).
        out_dir: folder for metrics.json, metrics.csv, report.png; None writes nothing.
        frames: (first, last) inclusive, source frame numbers; default: the prediction's frames.
        mode: "lr", "hr" or "auto" (by frame size).
        core: core-region metrics (our reading).
        quantize: 8-bit quantise predictions first (published protocol).
        report: render report.png.

    Returns:
        EvalResult with `summary` (print it) and `files` (what was written).
    """
    with open_alpha_sequence(pred_pattern, "prediction", strict_channels=True) as pred_seq, \
            open_alpha_sequence(gt_pattern, "GT") as gt_seq:
        numbers = pair_frames(pred_seq, gt_seq, frames)
        result = _score_sequences(pred_seq, gt_seq, numbers, mode, core, quantize)
        if out_dir is None:
            result.summary = R.summary(result)
            return result
        out_dir = os.fspath(out_dir)
        blobs = {"metrics.json": b"", "metrics.csv": R.metrics_csv(result).encode("utf-8")}
        if report:
            worst = [(f, _scored_pred(pred_seq.read(f), quantize), gt_seq.read(f)) for f in result.worst_frames()]
            blobs["report.png"] = R.render_report(result, worst)
    result.files = {name: os.path.join(out_dir, name) for name in blobs}
    result.summary = R.summary(result, out_dir if report else None)
    blobs["metrics.json"] = R.metrics_json(result).encode("utf-8")
    _write_all(out_dir, blobs)  # only now, after every frame was read and scored
    return result


def _score_sequences(pred_seq, gt_seq, numbers: List[int], mode: str, core: bool, quantize: bool) -> EvalResult:
    scorer, size, source = None, None, "given"
    for f in numbers:
        p = pred_seq.read(f)
        g = gt_seq.read(f)
        if p.shape != g.shape:
            raise EvalError(f"frame {f}: prediction {pred_seq.path(f)} is {p.shape[1]}x{p.shape[0]} but GT "
                            f"{gt_seq.path(f)} is {g.shape[1]}x{g.shape[0]}; scores need the GT's resolution")
        if size is None:
            size = p.shape
            chosen, source = _resolve_mode(mode, p.shape[1], p.shape[0])
            scorer = M.SequenceScorer(mode=chosen, core=core, quantize=quantize)
        elif p.shape != size:
            raise EvalError(f"frame {f}: prediction {pred_seq.path(f)} is {p.shape[1]}x{p.shape[0]} but frame "
                            f"{numbers[0]} is {size[1]}x{size[0]}; a sequence must keep one size")
        _check_values(p, f"prediction frame {f} ({pred_seq.path(f)})")
        _check_values(g, f"GT frame {f} ({gt_seq.path(f)})")
        scorer.add(f, p, g)
    result = _result(scorer, size[1], size[0], mode_source=source)
    result.prediction, result.ground_truth = pred_seq.display, gt_seq.display
    result.prediction_metadata = pred_seq.matanyone_metadata(numbers[0])
    gaps = _holes(numbers)
    if gaps:
        result.notes.append(f"frames {gaps} absent on both sides; dtSSD there compares the nearest scored frames")
    return result


def pair_frames(pred_seq, gt_seq, frames: Optional[Tuple[int, int]] = None) -> List[int]:
    """Frame numbers to score: the prediction's (within `frames`), each required on the GT side.

    A frame inside the scored span that exists on one side only is an error (a hole);
    one missing on both sides is a common gap and is skipped.
    """
    pred_frames, gt_frames = set(pred_seq.frames), set(gt_seq.frames)
    if frames is not None:
        first, last = frames
        if first > last:
            raise EvalError(f"--frames {first}-{last}: the first frame is after the last")
        in_range = lambda s: {f for f in s if first <= f <= last}  # noqa: E731
        pred_in, gt_in = in_range(pred_frames), in_range(gt_frames)
        for f in (first, last):
            if f not in pred_in and f not in gt_in:
                raise EvalError(f"--frames {first}-{last}: frame {f} exists neither as prediction "
                                f"{pred_seq.path(f)} nor as GT {gt_seq.path(f)}")
    else:
        pred_in = pred_frames
        lo, hi = min(pred_frames), max(pred_frames)
        gt_in = {f for f in gt_frames if lo <= f <= hi}
    for f in sorted(pred_in | gt_in):
        if f not in gt_in:
            raise EvalError(f"frame {f}: GT {gt_seq.path(f)} is missing (prediction {pred_seq.path(f)} exists); "
                            f"add it or score a range without it (--frames)")
        if f not in pred_in:
            raise EvalError(f"frame {f}: prediction {pred_seq.path(f)} is missing (GT {gt_seq.path(f)} exists); "
                            f"render it or score a range without it (--frames)")
    if not pred_in:
        raise EvalError(f"--frames {frames[0]}-{frames[1]}: no frames of {pred_seq.display} in that range")
    return sorted(pred_in)


# ---------------------------------------------------------------- reading

class AlphaSequence:
    """A numbered alpha sequence (or movie): `frames`, `path(frame)`, `read(frame) -> float32 HxW`.

    Frames are found on disk by pattern; pixels come through `plugin.plates.open_alpha`
    (the `A` channel, else the only channel; data windows placed in the display window),
    opened once per run of consecutive frames, so gaps common to both sides are allowed.
    """

    def __init__(self, pattern: str, role: str, strict_channels: bool = False):
        self.role = role
        self.strict_channels = strict_channels  # only `A` or one channel (no grey RGB)
        self._plate = None
        self._span = None
        self.movie = os.path.splitext(pattern)[1].lower() in MOVIE_SUFFIXES
        if self.movie:
            self.display = pattern
            with _open_alpha(pattern, None) as plate:
                self.frames = list(plate.frames)
            self.files = {}
            return
        self.pattern = _parse_pattern(pattern, role)
        self.files = self.pattern.scan()
        self.display = self.pattern.display
        if not self.files:
            raise EvalError(f"{role} {self.display}: no frames found on disk; check the path and the "
                            f"number of # (padding)")
        self.frames = sorted(self.files)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self) -> None:
        if self._plate is not None:
            self._plate.close()
            self._plate, self._span = None, None

    def path(self, frame: int) -> str:
        if self.movie:
            return f"{self.display} frame {frame}"
        return self.files.get(frame) or self.pattern.path(frame)

    def read(self, frame: int) -> np.ndarray:
        """float32 HxW alpha of `frame` (a one-line error naming the file when it cannot be used)."""
        if frame not in self.frames:
            raise EvalError(f"{self.role} frame {frame}: {self.path(frame)} does not exist")
        if self.strict_channels and not self.movie:
            _alpha_channel(self.path(frame), f"{self.role} frame {frame}")
        if self._span is None or not self._span[0] <= frame <= self._span[1]:
            self.close()
            span = self._span_around(frame)
            self._plate = _open_alpha(self.display, span)
            self._span = span
        return np.asarray(self._plate.read_alpha(frame), dtype=np.float32)

    def _span_around(self, frame: int) -> Tuple[int, int]:
        present = set(self.frames)
        first = last = frame
        while first - 1 in present:
            first -= 1
        while last + 1 in present:
            last += 1
        return first, last

    def matanyone_metadata(self, frame: int) -> Dict[str, str]:
        """String attributes whose names start with "matanyone" (what our writers record)."""
        if self.movie:
            return {}
        import OpenImageIO as oiio
        inp = oiio.ImageInput.open(self.path(frame))
        if inp is None:
            return {}
        try:
            return {a.name: a.value for a in inp.spec().extra_attribs
                    if a.name.lower().startswith("matanyone") and isinstance(a.value, str)}
        finally:
            inp.close()


def open_alpha_sequence(pattern, role: str, strict_channels: bool = False) -> AlphaSequence:
    """An `AlphaSequence`; raises EvalError for an empty pattern or no frames.

    `strict_channels` refuses files with several channels and no `A` (predictions: a grey
    RGB file is more likely a beauty render given by mistake than a matte); GT may be grey RGB.
    """
    if pattern is None or not str(pattern).strip():
        raise EvalError(f"{role}: empty pattern; give a sequence such as shot.####.exr or a folder of frames")
    return AlphaSequence(os.fspath(pattern), role, strict_channels)


def _alpha_channel(path: str, what: str) -> None:
    """One-line error unless `path` has an `A` channel or exactly one channel."""
    import OpenImageIO as oiio
    inp = oiio.ImageInput.open(path)
    if inp is None:
        return  # the reader names the problem
    try:
        names = list(inp.spec().channelnames)
    finally:
        inp.close()
    if len(names) > 1 and not any(n.lower() in ("a", "alpha") for n in names):
        raise EvalError(f"{what}: {path} has {len(names)} channels ({', '.join(names)}) and no A; "
                        f"score the matte itself (an A channel or a single channel), not a colour image")


def _open_alpha(pattern: str, span):
    """The one place pixels are read: swap here to read through something else."""
    from plugin.plates import open_alpha
    return open_alpha(pattern, span)


def _parse_pattern(pattern: str, role: str):
    """A `plugin.framepattern.FramePattern` for a pattern, one frame's path, or a folder."""
    from plugin import framepattern
    if os.path.isdir(pattern):
        names = sorted(n for n in os.listdir(pattern)
                       if n.lower().endswith(IMAGE_SUFFIXES) and re.search(r"\d\.[^.]+$", n))
        if not names:
            raise EvalError(f"{role} {pattern}: the folder holds no numbered images "
                            f"({', '.join(IMAGE_SUFFIXES)})")
        pattern = os.path.join(pattern, names[0])
    try:
        return framepattern.parse(pattern)
    except ValueError:
        raise EvalError(f"{role} {pattern}: no frame token (####, %04d) or frame number in the file name; "
                        f"give the sequence as name.####.ext") from None


def _check_values(a: np.ndarray, what: str) -> None:
    finite = np.isfinite(a)
    if not finite.all():
        raise EvalError(f"{what}: {int(a.size - finite.sum())} pixels are NaN or infinite; alpha must be in [0, 1]")
    lo, hi = float(a.min()), float(a.max())
    if lo < 0.0 or hi > 1.0:
        raise EvalError(f"{what}: values from {lo:.6g} to {hi:.6g} lie outside [0, 1]; "
                        f"score the matte before any grade or premultiplied edge boost")


# ---------------------------------------------------------------- helpers

def _resolve_mode(mode: str, width: int, height: int) -> Tuple[str, str]:
    if mode in M.MODES:
        return mode, "given"
    if mode == "auto":
        return ("hr" if width * height > AUTO_HR_PIXELS else "lr"), "auto"
    raise EvalError(f"--mode {mode}: use lr (512x288 protocol), hr (1920x1080 protocol) or auto")


def _result(scorer: M.SequenceScorer, width: int, height: int, mode_source: str) -> EvalResult:
    per_frame = {m: [f.values[m] for f in scorer.frames] for m in scorer.metrics}
    result = EvalResult(frames=[f.frame for f in scorer.frames], per_frame=per_frame, totals=scorer.totals(),
                        dtssd_after_first=scorer.dtssd_after_first(), mode=scorer.mode, core=scorer.core,
                        quantized=scorer.quantize, width=width, height=height, mode_source=mode_source)
    if not scorer.core and "grad" in scorer.metrics:
        summed = "Grad and Conn are sums" if scorer.mode == "lr" else "Grad is a sum"
        result.notes.append(f"{summed} over {width}x{height} pixels: compare only at the same resolution")
    return result


def _scored_pred(p: np.ndarray, quantize: bool) -> np.ndarray:
    return M.quantize_8bit(p) if quantize else p


def _write_all(out_dir: str, blobs: Dict[str, bytes]) -> None:
    """Write every file under a temporary name in `out_dir`, then rename each into place."""
    try:
        os.makedirs(out_dir, exist_ok=True)
        mode = 0o666 & ~_umask()
        temps = {}
        for name, data in blobs.items():
            fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=out_dir)
            temps[name] = tmp
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            os.chmod(tmp, mode)  # mkstemp makes 0600; reports are for the whole team
        for name, tmp in temps.items():
            os.replace(tmp, os.path.join(out_dir, name))
    except OSError as err:
        for tmp in locals().get("temps", {}).values():
            if os.path.exists(tmp):
                os.unlink(tmp)
        raise UserError(f"--out {out_dir}: cannot write the report ({err.strerror or err}); "
                        f"choose a writable folder") from None


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


def _holes(frames: List[int]) -> str:
    present = set(frames)
    missing = [f for f in range(frames[0], frames[-1] + 1) if f not in present]
    return R.frame_span(missing) if missing else ""
