"""The stepping side of a run: the passes of a `RunPlan`, each stepped on the calling thread
between the reader pool (frames ahead) and a writer thread (the pass's sink behind), with
the engine state saved for a resume at the last whole frame."""
from __future__ import annotations

import hashlib
import json
import os
import queue
import shutil
import threading
import time
from dataclasses import dataclass, field
from typing import Callable, Dict, Optional

import numpy as np

from plugin.errors import UserError
from plugin.job.files import JobPaths, remove_quietly
from plugin.job.frames import (EarlyImage, FrameLoader, OrderedReader, as_numpy, in_background,
                               reader_threads, resize_alpha)
from plugin.job.inputs import output_metadata
from plugin.job.planning import ALPHAS, WORK, Pass, RunPlan, internal_shape
from plugin.job.sinks import AlphaOutputs, WorkFrames
from plugin.shot import Shot

# Engine state is saved when this many seconds passed since the last save (and at the
# end of each pass and on cancel). A periodic save is queued behind the frames it follows
# and written by the writer thread (the stepping thread does not wait for the writer);
# the end of a pass and a cancel wait for it. MATANYONE_PLUGIN_CHECKPOINT_FRAMES=N saves every N.
# 30 s: at 1080p a save is about 80 MB (0.1-0.2 s of CPU and the disk's time), and a CPU steps
# a frame in about 10 s; a crash costs at most 30 s of stepping again.
CHECKPOINT_SECONDS = 30.0
WRITE_BEHIND = 4


@dataclass
class Progress:
    """What `on_progress` gets after each frame is written (on the writer thread).

    frame: source frame number just written; done/total: frames of this job (a frame of
    each pass counts once); fps: engine steps per second in this run; eta_s: seconds left
    or None; preview: a small float32 copy of the latest alpha (first object), or None;
    paths: object name -> file written for this frame (empty in a backward pre-pass).
    """

    frame: int
    done: int
    total: int
    fps: float
    eta_s: Optional[float]
    preview: Optional[np.ndarray] = None
    paths: Dict[str, str] = field(default_factory=dict)
    phase: str = "forward"


@dataclass(frozen=True)
class RunContext:
    """Everything a run reads, decided before it starts."""

    shot: Shot
    plate: object
    network: object
    paths: JobPaths
    plan: RunPlan
    key: Dict[str, object]              # the fingerprints a saved state must match
    weights_id: str
    shot_copy: str
    on_progress: Optional[Callable] = None
    cancelled: Callable[[], bool] = field(default=lambda: False)
    log: Optional[object] = None        # the job log (`info(message)`)
    early: Optional[EarlyImage] = None  # the first frame, read while the network loaded


@dataclass(frozen=True)
class _Checkpoint:
    """A periodic save of the engine state, queued to the writer behind the frames up to `pos`."""

    pass_index: int
    pos: int
    state: dict


def engine_settings(shot: Shot):
    from matanyone_engine import EngineSettings
    e = shot.engine
    return EngineSettings(warmup=e.warmup, mem_every=e.mem_every, max_mem_frames=e.max_mem_frames,
                          top_k=e.top_k, precision=e.precision)


class Runner:
    """The passes of one run over the objects to run, with resume."""

    def __init__(self, ctx: RunContext):
        self.ctx = ctx
        self.objects = list(ctx.plan.to_run)
        self.passes = ctx.plan.passes
        tag = hashlib.sha256(",".join(sorted(o.name for o in self.objects)).encode()).hexdigest()[:10]
        self.checkpoint = os.path.join(ctx.paths.state_dir, f"state.{tag}.pt")
        plate = ctx.plate
        self.work = WorkFrames(os.path.join(ctx.paths.state_dir, f"backward.{tag}"), self.objects,
                               plate.height, plate.width)
        blends = any(p.blend for p in self.passes)
        self.outputs = AlphaOutputs(ctx.shot, plate, self.objects,
                                    lambda o: output_metadata(ctx.shot, o, ctx.weights_id, ctx.shot_copy),
                                    self.work if blends else None)
        self.sinks = {WORK: self.work, ALPHAS: self.outputs}
        self.total = ctx.plan.total
        self.written = 0
        self.current: set = set()  # frames written with this run's settings, every object
        self.done = 0
        self.last_whole: Optional[int] = None
        self.resumed_from: Optional[int] = None
        self.size = internal_shape(plate.height, plate.width, ctx.shot.engine.max_internal_size)
        env_every = os.environ.get("MATANYONE_PLUGIN_CHECKPOINT_FRAMES", "").strip()
        self.every_frames = int(env_every) if env_every.isdigit() and int(env_every) > 0 else None
        self._progress_lock = threading.Lock()
        self._writer_error: Optional[BaseException] = None
        self._last_save = time.monotonic()
        self._since_save = 0
        self._steps = 0
        self._t_steps: Optional[float] = None

    # -- checkpoint -----------------------------------------------------------------
    def _load_checkpoint(self):
        if not self.ctx.plan.resume or not os.path.isfile(self.checkpoint):
            return None
        import torch
        log = self.ctx.log
        try:
            ck = torch.load(self.checkpoint, map_location="cpu", weights_only=True)
        except Exception as err:  # noqa: BLE001 - a broken state file only costs a restart
            log.info(f"saved state unreadable ({type(err).__name__}): starting over")
            return None
        if ck.get("key") != json.dumps(self.ctx.key, sort_keys=True):
            log.info("saved state is of other inputs: starting over")
            return None
        if ck.get("session") is not None:
            from matanyone_engine import Session
            try:  # e.g. state saved by another engine version
                Session(self.ctx.network, engine_settings(self.ctx.shot)).load_state_dict(ck["session"])
            except Exception as err:  # noqa: BLE001 - an unusable state only costs a restart
                log.info(f"saved state cannot be restored ({err}): starting over")
                return None
        return ck

    def _save_checkpoint(self, pass_index: int, pos: int, session_state, writer_q) -> None:
        """Save now, once every frame up to `pos` is on disk."""
        writer_q.join()
        self._raise_writer_error()
        self._write_checkpoint(pass_index, pos, session_state)
        self._last_save = time.monotonic()
        self._since_save = 0

    def _queue_checkpoint(self, pass_index: int, pos: int, session_state, writer_q) -> None:
        """Save on the writer thread after the frames queued before it (state_dict() is a copy,
        so the steps that follow do not change it): at 1080p on 2 cores, waiting for the
        writer at every save cost about 0.25 s a step."""
        self._put(writer_q, _Checkpoint(pass_index, pos, session_state))
        self._last_save = time.monotonic()
        self._since_save = 0

    def _write_checkpoint(self, pass_index: int, pos: int, session_state) -> None:
        import torch
        state = {"key": json.dumps(self.ctx.key, sort_keys=True), "pass": pass_index, "pos": pos,
                 "session": session_state}
        os.makedirs(self.ctx.paths.state_dir, exist_ok=True)
        tmp = self.checkpoint + f".{os.getpid()}.tmp"
        try:
            torch.save(state, tmp)
            os.replace(tmp, self.checkpoint)
        except BaseException:
            remove_quietly(tmp)
            raise

    def clean_state(self) -> None:
        """Remove this object set's saved state and backward work (and the folder when empty)."""
        remove_quietly(self.checkpoint)
        shutil.rmtree(self.work.folder, ignore_errors=True)
        try:
            os.rmdir(self.ctx.paths.state_dir)
        except OSError:
            pass

    # -- main loop ------------------------------------------------------------------
    def run(self) -> str:
        ck = self._load_checkpoint()
        start_pass, start_pos, state = 0, -1, None
        if ck is not None:
            start_pass, start_pos, state = int(ck["pass"]), int(ck["pos"]), ck["session"]
            p = self.passes[start_pass]
            if start_pos >= 0:
                self.resumed_from = p.schedule[start_pos]
            self.done = sum(len(q.schedule) for q in self.passes[:start_pass]) + start_pos + 1
            self.ctx.log.info(f"resuming: pass {start_pass + 1}/{len(self.passes)} ({p.direction}) after "
                              f"frame {self.resumed_from if start_pos >= 0 else '(start)'}")
        else:
            self.clean_state()
        try:
            for i in range(start_pass, len(self.passes)):
                status = self._run_pass(i, start_pos if i == start_pass else -1,
                                        state if i == start_pass else None)
                if status != "done":
                    return status
            return "done"
        finally:
            self.outputs.close()

    def _run_pass(self, index: int, start_pos: int, state) -> str:
        from matanyone_engine import Session
        from matanyone_engine.errors import Cancelled
        ctx, p = self.ctx, self.passes[index]
        session = Session(ctx.network, engine_settings(ctx.shot))
        if state is not None:
            session.load_state_dict(state)
        self._last_save = time.monotonic()
        self._since_save = 0
        self._writer_error = None
        write_q: "queue.Queue" = queue.Queue(maxsize=WRITE_BEHIND)
        todo = [f for f in p.schedule[start_pos + 1:] if f in p.stepped]
        reader = OrderedReader(FrameLoader(ctx.shot, ctx.plate, self.objects, self.size, ctx.early), todo,
                               reader_threads())
        writer = threading.Thread(target=in_background, args=(self._write, p, write_q), daemon=True,
                                  name="matanyone-writer")
        writer.start()
        pos = start_pos
        rollback = None  # the state before a step cancelled half-way
        self._t_steps = time.monotonic()
        self._steps = 0
        status = "done"
        try:
            for pos in range(start_pos + 1, len(p.schedule)):
                frame = p.schedule[pos]
                if ctx.cancelled():
                    status = "cancelled"
                    pos -= 1
                    break
                alphas = None
                if frame in p.stepped:
                    got, image, masks = reader.next()
                    assert got == frame, (got, frame)
                    # A joining object's warm-up can be cancelled half-way: keep the state before it.
                    joining = any(i not in session.object_ids for i in masks)
                    before = session.state_dict() if joining else None
                    if masks:
                        session.add_mask(masks)
                    try:
                        out = session.step(image, cancel=ctx.cancelled)
                    except Cancelled:
                        status, pos, rollback = "cancelled", pos - 1, before
                        break
                    alphas = self._plate_alphas(frame, out)
                    self._steps += 1
                self._put(write_q, (frame, alphas))
                self.last_whole = frame
                self._since_save += 1
                due = (self.every_frames is not None and self._since_save >= self.every_frames) or \
                    (time.monotonic() - self._last_save >= CHECKPOINT_SECONDS)
                if due and pos < len(p.schedule) - 1:
                    self._queue_checkpoint(index, pos, session.state_dict(), write_q)
            if status == "done" and index + 1 < len(self.passes):
                self._save_checkpoint(index + 1, -1, None, write_q)
            elif status == "cancelled" and pos > start_pos:
                self._save_checkpoint(index, pos, rollback if rollback is not None else session.state_dict(),
                                      write_q)
        finally:
            reader.close()
            write_q.put(None)
            writer.join()
        self._raise_writer_error()
        return status

    def _plate_alphas(self, frame: int, out) -> Dict[int, np.ndarray]:
        """The engine's alphas of the objects that run, checked and at plate size."""
        alphas = {}
        for o in self.objects:
            a = out.get(o.id)
            if a is None:
                continue
            a = as_numpy(a)
            if not np.isfinite(a).all():
                raise UserError(f"frame {frame}: the alpha of object {o.name!r} holds non-finite "
                                f"numbers (NaN or infinity); check the weights ({self.ctx.weights_id}) "
                                f"or run with precision fp32")
            if self.size is not None:
                a = resize_alpha(a, self.ctx.plate.height, self.ctx.plate.width)
            alphas[o.id] = a
        return alphas

    def _put(self, write_q, item) -> None:
        while True:
            self._raise_writer_error()
            try:
                write_q.put(item, timeout=0.5)
                return
            except queue.Full:
                continue

    def _raise_writer_error(self) -> None:
        err = self._writer_error
        if err is not None:
            self._writer_error = None
            raise err

    # -- writer thread --------------------------------------------------------------
    def _write(self, p: Pass, write_q) -> None:
        while True:
            item = write_q.get()
            try:
                if item is None:
                    return
                if self._writer_error is not None:
                    continue  # drain after an error
                try:
                    if isinstance(item, _Checkpoint):
                        self._write_checkpoint(item.pass_index, item.pos, item.state)
                    else:
                        self._write_frame(p, *item)
                except BaseException as err:  # noqa: BLE001 - raised on the stepping thread
                    self._writer_error = err
            finally:
                write_q.task_done()

    def _write_frame(self, p: Pass, frame: int, alphas) -> None:
        written = self.sinks[p.sink].write(p, frame, alphas)
        if p.sink == ALPHAS:
            self.written += 1
            self.current.add(frame)
        with self._progress_lock:
            self.done += 1
            done = self.done
        if self.ctx.on_progress is not None:
            elapsed = max(1e-6, time.monotonic() - (self._t_steps or time.monotonic()))
            fps = self._steps / elapsed if self._steps else 0.0
            left = self.total - done
            eta = left / fps if fps > 0 else None
            preview = None
            if alphas:
                from plugin.masks import downscale_preview
                preview = downscale_preview(next(iter(alphas.values())))
            self.ctx.on_progress(Progress(frame, done, self.total, fps, eta, preview, written, p.direction))
