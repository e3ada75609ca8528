"""What a run reads, checked before anything is written, and fingerprinted so a re-run
knows what changed: outputs never land on an input (however spelt), masks fit the plate,
the colour settings exist; fingerprints of plate, masks, settings and weights."""
from __future__ import annotations

import hashlib
import json
import os
from typing import Any, Dict, List, Optional, Sequence, Tuple

from plugin import framepattern
from plugin.errors import MaskError, OutputError
from plugin.job.files import RUN_RECORD_VERSION, JobPaths
from plugin.shot import EngineSpec, Shot, ShotObject


def output_pattern(shot: Shot, obj: ShotObject) -> framepattern.FramePattern:
    return framepattern.parse(shot.output.pattern_for(obj))


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


def check_writable(out_dir: str) -> None:
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


class FileIds:
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


def check_not_inputs(full_shot: Shot, shot: Shot, plate, paths: JobPaths) -> None:
    """Refuse, before anything is written, any file of the run that would land on an input
    (of any object, however the output is spelt)."""
    inputs = _input_files(full_shot, plate)
    what = {}
    for p, w in inputs:
        what.setdefault(p, w)
    ids = FileIds(p for p, _ in inputs)
    targets = []
    for o in shot.objects:
        pat = output_pattern(shot, o)
        targets += [(pat.path(f), f"output {shot.output.pattern_for(o)}")
                    for f in range(shot.plate.first, shot.plate.last + 1)]
    targets += [(paths.record, "run record"), (paths.log, "job log")]
    same_shot = full_shot.shot_file and FileIds([full_shot.shot_file]).find(paths.shot)
    if not same_shot:
        targets.append((paths.shot, "shot copy"))
    for target, label in targets:
        hit = ids.find(target)
        if hit is not None:
            same = "" if os.path.abspath(hit) == os.path.abspath(target) else f" (as {hit})"
            raise OutputError(f"{label} would overwrite {target}, the {what[hit]}{same}; "
                              f"choose another output path")


def validate_masks(shot: Shot, objects: Sequence[ShotObject], width: int, height: int) -> None:
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


def check_colour(shot: Shot) -> None:
    """Fail early (one line) on an unknown colourspace, display or view."""
    from plugin import color
    color.resolve_colourspace(shot.plate.colourspace, shot.plate.ocio_config)
    if shot.display is not None or shot.view is not None:
        color.display_processor(shot.plate.colourspace, display=shot.display, view=shot.view,
                                config=shot.plate.ocio_config)


def all_written(shot: Shot, obj: ShotObject) -> bool:
    pat = output_pattern(shot, obj)
    return all(os.path.isfile(pat.path(f)) for f in range(shot.plate.first, shot.plate.last + 1))


def output_metadata(shot: Shot, obj: ShotObject, weights_id: str, shot_copy: str) -> Dict[str, str]:
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

