"""The figures of a bench/gpu_check.sh run in a few lines (read from the files it wrote).

    python bench/gpu_summary.py OUTDIR
"""
from __future__ import annotations

import json
import sys
from pathlib import Path


def rows(path: Path):
    """The JSON objects printed one per line in a step's output (the job measure's line too)."""
    for line in path.read_text().splitlines() if path.exists() else []:
        line = line.removeprefix("job measure: ")
        if line.startswith("{"):
            try:
                yield json.loads(line)
            except ValueError:
                pass


def summary(out: Path) -> list:
    lines = []
    for r in rows(out / "engine.txt"):
        if "two_objects_over_one" in r:
            lines.append(f"engine {r['size']} {r['precision']}: two objects / one {r['two_objects_over_one']}x "
                         f"{r.get('target', '')}".rstrip())
        elif "ms_per_frame" in r:
            lines.append(f"engine {r['size']} {r['precision']} x{r['objects']}: {r['ms_per_frame']} ms/frame, "
                         f"first frame {r['first_frame_s']} s, peak CUDA {r.get('peak_cuda_gib', '-')} GiB, "
                         f"{r.get('target', 'no target')}; stages ms {r.get('stages_ms')}")
    for r in rows(out / "parity.txt"):
        if "fixture" in r:
            lines.append(f"parity {r['fixture']} {r['precision']} on {r['device']}: mean |d alpha| "
                         f"{r['mean_abs']:.3g}, max {r['max_abs']:.3g}")
    piped = [r for r in rows(out / "pipeline.txt") if "stages_ms_per_frame" in r or "job_measure" in r]
    if piped:
        lines.append(f"pipeline stages ms/frame: {piped[-1].get('stages_ms_per_frame')}")
        lines.append(f"pipeline job measure: {piped[-1].get('job_measure')}")
    return lines


if __name__ == "__main__":
    print("\n".join(summary(Path(sys.argv[1]))))
