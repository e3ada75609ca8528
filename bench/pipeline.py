"""Pipeline benchmark: what the streaming job adds on top of the engine, and whether its memory
depends on shot length.

    python bench/pipeline.py                      # 512x288 x 24 frames; RSS at 50 vs 1000 frames
    python bench/pipeline.py --quick              # smaller: 256x144 x 12; RSS at 50 vs 300 frames
    python bench/pipeline.py --device cuda --precision fp16 --skip-rss --skip-speed --stages 20 \
        --gpu-busy --size 1920x1080 --plate-frames 200   # issue 22's job measure on a GPU

1. Speed, same frames, same machine, measured in this run (ratios, since the machine is noisy):
   - engine alone: `Session.step` over frames already decoded and colour-converted in memory;
   - job: `plugin.job.run` in-process (decode + OCIO + step + EXR writes, streaming);
   - CLI: `python -m plugin run SHOT.json` as a fresh process, compared with the engine alone as a
     fresh process over the same frames already converted (.npy): both pay interpreter start,
     the torch import and the network build.
   Target: job / engine <= 1.10 and CLI process / engine process <= 1.10.
   Per-stage times of the job (in-process, --stages N frames): upload, encoder, readout,
   decoder, download and the step (mean per frame after the first step, which is timed apart as
   "first step"; CUDA events on CUDA, read after the run so no synchronisation is added inside a
   step; wall clock on a CPU, where upload/download are the session's input and output copies),
   decode, colour and write (CPU seconds of the reader and writer threads per frame), and what the
   stepping thread waited for (a frame from the readers, room in the writer's queue, a state save).
   The job measure (--gpu-busy, issue 22): the CLI process's frame rate after its first frame
   (from the times its alpha files appear) against the engine alone's over the same converted
   frames (after its first step), target >= 0.9x; with nvidia-smi on the PATH, the GPU's mean
   busy % between the job's first and last frame (sampled every 100 ms), target >= 85%.
   --device and --precision apply to every run (the shot's engine settings and the engine alone).
2. Memory: peak RSS of `python -m plugin run` on a tiny plate at N1 and N2 frames (os.wait4's
   ru_maxrss of each run). Target: within 10%.
Stand-in weights (same compute as the real network); warm-up 10 as the official default.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
# Both sides run as the product does (plugin/cli.py sets the first, matanyone_engine the second,
# before torch is imported).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ.setdefault("THP_MEM_ALLOC_ENABLE", "1")
WEIGHTS = "stand-in:bench"
sys.path.insert(0, str(REPO / "bench"))
from plugin.protocol import DEVICES, PRECISIONS  # noqa: E402 - the one vocabulary
from stagetimer import DEVICE_STAGES, StageTimer  # noqa: E402


def write_shot(directory: Path, n: int, h: int, w: int, warmup: int, dtype: str = "half",
               device: str = "cpu", precision: str = "fp32") -> Path:
    """A plate of a moving disc (ACEScg EXR, half float, ZIP: issue 22's plate), its first-frame
    mask and a shot file running on `device` in `precision`."""
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

    def write(i):
        a = disc(i)[:, :, None]
        img = (ground * (1 - a) + np.array([1.5, 0.5, 0.3], np.float32) * a).astype(np.float32)
        spec = oiio.ImageSpec(w, h, 3, "half")
        spec.attribute("compression", "zip")
        path = str(directory / "plates" / f"p.{1001 + i:04d}.exr")
        out = oiio.ImageOutput.create(path)
        out.open(path, spec)
        out.write_image(img)
        out.close()

    with ThreadPoolExecutor(min(8, os.cpu_count() or 1)) as pool:
        list(pool.map(write, range(n)))
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
            "engine": {"weights": WEIGHTS, "warmup": warmup, "device": device, "precision": precision},
            "output": {"path": "out/bench_{object}.####.exr", "dtype": dtype}}
    path = directory / "shot.json"
    path.write_text(json.dumps(shot, indent=2))
    return path


def _cpu() -> float:
    import resource
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def load_inputs(shot_path: Path):
    """The shot's frames decoded and converted to network input (in parallel over frames, as
    the job's readers do), and its first mask: what the engine alone steps over."""
    from plugin import color, masks, plates
    from plugin.shot import Shot
    shot = Shot.load(shot_path)
    with plates.open(shot.plate.path) as plate:
        def convert(f):
            return color.to_network_input(plate.read(f), shot.plate.colourspace, parallel=False)
        with ThreadPoolExecutor(min(8, os.cpu_count() or 1)) as pool:
            frames = list(pool.map(convert, plate.frames))
    return frames, masks.read_mask(shot.objects[0].keyframes[1001])


def load_network(shot_path: Path):
    """The network as the job loads it (the shot's weights, device and precision)."""
    from plugin import job
    from plugin.shot import Shot
    return job.load_network(Shot.load(shot_path))


def _sync(net) -> None:
    if net.device.type == "cuda":
        import torch
        torch.cuda.synchronize(net.device)


def engine_alone(shot_path: Path, inputs, net=None) -> dict:
    """`Session.step` over frames already converted, with the job's engine settings."""
    from matanyone_engine import Session
    from plugin.job.runner import engine_settings
    from plugin.shot import Shot
    frames, mask = inputs
    t0 = time.perf_counter()
    net = net or load_network(shot_path)
    t_load = time.perf_counter() - t0
    s = Session(net, engine_settings(Shot.load(shot_path)))
    s.add_mask({1: mask})
    t0, c0 = time.perf_counter(), _cpu()
    first = None
    for f in frames:
        s.step(f)  # returns host arrays: a step on CUDA ends synchronised
        if first is None:
            first = time.perf_counter() - t0
    _sync(net)
    steps = time.perf_counter() - t0
    return {"load_s": t_load, "steps_s": steps, "cpu_s": _cpu() - c0, "first_s": first, "net": net,
            "fps_after_first": (len(frames) - 1) / (steps - first) if len(frames) > 1 and steps > first else None}


ENGINE_PROCESS = """
import sys, time
import numpy as np
from matanyone_engine import EngineSettings, Session, load_network
frames = np.load(sys.argv[1], mmap_mode="r")
mask = np.load(sys.argv[2])
net = load_network(sys.argv[3], device=sys.argv[5], precision=sys.argv[6])
session = Session(net, EngineSettings(warmup=int(sys.argv[4]), precision=sys.argv[6]))
session.add_mask({1: mask})
for frame in frames:
    session.step(np.asarray(frame))
"""


def _env(extra=None) -> dict:
    """The environment of a child process: this checkout first on PYTHONPATH, whatever else was
    there kept (the GPU machine's carried packages)."""
    path = os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH", "")) if p)
    return dict(os.environ, PYTHONPATH=path, **(extra or {}))


def _settle() -> None:
    """Write out dirty pages before a timed process, so the kernel's writeback of what the one
    before wrote (a job's alphas and saved state, the bench's .npy frames) is not timed in it."""
    if hasattr(os, "sync"):
        os.sync()


def engine_process(shot_path: Path, frames_npy: Path, mask_npy: Path) -> dict:
    """The engine alone as its own process (interpreter, torch import, network build, steps over
    frames already decoded and converted): what the CLI process is compared with."""
    from plugin.shot import Shot
    engine = Shot.load(shot_path).engine
    _settle()
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", ENGINE_PROCESS, str(frames_npy), str(mask_npy), WEIGHTS,
                           str(engine.warmup), engine.device, engine.precision],
                          env=_env(), capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"engine process failed: {proc.stderr.strip()[-400:]}")
    return {"wall_s": time.perf_counter() - t0}


def save_engine_inputs(inputs, directory: Path):
    """The shot's frames in network-input colour and its mask, as .npy files for engine_process."""
    frames, mask = inputs
    np.save(directory / "frames.npy", np.stack(frames))
    np.save(directory / "mask.npy", mask)
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
    stage functions (bench/stagetimer.py; the same alphas, the wrappers only time): the engine's
    stages per step after the first step (CUDA events on CUDA, wall clock on a CPU), CPU seconds
    of the reader and writer threads (decode, colour, write: their wall time counts the time the
    engine preempts them), wall seconds the stepping thread waited."""
    from matanyone_engine import Session
    from plugin import job
    from plugin.job import frames, runner, sinks
    from plugin.shot import Shot
    timer = StageTimer(net.device)
    timer.engine(Session, net)
    timer.total(frames.FrameLoader, "decode", "decode", time.thread_time)
    timer.total(frames.FrameWork, "_convert", "colour", time.thread_time)  # a band, on any thread
    timer.total(sinks.AlphaOutputs, "write", "write", time.thread_time)
    timer.total(frames.OrderedReader, "next", "wait: frame")
    timer.total(runner.Runner, "_put", "wait: writer queue")
    timer.total(runner.Runner, "_save_checkpoint", "wait: state save")
    try:
        t0 = time.perf_counter()
        result = job.run(Shot.load(shot_path), force=True, network=net)
        wall = time.perf_counter() - t0
    finally:
        timer.undo()
    n = result.frames_written
    steps = timer.per_frame()
    later = steps[1:] or steps
    out = {k: sum(r.get(k, 0.0) for r in later) / len(later) for k in (*DEVICE_STAGES, "step")}
    out["first step"] = steps[0].get("step", 0.0) if steps else 0.0
    out.update({k: v / n for k, v in timer.totals().items()})
    out["job wall"] = wall / n
    out["clock"] = "CUDA events" if timer.cuda else "perf_counter"
    return out


class _FrameWatch:
    """Times at which the alpha files of a run appear (renames are atomic: present = whole),
    polled every 10 ms on a thread, so a CLI run's frame rate after its first frame is known."""

    def __init__(self, directory: Path, prefix: str):
        self.directory, self.prefix = directory, prefix
        self.times: list = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)

    def _poll(self):
        seen = 0
        while not self._stop.is_set():
            try:
                count = sum(1 for e in os.scandir(self.directory)
                            if e.name.startswith(self.prefix) and e.name.endswith(".exr"))
            except OSError:
                count = 0
            now = time.perf_counter()
            self.times.extend([now] * (count - seen))
            seen = max(seen, count)
            self._stop.wait(0.01)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


class _GpuBusy:
    """`nvidia-smi --query-gpu=utilization.gpu ... -lms 100` sampled on a thread: (time, %)."""

    def __init__(self, exe: str, gpu: int = 0):
        self.samples: list = []
        self._proc = subprocess.Popen([exe, "-i", str(gpu), "--query-gpu=utilization.gpu",
                                       "--format=csv,noheader,nounits", "-lms", "100"],
                                      stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self):
        for line in self._proc.stdout:
            try:
                self.samples.append((time.perf_counter(), float(line.strip().split(",")[0])))
            except ValueError:
                continue

    def stop(self):
        self._proc.terminate()
        self._proc.wait()
        self._thread.join()

    def mean(self, start: float, end: float):
        inside = [v for t, v in self.samples if start <= t <= end]
        return (sum(inside) / len(inside), len(inside)) if inside else (None, 0)


def cli_run(shot_path: Path, extra_env=None, watch: bool = False, gpu_busy=None) -> dict:
    """`python -m plugin run SHOT --force --quiet` as a fresh process: wall, CPU, peak RSS; with
    `watch`, the times its alpha files appear; with `gpu_busy` (a _GpuBusy), sampled meanwhile."""
    _settle()
    t0 = time.perf_counter()
    out_dir = shot_path.parent / "out"
    out_dir.mkdir(exist_ok=True)
    with _FrameWatch(out_dir, "bench_") if watch else contextlib.nullcontext() as frames:
        proc = subprocess.Popen([sys.executable, "-m", "plugin", "run", str(shot_path), "--force", "--quiet"],
                                env=_env(extra_env), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    err = proc.stderr.read().decode(errors="replace")
    proc.stderr.close()
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"CLI run failed: {err}")
    # ru_maxrss is in KiB on Linux, bytes on macOS.
    rss = usage.ru_maxrss * (1 if sys.platform == "darwin" else 1024)
    out = {"wall_s": wall, "cpu_s": usage.ru_utime + usage.ru_stime, "peak_rss_mb": rss / 2 ** 20}
    if watch:
        out["frame_times"] = [t - t0 for t in frames.times]
        out["t0"] = t0
    return out


def job_measure(shot_path: Path, inputs, n: int) -> dict:
    """Issue 22's job measure: the CLI run's frame rate after its first frame against the engine
    alone's (same frames, device and precision, this run), and the GPU's busy % meanwhile."""
    eng = engine_alone(shot_path, inputs)
    device = str(eng["net"].device)
    del eng["net"]
    import torch
    if torch.cuda.is_available():
        torch.cuda.empty_cache()  # leave the card to the CLI process
    exe = shutil.which("nvidia-smi")
    busy = _GpuBusy(exe) if exe else None
    try:
        cli = cli_run(shot_path, watch=True)
    finally:
        if busy is not None:
            busy.stop()
    times = cli["frame_times"]
    out = {"frames": n, "device": device, "engine_first_s": round(eng["first_s"], 3),
           "engine_fps_after_first": eng["fps_after_first"] and round(eng["fps_after_first"], 3),
           "cli_wall_s": round(cli["wall_s"], 2), "job_frames_seen": len(times)}
    if len(times) < 2 or times[-1] <= times[0]:
        out["job_fps_note"] = "the alpha files appeared together (writer behind): no frame rate; use more frames"
    else:
        job_fps = (len(times) - 1) / (times[-1] - times[0])
        out.update({"job_first_frame_s": round(times[0], 3), "job_fps_after_first": round(job_fps, 3)})
        if eng["fps_after_first"]:
            ratio = job_fps / eng["fps_after_first"]
            out["job_over_engine_fps"] = round(ratio, 3)
            out["fps_target"] = f">= 0.9x: {'met' if ratio >= 0.9 else 'not met'}"
        if busy is not None:
            mean, count = busy.mean(cli["t0"] + times[0], cli["t0"] + times[-1])
            out["gpu_busy_samples"] = count
            if mean is not None:
                out["gpu_busy_pct_after_first"] = round(mean, 1)
                out["gpu_busy_target"] = f">= 85%: {'met' if mean >= 85 else 'not met'}"
    out["gpu_busy_note"] = ("nvidia-smi utilization.gpu every 100 ms, GPU 0" if busy is not None
                            else "nvidia-smi not found: GPU busy not measured")
    return out


def main(argv=None) -> int:
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
                    help="also print per-stage ms per frame of an in-process job over N frames")
    ap.add_argument("--device", default="cpu", choices=DEVICES, help="engine device of every run (default cpu)")
    ap.add_argument("--precision", default="fp32", choices=PRECISIONS, help="engine precision of every run")
    ap.add_argument("--gpu-busy", action="store_true",
                    help="issue 22's job measure: CLI frame rate after its first frame vs the engine alone's, "
                         "and the GPU's busy %% (nvidia-smi) meanwhile, on a --plate-frames plate at --size")
    ap.add_argument("--plate-frames", type=int, metavar="N",
                    help="frames of the --gpu-busy plate (default: --frames; issue 22: 200 at --size 1920x1080)")
    args = ap.parse_args(argv)
    w, h = map(int, (args.size or ("256x144" if args.quick else "512x288")).split("x"))
    n = args.frames or (12 if args.quick else 24)
    n1, n2 = map(int, (args.rss_frames or ("50,300" if args.quick else "50,1000")).split(","))
    import torch
    if args.threads:
        torch.set_num_threads(args.threads)
        os.environ["OMP_NUM_THREADS"] = str(args.threads)  # the CLI child process
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}, cpu count {os.cpu_count()}, "
          f"load {os.getloadavg()[0]:.1f}, OMP_WAIT_POLICY {os.environ.get('OMP_WAIT_POLICY')}, "
          f"THP_MEM_ALLOC_ENABLE {os.environ.get('THP_MEM_ALLOC_ENABLE')} (both processes), "
          f"device {args.device}, precision {args.precision}")
    engine = {"device": args.device, "precision": args.precision}
    figures = {}
    with tempfile.TemporaryDirectory(prefix="matanyone-bench-") as tmp:
        tmp = Path(tmp)
        if not args.skip_rss:
            # First, while this process is small: a child's ru_maxrss starts from its parent's RSS
            # at fork (Linux carries the high-water mark across fork and exec).
            rss = {}
            for frames in (n1, n2):
                shot = write_shot(tmp / f"rss{frames}", frames, 32, 48, 1, **engine)
                r = cli_run(shot)
                rss[frames] = r
                print(f"peak RSS, 48x32 plate x {frames} frames: {r['peak_rss_mb']:.1f} MiB ({r['wall_s']:.1f} s)")
            ratio = rss[n2]["peak_rss_mb"] / rss[n1]["peak_rss_mb"]
            figures["rss"] = {"frames": [n1, n2], "peak_rss_mb": [round(rss[n1]["peak_rss_mb"], 1),
                                                                   round(rss[n2]["peak_rss_mb"], 1)],
                              "ratio": round(ratio, 3)}
            print(f"peak RSS {n2} vs {n1} frames: {ratio:.3f}x (target <= 1.10)")
        if args.stages:
            shot = write_shot(tmp / "stages", args.stages, h, w, args.warmup, args.dtype, **engine)
            stages = stage_times(shot, load_network(shot))
            clock = stages.pop("clock")
            figures["stages_ms_per_frame"] = {k: round(v * 1000, 3) for k, v in stages.items()}
            figures["stages_clock"] = clock
            print(f"stages {w}x{h} x {args.stages} frames (warm-up {args.warmup}), ms/frame ({clock} for the "
                  f"engine's stages, after the first step): "
                  + ", ".join(f"{k} {v * 1000:.2f}" for k, v in stages.items()))
        if args.gpu_busy:
            plate_n = args.plate_frames or n
            shot = write_shot(tmp / "job", plate_n, h, w, args.warmup, args.dtype, **engine)
            measure = job_measure(shot, load_inputs(shot), plate_n)
            measure.update({"plate": f"{w}x{h} ACEScg EXR half ZIP", "precision": args.precision})
            figures["job_measure"] = measure
            print("job measure: " + json.dumps(measure), flush=True)
        if not args.skip_speed:
            shot = write_shot(tmp / "speed", n, h, w, args.warmup, args.dtype, **engine)
            inputs = load_inputs(shot)
            speed = {"plate": f"{w}x{h}", "frames": n, "warmup": args.warmup, "rounds": args.rounds}
            if not args.processes_only:
                # Alternate engine and job runs; keep each one's best (the machine is shared and noisy).
                eng = engine_alone(shot, inputs)
                net, t_load = eng["net"], eng["load_s"]
                engs, jobs = [eng], []
                for _ in range(args.rounds):
                    jobs.append(job_in_process(shot, net))
                    engs.append(engine_alone(shot, inputs, net))
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
            frames_npy, mask_npy = save_engine_inputs(inputs, tmp / "speed")
            del inputs
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
