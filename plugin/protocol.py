"""The worker protocol: JSON-RPC 2.0, one message per line on the worker's stdin/stdout.

Standard library only, Python 3.9 syntax: hosts (Nuke, Resolve) import this from their
own Python. Frames and masks travel as files whose paths are in the messages, never as
JSON arrays.

Requests (client -> worker): `hello` first, then open_plate, read_frame, sam_embed,
sam_mask, read_mask, read_alpha, run_shot, cancel, weights_status, weights_get, shutdown.
Notifications (worker -> client): progress, frame_done, download_progress, log.

Each request, result and notification is one frozen dataclass below (`REQUESTS`, `RESULTS`,
`NOTES` map method names to them). `from_json` checks every field's type and range and
refuses unknown fields with `ParamsError` (one line), so the worker answers a bad parameter
with INVALID_PARAMS before anything changes, and neither side can send a field the other
does not read.
"""
from __future__ import annotations

import json
import math
import typing
from dataclasses import MISSING, dataclass, field, fields
from typing import Any, ClassVar, Dict, List, Optional, Tuple

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
CHANNELS = ("A", "RGBA", "matte")
"""A: the alpha alone (the default); RGBA: the plate premultiplied by the alpha; matte: a grey
matte, the alpha in R, G, B and A of a layer named after the object (`hero.R` ... `hero.A`), as
Resolve's External Matte Saver writes a named RGBA matte (the Resolve bridge asks for it)."""
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
# {shot_path, object, path, start?, timecode?, fps?} -> {path, first, last}: a ProRes 4444 movie
# of one object's finished matte (a host that takes mattes as movies: Resolve's --format prores4444).
WRITE_MATTE_MOVIE = "write_matte_movie"
# {frame, x, y, paths: {key: output pattern}} -> {frame, x, y, rgb, colourspace, alphas: {key: value or
# null}}: the plate's RGB as decoded (before the viewer's display transform) and each written alpha
# under the cursor, for the panel's pixel readout.
SAMPLE_PIXEL = "sample_pixel"
METHODS = (HELLO, OPEN_PLATE, READ_FRAME, SAM_EMBED, SAM_MASK, READ_MASK, READ_ALPHA, RUN_SHOT, CANCEL,
           WEIGHTS_STATUS, WEIGHTS_GET, SHUTDOWN, WRITE_MATTE_MOVIE, SAMPLE_PIXEL)

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


class ParamsError(ValueError):
    """A message whose fields do not fit its dataclass; `str()` is the one line to answer."""


def request(msg_id: int, method: str, params: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
    return {"jsonrpc": "2.0", "id": msg_id, "method": method, "params": dict(params or {})}


def notification(method: str, params: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
    return {"jsonrpc": "2.0", "method": method, "params": dict(params or {})}


def result(msg_id: Any, value: Any) -> Dict[str, Any]:
    return {"jsonrpc": "2.0", "id": msg_id, "result": value}


def one_line(message: Any, limit: int = 2000) -> str:
    """`message` on one line of at most `limit` characters, each word longer than any real path
    (a 30 MB one) cut in its middle, so that an error names the thing without echoing all of it."""
    words = [w if len(w) <= 500 else f"{w[:300]}...{w[-150:]}" for w in str(message).split()]
    text = " ".join(words)
    return text if len(text) <= limit else text[:limit - 3] + "..."


def error(msg_id: Any, code: int, message: str, kind: Optional[str] = None,
          log: Optional[str] = None) -> Dict[str, Any]:
    """An error response; `message` is collapsed to one line."""
    err = {"code": int(code), "message": one_line(message)}
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
        msg = json.loads(line, parse_constant=_no_constant)
    except ValueError as err:
        raise ProtocolError(f"not JSON: {err}") from None
    except RecursionError:  # e.g. "[" * 100000: refused, the worker goes on
        raise ProtocolError("not JSON: nested too deeply") from None
    if not isinstance(msg, dict) or msg.get("jsonrpc") != "2.0":
        raise ProtocolError("not a JSON-RPC 2.0 message")
    if "id" in msg and (isinstance(msg["id"], bool) or not isinstance(msg["id"], (int, str, type(None)))):
        raise ProtocolError("id must be a number, a string or null")
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


def _no_constant(name: str):
    raise ValueError(f"{name} is not a JSON number")


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


# --------------------------------------------------------------------------- typed messages
FRAME_LIMIT = 10 ** 9  # frame numbers beyond this are not frames (e.g. 1e400 sent as a frame)


def _limits(lo=None, hi=None, path: bool = False):
    return {"min": lo, "max": hi, "path": path}


def _frame(default=None):
    kw = {} if default is None else {"default": default}
    return field(metadata=_limits(-FRAME_LIMIT, FRAME_LIMIT), **kw)


@dataclass(frozen=True)
class Message:
    """One request's params, one result or one notification's params, as a typed object."""

    method: ClassVar[str] = ""

    def to_json(self) -> Dict[str, Any]:
        return {f.name: _plain(getattr(self, f.name)) for f in fields(self)}

    @classmethod
    def from_json(cls, data: Any):
        """The message from its JSON object; ParamsError (one line) for a missing, unknown,
        mistyped or out-of-range field."""
        if not isinstance(data, dict):
            raise ParamsError(f"{cls.method}: expected an object of named fields")
        hints = typing.get_type_hints(cls)
        known = {f.name: f for f in fields(cls)}
        for key in data:
            if key not in known:
                raise ParamsError(f"{cls.method}: unknown field {str(key)[:40]!r} "
                                  f"(known: {', '.join(known) or 'none'})")
        values = {}
        for name, f in known.items():
            if name not in data:
                if f.default is MISSING and f.default_factory is MISSING:
                    raise ParamsError(f"{cls.method}: missing field {name!r}")
                continue
            values[name] = _check(data[name], hints[name], f"{cls.method}: {name}", f.metadata)
        return cls(**values)


def _plain(value):
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def _check(value, tp, where: str, meta):
    """`value` as type `tp` (int, float, str, bool, Any, Optional/List/Tuple/Dict of them)."""
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if tp is Any:
        return value
    if origin is typing.Union:
        if value is None and type(None) in args:
            return None
        inner = [a for a in args if a is not type(None)]
        return _check(value, inner[0], where, meta)
    if tp is bool:
        if not isinstance(value, bool):
            raise ParamsError(f"{where} must be true or false, not {_show(value)}")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ParamsError(f"{where} must be a whole number, not {_show(value)}")
        return _in_range(value, where, meta)
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise ParamsError(f"{where} must be a finite number, not {_show(value)}")
        return _in_range(float(value), where, meta)
    if tp is str:
        if not isinstance(value, str):
            raise ParamsError(f"{where} must be a string, not {_show(value)}")
        if meta.get("path") and (not value or "\x00" in value):
            raise ParamsError(f"{where} must be a file path, not {_show(value)}")
        return value
    if origin in (list, tuple):
        if not isinstance(value, (list, tuple)):
            raise ParamsError(f"{where} must be a list, not {_show(value)}")
        if origin is tuple and not (len(args) == 2 and args[1] is Ellipsis):
            if len(value) != len(args):
                raise ParamsError(f"{where} must be a list of {len(args)} values, not {_show(value)}")
            return tuple(_check(v, a, where, meta) for v, a in zip(value, args))
        item = args[0]
        checked = [_check(v, item, where, meta) for v in value]
        return tuple(checked) if origin is tuple else checked
    if origin is dict:
        if not isinstance(value, dict):
            raise ParamsError(f"{where} must be an object, not {_show(value)}")
        return {str(k): _check(v, args[1], where, meta) for k, v in value.items()}
    raise TypeError(f"{where}: unsupported field type {tp!r}")  # a defect in this module


def _in_range(value, where: str, meta):
    lo, hi = meta.get("min"), meta.get("max")
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        raise ParamsError(f"{where} must be between {lo} and {hi}, not {_show(value)}")
    return value


def _show(value) -> str:
    text = json.dumps(value) if isinstance(value, (str, bool, type(None))) else repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


# Requests: params of each method.
@dataclass(frozen=True)
class Hello(Message):
    method: ClassVar[str] = HELLO
    protocol: int


@dataclass(frozen=True)
class OpenPlate(Message):
    method: ClassVar[str] = OPEN_PLATE
    path: str = field(metadata=_limits(path=True))
    frame_range: Optional[Tuple[int, int]] = field(default=None, metadata=_limits(-FRAME_LIMIT, FRAME_LIMIT))
    colourspace: Optional[str] = None
    ocio_config: Optional[str] = None


@dataclass(frozen=True)
class ReadFrame(Message):
    """A display-ready 8-bit RGBA frame, written to a temporary file."""

    method: ClassVar[str] = READ_FRAME
    frame: int = _frame()
    display: Optional[str] = None
    view: Optional[str] = None
    exposure: float = field(default=0.0, metadata=_limits(-64.0, 64.0))   # stops
    gamma: float = field(default=1.0, metadata=_limits(0.01, 100.0))
    downscale: int = field(default=1, metadata=_limits(1, 64))


@dataclass(frozen=True)
class SamEmbed(Message):
    method: ClassVar[str] = SAM_EMBED
    frame: int = _frame()
    model: str = "tiny"
    display: Optional[str] = None
    view: Optional[str] = None


@dataclass(frozen=True)
class SamMask(Message):
    method: ClassVar[str] = SAM_MASK
    handle: str
    points_pos: Tuple[Tuple[float, float], ...] = ()
    points_neg: Tuple[Tuple[float, float], ...] = ()
    box: Optional[Tuple[float, float, float, float]] = None


@dataclass(frozen=True)
class ReadMask(Message):
    """A mask file the host cannot read itself (EXR, 16-bit, ...), as an 8-bit PNG; with width
    and height, checked against the plate's size."""

    method: ClassVar[str] = READ_MASK
    path: str = field(metadata=_limits(path=True))
    width: Optional[int] = field(default=None, metadata=_limits(1, 1 << 16))
    height: Optional[int] = field(default=None, metadata=_limits(1, 1 << 16))


@dataclass(frozen=True)
class ReadAlpha(Message):
    """The written matte of one frame per output pattern, as raw 8-bit grey for the viewer."""

    method: ClassVar[str] = READ_ALPHA
    frame: int = _frame()
    paths: Dict[str, str] = field(default_factory=dict)    # key (object) -> output pattern (####)
    downscale: int = field(default=1, metadata=_limits(1, 64))


@dataclass(frozen=True)
class SamplePixel(Message):
    """One plate pixel (full-resolution plate coordinates, x right, y down) and the written alphas there."""

    method: ClassVar[str] = SAMPLE_PIXEL
    frame: int = _frame()
    x: int = field(default=0, metadata=_limits(0, 1 << 20))
    y: int = field(default=0, metadata=_limits(0, 1 << 20))
    paths: Dict[str, str] = field(default_factory=dict)    # key (object) -> output pattern (####)


@dataclass(frozen=True)
class RunShot(Message):
    method: ClassVar[str] = RUN_SHOT
    shot_path: str = field(metadata=_limits(path=True))
    force: bool = False
    objects: Optional[Tuple[str, ...]] = None              # names or ids; default all
    frames: Optional[Tuple[int, int]] = field(default=None, metadata=_limits(-FRAME_LIMIT, FRAME_LIMIT))


@dataclass(frozen=True)
class Cancel(Message):
    method: ClassVar[str] = CANCEL


@dataclass(frozen=True)
class WeightsStatus(Message):
    method: ClassVar[str] = WEIGHTS_STATUS


@dataclass(frozen=True)
class WeightsGet(Message):
    method: ClassVar[str] = WEIGHTS_GET
    name: str
    accept_licence: bool = False


@dataclass(frozen=True)
class Shutdown(Message):
    method: ClassVar[str] = SHUTDOWN


@dataclass(frozen=True)
class WriteMatteMovie(Message):
    """A ProRes 4444 movie of one object's finished matte, from `start` (the media's first
    frame, so it lines up with the clip by position) with the media's timecode and rate."""

    method: ClassVar[str] = WRITE_MATTE_MOVIE
    shot_path: str = field(metadata=_limits(path=True))
    object: str = field(metadata=_limits(path=True))
    path: str = field(metadata=_limits(path=True))
    start: Optional[int] = field(default=None, metadata=_limits(-FRAME_LIMIT, FRAME_LIMIT))
    timecode: Optional[str] = field(default=None, metadata=_limits(path=True))
    fps: Optional[float] = field(default=None, metadata=_limits(0.001, 1000.0))


# Results, one per request.
@dataclass(frozen=True)
class HelloResult(Message):
    method: ClassVar[str] = HELLO
    protocol: int
    pid: int
    python: str
    package: str
    device: str                 # the device runs take ("cpu" when auto finds no GPU), not the setting
    temp_dir: str
    torch: Optional[str] = None
    cuda: bool = False


@dataclass(frozen=True)
class PlateOpened(Message):
    method: ClassVar[str] = OPEN_PLATE
    path: str
    first: int
    last: int
    frames: int                 # how many: numbers run first..last
    width: int
    height: int
    is_movie: bool
    channels: Tuple[str, ...]
    pixel_type: str
    display_window: Tuple[int, int, int, int]   # x, y, width, height
    data_window: Tuple[int, int, int, int]
    displays: Dict[str, Tuple[str, ...]]        # the OCIO config's displays and their views, sent once here
    colourspace: Optional[str] = None
    colourspace_guess: Optional[str] = None
    colourspaces: Tuple[str, ...] = ()          # the config's colourspaces, for the panel's menu
    fps: Optional[float] = None
    timecode: Optional[str] = None


@dataclass(frozen=True)
class FrameRead(Message):
    method: ClassVar[str] = READ_FRAME
    path: str
    width: int
    height: int
    frame: int
    format: str = "rgba8"
    applied: Optional[Tuple[str, str]] = None   # (display, view) shown; None: a display-referred plate as the file


@dataclass(frozen=True)
class SamEmbedded(Message):
    method: ClassVar[str] = SAM_EMBED
    handle: str
    width: int
    height: int
    model: str


@dataclass(frozen=True)
class SamMasked(Message):
    method: ClassVar[str] = SAM_MASK
    mask_path: str
    width: int
    height: int
    score: float


@dataclass(frozen=True)
class MaskRead(Message):
    method: ClassVar[str] = READ_MASK
    mask_path: str
    width: int
    height: int


@dataclass(frozen=True)
class AlphaRead(Message):
    method: ClassVar[str] = READ_ALPHA
    frame: int
    # key -> {path (raw 8-bit grey), width, height, source (the EXR)}, or None: no alpha file yet
    alphas: Dict[str, Optional[Dict[str, Any]]]


@dataclass(frozen=True)
class ShotRun(Message):
    """What `plugin.job.run` returns (its JobResult), field for field."""

    method: ClassVar[str] = RUN_SHOT
    status: str                 # "done" | "cancelled" | "up-to-date"
    outputs: Dict[str, str]     # object name -> output pattern (####)
    first: int
    last: int
    frames_written: int
    objects_run: Tuple[str, ...]
    objects_kept: Tuple[str, ...]
    weights_id: str
    shot_path: str
    record_path: str
    log_path: str
    elapsed_s: float
    resumed_from: Optional[int] = None


@dataclass(frozen=True)
class Cancelled(Message):
    method: ClassVar[str] = CANCEL
    cancelled: bool             # a run was going


@dataclass(frozen=True)
class WeightsReport(Message):
    method: ClassVar[str] = WEIGHTS_STATUS
    weights: Tuple[Dict[str, Any], ...]   # one row per checkpoint (matanyone_engine.weights.status)


@dataclass(frozen=True)
class WeightsFetched(Message):
    method: ClassVar[str] = WEIGHTS_GET
    name: str
    path: str


@dataclass(frozen=True)
class ShutdownResult(Message):
    method: ClassVar[str] = SHUTDOWN
    ok: bool = True


@dataclass(frozen=True)
class MatteMovieWritten(Message):
    method: ClassVar[str] = WRITE_MATTE_MOVIE
    path: str
    first: int                  # the source frames the movie covers
    last: int


@dataclass(frozen=True)
class PixelSampled(Message):
    method: ClassVar[str] = SAMPLE_PIXEL
    frame: int
    x: int
    y: int
    rgb: Tuple[float, float, float]            # the plate as decoded, in `colourspace` (no display transform)
    colourspace: Optional[str] = None
    alphas: Dict[str, Optional[float]] = field(default_factory=dict)  # key -> alpha, None: no file for the frame


# Notifications.
@dataclass(frozen=True)
class Progress(Message):
    method: ClassVar[str] = PROGRESS
    frame: int
    done: int
    total: int
    fps: float
    phase: str = "forward"
    eta_s: Optional[float] = None
    preview_path: Optional[str] = None   # an 8-bit PNG of the latest alphas, now and then


@dataclass(frozen=True)
class FrameDone(Message):
    method: ClassVar[str] = FRAME_DONE
    frame: int
    paths: Dict[str, str]       # object name -> the alpha file written


@dataclass(frozen=True)
class DownloadProgress(Message):
    method: ClassVar[str] = DOWNLOAD_PROGRESS
    name: str
    file: str
    state: str                  # waiting | downloading | verifying | done
    done: int = 0
    total: Optional[int] = None
    bytes_per_s: float = 0.0


@dataclass(frozen=True)
class Log(Message):
    method: ClassVar[str] = LOG
    level: str                  # info | warning | error
    message: str


REQUESTS = {c.method: c for c in (Hello, OpenPlate, ReadFrame, SamEmbed, SamMask, ReadMask, ReadAlpha,
                                  RunShot, Cancel, WeightsStatus, WeightsGet, Shutdown, WriteMatteMovie,
                                  SamplePixel)}
RESULTS = {c.method: c for c in (HelloResult, PlateOpened, FrameRead, SamEmbedded, SamMasked, MaskRead,
                                 AlphaRead, ShotRun, Cancelled, WeightsReport, WeightsFetched, ShutdownResult,
                                 MatteMovieWritten, PixelSampled)}
NOTES = {c.method: c for c in (Progress, FrameDone, DownloadProgress, Log)}
