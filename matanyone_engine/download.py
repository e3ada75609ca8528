"""Resumable HTTP download into a `.part` file, and a cross-process file lock.

Standard library only. `matanyone_engine.weights` decides what to fetch and verifies it; this
module only moves bytes: Range requests resume a `.part` after a cut connection (a few quick
retries here, and a later run resumes from where the file stopped), a server that ignores Range
restarts the file, and the callback sees every chunk so a panel can show progress and cancel.
"""
from __future__ import annotations

import contextlib
import os
import re
import socket
import time
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass
from http.client import HTTPException
from pathlib import Path
from typing import Callable, Optional

from matanyone_engine.errors import WeightsError

try:  # POSIX
    import fcntl
except ImportError:  # Windows
    fcntl = None
    import msvcrt

CHUNK = 1 << 20
USER_AGENT = "matanyone-plugin"
_CONTENT_RANGE = re.compile(r"bytes\s+(\d+)-(\d+)/(\d+|\*)")


class DownloadCancelled(WeightsError):
    """The user cancelled a download; the `.part` file is kept to resume."""


@dataclass
class DownloadProgress:
    """What a progress bar or the panel's dialog shows.

    `state` is "waiting" (another process is downloading the same file), "downloading",
    "verifying" or "done"; `total` is None while the size is unknown.
    """

    name: str
    file: str
    state: str
    done: int = 0
    total: Optional[int] = None
    bytes_per_s: float = 0.0

    def to_json(self) -> dict:
        return asdict(self)


ProgressCallback = Callable[[DownloadProgress], None]


@contextlib.contextmanager
def file_lock(path: Path, on_wait: Optional[Callable[[], None]] = None):
    """Exclusive lock on `path` (created if needed) across threads and processes.

    The operating system drops the lock when its holder dies, so a crashed download never
    leaves a stale lock behind; the lock file itself is left in place (it is empty).
    """
    fd = os.open(str(path), os.O_RDWR | os.O_CREAT, 0o644)
    try:
        if fcntl is not None:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                if on_wait:
                    on_wait()
                fcntl.flock(fd, fcntl.LOCK_EX)
        else:
            waited = False
            while True:
                try:
                    msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
                    break
                except OSError:
                    if on_wait and not waited:
                        on_wait()
                        waited = True
                    time.sleep(0.2)
        yield
    finally:
        try:
            if fcntl is not None:
                fcntl.flock(fd, fcntl.LOCK_UN)
            else:
                os.lseek(fd, 0, os.SEEK_SET)
                msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)
        finally:
            os.close(fd)


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


def fetch_to_part(url: str, part: Path, *, label: str, expected_size: Optional[int] = None,
                  progress: Optional[ProgressCallback] = None, cancel: Optional[Callable[[], bool]] = None,
                  name: str = "", retries: int = 3, timeout: float = 30.0, backoff: float = 1.0) -> int:
    """Download `url` into `part`, resuming what is already there; returns the final size.

    Args:
        url: http(s) URL.
        part: the `.part` file (appended to when the server honours Range).
        label: the file's name for messages.
        expected_size: bytes the file must have, when known (checked as soon as the server says).
        progress: called with DownloadProgress after each chunk (at most ~10 times a second).
        cancel: polled after each chunk; True stops with DownloadCancelled (the part is kept).
        retries: quick reconnects after a cut connection before giving up (the part is kept).

    Raises:
        WeightsError: HTTP error, wrong size, or the connection kept failing (one line each).
        DownloadCancelled: `cancel()` returned True.
    """
    failures = 0
    while True:
        have = _size(part)
        if expected_size is not None and have == expected_size:
            return have  # a previous run got every byte; verification decides the rest
        if expected_size is not None and have > expected_size:
            part.unlink()
            have = 0
        headers = {"User-Agent": USER_AGENT, "Accept-Encoding": "identity"}
        if have:
            headers["Range"] = f"bytes={have}-"
        request = urllib.request.Request(url, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return _receive(response, part, have, label=label, expected_size=expected_size,
                                progress=progress, cancel=cancel, name=name)
        except urllib.error.HTTPError as err:
            if err.code == 416 and have:
                # Nothing left to send from `have`: the part is complete (or longer than the
                # file, which verification will catch).
                return have
            raise WeightsError(f"download of {label} failed: HTTP {err.code} {err.reason} from {url}") from None
        except (urllib.error.URLError, HTTPException, ConnectionError, socket.timeout, TimeoutError, OSError) as err:
            failures += 1
            if failures > retries:
                reason = getattr(err, "reason", None) or err
                raise WeightsError(
                    f"download of {label} from {url} stopped at {_size(part):,} bytes after {failures} tries "
                    f"({' '.join(str(reason).split()) or type(err).__name__}); run the same command again to resume") from None
            time.sleep(min(backoff * failures, 10.0))


def _receive(response, part: Path, have: int, *, label, expected_size, progress, cancel, name) -> int:
    status = getattr(response, "status", 200)
    total = None
    if status == 206:
        match = _CONTENT_RANGE.match(response.headers.get("Content-Range", ""))
        if not match or int(match.group(1)) != have:
            raise ConnectionError(f"server answered the range request for {label} with another range")
        total = None if match.group(3) == "*" else int(match.group(3))
        mode = "ab"
    else:  # 200: the server sends the whole file (Range not supported): start again
        length = response.headers.get("Content-Length")
        total = int(length) if length and length.isdigit() else None
        have = 0
        mode = "wb"
    if expected_size is not None and total is not None and total != expected_size:
        raise WeightsError(
            f"download of {label}: the server sends {total:,} bytes but the registry says {expected_size:,}; "
            "the file on the server is not the expected checkpoint")
    done = have
    started = time.monotonic()
    last_report = 0.0
    with open(part, mode) as out:
        while True:
            chunk = response.read(CHUNK)
            if not chunk:
                break
            out.write(chunk)
            done += len(chunk)
            if expected_size is not None and done > expected_size:
                raise WeightsError(f"download of {label}: more than the expected {expected_size:,} bytes arrived")
            now = time.monotonic()
            if progress and (now - last_report >= 0.1):
                last_report = now
                rate = (done - have) / max(now - started, 1e-6)
                progress(DownloadProgress(name, label, "downloading", done, total or expected_size, rate))
            if cancel and cancel():
                raise DownloadCancelled(f"download of {label} cancelled at {done:,} bytes; run it again to resume")
    if total is not None and done != total:
        raise ConnectionError(f"connection closed after {done:,} of {total:,} bytes")
    if progress:
        rate = (done - have) / max(time.monotonic() - started, 1e-6)
        progress(DownloadProgress(name, label, "downloading", done, total or expected_size or done, rate))
    return done
