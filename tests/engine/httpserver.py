"""A local HTTP file server for download tests: Range support and injected faults.

    with StandInServer({"/w.pth": data}) as server:
        server.url("/w.pth")                   # http://127.0.0.1:PORT/w.pth
        server.faults["/w.pth"] = Fault(cut_after=1000, times=1)
        server.log                             # one Served per request

Faults: `cut_after` closes the connection after that many body bytes (a cut download);
`ignore_range` answers 200 with the whole file; `body` serves other bytes (wrong hash or size);
`delay` sleeps before each chunk (so concurrent clients overlap); `status` answers an error code.
"""
from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Dict, List, Optional

_RANGE = re.compile(r"bytes=(\d+)-(\d*)$")


@dataclass
class Fault:
    cut_after: Optional[int] = None    # body bytes sent before the connection is closed
    times: Optional[int] = None        # how many requests the fault applies to (None: all)
    ignore_range: bool = False
    body: Optional[bytes] = None       # serve these bytes instead of the file
    delay: float = 0.0                 # seconds before each chunk
    status: Optional[int] = None


@dataclass
class Served:
    path: str
    range: Optional[str]
    status: int
    start: int
    sent: int = 0
    cut: bool = False


@dataclass
class StandInServer:
    files: Dict[str, bytes]
    faults: Dict[str, Fault] = field(default_factory=dict)
    log: List[Served] = field(default_factory=list)
    chunk: int = 4096

    def __post_init__(self):
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # keep test output quiet
                pass

            def do_GET(self):
                server._serve(self)

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._httpd.shutdown()
        self._httpd.server_close()

    def url(self, path: str) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}{path}"

    def requests(self, path: str) -> List[Served]:
        with self._lock:
            return [s for s in self.log if s.path == path]

    def _fault(self, path: str) -> Fault:
        with self._lock:
            fault = self.faults.get(path)
            if fault is None:
                return Fault()
            if fault.times is not None:
                if fault.times <= 0:
                    return Fault(delay=fault.delay)
                fault.times -= 1
            return fault

    def _serve(self, handler: BaseHTTPRequestHandler) -> None:
        path = handler.path
        fault = self._fault(path)
        data = self.files.get(path)
        range_header = handler.headers.get("Range")
        if data is None or fault.status:
            code = fault.status or 404
            handler.send_response(code)
            handler.send_header("Content-Length", "0")
            handler.end_headers()
            self._record(Served(path, range_header, code, 0))
            return
        if fault.body is not None:
            data = fault.body
        start = 0
        match = _RANGE.match(range_header or "")
        if match and not fault.ignore_range:
            start = int(match.group(1))
            if start >= len(data):
                handler.send_response(416)
                handler.send_header("Content-Range", f"bytes */{len(data)}")
                handler.send_header("Content-Length", "0")
                handler.end_headers()
                self._record(Served(path, range_header, 416, start))
                return
            handler.send_response(206)
            handler.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        else:
            handler.send_response(200)
        body = data[start:]
        handler.send_header("Content-Length", str(len(body)))
        handler.send_header("Accept-Ranges", "bytes")
        handler.end_headers()
        served = Served(path, range_header, 206 if start else 200, start)
        self._record(served)
        limit = len(body) if fault.cut_after is None else min(fault.cut_after, len(body))
        try:
            pos = 0
            while pos < limit:
                if fault.delay:
                    time.sleep(fault.delay)
                piece = body[pos:min(pos + self.chunk, limit)]
                handler.wfile.write(piece)
                handler.wfile.flush()
                pos += len(piece)
                served.sent = pos
        except (BrokenPipeError, ConnectionResetError):
            return
        if limit < len(body):
            served.cut = True
            handler.close_connection = True
            try:
                handler.connection.shutdown(2)  # SHUT_RDWR: the client sees the cut now
            except OSError:
                pass

    def _record(self, served: Served) -> None:
        with self._lock:
            self.log.append(served)
