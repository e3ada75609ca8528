"""The files a job keeps beside its outputs, and the rules that keep them safe: where they
live, atomic JSON, the run record, one lock per object for a whole run, temporaries that a
dead run left, and the one-line error of a full disk."""
from __future__ import annotations

import errno
import json
import os
import re
import shutil
import time
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Dict, Iterator, List, Optional

from plugin.errors import OutputError
from plugin.shot import Shot

RUN_RECORD_VERSION = 1


@dataclass(frozen=True)
class JobPaths:
    out_dir: str
    name: str

    @property
    def shot(self) -> str:
        return os.path.join(self.out_dir, f"{self.name}.shot.json")

    @property
    def record(self) -> str:
        return os.path.join(self.out_dir, f"{self.name}.run.json")

    @property
    def log(self) -> str:
        return os.path.join(self.out_dir, f"{self.name}.log")

    @property
    def state_dir(self) -> str:
        return os.path.join(self.out_dir, f".{self.name}.matanyone")

    @property
    def lock(self) -> str:
        return os.path.join(self.out_dir, f".{self.name}.run.lock")

    def object_lock(self, object_name: str) -> str:
        return os.path.join(self.out_dir, f".{self.name}.{object_name}.lock")


def job_paths(shot: Shot) -> JobPaths:
    """Where a shot's record, log, shot copy and state live: the outputs' folder."""
    path = shot.output.path
    parts = path.replace("\\", "/").split("/")
    # The folder is the part of the path before any component holding `{object}`.
    for i, part in enumerate(parts[:-1]):
        if "{object}" in part:
            out_dir = "/".join(parts[:i]) or "/"
            break
    else:
        out_dir = os.path.dirname(path)
    name = os.path.basename(path)
    for token in ("{object}", "#", "%", "$F", "@"):
        idx = name.find(token)
        if idx >= 0:
            name = name[:idx]
    name = name.strip("._- ") or "matte"
    return JobPaths(os.path.normpath(out_dir), name)


# --------------------------------------------------------------------------- atomic JSON
_TMP_JSON = re.compile(r"^\..+\.(?P<pid>\d+)\.tmp$")
_TMP_STATE = re.compile(r"^.+\.(?P<pid>\d+)\.tmp$")


def write_json(path: str, data: Any) -> None:
    """Write JSON under a temporary name and rename it into place (removed if the write fails)."""
    tmp = os.path.join(os.path.dirname(path), f".{os.path.basename(path)}.{os.getpid()}.tmp")
    try:
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(data, f, indent=2, sort_keys=True)
            f.write("\n")
        os.replace(tmp, path)
    except BaseException:
        remove_quietly(tmp)
        raise


def read_json(path: str) -> Optional[dict]:
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
        return data if isinstance(data, dict) else None
    except (OSError, ValueError):
        return None


def remove_quietly(path: str) -> None:
    try:
        os.remove(path)
    except OSError:
        pass


# --------------------------------------------------------------------------- locks
@contextmanager
def locked(path: str) -> Iterator[None]:
    """A short exclusive lock on `path` (created if needed), waited for: the record's updates."""
    f = open(path, "a+b")
    try:
        if os.name == "nt":
            import msvcrt
            f.seek(0)
            while True:
                try:
                    msvcrt.locking(f.fileno(), msvcrt.LK_LOCK, 1)
                    break
                except OSError:
                    time.sleep(0.1)
        else:
            import fcntl
            fcntl.flock(f.fileno(), fcntl.LOCK_EX)
        yield
    finally:
        if os.name != "nt":
            import fcntl
            fcntl.flock(f.fileno(), fcntl.LOCK_UN)
        f.close()


def _try_lock(f) -> bool:
    if os.name == "nt":
        import msvcrt
        try:
            f.seek(0)
            msvcrt.locking(f.fileno(), msvcrt.LK_NBLCK, 1)
            return True
        except OSError:
            return False
    import fcntl
    try:
        fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except OSError:
        return False


class RunLock:
    """One lock per object, held for a whole run (every pass of `direction: both`): a second
    run of the same objects of the shot is refused in one line naming the run that works on
    them. Runs of other objects of the shot (farm tasks) go on side by side."""

    def __init__(self, paths: JobPaths, object_names: List[str]):
        self._files = []
        try:
            for name in sorted(object_names):
                self._files.append(self._take(paths, paths.object_lock(name), name))
        except BaseException:
            self.release()
            raise

    @staticmethod
    def _take(paths: JobPaths, path: str, name: str):
        f = open(path, "a+")
        if not _try_lock(f):
            f.seek(0)
            pid = f.read().strip() or "?"
            f.close()
            raise OutputError(f"another run (pid {pid}) is working on object {name!r} of this shot in "
                              f"{paths.out_dir}; wait for it to finish or stop it, then run again")
        f.seek(0)
        f.truncate()
        f.write(str(os.getpid()))
        f.flush()
        return f

    def release(self) -> None:
        for f in self._files:
            try:
                f.seek(0)
                f.truncate()   # the file stays (removing a lock file races with its next taker)
                f.close()       # closing releases the lock
            except OSError:
                pass
        self._files = []

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.release()


def update_record(paths: JobPaths, entries: Dict[str, dict]) -> None:
    """Merge these objects' entries into the run record (other objects' entries stay)."""
    with locked(paths.lock):
        record = read_json(paths.record) or {}
        objs = record.get("objects") if isinstance(record.get("objects"), dict) else {}
        objs.update(entries)
        write_json(paths.record, {"version": RUN_RECORD_VERSION, "objects": objs})


# --------------------------------------------------------------------------- leftovers
def clean_stale_temps(paths: JobPaths) -> List[str]:
    """Remove temporaries of runs whose process is gone: the record's and the shot copy's
    `.X.<pid>.tmp`, and partial state files in the state folder."""
    from plugin.writers import _pid_alive
    removed = []
    found = [(paths.out_dir, n, _TMP_JSON.match(n)) for n in _names(paths.out_dir)]
    for root, _, names in os.walk(paths.state_dir):  # checkpoints and work frames: `X.<pid>.tmp`
        found += [(root, n, _TMP_STATE.match(n)) for n in names]
    for directory, name, m in found:
        if m and int(m.group("pid")) != os.getpid() and not _pid_alive(int(m.group("pid"))):
            remove_quietly(os.path.join(directory, name))
            removed.append(name)
    return removed


def _names(directory: str) -> List[str]:
    try:
        return os.listdir(directory)
    except OSError:
        return []


# --------------------------------------------------------------------------- disk full
def is_disk_full(err: BaseException, folder: str, frame_bytes: int) -> bool:
    """A write that failed for want of space: ENOSPC/EDQUOT, or a short write (numpy, OIIO)
    in a folder that has no longer room for one frame."""
    if getattr(err, "errno", None) in (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)):
        return True
    if not isinstance(err, (OSError, OutputError)):
        return False
    return free_bytes(folder) < frame_bytes


def free_bytes(folder: str) -> int:
    try:
        return shutil.disk_usage(folder).free
    except OSError:
        return 1 << 62


def disk_full_error(folder: str, need_bytes: int) -> OutputError:
    return OutputError(f"{folder}: the disk is full ({_size(free_bytes(folder))} free; the rest of this run "
                       f"needs about {_size(need_bytes)}); free space there or choose another output "
                       "folder, then run again")


def _size(n: float) -> str:
    for unit in ("bytes", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024.0
    return f"{n:.1f} TB"


# --------------------------------------------------------------------------- which frames are current
def frame_ranges(frames) -> List[List[int]]:
    """[[first, last], ...] of a set of frame numbers, in order."""
    out: List[List[int]] = []
    for f in sorted(set(frames)):
        if out and f == out[-1][1] + 1:
            out[-1][1] = f
        else:
            out.append([f, f])
    return out


def frames_in(ranges) -> set:
    """The frame numbers of a record's `current` ranges (a damaged entry counts as none)."""
    out = set()
    for r in ranges or ():
        if isinstance(r, list) and len(r) == 2 and all(isinstance(v, int) for v in r) and r[1] - r[0] < 10 ** 6:
            out.update(range(r[0], r[1] + 1))
    return out


def _text(ranges) -> str:
    return ", ".join(f"{a}" if a == b else f"{a}-{b}" for a, b in ranges) or "none"


def describe_run(shot: Shot) -> List[tuple]:
    """(label, text) rows of a shot's run record: per object, its status, the frames the
    record's settings wrote, and frames on disk from other settings (a mixed folder)."""
    from plugin import framepattern
    paths = job_paths(shot)
    record = read_json(paths.record)
    if record is None:
        return [("run record", f"none in {paths.out_dir} (not run yet)")]
    entries = record.get("objects") if isinstance(record.get("objects"), dict) else {}
    rows = [("run record", paths.record)]
    for o in shot.objects:
        e = entries.get(o.name)
        if not isinstance(e, dict):
            rows.append((o.name, "not run yet"))
            continue
        current = frames_in(e.get("current"))
        on_disk = set(framepattern.parse(shot.output.pattern_for(o)).scan())
        stale = sorted(on_disk - current)
        text = f"{e.get('status', '?')}; current frames {_text(frame_ranges(current & on_disk))}"
        if stale:
            text += (f"; MIXED: frames {_text(frame_ranges(stale))} are not of these settings (an earlier "
                     "run's, or not yet recorded by a run that was stopped); run again to finish")
        rows.append((o.name, text))
    return rows
