"""The panel's connection to the worker: started on first use off the UI thread, requests
queued until `hello` answers, answers and notifications handed to the UI thread through the
controller's `post`, and an I/O pool for the disk work around them. No Qt."""
from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, List, Optional, Tuple

from ui.panel.events import Event


class WorkerLink:
    """Owns the worker client; tells the controller (`shell`) when it is ready, fails or notifies."""

    def __init__(self, shell, client_factory: Optional[Callable] = None):
        self.shell = shell
        self._client_factory = client_factory
        self._client = None
        self.hello: Optional[dict] = None
        self._starting = False
        self._pending: List[Tuple[str, dict, Callable, Callable]] = []
        self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="panel-io")
        self.closed = False

    def _make_client(self):
        if self._client_factory is not None:
            return self._client_factory(self._on_notification)
        from plugin.client import WorkerClient  # stdlib-only module, safe in a host's Python
        return WorkerClient(on_notification=self._on_notification)

    def call(self, method: str, params: dict, on_result: Callable, on_error: Callable) -> None:
        if self.closed:
            return
        if self.hello is None:
            self._pending.append((method, params, on_result, on_error))
            self._start()
            return
        self._send(method, params, on_result, on_error)

    def _send(self, method, params, on_result, on_error) -> None:
        post = self.shell.post

        def callback(*args):
            result, err = split_callback(args)
            if err is not None:
                post(lambda: on_error(err))
            else:
                post(lambda: on_result(result))
        try:
            self._client.call_async(method, params, callback)
        except Exception as err:  # noqa: BLE001 - a dead worker becomes one line in the panel
            on_error(err)

    def cancel_job(self) -> None:
        """Ask the worker to stop its run (off the UI thread: the pipe may block)."""
        client = self._client
        if client is None:
            return
        cancel = getattr(client, "cancel", None)  # WorkerClient.cancel; a bare client gets the request
        if callable(cancel):
            threading.Thread(target=quietly(cancel), name="panel-cancel", daemon=True).start()
        else:
            self.call("cancel", {}, lambda _r: None, lambda _e: None)

    def _start(self) -> None:
        if self._starting:
            return
        self._starting = True
        self.shell.emit(Event.STATUS, "Starting the worker…")

        def start():
            try:
                client = self._client or self._make_client()
                hello = client.start()
            except Exception as err:  # noqa: BLE001
                self.shell.post(lambda e=err: self._failed(e))
                return
            self.shell.post(lambda: self._ready(client, hello))
        threading.Thread(target=start, name="panel-worker-start", daemon=True).start()

    def _ready(self, client, hello) -> None:
        self._client, self.hello, self._starting = client, dict(hello or {}), False
        pending, self._pending = self._pending, []
        for method, params, on_result, on_error in pending:
            self._send(method, params, on_result, on_error)
        self.shell.worker_ready(self.hello)

    def _failed(self, err) -> None:
        self._starting = False
        self._pending = []
        self.shell.worker_failed(err)

    def _on_notification(self, method: str, params: dict) -> None:
        """Called on the client's reader thread."""
        self.shell.post(lambda: self.shell.worker_notified(method, params or {}))

    def submit(self, fn) -> None:
        if not self.closed:
            self._pool.submit(fn)

    def close(self) -> None:
        self.closed = True
        client, self._client = self._client, None
        if client is not None:  # the worker's shutdown may take seconds: not on the UI thread
            threading.Thread(target=quietly(client.close), name="panel-worker-close").start()
        self._pool.shutdown(wait=False)


def split_callback(args):
    """Accept `cb(result, error)`, `cb(result)` or `cb(exception)` from the client."""
    if len(args) >= 2:
        return args[0], args[1]
    value = args[0] if args else None
    if isinstance(value, BaseException):
        return None, value
    return value, None


def quietly(fn):
    def run():
        try:
            fn()
        except Exception:  # noqa: BLE001 - a cancel to a dead worker changes nothing
            pass
    return run
