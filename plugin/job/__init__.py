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

Resume: a crash, kill or cancel leaves whole frames only (writers rename complete files
into place). A re-run with the same shot, plate and weights loads the saved engine state
and continues after it; frames stepped after the last saved state are stepped and
written again, to the same values. An object whose own inputs (keyframes, mask files,
name) did not change and whose frames are all on disk is kept; only the others run.
`force=True` runs everything again.
"""
from __future__ import annotations

import collections
import hashlib
import json
import logging
import os
import queue
import shutil
import sys
import threading
import time
import traceback
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

from plugin import framepattern
from plugin.job.files import (RUN_RECORD_VERSION, JobPaths, RunLock, clean_stale_temps, disk_full_error,
                              frame_ranges, frames_in, is_disk_full, job_paths, read_json as _read_json, remove_quietly,
                              update_record as _update_record, write_json as _write_json)
from plugin.errors import OutputError, ShotFileError, MaskError, UserError
from plugin.shot import EngineSpec, Shot, ShotObject, parse_frame_range

log = logging.getLogger("matanyone.job")

# Engine state is saved when this many seconds passed since the last save (and at the
# end of each pass and on cancel). Saving waits for the writer to catch up, so it is
# not done every frame by default. MATANYONE_PLUGIN_CHECKPOINT_FRAMES=N saves every N.
CHECKPOINT_SECONDS = 10.0
READ_AHEAD = 3      # decoded frames waiting for the engine (at least readers + 1)
READERS_MAX = 8     # reader threads at most (default: CPU cores - 1): a GPU needs ~1 core per 10 fps of 1080p OCIO
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


class _Cancelled(Exception):
    pass


def output_pattern(shot: Shot, obj: ShotObject) -> framepattern.FramePattern:
    return framepattern.parse(shot.output.pattern_for(obj))


# --------------------------------------------------------------------------- fingerprints
def _sha(data: Any) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode("utf-8")).hexdigest()


def _file_sha(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def plate_fingerprint(plate, first: int, last: int) -> str:
    """Size and modification time of every file the frames first-last read."""
    rows = []
    frame_path = getattr(plate, "frame_path", None)
    if frame_path is not None and not getattr(plate, "is_movie", False):
        paths = [frame_path(f) for f in range(first, last + 1)]
    else:
        paths = list(plate.source_paths())
    for p in paths:
        try:
            st = os.stat(p)
            rows.append((os.path.basename(p), st.st_size, st.st_mtime_ns))
        except OSError:
            rows.append((os.path.basename(p), None, None))
    return _sha([os.path.abspath(plate.path), first, last, rows])


def object_fingerprint(shot: Shot, obj: ShotObject) -> str:
    keys = {str(f): _file_sha(p) for f, p in sorted(obj.keyframes.items())}
    return _sha({"id": obj.id, "name": obj.name, "keyframes": keys,
                 "output": shot.output.pattern_for(obj)})


def _cpu_threads(device: str) -> Optional[int]:
    """On a CPU the thread count changes the last bits of the alphas, so resume requires the same."""
    if not device.startswith("cpu"):
        return None
    import torch
    return torch.get_num_threads()


def global_fingerprint(shot: Shot, plate_fp: str, weights_id: str, device: str) -> str:
    e = shot.engine
    config_fp = None
    if shot.plate.ocio_config and os.path.isfile(shot.plate.ocio_config):
        st = os.stat(shot.plate.ocio_config)
        config_fp = (st.st_size, st.st_mtime_ns)
    return _sha({"record": RUN_RECORD_VERSION, "plate": plate_fp, "colourspace": shot.plate.colourspace,
                 "ocio_config": shot.plate.ocio_config, "config_fp": config_fp,
                 "ocio_env": os.environ.get("OCIO") if not shot.plate.ocio_config else None,
                 "display": shot.display, "view": shot.view, "dilate": shot.dilate, "erode": shot.erode,
                 "warmup": e.warmup, "mem_every": e.mem_every, "max_mem_frames": e.max_mem_frames,
                 "top_k": e.top_k, "precision": e.precision, "device": device,
                 "cpu_threads": _cpu_threads(device),
                 "max_internal_size": e.max_internal_size, "weights": weights_id,
                 "direction": shot.direction, "dtype": shot.output.dtype, "channels": shot.output.channels,
                 # a different model is a different run even with the same (stand-in) weights; the
                 # default adds nothing, so runs recorded before models existed still resume
                 **({"model": e.model} if e.model != EngineSpec().model else {})})


# --------------------------------------------------------------------------- plan
@dataclass
class _Pass:
    """One walk over frames: `schedule` in stepping order; frames in `stepped` go through the engine."""
    direction: str                 # "forward" | "backward"
    schedule: List[int]
    stepped: frozenset
    to_work: bool                  # True: results go to the work folder (the backward pre-pass of `both`)


def _plan(shot: Shot, objects: Sequence[ShotObject]) -> List[_Pass]:
    first, last = shot.plate.first, shot.plate.last
    start_f = min(o.first_keyframe for o in objects)
    start_b = max(o.last_keyframe for o in objects)
    fwd = _Pass("forward", list(range(first, last + 1)), frozenset(range(start_f, last + 1)), False)
    if shot.direction == "forward":
        return [fwd]
    if shot.direction == "backward":
        return [_Pass("backward", list(range(last, first - 1, -1)), frozenset(range(first, start_b + 1)), False)]
    back = list(range(start_b, first - 1, -1))
    return [_Pass("backward", back, frozenset(back), True), fwd]


def _covers(obj: ShotObject, direction: str, frame: int) -> bool:
    if direction == "forward":
        return frame >= obj.first_keyframe
    return frame <= obj.last_keyframe


def _blend_weight(obj: ShotObject, frame: int) -> float:
    """Weight of the forward result where both passes cover `frame` (by distance to keyframes)."""
    before = max(f for f in obj.keyframes if f <= frame)
    after = min(f for f in obj.keyframes if f >= frame)
    d_f, d_b = frame - before, after - frame
    if d_f + d_b == 0:
        return 0.5
    return d_b / float(d_f + d_b)


# --------------------------------------------------------------------------- resizing
def internal_size(width: int, height: int, max_internal_size: Optional[int]) -> Optional[Tuple[int, int]]:
    """(h, w) of the network input when the shorter side exceeds `max_internal_size`, else None.

    As the official code: the shorter side becomes max_internal_size, sizes truncate.
    """
    if not max_internal_size:
        return None
    short = min(width, height)
    if short <= max_internal_size:
        return None
    return int(height / short * max_internal_size), int(width / short * max_internal_size)


def _resize_image(image: np.ndarray, size: Tuple[int, int]) -> np.ndarray:
    import torch
    import torch.nn.functional as F
    t = torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1)[None]
    return F.interpolate(t, size=size, mode="area")[0].permute(1, 2, 0).contiguous().numpy()


def _resize_mask(mask: np.ndarray, size: Tuple[int, int]) -> np.ndarray:
    import torch
    import torch.nn.functional as F
    t = torch.from_numpy(mask.astype(np.float32))[None, None]
    out = F.interpolate(t, size=size, mode="nearest")[0, 0].numpy()
    return out.astype(mask.dtype)


def _resize_alpha(alpha: np.ndarray, height: int, width: int) -> np.ndarray:
    import torch
    import torch.nn.functional as F
    t = torch.from_numpy(np.ascontiguousarray(alpha, dtype=np.float32))[None, None]
    out = F.interpolate(t, size=(height, width), mode="bilinear", align_corners=False)
    return out[0, 0].clamp_(0.0, 1.0).numpy()


def _as_numpy(alpha) -> np.ndarray:
    if hasattr(alpha, "detach"):
        alpha = alpha.detach().to("cpu").float().numpy()
    return np.asarray(alpha, dtype=np.float32)


# --------------------------------------------------------------------------- the run
def _prepare_shot(shot: Shot, objects, frames) -> Shot:
    if frames is not None:
        first, last = parse_frame_range(frames) if isinstance(frames, str) else (int(frames[0]), int(frames[1]))
        shot = shot.with_frames(first, last)
    if objects:
        shot = shot.with_objects(list(objects))
    return shot


def _check_writable(out_dir: str) -> None:
    probe = os.path.abspath(out_dir)
    while not os.path.isdir(probe):
        parent = os.path.dirname(probe)
        if parent == probe:
            break
        if os.path.exists(probe):
            raise OutputError(f"{out_dir}: output folder cannot be created ({probe} is a file)")
        probe = parent
    if not os.access(probe, os.W_OK | os.X_OK):
        raise OutputError(f"{out_dir}: output folder is not writable ({probe} denies writing); "
                          "choose another output path")


class _FileIds:
    """Every spelling of a set of files: absolute, resolved and case-folded paths, and inodes
    (hard links, symlinks, `..`, a case-insensitive disk's other case)."""

    def __init__(self, paths):
        self.names: Dict[str, str] = {}
        self.inodes: Dict[Tuple[int, int], str] = {}
        for p in paths:
            p = str(p)
            for key in _spellings(p):
                self.names.setdefault(key, p)
            ino = _inode(p)
            if ino is not None:
                self.inodes.setdefault(ino, p)

    def find(self, path: str) -> Optional[str]:
        """The input file `path` would land on, or None."""
        for key in _spellings(path):
            if key in self.names:
                return self.names[key]
        ino = _inode(path)
        return self.inodes.get(ino) if ino is not None else None


def _spellings(path: str) -> set:
    a = os.path.abspath(path)
    r = os.path.realpath(a)
    return {os.path.normcase(a), os.path.normcase(r)}


def _inode(path: str) -> Optional[Tuple[int, int]]:
    try:
        st = os.stat(path)
    except (OSError, ValueError):
        return None
    return st.st_dev, st.st_ino


def _input_files(shot: Shot, plate) -> List[Tuple[str, str]]:
    """(path, what) of every file the run reads: plate frames, every object's masks, the shot file."""
    files = [(p, "plate frame") for p in plate.source_paths()]
    if framepattern.has_token(shot.plate.path):
        files += [(p, "plate frame") for p in framepattern.parse(shot.plate.path).scan().values()]
    for o in shot.objects:
        files += [(p, f"keyframe mask of object {o.name!r} at frame {f}") for f, p in o.keyframes.items()]
    if shot.shot_file:
        files.append((shot.shot_file, "shot file"))
    return files


def _check_not_inputs(full_shot: Shot, shot: Shot, plate, paths: "JobPaths") -> None:
    """Refuse, before anything is written, any file of the run that would land on an input
    (of any object, however the output is spelt)."""
    inputs = _input_files(full_shot, plate)
    what = {}
    for p, w in inputs:
        what.setdefault(p, w)
    ids = _FileIds(p for p, _ in inputs)
    targets = []
    for o in shot.objects:
        pat = output_pattern(shot, o)
        targets += [(pat.path(f), f"output {shot.output.pattern_for(o)}")
                    for f in range(shot.plate.first, shot.plate.last + 1)]
    targets += [(paths.record, "run record"), (paths.log, "job log")]
    same_shot = full_shot.shot_file and _FileIds([full_shot.shot_file]).find(paths.shot)
    if not same_shot:
        targets.append((paths.shot, "shot copy"))
    for target, label in targets:
        hit = ids.find(target)
        if hit is not None:
            same = "" if os.path.abspath(hit) == os.path.abspath(target) else f" (as {hit})"
            raise OutputError(f"{label} would overwrite {target}, the {what[hit]}{same}; "
                              f"choose another output path")


def _validate_masks(shot: Shot, objects: Sequence[ShotObject], width: int, height: int) -> None:
    from plugin import masks
    for o in objects:
        for f, path in o.keyframes.items():
            w, h = masks.mask_size(path)
            if (w, h) != (width, height):
                raise MaskError(f"{path}: mask of object {o.name!r} at frame {f} is {w}x{h} but the "
                                f"plate is {width}x{height}; paint or export it at plate resolution")
        firsts = {o.first_keyframe}
        if shot.direction in ("backward", "both"):
            firsts.add(o.last_keyframe)
        for f in sorted(firsts):
            m = masks.load_for_engine(o.keyframes[f], width, height, shot.dilate, shot.erode)
            if masks.is_empty(m):
                raise MaskError(f"{o.keyframes[f]}: the mask of object {o.name!r} at frame {f} is empty "
                                "(no pixel set); paint the object on its first keyframe")


def _output_metadata(shot: Shot, obj: ShotObject, weights_id: str, shot_copy: str) -> Dict[str, str]:
    meta = {
        "model": shot.engine.model,
        "weights": weights_id,
        "object": obj.name,
        "object_id": str(obj.id),
        "plate": shot.plate.path,
        "shot": shot_copy,
        "colourspace": str(shot.plate.colourspace),
        "direction": shot.direction,
        "mask_cleanup": f"dilate {shot.dilate} erode {shot.erode}",
        "max_internal_size": str(shot.engine.max_internal_size or "native"),
        "warmup": str(shot.engine.warmup),
    }
    if weights_id.startswith("stand-in"):
        meta["WARNING"] = ("made with stand-in weights (random, calibrated): not a real "
                                     f"matte; place {shot.engine.model}.pth and run again")
    return meta


def run(shot: Shot, *, on_progress: Optional[Callable[[Progress], None]] = None,
        cancel=None, force: bool = False, objects: Optional[Sequence[str]] = None,
        frames=None, network=None) -> JobResult:
    """Matte a shot, streaming, resuming an unfinished run of the same shot.

    Args:
        shot: a validated `Shot` (see `plugin.shot`).
        on_progress: called with a `Progress` after each frame is written (writer thread).
        cancel: a `threading.Event` or a callable returning True to stop at the next frame.
        force: run everything again (ignore finished objects and saved state).
        objects: names (or ids) of the objects to run; default all.
        frames: "A-B" or (A, B): run only those source frames.
        network: an already loaded network (the worker keeps one); default: load it.

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
    _check_writable(paths.out_dir)
    cancelled = _cancel_test(cancel)

    plate = plates.open(shot.plate.path, (shot.plate.first, shot.plate.last))
    with plate:
        missing = [f for f in (shot.plate.first, shot.plate.last) if f not in set(plate.frames)]
        if missing:
            raise ShotFileError(f"{shot.plate.path}: frames {shot.plate.first}-{shot.plate.last} asked, "
                                f"but the plate has {plate.first}-{plate.last}")
        if not shot.plate.colourspace:
            shot = replace(shot, plate=replace(shot.plate, colourspace=plate.colourspace_guess))
        _check_not_inputs(full_shot, shot, plate, paths)
        _validate_masks(shot, shot.objects, plate.width, plate.height)
        _check_colour(shot)
        net = network if network is not None else _load_network(shot)
        weights_id = str(net.weights_id)
        device = str(getattr(net, "device", "cpu"))

        plate_fp = plate_fingerprint(plate, shot.plate.first, shot.plate.last)
        gfp = global_fingerprint(shot, plate_fp, weights_id, device)
        ofps = {o.name: object_fingerprint(shot, o) for o in shot.objects}

        # Everything is checked: from here on files are written.
        os.makedirs(paths.out_dir, exist_ok=True)
        lock = RunLock(paths, [o.name for o in shot.objects])  # for every pass, until the end
        clean_stale_temps(paths)
        record = {} if force else (_read_json(paths.record) or {})
        kept = []
        for o in shot.objects:
            r = (record.get("objects") or {}).get(o.name) or {}
            if (r.get("global") == gfp and r.get("fingerprint") == ofps[o.name] and r.get("complete")
                    and _all_written(shot, o)):
                kept.append(o)
        to_run = [o for o in shot.objects if o not in kept]
        logger = _JobLog(paths.log)
        runner = None
        try:
            shot_copy = paths.shot
            if not (full_shot.shot_file and _FileIds([full_shot.shot_file]).find(shot_copy)):
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

            # Frames already holding these settings (an unfinished run of the same settings).
            carried = {o.name: set() for o in to_run}
            for o in to_run:
                r = (record.get("objects") or {}).get(o.name) or {}
                if r.get("global") == gfp and r.get("fingerprint") == ofps[o.name]:
                    carried[o.name] = frames_in(r.get("current"))

            def entries(status: str) -> Dict[str, dict]:
                if status == "done":  # every frame, including those of a run this one resumed
                    done = set(range(shot.plate.first, shot.plate.last + 1))
                else:
                    done = runner.current if runner is not None else set()
                return {o.name: {"fingerprint": ofps[o.name], "global": gfp, "complete": status == "done",
                                 "current": frame_ranges(carried[o.name] | done),
                                 "status": status, "output": output_pattern(shot, o).display,
                                 "first": shot.plate.first, "last": shot.plate.last, "model": shot.engine.model,
                                 "weights": weights_id, "device": device, "plate_fingerprint": plate_fp,
                                 "time": time.strftime("%Y-%m-%dT%H:%M:%S")}
                        for o in to_run}

            _update_record(paths, entries("running"))
            runner = _Runner(shot, plate, net, to_run, paths, gfp, ofps, weights_id, shot_copy,
                             on_progress, cancelled, logger, force)
            status = runner.run()
            _update_record(paths, entries(status))
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
                    _update_record(paths, entries("failed"))
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


def _bytes_left(shot: Shot, plate, runner: Optional["_Runner"]) -> Tuple[int, int]:
    """Uncompressed bytes of one frame of one object, and of what the run still writes
    (alphas, and the work frames of a two-way run)."""
    per_pixel = (2 if shot.output.dtype == "half" else 4) * (1 if shot.output.channels == "A" else 4)
    if shot.direction == "both":
        per_pixel += 4
    frame = plate.width * plate.height * per_pixel
    if runner is None:
        return frame, frame * len(shot.objects) * (shot.plate.last - shot.plate.first + 1)
    return frame, frame * max(1, runner.total - runner.done) * max(1, len(runner.objects))


def _all_written(shot: Shot, obj: ShotObject) -> bool:
    pat = output_pattern(shot, obj)
    return all(os.path.isfile(pat.path(f)) for f in range(shot.plate.first, shot.plate.last + 1))


def _cancel_test(cancel) -> Callable[[], bool]:
    if cancel is None:
        return lambda: False
    if hasattr(cancel, "is_set"):
        return cancel.is_set
    if callable(cancel):
        return lambda: bool(cancel())
    raise TypeError("cancel must be a threading.Event or a callable")


def _check_colour(shot: Shot) -> None:
    """Fail early (one line) on an unknown colourspace, display or view."""
    from plugin import color
    color.resolve_colourspace(shot.plate.colourspace, shot.plate.ocio_config)
    if shot.display is not None or shot.view is not None:
        color.display_processor(shot.plate.colourspace, display=shot.display, view=shot.view,
                                config=shot.plate.ocio_config)


_NETWORK_CACHE: Dict[Any, Any] = {}
_NETWORK_LOCK = threading.Lock()


def _load_network(shot: Shot):
    """The network for the shot's weights/device/precision; the last one is kept in this
    process (the worker and repeated runs reuse it; a changed checkpoint file reloads)."""
    from matanyone_engine import load_network
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
    key = (str(weights), stamp, device, shot.engine.precision)
    with _NETWORK_LOCK:
        net = _NETWORK_CACHE.get(key)
        if net is None:
            _NETWORK_CACHE.clear()
            net = load_network(weights, device=device, precision=shot.engine.precision)
            _NETWORK_CACHE[key] = net
        return net


def engine_settings(shot: Shot):
    from matanyone_engine import EngineSettings
    e = shot.engine
    return EngineSettings(warmup=e.warmup, mem_every=e.mem_every, max_mem_frames=e.max_mem_frames,
                          top_k=e.top_k, precision=e.precision)


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


class _Runner:
    """The passes of one run over the objects to run, with resume."""

    def __init__(self, shot, plate, net, objects, paths, gfp, ofps, weights_id, shot_copy,
                 on_progress, cancelled, logger, force):
        self.shot, self.plate, self.net, self.objects = shot, plate, net, list(objects)
        self.paths, self.weights_id, self.shot_copy = paths, weights_id, shot_copy
        self.on_progress, self.cancelled, self.log, self.force = on_progress, cancelled, logger, force
        self.key = {"global": gfp, "objects": {o.name: ofps[o.name] for o in self.objects}}
        tag = hashlib.sha256(",".join(sorted(o.name for o in self.objects)).encode()).hexdigest()[:10]
        self.checkpoint = os.path.join(paths.state_dir, f"state.{tag}.pt")
        self.work = os.path.join(paths.state_dir, f"backward.{tag}")
        self.passes = _plan(shot, self.objects)
        self.total = sum(len(p.schedule) for p in self.passes)
        self.written = 0
        self.current: set = set()  # frames written with this run's settings, every object
        self.done = 0
        self.last_whole = None
        self.resumed_from = None
        self.size = internal_size(plate.width, plate.height, shot.engine.max_internal_size)
        env_every = os.environ.get("MATANYONE_PLUGIN_CHECKPOINT_FRAMES", "").strip()
        self.every_frames = int(env_every) if env_every.isdigit() and int(env_every) > 0 else None
        self._progress_lock = threading.Lock()
        self._decode_lock = threading.Lock()
        self._steps = 0
        self._t_steps = None

    # -- checkpoint -----------------------------------------------------------------
    def _load_checkpoint(self):
        if self.force or not os.path.isfile(self.checkpoint):
            return None
        import torch
        try:
            ck = torch.load(self.checkpoint, map_location="cpu", weights_only=True)
        except Exception as err:  # noqa: BLE001 - a broken state file only costs a restart
            self.log.info(f"saved state unreadable ({type(err).__name__}): starting over")
            return None
        if ck.get("key") != json.dumps(self.key, sort_keys=True):
            self.log.info("saved state is of other inputs: starting over")
            return None
        if ck.get("session") is not None:
            from matanyone_engine import Session
            try:  # e.g. state saved by another engine version
                Session(self.net, engine_settings(self.shot)).load_state_dict(ck["session"])
            except Exception as err:  # noqa: BLE001 - an unusable state only costs a restart
                self.log.info(f"saved state cannot be restored ({err}): starting over")
                return None
        return ck

    def _save_checkpoint(self, pass_index: int, pos: int, session_state, writer_q) -> None:
        import torch
        writer_q.join()  # every frame up to `pos` is on disk
        self._raise_writer_error()
        state = {"key": json.dumps(self.key, sort_keys=True), "pass": pass_index, "pos": pos,
                 "session": session_state}
        os.makedirs(self.paths.state_dir, exist_ok=True)
        tmp = self.checkpoint + f".{os.getpid()}.tmp"
        try:
            torch.save(state, tmp)
            os.replace(tmp, self.checkpoint)
        except BaseException:
            remove_quietly(tmp)
            raise
        self._last_save = time.monotonic()
        self._since_save = 0

    def clean_state(self) -> None:
        """Remove this object set's saved state and backward work (and the folder when empty)."""
        for p in (self.checkpoint,):
            try:
                os.remove(p)
            except OSError:
                pass
        shutil.rmtree(self.work, ignore_errors=True)
        try:
            os.rmdir(self.paths.state_dir)
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
            self.log.info(f"resuming: pass {start_pass + 1}/{len(self.passes)} ({p.direction}) after "
                          f"frame {self.resumed_from if start_pos >= 0 else '(start)'}")
        else:
            self.clean_state()
        self._writers = {}
        try:
            for i in range(start_pass, len(self.passes)):
                status = self._run_pass(i, start_pos if i == start_pass else -1,
                                        state if i == start_pass else None)
                if status != "done":
                    return status
            return "done"
        finally:
            for w in self._writers.values():
                w.close()
            if getattr(self, "_rgb", None) is not None:
                self._rgb.close()

    def _writer_for(self, obj: ShotObject):
        w = self._writers.get(obj.name)
        if w is None:
            from plugin import writers
            w = writers.open(self.shot.output.pattern_for(obj), like=self.plate, dtype=self.shot.output.dtype,
                             channels=self.shot.output.channels, layer=obj.name,
                             metadata=_output_metadata(self.shot, obj, self.weights_id, self.shot_copy))
            self._writers[obj.name] = w
        return w

    def _run_pass(self, index: int, start_pos: int, state) -> str:
        from matanyone_engine import Session
        from matanyone_engine.errors import Cancelled
        p = self.passes[index]
        session = Session(self.net, engine_settings(self.shot))
        if state is not None:
            session.load_state_dict(state)
        self._last_save = time.monotonic()
        self._since_save = 0
        self._writer_error = None
        stop = threading.Event()
        write_q: "queue.Queue" = queue.Queue(maxsize=WRITE_BEHIND)
        todo = [f for f in p.schedule[start_pos + 1:] if f in p.stepped]
        reader = _OrderedReader(self._load_frame, todo, _reader_threads())
        writer = threading.Thread(target=_in_background, args=(self._write, p, write_q, stop), daemon=True,
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
                if self.cancelled():
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
                        out = session.step(image, cancel=self.cancelled)
                    except Cancelled:
                        status, pos, rollback = "cancelled", pos - 1, before
                        break
                    alphas = {}
                    for o in self.objects:
                        a = out.get(o.id)
                        if a is None:
                            continue
                        a = _as_numpy(a)
                        if not np.isfinite(a).all():
                            raise UserError(f"frame {frame}: the alpha of object {o.name!r} holds non-finite "
                                            f"numbers (NaN or infinity); check the weights ({self.weights_id}) "
                                            f"or run with precision fp32")
                        if self.size is not None:
                            a = _resize_alpha(a, self.plate.height, self.plate.width)
                        alphas[o.id] = a
                    self._steps += 1
                self._put(write_q, (frame, alphas), writer)
                self.last_whole = frame
                self._since_save += 1
                due = (self.every_frames is not None and self._since_save >= self.every_frames) or \
                    (time.monotonic() - self._last_save >= CHECKPOINT_SECONDS)
                if due and pos < len(p.schedule) - 1:
                    self._save_checkpoint(index, pos, session.state_dict(), write_q)
            if status == "done" and index + 1 < len(self.passes):
                self._save_checkpoint(index + 1, -1, None, write_q)
            elif status == "cancelled" and pos > start_pos:
                self._save_checkpoint(index, pos, rollback if rollback is not None else session.state_dict(), write_q)
        finally:
            stop.set()
            reader.close()
            write_q.put(None)
            writer.join()
        self._raise_writer_error()
        return status

    def _put(self, write_q, item, writer):
        while True:
            self._raise_writer_error()
            try:
                write_q.put(item, timeout=0.5)
                return
            except queue.Full:
                continue

    def _raise_writer_error(self):
        err = getattr(self, "_writer_error", None)
        if err is not None:
            self._writer_error = None
            raise err

    # -- reader threads -------------------------------------------------------------
    def _load_frame(self, frame: int):
        """Decode, colour-convert (and resize) one frame and load its keyframe masks (reader pool)."""
        from plugin import color, masks
        shot = self.shot
        if getattr(self.plate, "is_movie", False):
            with self._decode_lock:  # one movie decoder; sequences open a file per read
                image = self.plate.read(frame)
        else:
            image = self.plate.read(frame)
        image = color.to_network_input(image, shot.plate.colourspace, config=shot.plate.ocio_config,
                                       display=shot.display, view=shot.view, parallel=False)
        image = np.ascontiguousarray(image, dtype=np.float32)
        if self.size is not None:
            image = _resize_image(image, self.size)
        fmasks = {}
        for o in self.objects:
            path = o.keyframes.get(frame)
            if path is None:
                continue
            m = masks.load_for_engine(path, self.plate.width, self.plate.height, shot.dilate, shot.erode,
                                      f" (object {o.name!r}, frame {frame})")
            if self.size is not None:
                m = _resize_mask(m, self.size)
            fmasks[o.id] = m
        return frame, image, fmasks

    # -- writer thread --------------------------------------------------------------
    def _write(self, p: _Pass, write_q, stop) -> None:
        while True:
            item = write_q.get()
            try:
                if item is None:
                    return
                if self._writer_error is not None:
                    continue  # drain after an error
                try:
                    self._write_frame(p, *item)
                except BaseException as err:  # noqa: BLE001 - raised on the stepping thread
                    self._writer_error = err
            finally:
                write_q.task_done()

    def _write_frame(self, p: _Pass, frame: int, alphas: Optional[Dict[int, np.ndarray]]) -> None:
        h, w = self.plate.height, self.plate.width
        written = {}
        if p.to_work:
            os.makedirs(self.work, exist_ok=True)
            for o in self.objects:
                if _covers(o, "backward", frame):
                    a = alphas.get(o.id) if alphas else None
                    a = np.zeros((h, w), np.float32) if a is None else a
                    path = os.path.join(self.work, f"{o.id}.{frame}.npy")
                    tmp = f"{path}.{os.getpid()}.tmp"
                    try:
                        with open(tmp, "wb") as f:
                            np.save(f, a)
                        os.replace(tmp, path)
                    except BaseException:
                        remove_quietly(tmp)
                        raise
        else:
            rgb = self._rgb_plate().read(frame) if self.shot.output.channels == "RGBA" else None
            for o in self.objects:
                a = self._final_alpha(p, o, frame, alphas, h, w)
                self._writer_for(o).write(frame, a, rgb)
                written[o.name] = self._writer_for(o).path(frame)
            self.written += 1
            self.current.add(frame)
        with self._progress_lock:
            self.done += 1
            done = self.done
        if self.on_progress is not None:
            elapsed = max(1e-6, time.monotonic() - (self._t_steps or time.monotonic()))
            fps = self._steps / elapsed if self._steps else 0.0
            left = self.total - done
            eta = left / fps if fps > 0 else None
            preview = None
            if alphas:
                from plugin.masks import downscale_preview
                preview = downscale_preview(next(iter(alphas.values())))
            self.on_progress(Progress(frame, done, self.total, fps, eta, preview, written, p.direction))

    def _rgb_plate(self):
        """A second reader of the plate for premultiplied RGBA output (used on the writer thread)."""
        if getattr(self, "_rgb", None) is None:
            from plugin import plates
            self._rgb = plates.open(self.shot.plate.path, (self.shot.plate.first, self.shot.plate.last))
        return self._rgb

    def _final_alpha(self, p: _Pass, o: ShotObject, frame: int, alphas, h: int, w: int) -> np.ndarray:
        mine = alphas.get(o.id) if (alphas and _covers(o, p.direction, frame)) else None
        if self.shot.direction != "both":
            return mine if mine is not None else np.zeros((h, w), np.float32)
        back = None
        if _covers(o, "backward", frame):
            path = os.path.join(self.work, f"{o.id}.{frame}.npy")
            back = np.load(path)
        if mine is not None and back is not None:
            wf = _blend_weight(o, frame)
            return (wf * mine + (1.0 - wf) * back).astype(np.float32)
        if mine is not None:
            return mine
        if back is not None:
            return back.astype(np.float32)
        return np.zeros((h, w), np.float32)


def _lower_thread_priority() -> None:
    """Make the calling thread yield to the engine (Linux, this thread alone: the idle
    scheduling class, or nice 19 where that is refused).

    The engine's OpenMP threads need every core at the same moment: a reader or writer that takes
    a core in the middle of a parallel op stalls the whole op. At the lowest priority they run in
    the gaps the engine leaves (and freely while it waits on a GPU or for a frame).
    """
    if not sys.platform.startswith("linux"):
        return
    tid = threading.get_native_id()
    try:
        if os.environ.get("MATANYONE_PLUGIN_READER_NICE") == "1":
            raise OSError("nice requested")
        os.sched_setscheduler(tid, os.SCHED_IDLE, os.sched_param(0))
    except (OSError, AttributeError):
        try:
            os.setpriority(os.PRIO_PROCESS, tid, 19)
        except (OSError, AttributeError):
            pass


def _in_background(target, *args) -> None:
    _lower_thread_priority()
    target(*args)


def _reader_threads() -> int:
    """Frames decoded and colour-converted in parallel: OCIO's CPU transform of a 1080p frame
    takes about a second on one core, so one reader would starve a GPU."""
    env = os.environ.get("MATANYONE_PLUGIN_READERS", "").strip()
    if env.isdigit() and int(env) > 0:
        return int(env)
    return max(1, min(READERS_MAX, (os.cpu_count() or 2) - 1))


class _OrderedReader:
    """Loads frames on a small thread pool, at most `ahead` in flight, handed out in order."""

    def __init__(self, load: Callable[[int], Any], frames: List[int], threads: int):
        from concurrent.futures import ThreadPoolExecutor
        self._load = load
        self._frames = iter(frames)
        self._ahead = max(READ_AHEAD, threads + 1)
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="matanyone-reader",
                                        initializer=_lower_thread_priority)
        self._pending: "collections.deque" = collections.deque()
        self._fill()

    def _fill(self) -> None:
        while len(self._pending) < self._ahead:
            frame = next(self._frames, None)
            if frame is None:
                return
            self._pending.append(self._pool.submit(self._load, frame))

    def next(self):
        future = self._pending.popleft()
        item = future.result()  # a reader's error (one-line UserError) surfaces here
        self._fill()
        return item

    def close(self) -> None:
        for future in self._pending:
            future.cancel()
        self._pending.clear()
        self._pool.shutdown(wait=True, cancel_futures=True)
