"""What `eval` writes: metrics.json, metrics.csv, the terminal summary, and report.png.

`metrics_json`, `metrics_csv` and `summary` turn a `plugin.evaluate.EvalResult` into text.
`render_report` draws one PNG (`report.png`): a chart of MAD and dtSSD over frame numbers (means dashed, worst
frames marked), then one row per worst frame: prediction (as scored), ground truth, and
the signed difference prediction - GT in a diverging map (red: matte where there should be
none or too dense; blue: holes or too thin; white: right). matplotlib with the Agg backend,
no display needed; nothing here reads or writes files.
"""
from __future__ import annotations

import csv
import io
import json
import os
from typing import List, Optional, Sequence, Tuple

import numpy as np

from plugin import metrics as M

# Metadata named in the terminal summary (metrics.json keeps every "matanyone*" attribute).
SUMMARY_METADATA = ("model", "weights", "version", "software", "precision", "device", "warning")


def metrics_json(result) -> str:
    """metrics.json: per-frame values, means, protocol, resolution and what made the prediction."""
    r = result
    data = {
        "tool": "matanyone-plugin eval",
        "tool_version": _package_version(),
        "protocol": r.protocol_label(),
        "mode": r.mode,
        "mode_source": r.mode_source,
        "core_region": ({"ours": True, "label": M.CORE_LABEL, "kernel": M.CORE_KERNEL, "window": "square",
                         "mask_threshold": 0.5, "gt_is_segmentation_mask": True} if r.core else None),
        "resolution": {"width": r.width, "height": r.height},
        "prediction_quantized_8bit": r.quantized,
        "prediction": {"pattern": r.prediction, "metadata": r.prediction_metadata},
        "ground_truth": {"pattern": r.ground_truth},
        "frames": {"first": r.frames[0], "last": r.frames[-1], "count": len(r.frames)},
        "units": {r.column(m): M.UNITS[m] for m in r.metrics},
        "totals": {r.column(m): r.totals[m] for m in r.metrics},
        "dtssd_after_first": r.dtssd_after_first,
        "worst_frames_by_mad": r.worst_frames(),
        "per_frame": [dict({"frame": f}, **{r.column(m): r.per_frame[m][i] for m in r.metrics})
                      for i, f in enumerate(r.frames)],
        "notes": list(r.notes),
    }
    return json.dumps(data, indent=1) + "\n"


def metrics_csv(result) -> str:
    """metrics.csv: one row per frame, then a `mean` row."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["frame"] + [result.column(m) for m in result.metrics])
    for i, f in enumerate(result.frames):
        writer.writerow([f] + [f"{result.per_frame[m][i]:.6g}" for m in result.metrics])
    writer.writerow(["mean"] + [f"{result.totals[m]:.6g}" for m in result.metrics])
    return buf.getvalue()


def summary(result, out_dir: Optional[str] = None) -> str:
    """The few lines `eval` prints."""
    r = result
    lines = [f"eval {frame_span(r.frames)} ({len(r.frames)} frames, {r.width}x{r.height}, "
             f"{r.protocol_label()}; prediction {'8-bit quantised' if r.quantized else 'float'})"]
    units = ", ".join(f"{M.LABELS[m]} {M.UNITS[m]}" for m in r.metrics)
    lines.append(f"  {r.table_row()}   [{units}]")
    if r.dtssd_after_first is not None:
        lines.append(f"  dtSSD over frame pairs only (t>=1): {r.dtssd_after_first:.2f}")
    worst = ", ".join(f"{f} ({r.per_frame['mad'][r.frames.index(f)]:.2f})" for f in r.worst_frames())
    lines.append(f"  worst frames by MAD: {worst}")
    made_by = {k: v for k, v in r.prediction_metadata.items() if any(w in k.lower() for w in SUMMARY_METADATA)}
    if made_by:
        lines.append("  prediction made by: " + ", ".join(f"{k}={v}" for k, v in sorted(made_by.items())))
    lines.extend(f"  note: {n}" for n in r.notes)
    if out_dir:
        lines.append(f"  report: {os.path.join(out_dir, 'report.png')} (+ metrics.json, metrics.csv)")
    return "\n".join(lines)


def frame_span(frames: List[int]) -> str:
    """`[1, 2, 3, 7]` -> `"1-3, 7"`."""
    spans: List[List[int]] = []
    for f in sorted(frames):
        if spans and f == spans[-1][1] + 1:
            spans[-1][1] = f
        else:
            spans.append([f, f])
    return ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in spans)


def _package_version() -> str:
    try:
        from importlib.metadata import version
        return version("matanyone-plugin")
    except Exception:  # noqa: BLE001 - not installed (running from a checkout)
        return "0+checkout"

PANEL_WIDTH_IN = 3.2  # inches per image column
MAX_PANEL_PIXELS = 960  # wider frames are box-averaged down for display only


def render_report(result, worst: Sequence[Tuple[int, np.ndarray, np.ndarray]], dpi: int = 100) -> bytes:
    """Render the report.

    Args:
        result: `plugin.evaluate.EvalResult`.
        worst: (frame, prediction as scored, GT) per worst frame, float32 HxW each, worst first.
        dpi: resolution of the PNG.

    Returns:
        PNG file contents.
    """
    import matplotlib
    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    aspect = result.height / max(result.width, 1)
    row_h = max(PANEL_WIDTH_IN * aspect, 1.2) + 0.45
    chart_h = 3.0
    fig = Figure(figsize=(3 * PANEL_WIDTH_IN + 0.9, chart_h + row_h * len(worst) + 0.9), dpi=dpi)
    FigureCanvasAgg(fig)
    outer = fig.add_gridspec(2, 1, height_ratios=[chart_h, row_h * max(len(worst), 1)], hspace=0.12,
                             left=0.07, right=0.93, top=0.92, bottom=0.02)
    fig.suptitle(_title(result), fontsize=9)
    _chart(fig, outer[0].subgridspec(2, 1, hspace=0.08), result)
    if worst:
        strip = outer[1].subgridspec(len(worst), 4, width_ratios=[1, 1, 1, 0.06], hspace=0.3, wspace=0.08)
        vmax = max([float(np.nanmax(np.abs(p - g))) for _, p, g in worst] + [1.0 / 255.0])
        for row, (frame, pred, gt) in enumerate(worst):
            _strip_row(fig, strip, row, result, frame, pred, gt, vmax)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()


def _title(result) -> str:
    what = "core-region metrics, our reading of the paper" if result.core else f"mode {result.mode}"
    quant = "8-bit quantised prediction" if result.quantized else "float prediction"
    made_by = ", ".join(f"{what} {value}" for what, value in (("model", result.model), ("weights", result.weights))
                        if value)
    made_by = f" ({made_by})" if made_by else ""
    return (f"{_short(result.prediction) or 'prediction'}{made_by} vs {_short(result.ground_truth) or 'GT'}\n"
            f"{result.width}x{result.height}, {what}, {quant}:  {result.table_row()}")


def _short(path: str) -> str:
    """The last folder and the file name: enough to tell sequences apart in a title."""
    parts = [p for p in path.replace("\\", "/").split("/") if p]
    return "/".join(parts[-2:])


def _chart(fig, grid, result) -> None:
    frames = np.asarray(result.frames)
    worst = result.worst_frames()
    suffix = " (core, ours)" if result.core else ""
    for i, (metric, colour) in enumerate((("mad", "tab:blue"), ("dtssd", "tab:orange"))):
        ax = fig.add_subplot(grid[i, 0])
        values = np.asarray(result.per_frame[metric])
        ax.plot(frames, values, color=colour, lw=1.2, marker="." if len(frames) <= 60 else None, ms=3)
        ax.axhline(result.totals[metric], color=colour, ls="--", lw=0.8)
        ax.set_ylabel(f"{M.LABELS[metric]}{suffix}\n{M.UNITS[metric]}", fontsize=7)
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
        ax.set_xlim(frames[0] - 0.5, frames[-1] + 0.5)
        if metric == "mad":
            ax.set_title(f"per frame (dashed: mean; circled: worst frames {', '.join(map(str, worst))})",
                         fontsize=8, loc="left")
            idx = [result.frames.index(f) for f in worst]
            ax.plot(frames[idx], values[idx], "o", mfc="none", mec="red", ms=6)
            ax.tick_params(labelbottom=False)
        else:
            ax.set_xlabel("frame", fontsize=7)


def _strip_row(fig, grid, row, result, frame, pred, gt, vmax) -> None:
    i = result.frames.index(frame)
    values = "  ".join(f"{M.LABELS[m]} {result.per_frame[m][i]:.2f}" for m in result.metrics)
    diff, diff_name = pred - gt, "prediction - GT (red: too much, blue: too little)"
    if result.core:  # scored against the binarised mask, inside the core only (grey outside)
        diff = np.where(M.core_mask(gt), pred - (gt >= 0.5), np.nan)
        diff_name = "prediction - mask (core only)"
    panels = ((pred, "prediction", "gray", 0.0, 1.0),
              (gt, "segmentation mask" if result.core else "ground truth", "gray", 0.0, 1.0),
              (diff, diff_name, _diverging(), -vmax, vmax))
    image = None
    for col, (data, name, cmap, lo, hi) in enumerate(panels):
        ax = fig.add_subplot(grid[row, col])
        image = ax.imshow(_display_size(data), cmap=cmap, vmin=lo, vmax=hi, interpolation="nearest")
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_title(f"frame {frame}: {name}" if col == 0 else name, fontsize=7)
        if col == 2:
            ax.set_xlabel(values, fontsize=7)
    cax = fig.add_subplot(grid[row, 3])
    bar = fig.colorbar(image, cax=cax)
    bar.ax.tick_params(labelsize=6)


def _diverging():
    from matplotlib import colormaps
    return colormaps["RdBu_r"].with_extremes(bad="#b0b0b0")


def _display_size(a: np.ndarray) -> np.ndarray:
    """Box-average big frames down for the picture (the scores use every pixel)."""
    step = int(np.ceil(max(a.shape) / MAX_PANEL_PIXELS))
    if step <= 1:
        return a
    h, w = (a.shape[0] // step) * step, (a.shape[1] // step) * step
    return a[:h, :w].reshape(h // step, step, w // step, step).mean(axis=(1, 3))

