"""The worker protocol: JSON-RPC 2.0, one message per line on the worker's stdin/stdout.

Standard library only, Python 3.9 syntax: hosts (Nuke, Resolve) import this from their
own Python. Frames and masks travel as files whose paths are in the messages, never as
JSON arrays.

Requests (client -> worker): `hello` first, then open_plate, read_frame, sam_embed,
sam_mask, read_mask, read_alpha, run_shot, cancel, weights_status, weights_get, shutdown.
Notifications (worker -> client): progress, frame_done, download_progress, log.
"""
from __future__ import annotations

import json
from typing import Any, Dict, Optional

PROTOCOL_VERSION = 1

# Vocabularies: the one list of each choice that the CLI, the shot check, the panel and the
# worker offer. The engine keeps its own map of how each precision runs (it cannot import
# `plugin`); tests/engine/test_precisions.py checks the two agree and that every name runs.
PRECISIONS = ("fp32", "official-mixed", "fp16", "bf16")
"""fp32: exact (the default); official-mixed: what the official drivers run (autocast fp16 on
CUDA, bf16 on CPU, off on MPS); fp16/bf16: autocast in that dtype everywhere."""
DIRECTIONS = ("forward", "backward", "both")
DEVICES = ("auto", "cpu", "cuda", "mps")   # the menu; "cuda:N" is accepted where typed
DTYPES = ("half", "float")                 # EXR sample type of the alphas
CHANNELS = ("A", "RGBA")                   # alpha alone, or RGBA premultiplied
MODELS = ("matanyone", "matanyone2")
"""The checkpoints of the one network a shot may choose (`engine.model`; the first is the
default); each is a registry entry of kind "matanyone" (weights.models(), checked by a test)."""


# Requests.
HELLO = "hello"
OPEN_PLATE = "open_plate"
READ_FRAME = "read_frame"
SAM_EMBED = "sam_embed"
SAM_MASK = "sam_mask"
READ_MASK = "read_mask"   # {path, width?, height?} -> {mask_path (8-bit PNG), width, height}
# {frame, paths: {key: output pattern}, downscale?} -> {frame, alphas: {key: {path (raw 8-bit grey),
# width, height} or null when that frame has no alpha file}}: the written matte, for the viewer.
READ_ALPHA = "read_alpha"
RUN_SHOT = "run_shot"
CANCEL = "cancel"
WEIGHTS_STATUS = "weights_status"
WEIGHTS_GET = "weights_get"
SHUTDOWN = "shutdown"
METHODS = (HELLO, OPEN_PLATE, READ_FRAME, SAM_EMBED, SAM_MASK, READ_MASK, READ_ALPHA, RUN_SHOT, CANCEL,
           WEIGHTS_STATUS, WEIGHTS_GET, SHUTDOWN)

# Notifications.
PROGRESS = "progress"
FRAME_DONE = "frame_done"
DOWNLOAD_PROGRESS = "download_progress"
LOG = "log"
NOTIFICATIONS = (PROGRESS, FRAME_DONE, DOWNLOAD_PROGRESS, LOG)

# Error codes: JSON-RPC's own, then ours (the message is always the one line to show).
PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
INTERNAL_ERROR = -32603
USER_ERROR = 1          # a problem the user can fix (bad plate, missing weights, ...)
VERSION_MISMATCH = 2    # client and worker speak different protocol versions
CANCELLED = 3           # the request was cancelled
NOT_READY = 4           # e.g. read_frame before open_plate

# `data.kind` of a user error: the exception class name (PlateError, WeightsError, ...).


class ProtocolError(Exception):
    """A line that is not a valid message."""


def request(msg_id: int, method: str, params: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
    return {"jsonrpc": "2.0", "id": msg_id, "method": method, "params": dict(params or {})}


def notification(method: str, params: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
    return {"jsonrpc": "2.0", "method": method, "params": dict(params or {})}


def result(msg_id: Any, value: Any) -> Dict[str, Any]:
    return {"jsonrpc": "2.0", "id": msg_id, "result": value}


def error(msg_id: Any, code: int, message: str, kind: Optional[str] = None,
          log: Optional[str] = None) -> Dict[str, Any]:
    """An error response; `message` is collapsed to one line."""
    err = {"code": int(code), "message": " ".join(str(message).split())}
    data = {}
    if kind:
        data["kind"] = kind
    if log:
        data["log"] = log
    if data:
        err["data"] = data
    return {"jsonrpc": "2.0", "id": msg_id, "error": err}


def encode(message: Dict[str, Any]) -> bytes:
    """One message as one line of UTF-8 JSON (newline-terminated, no embedded newlines)."""
    return (json.dumps(message, separators=(",", ":"), allow_nan=False) + "\n").encode("utf-8")


def decode(line) -> Dict[str, Any]:
    """Parse one line; raises ProtocolError when it is not a JSON-RPC 2.0 message."""
    if isinstance(line, bytes):
        try:
            line = line.decode("utf-8")
        except UnicodeDecodeError as err:
            raise ProtocolError(f"not UTF-8: {err}") from None
    try:
        msg = json.loads(line)
    except ValueError as err:
        raise ProtocolError(f"not JSON: {err}") from None
    if not isinstance(msg, dict) or msg.get("jsonrpc") != "2.0":
        raise ProtocolError("not a JSON-RPC 2.0 message")
    if "method" in msg:
        if not isinstance(msg["method"], str):
            raise ProtocolError("method must be a string")
        params = msg.get("params", {})
        if params is None:
            msg["params"] = {}
        elif not isinstance(params, dict):
            raise ProtocolError("params must be an object (named parameters)")
    elif "id" not in msg or ("result" not in msg and "error" not in msg):
        raise ProtocolError("neither a request, a notification nor a response")
    return msg


def is_request(msg: Dict[str, Any]) -> bool:
    return "method" in msg and "id" in msg


def is_notification(msg: Dict[str, Any]) -> bool:
    return "method" in msg and "id" not in msg


def is_response(msg: Dict[str, Any]) -> bool:
    return "method" not in msg and "id" in msg


def hello_params() -> Dict[str, Any]:
    """What a client sends with `hello`."""
    return {"protocol": PROTOCOL_VERSION}


def version_mismatch_message(client_version: Any, worker_version: Any) -> str:
    return (f"the worker speaks protocol version {worker_version} but this panel/client speaks "
            f"{client_version}: install the same matanyone-plugin version for the host and for the "
            f"worker interpreter")
