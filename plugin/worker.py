"""The worker: the engine in its own process, spoken to in JSON-RPC 2.0 lines (plugin.protocol).

`python -m plugin worker` reads requests on stdin and answers on stdout; stderr is its log.
Hosts never import torch: they start this with the product's interpreter (plugin.client).

Threads: the main thread reads stdin and answers quick requests (hello, cancel,
weights_status, shutdown) at once; frame decoding, SAM and weight downloads run on a small
pool; `run_shot` runs on its own thread and is cancelled at the next frame boundary by
`cancel`. A newer `read_frame` supersedes older ones still waiting (scrubbing).
"""
from __future__ import annotations

import collections
import itertools
import logging
import os
import sys
import tempfile
import threading
import traceback
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Dict, Optional, Tuple

from plugin import protocol
from plugin.errors import is_user_error, kind_of

log = logging.getLogger("matanyone.worker")

FRAME_CACHE_BYTES = 1 << 30  # decoded float frames kept for scrubbing
KEEP_FILES = 8               # temp frame/mask files kept per kind (the UI reads the latest)


class _RequestError(Exception):
    """An error answered with a specific protocol code."""

    def __init__(self, code: int, message: str):
        super().__init__(message)
        self.code = code


class DecodedFrames:
    """LRU of decoded arrays (plate frames float32 HxWx3, written alphas HxW), bounded in bytes."""

    def __init__(self, max_bytes: int = FRAME_CACHE_BYTES):
        self.max_bytes = max_bytes
        self._items: "collections.OrderedDict[Any, Any]" = collections.OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, key):
        with self._lock:
            item = self._items.get(key)
            if item is not None:
                self._items.move_to_end(key)
            return item

    def put(self, key, value) -> None:
        with self._lock:
            if key in self._items:
                self._bytes -= self._items.pop(key).nbytes
            self._items[key] = value
            self._bytes += value.nbytes
            while self._bytes > self.max_bytes and len(self._items) > 1:
                _, old = self._items.popitem(last=False)
                self._bytes -= old.nbytes

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._bytes = 0

    def __len__(self) -> int:
        return len(self._items)


class Worker:
    def __init__(self, out_stream, temp_dir: Optional[str] = None):
        self._out = out_stream
        self._out_lock = threading.Lock()
        self.temp_dir = temp_dir or tempfile.mkdtemp(prefix="matanyone-worker-")
        self.greeted = False
        self.refused = False
        self.plate = None
        self.plate_path = None
        self.colourspace = None
        self.ocio_config = None
        self.cache = DecodedFrames()
        self.alpha_cache = DecodedFrames(256 << 20)  # written alphas (read_alpha, sample_pixel), by file and mtime
        self.pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="matanyone-worker")
        self.frame_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="matanyone-frames")
        self._frame_seq = itertools.count(1)
        self._latest_frame_request = 0
        self._files: Dict[str, "collections.deque"] = collections.defaultdict(collections.deque)
        self._sam = None
        self._sam_model = None
        self._network = None   # (network_key, network): the last one, reused while the key holds
        self._job_thread: Optional[threading.Thread] = None
        self._job_busy = False
        self._job_cancel = threading.Event()
        self._download_cancel = threading.Event()
        self._lock = threading.Lock()
        self.stop = threading.Event()

    # -- output ---------------------------------------------------------------------
    def send(self, message: Dict[str, Any]) -> None:
        data = protocol.encode(message)
        with self._out_lock:
            self._out.write(data)
            self._out.flush()

    def notify(self, note: protocol.Message) -> None:
        """Send one notification (a `protocol.NOTES` dataclass)."""
        self.send(protocol.notification(note.method, note.to_json()))

    # -- dispatch -------------------------------------------------------------------
    def handle_line(self, line: bytes) -> None:
        try:
            msg = protocol.decode(line)
        except protocol.ProtocolError as err:
            self.send(protocol.error(None, protocol.PARSE_ERROR, f"bad message: {err}"))
            return
        if not protocol.is_request(msg):
            return  # notifications from a client are ignored
        msg_id, method = msg["id"], msg["method"]
        kind = protocol.REQUESTS.get(method)
        if kind is not None:
            try:  # checked before anything runs: a bad parameter changes nothing
                params = kind.from_json(msg.get("params") or {})
            except protocol.ParamsError as err:
                self.send(protocol.error(msg_id, protocol.INVALID_PARAMS, str(err)))
                return
        if method == protocol.HELLO:
            self._answer(msg_id, lambda: self.hello(params))
            return
        if self.refused:
            self.send(protocol.error(msg_id, protocol.VERSION_MISMATCH, "protocol version refused; say hello "
                                     f"with protocol {protocol.PROTOCOL_VERSION}"))
            return
        if not self.greeted:
            self.send(protocol.error(msg_id, protocol.INVALID_REQUEST,
                                     "say hello first (with the client's protocol version)"))
            return
        handler = self._handlers().get(method)
        if kind is None or handler is None:
            self.send(protocol.error(msg_id, protocol.METHOD_NOT_FOUND, f"unknown method {method[:60]!r}"))
            return
        if method in (protocol.CANCEL, protocol.SHUTDOWN, protocol.WEIGHTS_STATUS):
            self._answer(msg_id, lambda: handler(params))
        elif method == protocol.READ_FRAME:
            seq = next(self._frame_seq)
            self._latest_frame_request = seq
            self.frame_pool.submit(self._answer, msg_id, lambda: self._read_frame_unless_superseded(seq, params))
        elif method == protocol.RUN_SHOT:
            self._answer_async_job(msg_id, params)
        else:
            self.pool.submit(self._answer, msg_id, lambda: handler(params))

    def _handlers(self) -> Dict[str, Callable[[Any], protocol.Message]]:
        return {protocol.OPEN_PLATE: self.do_open_plate, protocol.READ_FRAME: self.do_read_frame,
                protocol.SAM_EMBED: self.do_sam_embed, protocol.SAM_MASK: self.do_sam_mask,
                protocol.READ_MASK: self.do_read_mask, protocol.READ_ALPHA: self.do_read_alpha,
                protocol.RUN_SHOT: self.do_run_shot,
                protocol.CANCEL: self.do_cancel, protocol.WEIGHTS_STATUS: self.do_weights_status,
                protocol.WEIGHTS_GET: self.do_weights_get, protocol.SHUTDOWN: self.do_shutdown,
                protocol.WRITE_MATTE_MOVIE: self.do_write_matte_movie, protocol.SAMPLE_PIXEL: self.do_sample_pixel}

    def _answer(self, msg_id, fn: Callable[[], protocol.Message]) -> None:
        try:
            value = fn().to_json()
        except _RequestError as err:
            self.send(protocol.error(msg_id, err.code, str(err)))
        except BaseException as err:  # noqa: BLE001 - every error becomes one JSON-RPC error
            if is_user_error(err):
                self.send(protocol.error(msg_id, protocol.USER_ERROR, str(err), kind=kind_of(err)))
            else:
                self._internal(msg_id, err)
        else:
            self.send(protocol.result(msg_id, value))

    def _internal(self, msg_id, err: BaseException) -> None:
        text = traceback.format_exc()
        sys.stderr.write(text)
        sys.stderr.flush()
        path = _save_traceback(text)
        self.send(protocol.error(msg_id, protocol.INTERNAL_ERROR, f"{type(err).__name__}: {err}", log=path))

    # -- requests ---------------------------------------------------------------------
    def hello(self, params: protocol.Hello) -> protocol.HelloResult:
        version = params.protocol
        if version != protocol.PROTOCOL_VERSION:
            self.refused = True
            raise _RequestError(protocol.VERSION_MISMATCH,
                           protocol.version_mismatch_message(version, protocol.PROTOCOL_VERSION))
        self.greeted = True
        try:
            import torch
            torch_version, cuda = torch.__version__, bool(torch.cuda.is_available())
        except ImportError:
            torch_version, cuda = None, False
        return protocol.HelloResult(protocol=protocol.PROTOCOL_VERSION, pid=os.getpid(),
                                    python=sys.version.split()[0], package=_package_version(),
                                    device=_device_in_use(), temp_dir=self.temp_dir,
                                    torch=torch_version, cuda=cuda)

    def do_shutdown(self, params: protocol.Shutdown) -> protocol.ShutdownResult:
        self._job_cancel.set()
        self._download_cancel.set()
        self.stop.set()
        return protocol.ShutdownResult(ok=True)

    def do_cancel(self, params: protocol.Cancel) -> protocol.Cancelled:
        running = self._job_busy
        self._job_cancel.set()
        self._download_cancel.set()
        return protocol.Cancelled(cancelled=running)

    def do_open_plate(self, params: protocol.OpenPlate) -> protocol.PlateOpened:
        from plugin import color, plates
        plate = plates.open(params.path, params.frame_range)
        try:  # everything that can fail, before the new plate replaces the open one
            colourspace = params.colourspace or plate.colourspace_guess
            if params.colourspace:
                color.resolve_colourspace(colourspace, params.ocio_config)
            displays = color.displays_and_views(params.ocio_config)
            dw, dd = plate.display_window, plate.data_window
            opened = protocol.PlateOpened(
                path=params.path, first=plate.first, last=plate.last, frames=len(plate.frames),
                width=plate.width, height=plate.height, is_movie=bool(plate.is_movie),
                channels=tuple(plate.channels), pixel_type=plate.pixel_type,
                display_window=(dw.x, dw.y, dw.width, dw.height), data_window=(dd.x, dd.y, dd.width, dd.height),
                displays={d: tuple(v) for d, v in displays.items()}, colourspace=colourspace,
                colourspaces=tuple(color.colourspaces(params.ocio_config)),
                colourspace_guess=plate.colourspace_guess, fps=plate.fps, timecode=plate.timecode)
        except BaseException:
            plate.close()
            raise
        with self._lock:
            if self.plate is not None:
                self.plate.close()
            self.plate, self.plate_path = plate, params.path
            self.colourspace, self.ocio_config = colourspace, params.ocio_config
            self.cache.clear()
        return opened

    def _plate_frame(self, frame: int):
        plate = self.plate
        if plate is None:
            raise _RequestError(protocol.NOT_READY, "no plate is open: call open_plate first")
        key = (self.plate_path, frame)
        image = self.cache.get(key)
        if image is None:
            image = plate.read(frame)
            self.cache.put(key, image)
        return image

    def _read_frame_unless_superseded(self, seq: int, params: protocol.ReadFrame) -> protocol.FrameRead:
        if seq != self._latest_frame_request:
            raise _RequestError(protocol.CANCELLED, "superseded by a newer read_frame")
        return self.do_read_frame(params)

    def do_read_frame(self, params: protocol.ReadFrame) -> protocol.FrameRead:
        import numpy as np
        from plugin import color
        frame, downscale = params.frame, params.downscale
        image = self._plate_frame(frame)
        if downscale > 1:
            image = image[::downscale, ::downscale]
        shown, _menu = color.display_frame(  # the menu went out once, with open_plate
            image, self.colourspace, display=params.display, view=params.view,
            exposure=params.exposure, gamma=params.gamma,
            config=self.ocio_config)
        h, w = shown.shape[:2]
        rgba = np.empty((h, w, 4), np.uint8)
        rgba[..., :3] = np.round(shown * 255.0).astype(np.uint8)  # display-ready 8-bit for the viewer
        rgba[..., 3] = 255
        path = self._temp_file("frame", f"frame.{frame}.rgba")
        with open(path + ".tmp", "wb") as f:
            f.write(rgba.tobytes())
        os.replace(path + ".tmp", path)
        return protocol.FrameRead(path=path, width=w, height=h, frame=frame, format="rgba8",
                                  applied=self._applied(params.display, params.view))

    def _applied(self, display: Optional[str], view: Optional[str]) -> Optional[Tuple[str, str]]:
        """(display, view) the viewer's image went through, or None: a display-referred plate shown as the file."""
        from plugin import color
        if color.is_display_referred(self.colourspace, self.ocio_config):
            return None
        if display and view:
            return (display, view)
        return tuple(color.default_display_view(self.ocio_config, display or None))

    def _temp_file(self, kind: str, name: str) -> str:
        seq = next(self._frame_seq)
        path = os.path.join(self.temp_dir, f"{seq:08d}.{name}")
        files = self._files[kind]
        files.append(path)
        while len(files) > KEEP_FILES:
            old = files.popleft()
            try:
                os.remove(old)
            except OSError:
                pass
        return path

    def _sam_assist(self, model: str):
        if self._sam is None or self._sam_model != model:
            from matanyone_engine.sam import SamAssist
            from plugin import settings
            s = settings.current()
            self._sam = SamAssist.create(model=model, device=s.device, weights_dir=s.weights_dir)
            self._sam_model = model
        return self._sam

    def do_sam_embed(self, params: protocol.SamEmbed) -> protocol.SamEmbedded:
        from plugin import color
        frame, model, display, view = params.frame, params.model, params.display, params.view
        image = color.to_network_input(self._plate_frame(frame), self.colourspace, config=self.ocio_config,
                                       display=display, view=view)
        sam = self._sam_assist(model)
        key = f"{self.plate_path}|{frame}|{self.colourspace}|{display}|{view}"
        handle = sam.embed(image, key=key)
        return protocol.SamEmbedded(handle=handle.key, width=image.shape[1], height=image.shape[0],
                                    model=sam.model_id)

    def do_sam_mask(self, params: protocol.SamMask) -> protocol.SamMasked:
        from plugin import masks
        if self._sam is None:
            raise _RequestError(protocol.NOT_READY, "no frame is embedded for SAM: call sam_embed first")
        res = self._sam.mask(params.handle, list(params.points_pos), list(params.points_neg), box=params.box)
        path = self._temp_file("mask", "sam.png")
        masks.write_png(path, res.mask)
        h, w = res.mask.shape[:2]
        return protocol.SamMasked(mask_path=path, width=w, height=h, score=float(res.score))

    def do_read_mask(self, params: protocol.ReadMask) -> protocol.MaskRead:
        """A mask file the host cannot read itself (EXR, 16-bit, DPX...) as an 8-bit PNG."""
        from plugin import masks
        mask = masks.read_mask(params.path)
        h, w = mask.shape[:2]
        if params.width and params.height:
            masks.check_mask(mask, params.path, params.width, params.height)
        out = self._temp_file("mask", "mask.png")
        masks.write_png(out, mask)
        return protocol.MaskRead(mask_path=out, width=w, height=h)

    def do_read_alpha(self, params: protocol.ReadAlpha) -> protocol.AlphaRead:
        """The written alpha of one frame per output pattern, as raw 8-bit grey for the viewer.

        A frame with no file yet is `null` (the panel says "no alpha for this frame"), not an error.
        """
        import numpy as np
        frame, downscale, patterns = params.frame, params.downscale, params.paths
        alphas: Dict[str, Any] = {}
        for key, pattern in patterns.items():
            written = self._written_alpha(pattern, frame)
            if written is None:
                alphas[str(key)] = None
                continue
            path, alpha = written
            if downscale > 1:
                alpha = alpha[::downscale, ::downscale]
            if alpha.dtype != np.uint8:
                alpha = np.round(np.clip(alpha, 0.0, 1.0) * 255.0).astype(np.uint8)  # display only
            h, w = alpha.shape[:2]
            out = self._temp_file(f"alpha{len(alphas)}", f"alpha.{frame}.{len(alphas)}.grey")  # kept per object
            with open(out + ".tmp", "wb") as f:
                f.write(np.ascontiguousarray(alpha).tobytes())
            os.replace(out + ".tmp", out)
            alphas[str(key)] = {"path": out, "width": w, "height": h, "source": path}
        return protocol.AlphaRead(frame=frame, alphas=alphas)

    def do_sample_pixel(self, params: protocol.SamplePixel) -> protocol.PixelSampled:
        """The pixel readout: the plate's RGB as decoded (from the frame cache, no display
        transform, as Nuke's viewer reads it) and each object's written alpha at (x, y)."""
        frame, x, y = params.frame, params.x, params.y
        image = self._plate_frame(frame)
        h, w = image.shape[:2]
        if not (x < w and y < h):
            raise _RequestError(protocol.INVALID_PARAMS, f"sample_pixel: x {x} y {y} is outside the "
                                f"{w}x{h} plate; use 0-{w - 1}, 0-{h - 1}")
        rgb = tuple(float(v) for v in image[y, x, :3])
        alphas: Dict[str, Optional[float]] = {}
        for key, pattern in params.paths.items():
            written = self._written_alpha(pattern, frame)
            if written is None:
                alphas[str(key)] = None  # no alpha file for this frame yet
                continue
            alpha = written[1]
            ah, aw = alpha.shape[:2]
            value = alpha[min(y, ah - 1), min(x, aw - 1)]
            alphas[str(key)] = float(value) / 255.0 if alpha.dtype.kind == "u" else float(value)
        return protocol.PixelSampled(frame=frame, x=x, y=y, rgb=rgb, colourspace=self.colourspace, alphas=alphas)

    def _written_alpha(self, pattern: str, frame: int):
        """(path, alpha) of `pattern`'s file for `frame`, or None when it has no file yet.

        Shared by read_alpha and sample_pixel; cached by path and modification time, so hovering
        and scrubbing read each written EXR once, and a re-run's new file is read again.
        """
        from plugin import framepattern, masks
        try:
            path = framepattern.parse(str(pattern)).path(frame)
        except ValueError as err:
            raise _RequestError(protocol.INVALID_PARAMS, str(err)) from None
        if not os.path.isfile(path):
            return None
        stamp = os.stat(path).st_mtime_ns
        alpha = self.alpha_cache.get((path, stamp))
        if alpha is None:
            alpha = masks.read_mask(path)
            self.alpha_cache.put((path, stamp), alpha)
        return path, alpha

    def do_weights_status(self, params: protocol.WeightsStatus) -> protocol.WeightsReport:
        from matanyone_engine import weights
        from plugin import settings
        return protocol.WeightsReport(weights=tuple(weights.status(weights_dir=settings.current().weights_dir)))

    def do_weights_get(self, params: protocol.WeightsGet) -> protocol.WeightsFetched:
        from matanyone_engine import weights
        from plugin import settings
        name = params.name
        s = settings.current()
        self._download_cancel.clear()

        def progress(p):
            self.notify(protocol.DownloadProgress.from_json(p.to_json()))

        path = weights.fetch(name, accept_licence=params.accept_licence, progress=progress,
                             cancel=self._download_cancel.is_set, weights_dir=s.weights_dir,
                             offline=True if s.offline else None)
        return protocol.WeightsFetched(name=name, path=str(path))

    # -- run_shot ---------------------------------------------------------------------
    def _answer_async_job(self, msg_id, params) -> None:
        with self._lock:
            busy = self._job_busy
            self._job_busy = True
        if busy:
            self.send(protocol.error(msg_id, protocol.USER_ERROR,
                                     "a shot is already running in this worker: cancel it or wait",
                                     kind="WorkerError"))
            return
        self._job_cancel.clear()

        def job():
            try:
                return self.do_run_shot(params)
            finally:
                with self._lock:
                    self._job_busy = False  # before the answer goes out: the next run may start

        t = threading.Thread(target=self._answer, args=(msg_id, job), name="matanyone-job", daemon=True)
        self._job_thread = t
        t.start()

    def do_run_shot(self, params: protocol.RunShot) -> protocol.ShotRun:
        from plugin import job
        from plugin.shot import Shot
        shot = Shot.load(params.shot_path)
        preview_every = 0

        def on_progress(p: "job.Progress") -> None:
            nonlocal preview_every
            preview_every += 1
            preview = None
            if p.preview is not None and (preview_every % 4 == 1 or p.done == p.total):
                preview = self._write_preview(p.preview)
            self.notify(protocol.Progress(frame=p.frame, done=p.done, total=p.total, fps=round(p.fps, 3),
                                          phase=p.phase, eta_s=None if p.eta_s is None else round(p.eta_s, 1),
                                          preview_path=preview))
            if p.paths:
                self.notify(protocol.FrameDone(frame=p.frame, paths=dict(p.paths)))

        net = self._network_for(shot)
        result = job.run(shot, on_progress=on_progress, cancel=self._job_cancel, force=params.force,
                         objects=list(params.objects) if params.objects else None,
                         frames=params.frames, network=net)
        return protocol.ShotRun.from_json(result.to_json())

    def do_write_matte_movie(self, params: protocol.WriteMatteMovie) -> protocol.MatteMovieWritten:
        from plugin import preview
        from plugin.shot import Shot
        shot = Shot.load(params.shot_path)
        obj = next((o for o in shot.objects if params.object in (o.name, str(o.id))), None)
        if obj is None:
            from plugin.errors import ShotFileError
            raise ShotFileError(f"{params.shot_path}: no object {params.object!r} "
                                f"(objects: {', '.join(o.name for o in shot.objects)}); give one of them")
        path = preview.write_preview(shot, params.path, kind="matte4444", obj=obj, fps=params.fps,
                                     start=params.start, timecode=params.timecode)
        first = shot.plate.first if params.start is None else params.start
        return protocol.MatteMovieWritten(path=path, first=first, last=shot.plate.last)

    def _network_for(self, shot):
        """The network for the shot: the one kept from the last run while its weights file,
        device and precision hold (runs run one at a time, on the job thread)."""
        from plugin import job
        key = job.network_key(shot)
        if self._network is None or self._network[0] != key:
            self._network = None  # the old one goes before the new one loads
            self._network = (key, job.load_network(shot, key))
        return self._network[1]

    def _write_preview(self, preview) -> str:
        from plugin import masks
        path = self._temp_file("preview", "preview.png")
        masks.write_png(path, preview)
        return path

    # -- life -------------------------------------------------------------------------
    def close(self) -> None:
        self._job_cancel.set()
        if self._job_thread is not None:
            self._job_thread.join(timeout=60)
        self.pool.shutdown(wait=False, cancel_futures=True)
        self.frame_pool.shutdown(wait=False, cancel_futures=True)
        if self.plate is not None:
            self.plate.close()
        import shutil
        shutil.rmtree(self.temp_dir, ignore_errors=True)


def _device_in_use() -> str:
    """The device a run with this process's settings takes ("cpu" when auto finds no GPU), not
    the setting itself; a device that cannot be used is reported as the one-line reason."""
    from plugin import settings
    try:
        from matanyone_engine.device import pick_device
    except ImportError:
        return "unavailable (torch is not installed for the worker's interpreter)"
    try:
        return str(pick_device(settings.current().device))
    except Exception as err:  # noqa: BLE001 - hello always answers; the run gives the error again
        if is_user_error(err):
            return f"unavailable: {err}"
        raise


def _package_version() -> str:
    try:
        from importlib.metadata import version
        return version("matanyone-plugin")
    except Exception:  # noqa: BLE001 - not installed as a distribution
        return "dev"


def _save_traceback(text: str) -> Optional[str]:
    try:
        from plugin import settings
        path = settings.cache_dir() / "logs" / "worker-last-internal-error.txt"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return str(path)
    except OSError:
        return None


def serve(stdin=None, stdout=None) -> int:
    """Serve requests until `shutdown` or end of input. Returns the exit code."""
    stdin = stdin or sys.stdin.buffer
    stdout = stdout or sys.stdout.buffer
    # Anything printed by libraries must not corrupt the protocol stream.
    sys.stdout = sys.stderr
    logging.basicConfig(stream=sys.stderr, level=logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    worker = Worker(stdout)
    log.info("worker %d ready (protocol %d)", os.getpid(), protocol.PROTOCOL_VERSION)
    try:
        for line in iter(stdin.readline, b""):
            if not line.strip():
                continue
            worker.handle_line(line)
            if worker.stop.is_set() or worker.refused:
                break
    finally:
        worker.close()
    return 0
