"""Run one shot: plate in, one alpha EXR sequence per object out, streaming.

    result = plugin.job.run(Shot.load("sh010.shot.json"), on_progress=print, cancel=event)

A reader thread decodes and colour-converts frames ahead into a bounded queue, the
calling thread steps the engine, and a writer thread writes alphas behind; nothing
holds a whole clip, so peak memory does not grow with shot length.

Beside the outputs (`<dir>/<job>` where `<job>` is the output file name up to its
`{object}`/frame token): `<job>.shot.json` (the shot), `<job>.run.json` (what was run,
with fingerprints of plate, masks, settings and weights), `<job>.log`, and while a run is
unfinished `.<job>.matanyone/` (the engine state at the last whole frame, and the
backward pass of `direction: both`).

The parts: `planning.plan` decides what runs (pure), `inputs` checks and fingerprints what the run
reads, `frames` reads ahead, `runner` steps the passes, `sinks` write each pass's alphas,
`files` keeps the record, locks and temporaries beside the outputs.

Resume: a crash, kill or cancel leaves whole frames only (writers rename complete files
into place). A re-run with the same shot, plate and weights loads the saved engine state
and continues after it; frames stepped after the last saved state are stepped and
written again, to the same values. An object whose own inputs (keyframes, mask files,
name) did not change and whose frames are all on disk is kept; only the others run.
`force=True` runs everything again.
"""
from __future__ import annotations

import contextlib
import logging
import os
import time
import traceback
from dataclasses import dataclass, replace
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

from plugin.errors import ShotFileError, UserError
from plugin.job.files import (RunLock, clean_stale_temps, disk_full_error, frame_ranges, is_disk_full, job_paths,
                              read_json, update_record)
from plugin.job.frames import READ_AHEAD, EarlyImage, reader_threads  # noqa: F401 - part of the job's surface
from plugin.job.inputs import (FileIds, all_written, check_colour, check_not_inputs, check_writable,
                               global_fingerprint, object_fingerprint, output_pattern, plate_fingerprint,
                               validate_masks)
from plugin.job.planning import Fingerprints, RunPlan, first_step, internal_shape, plan  # noqa: F401
from plugin.job.runner import WRITE_BEHIND, Progress, RunContext, Runner, engine_settings  # noqa: F401
from plugin.shot import Shot, parse_frame_range

log = logging.getLogger("matanyone.job")


@dataclass
class JobResult:
    status: str                    # "done" | "cancelled" | "up-to-date"
    outputs: Dict[str, str]        # object name -> output pattern (####)
    first: int
    last: int
    frames_written: int
    objects_run: List[str]
    objects_kept: List[str]
    resumed_from: Optional[int]    # source frame after which the run continued, if it resumed
    weights_id: str
    shot_path: str
    record_path: str
    log_path: str
    elapsed_s: float

    def to_json(self) -> Dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


def run(shot: Shot, *, on_progress: Optional[Callable[[Progress], None]] = None,
        cancel=None, force: bool = False, objects: Optional[Sequence[str]] = None,
        frames=None, network=None) -> JobResult:
    """Matte a shot, streaming, resuming an unfinished run of the same shot.

    Args:
        shot: a validated `Shot` (see `plugin.shot`).
        on_progress: called with a `Progress` after each frame is written (writer thread).
        cancel: a `threading.Event` or a callable returning True to stop at the next frame
            (or warm-up refinement).
        force: run everything again (ignore finished objects and saved state).
        objects: names (or ids) of the objects to run; default all.
        frames: "A-B" or (A, B): run only those source frames.
        network: an already loaded network (the worker keeps one); default: `load_network(shot)`.

    Returns:
        JobResult (status "done", "cancelled" or "up-to-date").

    Raises:
        UserError subclasses (one line) for bad inputs, before anything is written.
    """
    from plugin import plates
    t0 = time.monotonic()
    full_shot = shot
    shot = _prepare_shot(shot, objects, frames)
    paths = job_paths(shot)
    check_writable(paths.out_dir)
    cancelled = _cancel_test(cancel)

    with contextlib.ExitStack() as opened:
        plate = opened.enter_context(plates.open(shot.plate.path, (shot.plate.first, shot.plate.last)))
        missing = [f for f in (shot.plate.first, shot.plate.last) if f not in set(plate.frames)]
        if missing:
            raise ShotFileError(f"{shot.plate.path}: frames {shot.plate.first}-{shot.plate.last} asked, "
                                f"but the plate has {plate.first}-{plate.last}")
        if not shot.plate.colourspace:
            shot = replace(shot, plate=replace(shot.plate, colourspace=plate.colourspace_guess))
        check_not_inputs(full_shot, shot, plate, paths)
        validate_masks(shot, shot.objects, plate.width, plate.height)
        check_colour(shot)
        early = None
        if network is None and not plate.is_movie:  # read the first frame while the network loads
            early = opened.enter_context(EarlyImage(shot, plate, first_step(shot)))
        net = network if network is not None else load_network(shot)
        weights_id = str(net.weights_id)
        device = str(getattr(net, "device", "cpu"))

        plate_fp = plate_fingerprint(plate, shot.plate.first, shot.plate.last)
        fps = Fingerprints(global_fingerprint(shot, plate_fp, weights_id, device),
                           {o.name: object_fingerprint(shot, o) for o in shot.objects})

        # Everything is checked: from here on files are written.
        os.makedirs(paths.out_dir, exist_ok=True)
        lock = RunLock(paths, [o.name for o in shot.objects])  # for every pass, until the end
        clean_stale_temps(paths)
        the_plan = plan(shot, None if force else read_json(paths.record), fps, force=force,
                        complete_on_disk={o.name for o in shot.objects if all_written(shot, o)})
        to_run, kept = the_plan.to_run, the_plan.kept
        logger = _JobLog(paths.log)
        runner = None
        try:
            shot_copy = paths.shot
            if not (full_shot.shot_file and FileIds([full_shot.shot_file]).find(shot_copy)):
                if not full_shot.plate.colourspace:  # record the guess, so a re-run sees the same colour
                    full_shot = replace(full_shot, plate=replace(full_shot.plate, colourspace=shot.plate.colourspace))
                full_shot.save(shot_copy)
            logger.info(f"shot {shot.shot_file or '(built)'}: plate {shot.plate.path} frames "
                        f"{shot.plate.first}-{shot.plate.last} {plate.width}x{plate.height} "
                        f"({shot.plate.colourspace}), objects {', '.join(o.name for o in shot.objects)}, "
                        f"direction {shot.direction}, model {shot.engine.model}, weights {weights_id}, device {device}")
            result = JobResult("up-to-date", {o.name: output_pattern(shot, o).display for o in shot.objects},
                               shot.plate.first, shot.plate.last, 0, [o.name for o in to_run],
                               [o.name for o in kept], None, weights_id, shot_copy, paths.record, paths.log, 0.0)
            if not to_run:
                logger.info("all objects are up to date: nothing to run (use force to run again)")
                result.elapsed_s = time.monotonic() - t0
                return result
            if kept:
                logger.info(f"kept (unchanged): {', '.join(o.name for o in kept)}")

            def entries(status: str) -> Dict[str, dict]:
                if status == "done":  # every frame, including those of a run this one resumed
                    done = set(range(shot.plate.first, shot.plate.last + 1))
                else:
                    done = runner.current if runner is not None else set()
                return {o.name: {"fingerprint": fps.objects[o.name], "global": fps.shared,
                                 "complete": status == "done",
                                 "current": frame_ranges(the_plan.carried[o.name] | done),
                                 "status": status, "output": output_pattern(shot, o).display,
                                 "first": shot.plate.first, "last": shot.plate.last, "model": shot.engine.model,
                                 "weights": weights_id, "device": device, "plate_fingerprint": plate_fp,
                                 "time": time.strftime("%Y-%m-%dT%H:%M:%S")}
                        for o in to_run}

            update_record(paths, entries("running"))
            key = {"global": fps.shared, "objects": {o.name: fps.objects[o.name] for o in to_run}}
            runner = Runner(RunContext(shot, plate, net, paths, the_plan, key, weights_id, shot_copy,
                                       on_progress, cancelled, logger, early))
            status = runner.run()
            update_record(paths, entries(status))
            if status == "done":
                runner.clean_state()
                logger.info(f"done: {runner.written} frames written in {time.monotonic() - t0:.1f} s")
            else:
                logger.info(f"cancelled after frame {runner.last_whole}; run again to resume")
            result.status = status
            result.frames_written = runner.written
            result.resumed_from = runner.resumed_from
            result.elapsed_s = time.monotonic() - t0
            return result
        except BaseException as err:
            if runner is not None:  # which frames this run made current, even when it failed
                try:
                    update_record(paths, entries("failed"))
                except OSError:
                    pass
            frame_bytes, need = _bytes_left(shot, plate, runner)
            if is_disk_full(err, paths.out_dir, frame_bytes):
                full = disk_full_error(paths.out_dir, need)
                if runner is not None:
                    runner.clean_state()  # the work frames and state: a re-run starts the pass again
                clean_stale_temps(paths)
                logger.info(f"error: {full}")
                raise full from None
            if isinstance(err, UserError) or getattr(err, "user_error", False):
                logger.info(f"error: {err}")
            else:
                logger.info("internal error:\n" + traceback.format_exc())
            raise
        finally:
            logger.close()
            lock.release()


def _bytes_left(shot: Shot, plate, runner: Optional[Runner]) -> Tuple[int, int]:
    """Uncompressed bytes of one frame of one object, and of what the run still writes
    (alphas, and the work frames of a two-way run)."""
    per_pixel = (2 if shot.output.dtype == "half" else 4) * (1 if shot.output.channels == "A" else 4)
    if shot.direction == "both":
        per_pixel += 4
    frame = plate.width * plate.height * per_pixel
    if runner is None:
        return frame, frame * len(shot.objects) * (shot.plate.last - shot.plate.first + 1)
    return frame, frame * max(1, runner.total - runner.done) * max(1, len(runner.objects))


def _prepare_shot(shot: Shot, objects, frames) -> Shot:
    if frames is not None:
        first, last = parse_frame_range(frames) if isinstance(frames, str) else (int(frames[0]), int(frames[1]))
        shot = shot.with_frames(first, last)
    if objects:
        shot = shot.with_objects(list(objects))
    return shot


def _cancel_test(cancel) -> Callable[[], bool]:
    if cancel is None:
        return lambda: False
    if hasattr(cancel, "is_set"):
        return cancel.is_set
    if callable(cancel):
        return lambda: bool(cancel())
    raise TypeError("cancel must be a threading.Event or a callable")


def network_key(shot: Shot) -> Tuple[Any, ...]:
    """What the shot's network depends on: the weights file (and its size and time, so a
    replaced checkpoint reloads), device and precision. Callers that keep a network (the
    worker) compare keys; this module keeps none."""
    from matanyone_engine.weights import resolve
    from plugin import settings
    current = settings.current()
    weights = resolve(shot.engine.weights, weights_dir=current.weights_dir, model=shot.engine.model)
    device = shot.engine.device
    if device == "auto":
        device = current.device or "auto"
    stamp = None
    if os.path.isfile(str(weights)):
        st = os.stat(weights)
        stamp = (st.st_size, st.st_mtime_ns)
    return str(weights), stamp, device, shot.engine.precision


def load_network(shot: Shot, key: Optional[Tuple[Any, ...]] = None):
    """Load the network for the shot's weights, device and precision (`key`: its `network_key`)."""
    from matanyone_engine import load_network as load
    weights, _, device, precision = key or network_key(shot)
    return load(weights, device=device, precision=precision)


class _JobLog:
    """The job's log file beside the outputs (appended), plus the `matanyone.job` logger."""

    def __init__(self, path: str):
        self.path = path
        try:
            self._f = open(path, "a", encoding="utf-8")
        except OSError:
            self._f = None

    def info(self, message: str) -> None:
        log.info(message)
        if self._f is not None:
            try:  # a full disk must not hide the error being logged
                self._f.write(f"{time.strftime('%Y-%m-%d %H:%M:%S')} {message}\n")
                self._f.flush()
            except OSError:
                pass

    def close(self) -> None:
        if self._f is not None:
            self._f.close()
            self._f = None
