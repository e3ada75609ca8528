"""Viewer scrubbing speed over a 1080p EXR shot, through the real worker and the real panel.

    python bench/viewer.py [--frames 48] [--plate PATTERN] [--width 1920 --height 1080]

Prints, for full resolution and the 1/2 proxy:
  step fps   - frames shown per second when every frame must be shown (arrow key held down),
               cold (first pass: decode + OCIO + file) and warm (worker's decoded-frame cache);
  drag fps   - distinct frames shown per second while the slider is dragged at 60 requests/s,
               and what share of the frames passed over got shown;
  max stall  - the longest the UI event loop was blocked meanwhile (a 5 ms QTimer probe);
and a baseline in the same run: OpenImageIO reading one frame straight from disk, so the
figures can be compared between machines as ratios.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def make_plate(folder: str, frames: int, width: int, height: int) -> str:
    """A scene-linear half-float EXR sequence with texture everywhere (so compression works as on a plate)."""
    import numpy as np
    import OpenImageIO as oiio
    os.makedirs(folder, exist_ok=True)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    rng = np.random.default_rng(7)
    grain = rng.normal(0, 0.01, (height, width, 1)).astype(np.float32)
    for i in range(frames):
        base = 0.18 * (1.0 + 0.5 * np.sin(xx / 97.0 + i * 0.2) * np.cos(yy / 61.0))
        rgb = np.stack([base * 1.1, base, base * 0.8], axis=-1) + grain
        spec = oiio.ImageSpec(width, height, 3, oiio.HALF)
        spec.attribute("compression", "zip")
        out = oiio.ImageOutput.create(os.path.join(folder, f"bench.{1001 + i:04d}.exr"))
        out.open(os.path.join(folder, f"bench.{1001 + i:04d}.exr"), spec)
        out.write_image(rgb.astype(np.float16))
        out.close()
    return os.path.join(folder, "bench.####.exr")


def baseline_read(pattern: str, frame: int) -> float:
    import OpenImageIO as oiio
    path = pattern.replace("####", f"{frame:04d}")
    start = time.perf_counter()
    oiio.ImageBuf(path).get_pixels(oiio.FLOAT)
    return time.perf_counter() - start


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--frames", type=int, default=24)
    ap.add_argument("--width", type=int, default=1920)
    ap.add_argument("--height", type=int, default=1080)
    ap.add_argument("--plate", help="an existing plate pattern instead of a generated one")
    ap.add_argument("--fake", action="store_true",
                    help="time the panel alone, against the test suite's fake worker (no decode, no OCIO)")
    ap.add_argument("--view", default="Un-tone-mapped",
                    help="a second OCIO view to time at full res (default: Un-tone-mapped)")
    args = ap.parse_args(argv)

    from ui.qt import QtCore, QtWidgets
    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication([sys.argv[0]])
    from ui.panel.widgets import Panel

    factory = None
    if args.fake:
        # the panel's own path (request scheduling, file -> QImage, paint) with a worker that answers at once
        sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        from tests.ui.fakes import FakeWorkerClient

        def factory(on_notification):
            return FakeWorkerClient(on_notification, width=args.width, height=args.height,
                                    frames=range(1001, 1001 + args.frames), scene=True)
    pattern = args.plate or ("/fake/plate.####.exr" if args.fake else None)
    if not pattern:
        t0 = time.perf_counter()
        pattern = make_plate(os.path.join(tempfile.mkdtemp(prefix="bench-viewer-"), "plates"),
                             args.frames, args.width, args.height)
        print(f"made {args.frames} frames {args.width}x{args.height} half EXR in {time.perf_counter() - t0:.1f} s")

    panel = Panel(client_factory=factory)
    panel.resize(1600, 900)
    panel.show()
    c = panel.controller
    probe = {"max": 0.0, "last": time.perf_counter()}

    def tick():
        now = time.perf_counter()
        probe["max"] = max(probe["max"], now - probe["last"])
        probe["last"] = now
    timer = QtCore.QTimer()
    timer.setInterval(5)
    timer.timeout.connect(tick)

    def pump_until(cond, timeout=300.0):
        end = time.perf_counter() + timeout
        while not cond():
            app.processEvents()  # (the flags+maxtime overload trips a refcount bug in PySide6 6.12)
            time.sleep(0.001)
            if time.perf_counter() > end:
                raise SystemExit("timed out waiting for the worker")

    t0 = time.perf_counter()
    c.open_plate(pattern)
    pump_until(lambda: panel.viewer.image is not None)
    print(f"worker start + open + first frame: {time.perf_counter() - t0:.2f} s "
          f"({c.plate.width}x{c.plate.height}, {len(c.plate.frames)} frames)")
    frames = c.plate.frames[:args.frames]
    base = min(baseline_read(pattern, f) for f in frames[:3]) if not args.fake else 1.0
    if not args.fake:
        print(f"baseline: OpenImageIO reads one frame in {base * 1000:.1f} ms ({1 / base:.1f} fps)")

    def step_pass(label):
        probe["max"], probe["last"] = 0.0, time.perf_counter()
        timer.start()
        start = time.perf_counter()
        for f in frames:
            c.set_frame(f)
            pump_until(lambda f=f: panel.viewer.image_frame == f)
        elapsed = time.perf_counter() - start
        timer.stop()
        fps = len(frames) / elapsed
        ratio = "" if args.fake else f"  ({fps * base:.2f}x baseline)"
        print(f"{label:<28} step {fps:6.1f} fps{ratio}  max stall {probe['max'] * 1000:5.1f} ms")
        return fps

    def drag_pass(label):
        probe["max"], probe["last"] = 0.0, time.perf_counter()
        shown = set()
        c.subscribe(lambda ev, p: shown.add(p["frame"]) if ev == "frame" else None)
        timer.start()
        start = time.perf_counter()
        for f in frames:
            c.set_frame(f)
            until = time.perf_counter() + 1 / 60.0
            while time.perf_counter() < until:
                app.processEvents()
                time.sleep(0.001)
        pump_until(lambda: frames[-1] in shown)  # the slider stops on the last frame: it must show
        elapsed = time.perf_counter() - start
        timer.stop()
        shown &= set(frames)
        print(f"{label:<28} drag {len(shown) / elapsed:6.1f} fps  shown {len(shown)}/{len(frames)} frames "
              f"in {elapsed:.2f} s  max stall {probe['max'] * 1000:5.1f} ms")

    for downscale, name in ((1, "full res"), (2, "1/2 proxy")):
        panel.proxy.setCurrentIndex(panel.proxy.findData(downscale))
        c.frames.reset(frames, c._view_key())
        step_pass(f"{name}, cold worker cache" if downscale == 1 else f"{name}")
        c.frames.reset(frames, c._view_key())
        step_pass(f"{name}, warm worker cache")
        c.frames.reset(frames, c._view_key())
        drag_pass(f"{name}, drag")
    if args.view and not args.fake and panel.view.findData(args.view) >= 0:
        # the same frames through a cheaper view: what the display transform itself costs
        panel.proxy.setCurrentIndex(panel.proxy.findData(1))
        panel.view.setCurrentIndex(panel.view.findData(args.view))
        c.frames.reset(frames, c._view_key())
        step_pass(f"full res, view {args.view}")
    step_frames = c.frames
    print(f"panel cache: {len(step_frames)} frames kept (capacity {step_frames.capacity})")
    c.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
