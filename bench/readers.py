"""Reader-pool benchmark (issue 22): can the job's readers feed an engine that takes 60 frames/s?

    python bench/readers.py            # 1920x1080, 4 distinct frames, a few dozen frames a run
    python bench/readers.py --quick    # the same at fewer frames (under a minute on 2 cores)

No GPU needed: the job's own reader pool (`plugin.job.frames.OrderedReader` over a
`FrameLoader`, `reader_threads()` with `MATANYONE_PLUGIN_READERS` set to the count under test,
so the readers run at idle priority exactly as in a job) feeds a fake engine that takes one
frame every 1/60 s (it sleeps; no compute). The plate is a 1920x1080 ACEScg EXR sequence, half
float, ZIP, written here with OpenImageIO: a few distinct frames, hard-linked to make the
sequence longer (so the files come from the page cache: disk reads are not measured).

Printed for readers = 1 .. the core count, for the job's colour (exact OCIO, the default network
input: the built-in config's default display/view, ACES 2.0 for ACEScg) and, as a comparison
only, the viewer's baked LUT (`to_network_input(..., fast=True)`, patched in for the run; the
product does not use it for the network):
  - frames/s delivered after the first frame, and the engine's wait per frame (and the share
    of the wall time the fake engine was busy);
  - CPU seconds per frame of the whole process during the run (all the readers do: decode,
    colour, copies), and, measured one frame at a time on this thread beforehand, of decode and
    of colour alone (process CPU time, so OpenImageIO's and OCIO's own threads count);
  - from those: the cores each colour path needs for 60 and for 0.9 x 60 frames/s.
"""
from __future__ import annotations

import argparse
import contextlib
import functools
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
FPS = 60.0
DEVICE_CORES = 16  # the GPU machine issue 22 targets


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def write_plate(directory: Path, n: int, distinct: int, w: int, h: int) -> Path:
    """`distinct` scene-linear ACEScg frames (half, ZIP), hard-linked into an n-frame sequence,
    and a shot file (its one object's mask is not given to the readers: they load masks only at
    keyframes, once per object)."""
    import OpenImageIO as oiio
    plates = directory / "plates"
    plates.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(22)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    sources = []
    for i in range(distinct):
        # A graded-looking plate: a lit gradient from deep shadow to bright highlights (0.002-40),
        # saturated patches, and grain, so every branch of the ACES 2.0 transform is exercised.
        base = 0.002 * np.exp2(12.0 * (xx / w) + 2.0 * np.sin(yy / h * 3.1 + i))
        rgb = np.stack([base * (1.0 + 0.5 * np.sin(i + xx / 97.0)), base,
                        base * (1.0 + 0.5 * np.cos(i + yy / 61.0))], axis=-1)
        rgb *= 1.0 + 0.05 * rng.standard_normal((h, w, 3)).astype(np.float32)
        rgb[h // 3:h // 2, w // 5:w // 3] = (4.0, 0.2, 0.05)
        path = plates / f"p.{1001 + i:04d}.exr"
        spec = oiio.ImageSpec(w, h, 3, "half")
        spec.attribute("compression", "zip")
        spec.attribute("oiio:ColorSpace", "ACEScg")
        out = oiio.ImageOutput.create(str(path))
        if not out.open(str(path), spec) or not out.write_image(rgb.astype(np.float32)):
            raise RuntimeError(f"cannot write {path}: {oiio.geterror()}")
        out.close()
        sources.append(path)
    for i in range(distinct, n):
        target = plates / f"p.{1001 + i:04d}.exr"
        try:
            os.link(sources[i % distinct], target)
        except OSError:
            import shutil
            shutil.copyfile(sources[i % distinct], target)
    mask = np.zeros((h, w, 1), np.uint8)
    mask[h // 3:h // 2, w // 5:w // 3] = 255
    out = oiio.ImageOutput.create(str(directory / "mask.png"))
    out.open(str(directory / "mask.png"), oiio.ImageSpec(w, h, 1, "uint8"))
    out.write_image(mask)
    out.close()
    shot = {"version": 1,
            "plate": {"path": "plates/p.####.exr", "first": 1001, "last": 1000 + n, "colourspace": "ACEScg"},
            "objects": [{"id": 1, "name": "patch", "keyframes": {"1001": "mask.png"}}], "mask_cleanup": {"dilate": 0, "erode": 0},
            "engine": {"weights": "stand-in:bench", "device": "cpu"},
            "output": {"path": "out/bench_{object}.####.exr"}}
    path = directory / "shot.json"
    path.write_text(json.dumps(shot, indent=2))
    return path


@contextlib.contextmanager
def colour_path(fast: bool):
    """The LUT comparison: `plugin.color.network_input_bands` with fast=True for the run (a
    FrameLoader looks it up when it is made); exact: left as it is."""
    from plugin import color
    original = color.network_input_bands
    if fast:
        color.network_input_bands = functools.partial(original, fast=True)
    try:
        yield
    finally:
        color.network_input_bands = original


def stage_cpu(shot, plate, frames, fast: bool) -> dict:
    """Process CPU seconds per frame of decode and of colour, one frame at a time on this thread
    (as a reader calls them: colour with parallel=False; the LUT path splits big frames over
    `plugin.color`'s own pool whatever `parallel` says, and those threads count here)."""
    from plugin import color
    decode = colour = 0.0
    for f in frames:
        c0 = _cpu()
        image = plate.read(f)
        c1 = _cpu()
        color.to_network_input(image, shot.plate.colourspace, config=shot.plate.ocio_config,
                               display=shot.display, view=shot.view, fast=fast, parallel=False)
        decode, colour = decode + c1 - c0, colour + _cpu() - c1
    return {"decode": decode / len(frames), "colour": colour / len(frames)}


def pool_run(shot, plate, frames, readers: int, fast: bool) -> dict:
    """The job's reader pool feeding a fake engine that takes 1/60 s per frame."""
    from plugin.job.frames import FrameLoader, OrderedReader, reader_threads
    os.environ["MATANYONE_PLUGIN_READERS"] = str(readers)
    threads = reader_threads()
    assert threads == readers, (threads, readers)
    waits = []
    with colour_path(fast):
        t0, c0 = time.perf_counter(), _cpu()
        reader = OrderedReader(FrameLoader(shot, plate, [], None), list(frames), threads)
        try:
            t_first = None
            for f in frames:
                t = time.perf_counter()
                got, image, _ = reader.next()
                waits.append(time.perf_counter() - t)
                assert got == f and image.shape == (plate.height, plate.width, 3), (got, f, image.shape)
                if t_first is None:
                    t_first = time.perf_counter()
                time.sleep(1.0 / FPS)  # the fake engine's step
        finally:
            reader.close()
        wall, cpu = time.perf_counter() - t0, _cpu() - c0
    n = len(frames)
    steady_wait = sum(waits[1:]) / (n - 1)
    return {"readers": readers, "frames": n, "fps": (n - 1) / (t0 + wall - t_first),
            "first_wait_s": waits[0], "wait_s": steady_wait,
            "busy": (1.0 / FPS) / (1.0 / FPS + steady_wait), "cpu_s": cpu / n, "wall_s": wall}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer frames (under a minute on 2 cores)")
    ap.add_argument("--size", default="1920x1080", help="plate WxH (default 1920x1080)")
    ap.add_argument("--distinct", type=int, help="distinct frames in the plate (default 4, --quick 2)")
    ap.add_argument("--max-readers", type=int, help="largest reader count (default: the core count)")
    ap.add_argument("--exact-frames", type=int, help="frames per reader and run, exact colour (default 6, --quick 2)")
    ap.add_argument("--lut-frames", type=int, help="frames per reader and run, LUT colour (default 24, --quick 8)")
    args = ap.parse_args()
    w, h = map(int, args.size.split("x"))
    cores = os.cpu_count() or 1
    top = args.max_readers or cores
    per_reader = {False: args.exact_frames or (2 if args.quick else 6),
                  True: args.lut_frames or (8 if args.quick else 24)}
    distinct = args.distinct or (2 if args.quick else 4)
    n_plate = max(max(per_reader.values()) * top + 1, distinct)
    from plugin import color, plates
    from plugin.color_lut import baked_display
    from plugin.job.frames import READERS_MAX
    from plugin.shot import Shot
    print(f"cpu count {cores}, load {os.getloadavg()[0]:.1f}, plate {w}x{h} ACEScg half ZIP, "
          f"{distinct} distinct frames hard-linked to {n_plate}; fake engine {FPS:g} frames/s (sleeps)")
    rows, stages = [], {}
    with tempfile.TemporaryDirectory(prefix="matanyone-readers-") as tmp:
        t = time.perf_counter()
        shot = Shot.load(write_plate(Path(tmp), n_plate, distinct, w, h))
        print(f"plate written in {time.perf_counter() - t:.1f} s; network input: display/view "
              f"{color.default_display_view(shot.plate.ocio_config)} of {color.config_name(shot.plate.ocio_config)}")
        with plates.open(shot.plate.path) as plate:
            t = time.perf_counter()
            baked = baked_display(shot.plate.colourspace, display=shot.display, view=shot.view,
                                  config=shot.plate.ocio_config)
            print(f"LUT: {baked} (first use {time.perf_counter() - t:.2f} s, paid once per process)")
            sample = plate.frames[:distinct]
            for fast in (False, True):
                stages[fast] = stage_cpu(shot, plate, sample, fast)
                for readers in range(1, top + 1):
                    frames = plate.frames[:per_reader[fast] * readers + 1]
                    r = pool_run(shot, plate, frames, readers, fast)
                    r["colour"] = "LUT" if fast else "exact"
                    rows.append(r)
                    print(f"  {r['colour']:5s} readers {readers}: {r['fps']:6.2f} frames/s, engine waited "
                          f"{r['wait_s'] * 1000:7.1f} ms/frame (busy {r['busy'] * 100:5.1f}%; first frame "
                          f"{r['first_wait_s']:.2f} s), {r['cpu_s']:.3f} CPU s/frame, {r['frames']} frames "
                          f"in {r['wall_s']:.1f} s", flush=True)
    print(f"\nload {os.getloadavg()[0]:.1f} at the end (the machine is shared: readers run at idle priority)")
    print("\nper frame, CPU seconds (stages: one frame at a time; pool: whole process, readers = 1):")
    need = {}
    for fast in (False, True):
        name = "LUT" if fast else "exact"
        s = stages[fast]
        pool = next(r for r in rows if r["colour"] == name and r["readers"] == 1)["cpu_s"]
        per_frame = max(pool, s["decode"] + s["colour"])
        need[name] = per_frame
        print(f"  {name:5s}: decode {s['decode']:.3f}, colour {s['colour']:.3f}, pool {pool:.3f} -> "
              f"{per_frame * FPS:5.1f} cores for {FPS:g} frames/s, {per_frame * FPS * 0.9:5.1f} for "
              f"{FPS * 0.9:g} frames/s")
        print(f"         on the {DEVICE_CORES}-core device, the readers could deliver (if they scaled linearly) "
              f"{DEVICE_CORES / per_frame:.1f} frames/s with its {DEVICE_CORES} readers "
              f"(one per core, at most {READERS_MAX})")
    for name in ("exact", "LUT"):
        by = {r["readers"]: r["fps"] for r in rows if r["colour"] == name}
        scale = ", ".join(f"{n}: {by[n] / by[1]:.2f}x" for n in sorted(by))
        print(f"  {name:5s} frames/s vs one reader: {scale}")
    print(f"  colour exact / LUT CPU per frame: {need['exact'] / need['LUT']:.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
