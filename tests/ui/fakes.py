"""A fake worker client with WorkerClient's methods, answering on its own thread like the real one.

Every request, result and notification goes through its `plugin.protocol` dataclass, as the
real client's do, so the fake cannot send a field the worker does not (or take one it refuses).

Frames are raw 8-bit RGBA files whose red channel holds the frame number (so a test can tell
which frame is shown); SAM masks are discs around the first positive click; a run sends one
`progress` per frame with a preview PNG and honours `cancel()`.
"""
from __future__ import annotations

import os
import queue
import tempfile
import threading
import time

from plugin import protocol
from ui.qt import QtCore, QtGui


class FakeWorkerError(Exception):
    user_error = True


class FakeWorkerClient:
    def __init__(self, on_notification=None, width=96, height=64, frames=range(1001, 1011),
                 frame_delay=0.02, fail=None, displays=None, scene=False, installed=None):
        self.on_notification = on_notification
        self.width, self.height = width, height
        self.frames = list(frames)
        self.frame_delay = frame_delay
        self.scene = scene              # True: a painted street scene with a walking figure (screenshots)
        self.paused = threading.Event()  # set: a run waits before its next frame
        self.fail = dict(fail or {})
        self.displays = displays if displays is not None else {"sRGB": ["ACES 1.0 - SDR Video", "Un-tone-mapped"]}
        self.calls = []                    # (method, params) in the order they were sent
        self.started = False
        self.closed = False
        self.cancelled = threading.Event()
        self.written = {}                  # frame -> the alpha (Grayscale8) a run "wrote" for it
        self.installed = installed         # None: no weights_status (an older worker); else {name: bool}
        self._dir = tempfile.mkdtemp(prefix="fake-worker-")
        self._queue = queue.Queue()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    # WorkerClient API
    def start(self):
        self.started = True
        return protocol.HelloResult(protocol=protocol.PROTOCOL_VERSION, pid=os.getpid(), python="3",
                                    package="test", device="cpu", temp_dir=self._dir).to_json()

    def call_async(self, method, params, callback):
        if method in protocol.REQUESTS:  # what the real client checks before sending
            protocol.REQUESTS[method].from_json(dict(params))
        self.calls.append((method, dict(params)))
        self._queue.put((method, dict(params), callback))

    def call(self, method, **params):
        done = threading.Event()
        box = {}

        def cb(result, error):
            box["result"], box["error"] = result, error
            done.set()
        self.call_async(method, params, cb)
        done.wait(10)
        if box.get("error"):
            raise box["error"]
        return box.get("result")

    def cancel(self):
        self.calls.append(("cancel", {}))
        self.cancelled.set()

    def close(self):
        self.closed = True
        self._queue.put(None)

    def calls_of(self, method):
        return [p for m, p in self.calls if m == method]

    # the "worker"
    def _serve(self):
        while True:
            item = self._queue.get()
            if item is None:
                return
            method, params, callback = item
            if method in self.fail:
                callback(None, FakeWorkerError(self.fail[method]))
                continue
            if method == "run_shot":  # runs beside other requests, as the real worker's job thread does
                threading.Thread(target=self._run_shot, args=(params, callback), daemon=True).start()
                continue
            if not hasattr(self, "_m_" + method):  # as the real worker answers
                callback(None, FakeWorkerError(f"worker error in {method}: unknown method {method!r}"))
                continue
            try:
                result = getattr(self, "_m_" + method)(**params)
                result = protocol.RESULTS[method].from_json(result).to_json()  # as the real client checks
            except Exception as err:  # noqa: BLE001
                callback(None, err)
            else:
                callback(result, None)

    def _m_open_plate(self, path, colourspace=None, ocio_config=None, frame_range=None):
        w, h = self.width, self.height
        return {"path": path, "frames": len(self.frames), "first": self.frames[0], "last": self.frames[-1],
                "width": w, "height": h, "colourspace": colourspace or "sRGB", "fps": 24.0,
                "is_movie": False, "channels": ["R", "G", "B"], "pixel_type": "half",
                "display_window": [0, 0, w, h], "data_window": [0, 0, w, h], "displays": self.displays}

    def _m_read_frame(self, frame, display=None, view=None, exposure=0.0, gamma=1.0, downscale=1):
        w, h = self.width // downscale, self.height // downscale
        if self.scene:
            image = scene_frame(frame - self.frames[0], w, h)
            path = os.path.join(self._dir, f"frame.{frame}.{downscale}.rgba")
            with open(path, "wb") as fh:
                fh.write(bytes(image.constBits())[: w * h * 4])
            return {"path": path, "width": w, "height": h, "format": "rgba8", "frame": frame,
                    "applied": self._applied(display, view)}
        red = frame % 256
        data = bytearray()
        for y in range(h):
            for x in range(w):
                data += bytes((red, (x * 255) // max(1, w - 1), (y * 255) // max(1, h - 1), 255))
        path = os.path.join(self._dir, f"frame.{frame}.{downscale}.rgba")
        with open(path, "wb") as fh:
            fh.write(bytes(data))
        return {"path": path, "width": w, "height": h, "format": "rgba8", "frame": frame,
                "applied": self._applied(display, view)}

    def _applied(self, display, view):
        """As the worker's read_frame: the display and view the image went through."""
        display = display or next(iter(self.displays), None)
        views = self.displays.get(display) or [None]
        return [display, view or views[0]] if display else None

    def _m_read_alpha(self, frame, paths, downscale=1):
        """As plugin.worker's read_alpha: raw 8-bit alpha per key, None where the frame has none."""
        alphas = {}
        for key in paths:
            image = self.written.get(frame)
            if image is None:
                alphas[key] = None
                continue
            w, h = image.width() // downscale, image.height() // downscale
            image = image.scaled(w, h)
            path = os.path.join(self._dir, f"alpha.{frame}.{key}.grey")
            from ui.panel.maskimage import tight_bytes
            with open(path, "wb") as fh:
                fh.write(tight_bytes(image))
            alphas[key] = {"path": path, "width": w, "height": h}
        return {"frame": frame, "alphas": alphas}

    def _m_sample_pixel(self, frame, x, y, paths=None):
        """As plugin.worker's sample_pixel: the plate's RGB under (x, y) (here the fake's frame
        values in 0-1) and each key's written alpha there, None where the frame has none."""
        w, h = self.width, self.height
        rgb = [(frame % 256) / 255.0, ((x * 255) // max(1, w - 1)) / 255.0, ((y * 255) // max(1, h - 1)) / 255.0]
        image = self.written.get(frame)
        value = None if image is None else QtGui.qGray(image.pixel(x, y)) / 255.0
        return {"frame": frame, "x": x, "y": y, "rgb": rgb, "colourspace": "sRGB",
                "alphas": {key: value for key in (paths or {})}}

    def _m_weights_status(self):
        """As plugin.worker's weights_status: matanyone_engine.weights.status() rows (`path` None: missing)."""
        if self.installed is None:
            raise FakeWorkerError("worker error in weights_status: unknown method 'weights_status'")
        return {"weights": [{"name": n, "file": n + ".pth", "path": f"/cache/{n}.pth" if ok else None,
                             "description": n, "size": 40000000, "licence": "test licence", "licence_url": ""}
                            for n, ok in self.installed.items()]}

    def _m_weights_get(self, name, accept_licence=False):
        self.installed[name] = True
        return {"name": name, "path": f"/cache/{name}.pth"}

    def _m_sam_embed(self, frame, **_kw):
        return {"handle": f"embed-{frame}", "width": self.width, "height": self.height, "model": "fake"}

    def _m_sam_mask(self, handle, points_pos, points_neg, box=None):
        if self.scene:
            frame = int(handle.split("-")[-1])
            path = os.path.join(self._dir, f"sam.{len(self.calls)}.png")
            scene_alpha(frame - self.frames[0], self.width, self.height, soft=False).save(path)
            return {"mask_path": path, "score": 0.97, "width": self.width, "height": self.height}
        image = QtGui.QImage(self.width, self.height, QtGui.QImage.Format_Grayscale8)
        image.fill(0)
        painter = QtGui.QPainter(image)
        painter.setPen(QtCore.Qt.NoPen)
        painter.setBrush(QtGui.QColor(255, 255, 255))
        for x, y in points_pos:
            painter.drawEllipse(QtCore.QPointF(x, y), 8, 8)
        painter.setBrush(QtGui.QColor(0, 0, 0))
        for x, y in points_neg:
            painter.drawEllipse(QtCore.QPointF(x, y), 4, 4)
        if box:
            painter.setBrush(QtGui.QColor(255, 255, 255))
            painter.drawRect(QtCore.QRectF(QtCore.QPointF(box[0], box[1]), QtCore.QPointF(box[2], box[3])))
        painter.end()
        path = os.path.join(self._dir, f"sam.{len(self.calls)}.png")
        image.save(path)
        return {"mask_path": path, "score": 0.9, "width": self.width, "height": self.height}

    def _run_shot(self, params, callback):
        self.cancelled.clear()
        total = len(self.frames)
        start = time.monotonic()
        for i, frame in enumerate(self.frames, 1):
            if self.cancelled.is_set():
                callback(None, FakeWorkerError(f"cancelled after frame {frame - 1}"))
                return
            time.sleep(self.frame_delay)
            while self.paused.is_set() and not self.cancelled.is_set():
                time.sleep(0.01)
            if self.scene:
                preview = scene_alpha(frame - self.frames[0], self.width, self.height, soft=True)
            else:
                preview = QtGui.QImage(self.width, self.height, QtGui.QImage.Format_Grayscale8)
                preview.fill(0)
                painter = QtGui.QPainter(preview)
                painter.fillRect(self.width // 4, self.height // 4, self.width // 2, self.height // 2,
                                 QtGui.QColor(255, 255, 255))
                painter.end()
            path = os.path.join(self._dir, f"preview.{frame}.png")
            preview.save(path)
            self.written[frame] = preview
            elapsed = time.monotonic() - start
            if self.on_notification:
                self.on_notification("progress", protocol.Progress(
                    frame=frame, done=i, total=total, fps=i / max(elapsed, 1e-6),
                    eta_s=(total - i) * elapsed / i, preview_path=path).to_json())
        shot_path = params["shot_path"]
        callback(protocol.ShotRun(
            status="done", outputs=self._outputs(shot_path), first=self.frames[0], last=self.frames[-1],
            frames_written=total, objects_run=tuple(self._outputs(shot_path)), objects_kept=(),
            weights_id="stand-in:fake", shot_path=shot_path, record_path=shot_path + ".run.json",
            log_path=shot_path + ".log", elapsed_s=time.monotonic() - start).to_json(), None)

    @staticmethod
    def _outputs(shot_path):
        """object name -> alpha pattern, as the real worker answers, from the shot file's output path."""
        import json
        with open(shot_path, encoding="utf-8") as fh:
            shot = json.load(fh)
        out = os.path.join(os.path.dirname(shot_path), shot["output"]["path"])
        return {o["name"]: os.path.normpath(out.replace("{object}", o["name"])) for o in shot["objects"]}


def _figure_parts(t: int, w: int, h: int):
    """A walking figure at frame index t (plate size w x h) as (colour, path) parts."""
    s = h / 540.0
    cx = w * 0.32 + t * 9 * s
    ground = h * 0.86
    swing = (t % 8 - 4) * 4 * s

    def rounded(x, y, rw, rh, r):
        path = QtGui.QPainterPath()
        path.addRoundedRect(QtCore.QRectF(x, y, rw, rh), r, r)
        return path
    parts = []
    for side in (-1, 1):
        parts.append(((52, 72, 120), rounded(cx + side * 30 * s - 20 * s + side * swing, ground - 140 * s,
                                             40 * s, 140 * s, 16 * s)))
    for side in (-1, 1):
        parts.append(((176, 48, 44), rounded(cx + side * 70 * s - 14 * s - side * swing, ground - 275 * s,
                                             28 * s, 130 * s, 12 * s)))
    parts.append(((190, 56, 50), rounded(cx - 58 * s, ground - 285 * s, 116 * s, 160 * s, 40 * s)))
    head = QtGui.QPainterPath()
    head.addEllipse(QtCore.QPointF(cx, ground - 330 * s), 34 * s, 40 * s)
    parts.append(((222, 176, 140), head))
    hair = QtGui.QPainterPath()
    for i in range(9):  # strands that make the top edge fine
        hair.addEllipse(QtCore.QPointF(cx - 30 * s + i * 7.5 * s, ground - 368 * s + abs(i - 4) * 3 * s),
                        3.5 * s, 13 * s)
    parts.append(((60, 40, 30), hair))
    return parts


def _figure_path(t: int, w: int, h: int) -> QtGui.QPainterPath:
    path = QtGui.QPainterPath()
    path.setFillRule(QtCore.Qt.WindingFill)
    for _colour, part in _figure_parts(t, w, h):
        path.addPath(part)
    return path


def scene_frame(t: int, w: int, h: int) -> QtGui.QImage:
    """A display-ready street-at-dusk frame with the figure in it (RGBA8888)."""
    image = QtGui.QImage(w, h, QtGui.QImage.Format_RGBA8888)
    p = QtGui.QPainter(image)
    p.setRenderHint(QtGui.QPainter.Antialiasing)
    sky = QtGui.QLinearGradient(0, 0, 0, h)
    sky.setColorAt(0.0, QtGui.QColor(38, 62, 104))
    sky.setColorAt(0.55, QtGui.QColor(214, 138, 92))
    sky.setColorAt(0.56, QtGui.QColor(70, 66, 70))
    sky.setColorAt(1.0, QtGui.QColor(44, 42, 46))
    p.fillRect(0, 0, w, h, sky)
    p.setPen(QtCore.Qt.NoPen)
    for i, (x, bh) in enumerate(((0.02, 0.30), (0.14, 0.42), (0.30, 0.25), (0.55, 0.38), (0.72, 0.47), (0.88, 0.33))):
        p.setBrush(QtGui.QColor(30 + 6 * i, 32 + 4 * i, 44 + 5 * i))
        p.drawRect(QtCore.QRectF(x * w, h * (0.56 - bh), 0.13 * w, h * bh))
        p.setBrush(QtGui.QColor(250, 210, 120, 150))
        for k in range(4):
            p.drawRect(QtCore.QRectF((x + 0.02 + 0.025 * (k % 2)) * w, h * (0.56 - bh + 0.05 + 0.06 * (k // 2)),
                                     0.012 * w, 0.025 * h))
    for colour, part in _figure_parts(t, w, h):
        p.setBrush(QtGui.QColor(*colour))
        p.drawPath(part)
    p.end()
    return image


def scene_alpha(t: int, w: int, h: int, soft: bool = True) -> QtGui.QImage:
    """The figure's matte at frame index t (Grayscale8), with a soft edge when `soft`."""
    image = QtGui.QImage(w, h, QtGui.QImage.Format_Grayscale8)
    image.fill(0)
    p = QtGui.QPainter(image)
    p.setRenderHint(QtGui.QPainter.Antialiasing)
    path = _figure_path(t, w, h)
    if soft:  # a soft edge: rings of falling grey outside the silhouette
        p.setBrush(QtCore.Qt.NoBrush)
        for k in range(4, 0, -1):
            p.setPen(QtGui.QPen(QtGui.QColor(*(3 * (255 - 50 * k,))), 1.5 * k * h / 540.0))
            p.drawPath(path)
    p.setPen(QtCore.Qt.NoPen)
    p.setBrush(QtGui.QColor(255, 255, 255))
    p.drawPath(path)
    p.end()
    return image
