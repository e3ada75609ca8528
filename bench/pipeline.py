"""Pipeline benchmark: what the streaming job adds on top of the engine, and whether its memory
depends on shot length.

    python bench/pipeline.py                      # 512x288 x 24 frames; RSS at 50 vs 1000 frames
    python bench/pipeline.py --quick              # smaller: 256x144 x 12; RSS at 50 vs 300 frames

1. Speed, same frames, same machine, measured in this run (ratios, since the machine is noisy):
   - engine alone: `Session.step` over frames already decoded and colour-converted in memory;
   - job: `plugin.job.run` in-process (decode + OCIO + step + EXR writes, streaming);
   - CLI: `python -m plugin run SHOT.json` as a fresh process, compared with the engine alone as a
     fresh process over the same frames already converted (.npy): both pay interpreter start,
     the torch import and the network build.
   Target: job / engine <= 1.10 and CLI process / engine process <= 1.10.
   Per-stage times of the job (in-process, --stages N frames): decode, colour, encoder, readout,
   decoder, write per frame, and what the stepping thread waited for (a frame from the readers,
   room in the writer's queue, a state save); upload/download are 0 on a CPU.
2. Memory: peak RSS of `python -m plugin run` on a tiny plate at N1 and N2 frames (os.wait4's
   ru_maxrss of each run). Target: within 10%.
Stand-in weights (same compute as the real network); warm-up 10 as the official default.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
# Both sides run as the product does (plugin/cli.py sets the first, matanyone_engine the second,
# before torch is imported).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ.setdefault("THP_MEM_ALLOC_ENABLE", "1")
WEIGHTS = "stand-in:bench"


def write_shot(directory: Path, n: int, h: int, w: int, warmup: int, dtype: str = "half") -> Path:
    """A linear EXR plate of a moving disc, its first-frame mask and a shot file."""
    import OpenImageIO as oiio
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "plates").mkdir(exist_ok=True)
    rng = np.random.default_rng(3)
    ground = (0.05 + 0.3 * rng.random((h, w, 3))).astype(np.float32)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    r = min(h, w) * 0.25

    def disc(i):
        cy, cx = h * 0.5 + 0.05 * h * np.sin(i / 7.0), w * 0.3 + (i % 200) * w * 0.002
        return np.clip(r + 0.5 - np.sqrt((yy - cy) ** 2 + (xx - cx) ** 2), 0, 1)

    for i in range(n):
        a = disc(i)[:, :, None]
        img = (ground * (1 - a) + np.array([1.5, 0.5, 0.3], np.float32) * a).astype(np.float32)
        spec = oiio.ImageSpec(w, h, 3, "half")
        out = oiio.ImageOutput.create(str(directory / "plates" / f"p.{1001 + i:04d}.exr"))
        out.open(str(directory / "plates" / f"p.{1001 + i:04d}.exr"), spec)
        out.write_image(img)
        out.close()
    mask = (disc(0) > 0.5).astype(np.uint8) * 255
    spec = oiio.ImageSpec(w, h, 1, "uint8")
    out = oiio.ImageOutput.create(str(directory / "mask.png"))
    out.open(str(directory / "mask.png"), spec)
    out.write_image(mask[:, :, None])
    out.close()
    shot = {"version": 1,
            "plate": {"path": "plates/p.####.exr", "first": 1001, "last": 1000 + n, "colourspace": "ACEScg"},
            "objects": [{"id": 1, "name": "disc", "keyframes": {"1001": "mask.png"}}],
            "mask_cleanup": {"dilate": 0, "erode": 0},
            "engine": {"weights": WEIGHTS, "warmup": warmup, "device": "cpu"},
            "output": {"path": "out/bench_{object}.####.exr", "dtype": dtype}}
    path = directory / "shot.json"
    path.write_text(json.dumps(shot, indent=2))
    return path


def _cpu() -> float:
    import resource
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def engine_alone(shot_path: Path, net=None) -> dict:
    from matanyone_engine import EngineSettings, Session, load_network
    from plugin import color, masks, plates
    from plugin.shot import Shot
    shot = Shot.load(shot_path)
    with plates.open(shot.plate.path) as plate:
        frames = [color.to_network_input(plate.read(f), shot.plate.colourspace) for f in plate.frames]
    mask = masks.read_mask(shot.objects[0].keyframes[1001])
    t0 = time.perf_counter()
    net = net or load_network(WEIGHTS, device="cpu")
    t_load = time.perf_counter() - t0
    s = Session(net, EngineSettings(warmup=shot.engine.warmup))
    s.add_mask({1: mask})
    t0, c0 = time.perf_counter(), _cpu()
    for f in frames:
        s.step(f)
    return {"load_s": t_load, "steps_s": time.perf_counter() - t0, "cpu_s": _cpu() - c0, "net": net}


ENGINE_PROCESS = """
import sys, time
import numpy as np
from matanyone_engine import EngineSettings, Session, load_network
frames = np.load(sys.argv[1], mmap_mode="r")
mask = np.load(sys.argv[2])
net = load_network(sys.argv[3], device="cpu")
session = Session(net, EngineSettings(warmup=int(sys.argv[4])))
session.add_mask({1: mask})
for frame in frames:
    session.step(np.asarray(frame))
"""


def engine_process(shot_path: Path, frames_npy: Path, mask_npy: Path) -> dict:
    """The engine alone as its own process (interpreter, torch import, network build, steps over
    frames already decoded and converted): what the CLI process is compared with."""
    from plugin.shot import Shot
    warmup = Shot.load(shot_path).engine.warmup
    env = dict(os.environ, PYTHONPATH=str(REPO))
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", ENGINE_PROCESS, str(frames_npy), str(mask_npy), WEIGHTS,
                           str(warmup)], env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"engine process failed: {proc.stderr.strip()[-400:]}")
    return {"wall_s": time.perf_counter() - t0}


def save_engine_inputs(shot_path: Path, directory: Path):
    """The shot's frames in network-input colour and its mask, as .npy files for engine_process."""
    from plugin import color, masks, plates
    from plugin.shot import Shot
    shot = Shot.load(shot_path)
    with plates.open(shot.plate.path) as plate:
        frames = np.stack([color.to_network_input(plate.read(f), shot.plate.colourspace) for f in plate.frames])
    np.save(directory / "frames.npy", frames)
    np.save(directory / "mask.npy", masks.read_mask(shot.objects[0].keyframes[1001]))
    return directory / "frames.npy", directory / "mask.npy"


def job_in_process(shot_path: Path, net) -> dict:
    from plugin import job
    from plugin.shot import Shot
    t0, c0 = time.perf_counter(), _cpu()
    result = job.run(Shot.load(shot_path), force=True, network=net)
    assert result.status == "done", result
    return {"wall_s": time.perf_counter() - t0, "cpu_s": _cpu() - c0}


def stage_times(shot_path: Path, net) -> dict:
    """Seconds per frame of each stage of an in-process job, from timers wrapped around the
    stage functions (the same alphas; the wrappers add microseconds): CPU seconds of the reader
    and writer threads (decode, colour, write: their wall time counts the time the engine
    preempts them), wall seconds of the stepping thread (the engine's stages and its waits)."""
    from matanyone_engine import Session
    from plugin import color, job
    from plugin.job import frames, runner, sinks
    from plugin.shot import Shot
    totals: dict = {}
    undo = []

    def timed(owner, name, label, clock=time.perf_counter):
        original = getattr(owner, name)

        def wrapper(*a, **k):
            t = clock()
            try:
                return original(*a, **k)
            finally:
                totals[label] = totals.get(label, 0.0) + clock() - t
        undo.append((owner, name, original, name in vars(owner)))
        setattr(owner, name, wrapper)

    timed(frames.FrameLoader, "__call__", "read", time.thread_time)
    timed(color, "to_network_input", "colour", time.thread_time)
    timed(Session, "step", "step")
    timed(net, "encode_image", "encoder")
    timed(net, "encode_value", "encoder")
    timed(net, "read_memory", "readout")
    timed(net, "decode", "decoder")
    timed(sinks.AlphaOutputs, "write", "write", time.thread_time)
    timed(frames.OrderedReader, "next", "wait: frame")
    timed(runner.Runner, "_put", "wait: writer queue")
    timed(runner.Runner, "_save_checkpoint", "wait: state save")
    try:
        t0 = time.perf_counter()
        result = job.run(Shot.load(shot_path), force=True, network=net)
        wall = time.perf_counter() - t0
    finally:
        for owner, name, original, own in reversed(undo):
            if own:
                setattr(owner, name, original)
            else:
                delattr(owner, name)
    n = result.frames_written
    out = {k: v / n for k, v in totals.items()}
    out["decode"] = out.pop("read", 0.0) - out.get("colour", 0.0)
    out.update({"upload": 0.0, "download": 0.0, "job wall": wall / n})
    return out


def cli_run(shot_path: Path, extra_env=None) -> dict:
    env = dict(os.environ, PYTHONPATH=str(REPO), **(extra_env or {}))
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "plugin", "run", str(shot_path), "--force", "--quiet"],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    err = proc.stderr.read().decode(errors="replace")
    proc.stderr.close()
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"CLI run failed: {err}")
    # ru_maxrss is in KiB on Linux, bytes on macOS.
    rss = usage.ru_maxrss * (1 if sys.platform == "darwin" else 1024)
    return {"wall_s": wall, "cpu_s": usage.ru_utime + usage.ru_stime, "peak_rss_mb": rss / 2 ** 20}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--frames", type=int, help="speed shot length")
    ap.add_argument("--size", help="speed plate WxH (default 512x288)")
    ap.add_argument("--rss-frames", help="N1,N2 for the memory test (default 50,1000)")
    ap.add_argument("--warmup", type=int, default=10)
    ap.add_argument("--rounds", type=int, default=2, help="job runs (engine runs: one more)")
    ap.add_argument("--threads", type=int, help="torch threads (1 makes timings steadier on a shared machine)")
    ap.add_argument("--skip-speed", action="store_true")
    ap.add_argument("--skip-rss", action="store_true")
    ap.add_argument("--dtype", default="half", choices=("half", "float"), help="alpha output type")
    ap.add_argument("--processes-only", action="store_true",
                    help="speed: only the CLI process vs the engine process (skip the in-process runs)")
    ap.add_argument("--stages", type=int, default=0, metavar="N",
                    help="also print per-stage seconds per frame of an in-process job over N frames")
    args = ap.parse_args()
    w, h = map(int, (args.size or ("256x144" if args.quick else "512x288")).split("x"))
    n = args.frames or (12 if args.quick else 24)
    n1, n2 = map(int, (args.rss_frames or ("50,300" if args.quick else "50,1000")).split(","))
    import torch
    if args.threads:
        torch.set_num_threads(args.threads)
        os.environ["OMP_NUM_THREADS"] = str(args.threads)  # the CLI child process
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}, cpu count {os.cpu_count()}, "
          f"load {os.getloadavg()[0]:.1f}, OMP_WAIT_POLICY {os.environ.get('OMP_WAIT_POLICY')}, "
          f"THP_MEM_ALLOC_ENABLE {os.environ.get('THP_MEM_ALLOC_ENABLE')} (both processes)")
    figures = {}
    with tempfile.TemporaryDirectory(prefix="matanyone-bench-") as tmp:
        tmp = Path(tmp)
        if not args.skip_rss:
            # First, while this process is small: a child's ru_maxrss starts from its parent's RSS
            # at fork (Linux carries the high-water mark across fork and exec).
            rss = {}
            for frames in (n1, n2):
                shot = write_shot(tmp / f"rss{frames}", frames, 32, 48, 1)
                r = cli_run(shot)
                rss[frames] = r
                print(f"peak RSS, 48x32 plate x {frames} frames: {r['peak_rss_mb']:.1f} MiB ({r['wall_s']:.1f} s)")
            ratio = rss[n2]["peak_rss_mb"] / rss[n1]["peak_rss_mb"]
            figures["rss"] = {"frames": [n1, n2], "peak_rss_mb": [round(rss[n1]["peak_rss_mb"], 1),
                                                                   round(rss[n2]["peak_rss_mb"], 1)],
                              "ratio": round(ratio, 3)}
            print(f"peak RSS {n2} vs {n1} frames: {ratio:.3f}x (target <= 1.10)")
        if args.stages:
            shot = write_shot(tmp / "stages", args.stages, h, w, args.warmup, args.dtype)
            from matanyone_engine import load_network
            stages = stage_times(shot, load_network(WEIGHTS, device="cpu"))
            figures["stages_s_per_frame"] = {k: round(v, 3) for k, v in stages.items()}
            print(f"stages {w}x{h} x {args.stages} frames (warm-up {args.warmup}), s/frame: "
                  + ", ".join(f"{k} {v:.3f}" for k, v in stages.items()))
        if not args.skip_speed:
            shot = write_shot(tmp / "speed", n, h, w, args.warmup, args.dtype)
            speed = {"plate": f"{w}x{h}", "frames": n, "warmup": args.warmup, "rounds": args.rounds}
            if not args.processes_only:
                # Alternate engine and job runs; keep each one's best (the machine is shared and noisy).
                eng = engine_alone(shot)
                net, t_load = eng["net"], eng["load_s"]
                engs, jobs = [eng], []
                for _ in range(args.rounds):
                    jobs.append(job_in_process(shot, net))
                    engs.append(engine_alone(shot, net))
                e_wall = min(e["steps_s"] for e in engs)
                e_cpu = min(e["cpu_s"] for e in engs)
                j_wall = min(j["wall_s"] for j in jobs)
                j_cpu = min(j["cpu_s"] for j in jobs)
                speed.update({
                    "engine_wall_s": round(e_wall, 2), "engine_cpu_s": round(e_cpu, 2),
                    "engine_load_s": round(t_load, 2), "job_wall_s": round(j_wall, 2),
                    "job_cpu_s": round(j_cpu, 2), "job_over_engine_wall": round(j_wall / e_wall, 3),
                    "job_over_engine_cpu": round(j_cpu / e_cpu, 3)})
                print(f"speed {w}x{h} x {n} frames (warm-up {args.warmup}), best of {args.rounds + 1}/"
                      f"{args.rounds}: engine alone {e_wall:.2f} s wall / {e_cpu:.2f} s CPU (+ network build "
                      f"{t_load:.2f} s); job {j_wall:.2f} s wall / {j_cpu:.2f} s CPU = {j_wall / e_wall:.3f}x "
                      f"wall, {j_cpu / e_cpu:.3f}x CPU")
            frames_npy, mask_npy = save_engine_inputs(shot, tmp / "speed")
            clis, procs = [], []
            for _ in range(args.rounds):
                procs.append(engine_process(shot, frames_npy, mask_npy)["wall_s"])
                clis.append(cli_run(shot))
                print(f"  round: engine process {procs[-1]:.2f} s, CLI process {clis[-1]['wall_s']:.2f} s",
                      flush=True)
            cli = min(clis, key=lambda c: c["wall_s"])
            e_proc = min(procs)
            speed.update({"cli_wall_s": round(cli["wall_s"], 2), "cli_cpu_s": round(cli["cpu_s"], 2),
                          "engine_process_wall_s": round(e_proc, 2),
                          "cli_over_engine_process_wall": round(cli["wall_s"] / e_proc, 3)})
            figures["speed"] = speed
            print(f"speed {w}x{h} x {n} frames (warm-up {args.warmup}), best of {args.rounds}, fresh processes "
                  f"alternating: CLI process {cli['wall_s']:.2f} s wall vs engine process {e_proc:.2f} s = "
                  f"{cli['wall_s'] / e_proc:.3f}x")
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
