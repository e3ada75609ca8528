"""Start the worker (`python -m plugin worker`) and talk to it: what hosts and the panel use.

Standard library only, Python 3.9 syntax: this runs inside Nuke's or Resolve's Python,
which has no torch. The worker runs in the product's own interpreter, found from (in
order) the `python` argument, the `worker_python` setting / `MATANYONE_PLUGIN_PYTHON`,
else this interpreter when it can import torch.

    client = WorkerClient(on_notification=lambda method, params: ...)
    hello = client.start()
    client.call("open_plate", path="/shots/sh010.####.exr")
    client.call_async("run_shot", {"shot_path": p}, callback=lambda result, error: ...)
    client.cancel(); client.close()

Notifications (progress, frame_done, log, ...) and async callbacks arrive on the client's
reader thread: a Qt front end must re-post them to its own thread.
"""
from __future__ import annotations

import collections
import importlib.util
import itertools
import os
import subprocess
import sys
import threading
from typing import Any, Callable, Dict, Optional

from plugin import errors, protocol, settings

_PACKAGE_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

Callback = Callable[[Any, Optional[BaseException]], None]


class _Pending:
    __slots__ = ("event", "result", "typed", "error", "callback", "method")

    def __init__(self, method: str, callback: Optional[Callback] = None):
        self.event = threading.Event()
        self.result = None  # the result's JSON object, checked against protocol.RESULTS
        self.typed = None   # the same as its protocol dataclass
        self.error = None  # type: Optional[BaseException]
        self.callback = callback
        self.method = method


def find_worker_python(python: Optional[str] = None) -> str:
    """The interpreter to start the worker with; WorkerError (one line) when there is none."""
    how = "given"
    if not python:
        python = settings.current().worker_python
        how = f"set by {settings.ENV_PYTHON} or the worker_python setting"
    if python:
        path = os.path.expanduser(python)
        if os.path.isfile(path) and os.access(path, os.X_OK):
            return path
        found = _which(path)
        if found:
            return found
        raise errors.WorkerError(
            f"worker interpreter {python!r} ({how}) was not found or is not executable: point "
            f"{settings.ENV_PYTHON} or the worker_python setting at the python of the "
            "matanyone-plugin environment (e.g. <install>/.venv/bin/python)")
    if _can_import_torch_here():
        return sys.executable
    raise errors.WorkerError(
        "no worker interpreter is set and this Python cannot run the engine (no torch): set "
        f"{settings.ENV_PYTHON} or the worker_python setting to the python of the matanyone-plugin "
        "environment (e.g. <install>/.venv/bin/python)")


def _which(name: str) -> Optional[str]:
    import shutil
    return shutil.which(name)


def _can_import_torch_here() -> bool:
    exe = os.path.basename(sys.executable or "").lower()
    if not exe.startswith("python"):
        return False  # e.g. Nuke's or Resolve's own binary
    try:
        return importlib.util.find_spec("torch") is not None
    except (ImportError, ValueError):  # ValueError: torch blocked in sys.modules
        return False


class WorkerClient:
    """One worker process and the JSON-lines conversation with it."""

    def __init__(self, python: Optional[str] = None,
                 on_notification: Optional[Callable[[str, Dict[str, Any]], None]] = None,
                 env: Optional[Dict[str, str]] = None, log_path: Optional[str] = None):
        self.python = python
        self.on_notification = on_notification
        self.env = env
        self.log_path = log_path
        self.hello = None  # type: Optional[Dict[str, Any]]
        self._proc = None  # type: Optional[subprocess.Popen]
        self._ids = itertools.count(1)
        self._pending = {}  # type: Dict[int, _Pending]
        self._lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._stderr_tail = collections.deque(maxlen=50)  # type: collections.deque
        self._dead = None  # type: Optional[errors.WorkerError]
        self._stderr_thread = None  # type: Optional[threading.Thread]
        self._stdout_thread = None  # type: Optional[threading.Thread]

    # -- life cycle ---------------------------------------------------------------
    def start(self, timeout: float = 120.0) -> Dict[str, Any]:
        """Start the worker and say hello; returns the worker's hello (versions, device)."""
        python = find_worker_python(self.python)
        env = dict(os.environ if self.env is None else self.env)
        env["PYTHONPATH"] = _PACKAGE_ROOT + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
        env.setdefault("PYTHONUNBUFFERED", "1")
        kwargs = {}
        if os.name == "nt":
            kwargs["creationflags"] = getattr(subprocess, "CREATE_NO_WINDOW", 0)
        try:
            self._proc = subprocess.Popen(
                [python, "-m", "plugin", "worker"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                stderr=subprocess.PIPE, env=env, cwd=_PACKAGE_ROOT, **kwargs)
        except OSError as err:
            raise errors.WorkerError(f"cannot start the worker with {python!r}: {err.strerror or err}") from None
        self._dead = None
        self._stderr_thread = threading.Thread(target=self._read_stderr, name="matanyone-client-stderr",
                                               daemon=True)
        self._stdout_thread = threading.Thread(target=self._read_stdout, name="matanyone-client-reader",
                                               daemon=True)
        self._stderr_thread.start()
        self._stdout_thread.start()
        try:
            hello = self.call(protocol.HELLO, protocol.hello_params(), timeout=timeout)
        except BaseException:
            self._kill()
            raise
        if not isinstance(hello, dict) or hello.get("protocol") != protocol.PROTOCOL_VERSION:
            self._kill()
            raise errors.WorkerError(protocol.version_mismatch_message(
                protocol.PROTOCOL_VERSION, hello.get("protocol") if isinstance(hello, dict) else None))
        self.hello = hello
        return hello

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None and self._dead is None

    def close(self, timeout: float = 10.0) -> None:
        """Ask the worker to shut down; kill it if it does not within `timeout` seconds."""
        if self._proc is None:
            return
        if self.running:
            try:
                self.call(protocol.SHUTDOWN, timeout=timeout)
            except errors.UserError:
                pass
        try:
            self._proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self._kill()
        for stream in (self._proc.stdin, self._proc.stdout, self._proc.stderr):
            try:
                if stream:
                    stream.close()
            except OSError:
                pass

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.close()

    def _kill(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.kill()
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass

    # -- calls --------------------------------------------------------------------
    def call(self, method: str, _params: Optional[Dict[str, Any]] = None, *,
             timeout: Optional[float] = None, **params) -> Any:
        """Send a request and wait for its result.

        Raises the worker's user error (PlateError, WeightsError, ...) with its one line,
        WorkerError when the worker died or did not answer within `timeout` seconds.
        """
        merged = dict(_params or {})
        merged.update(params)
        return self._wait(self._send(method, merged, None), timeout).result

    def request(self, message: protocol.Message, *, timeout: Optional[float] = None) -> protocol.Message:
        """Send a typed request (a `protocol.REQUESTS` dataclass) and return its typed result."""
        return self._wait(self._send(message.method, message.to_json(), None), timeout).typed

    def _wait(self, pending: _Pending, timeout: Optional[float]) -> _Pending:
        if not pending.event.wait(timeout):
            raise errors.WorkerError(f"the worker did not answer {pending.method!r} within {timeout:g} s")
        if pending.error is not None:
            raise pending.error
        return pending

    def call_async(self, method: str, params: Optional[Dict[str, Any]] = None,
                   callback: Optional[Callback] = None) -> int:
        """Send a request; `callback(result, error)` runs on the reader thread. Returns the id."""
        pending = self._send(method, dict(params or {}), callback)
        return self._id_of(pending)

    def cancel(self) -> None:
        """Ask the worker to stop what it is doing at its next frame boundary (no wait)."""
        if self.running:
            self._send(protocol.CANCEL, {}, lambda result, error: None)

    def _id_of(self, pending: _Pending) -> int:
        with self._lock:
            for k, v in self._pending.items():
                if v is pending:
                    return k
        return -1

    def _send(self, method: str, params: Dict[str, Any], callback: Optional[Callback]) -> _Pending:
        """Raises protocol.ParamsError (a caller's bug) for params that do not fit the method."""
        kind = protocol.REQUESTS.get(method)
        if kind is not None:
            params = kind.from_json(params).to_json()
        if self._proc is None:
            raise errors.WorkerError("the worker is not started (call start() first)")
        if self._dead is not None:
            raise self._dead
        msg_id = next(self._ids)
        pending = _Pending(method, callback)
        with self._lock:
            self._pending[msg_id] = pending
        data = protocol.encode(protocol.request(msg_id, method, params))
        try:
            with self._write_lock:
                self._proc.stdin.write(data)
                self._proc.stdin.flush()
        except (OSError, ValueError):
            with self._lock:
                self._pending.pop(msg_id, None)
            self._mark_dead()
            raise self._dead from None
        return pending

    # -- reader threads -----------------------------------------------------------
    def _read_stdout(self) -> None:
        stream = self._proc.stdout
        for line in iter(stream.readline, b""):
            if not line.strip():
                continue
            try:
                msg = protocol.decode(line)
            except protocol.ProtocolError:
                self._stderr_tail.append(line.decode("utf-8", "replace").rstrip())
                continue
            if protocol.is_notification(msg):
                kind = protocol.NOTES.get(msg["method"])
                try:
                    params = kind.from_json(msg.get("params") or {}).to_json() if kind else None
                except protocol.ParamsError as err:
                    params = None
                    self._stderr_tail.append(f"malformed notification from the worker: {err}")
                if self.on_notification is not None and params is not None:
                    try:
                        self.on_notification(msg["method"], params)
                    except Exception as err:  # noqa: BLE001 - a front end's bug must not kill the reader
                        self._stderr_tail.append(f"notification callback failed: {err!r}")
                continue
            if protocol.is_response(msg):
                with self._lock:
                    pending = self._pending.pop(msg.get("id"), None)
                if pending is None:
                    continue
                if "error" in msg:
                    pending.error = _error_from(msg["error"], pending.method)
                else:
                    _take_result(pending, msg.get("result"))
                self._finish(pending)
        self._mark_dead()

    def _read_stderr(self) -> None:
        log = None
        if self.log_path:
            try:
                log = open(self.log_path, "a", encoding="utf-8")
            except OSError:
                log = None
        try:
            for line in iter(self._proc.stderr.readline, b""):
                text = line.decode("utf-8", "replace").rstrip()
                if text:
                    self._stderr_tail.append(text)
                if log is not None:
                    log.write(text + "\n")
                    log.flush()
        finally:
            if log is not None:
                log.close()

    def last_stderr(self) -> str:
        return self._stderr_tail[-1] if self._stderr_tail else ""

    def _mark_dead(self) -> None:
        if self._dead is not None:
            return
        code = None
        if self._proc is not None:
            try:
                code = self._proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                code = None
        # Give the stderr reader a moment to catch the last line.
        t = self._stderr_thread
        if t is not None and t is not threading.current_thread():
            t.join(timeout=2)
        last = self.last_stderr()
        how = f"exited with code {code}" if code is not None else "stopped answering"
        self._dead = errors.WorkerError(
            f"the worker process {how}" + (f": {last}" if last else " (no message on its stderr)"))
        with self._lock:
            pendings = list(self._pending.values())
            self._pending.clear()
        for pending in pendings:
            pending.error = self._dead
            self._finish(pending)

    def _finish(self, pending: _Pending) -> None:
        pending.event.set()
        if pending.callback is not None:
            try:
                pending.callback(pending.result, pending.error)
            except Exception as err:  # noqa: BLE001 - keep the reader alive
                self._stderr_tail.append(f"callback for {pending.method} failed: {err!r}")


def _take_result(pending: _Pending, result: Any) -> None:
    """The result, checked against its dataclass; a hello of another protocol version is left
    to `start`, which names both versions."""
    pending.result = result
    kind = protocol.RESULTS.get(pending.method)
    if kind is None:
        return
    if (pending.method == protocol.HELLO and isinstance(result, dict)
            and result.get("protocol") != protocol.PROTOCOL_VERSION):
        return
    try:
        pending.typed = kind.from_json(result)
    except protocol.ParamsError as err:
        pending.error = errors.WorkerError(f"the worker sent a malformed result for {pending.method!r}: {err}")
        return
    pending.result = pending.typed.to_json()


def _error_from(err: Any, method: str) -> BaseException:
    if not isinstance(err, dict):
        return errors.WorkerError(f"the worker sent a malformed error for {method!r}")
    message = str(err.get("message") or f"{method} failed")
    code = err.get("code")
    data = err.get("data") or {}
    if code == protocol.USER_ERROR:
        return errors.from_kind(data.get("kind"), message)
    if code == protocol.CANCELLED:
        return errors.UserError(message)
    if code == protocol.VERSION_MISMATCH:
        return errors.WorkerError(message)
    suffix = f" (worker log: {data['log']})" if data.get("log") else ""
    return errors.WorkerError(f"worker error in {method}: {message}{suffix}")
