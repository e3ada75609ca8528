"""The typed worker protocol: every request, result and notification is one dataclass of
plugin.protocol; a bad parameter is answered INVALID_PARAMS in one line and changes nothing
(issue 21 defects 9 and 12; issue 16: fields one side sent and the other never read)."""
import dataclasses
import io
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from plugin import protocol
from plugin.worker import Worker
from tests.plugin.pipeline_media import FIRST, make_shot


class _Now:
    """A pool that runs each job at once, so every answer is out when handle_line returns."""

    def submit(self, fn, *args):
        fn(*args)

    def shutdown(self, **_kw):
        pass


def _worker():
    out = io.BytesIO()
    w = Worker(out)
    w.pool = w.frame_pool = _Now()
    w.handle_line(protocol.encode(protocol.request(0, "hello", {"protocol": protocol.PROTOCOL_VERSION})))
    return w, out


def _ask(w, out, msg_id, method, params):
    start = len(out.getvalue())
    w.handle_line(protocol.encode(protocol.request(msg_id, method, params)))
    if w._job_thread is not None:
        w._job_thread.join(30)
    lines = out.getvalue()[start:].splitlines()
    return [protocol.decode(line) for line in lines if b'"id"' in line]


@pytest.fixture
def worker():
    w, out = _worker()
    yield w, out
    w.close()


@pytest.mark.parametrize("method, params, field", [
    ("read_frame", {"frame": FIRST, "downscale": "abc"}, "downscale"),
    ("read_frame", {"frame": FIRST, "exposure": "x"}, "exposure"),
    ("read_frame", {"frame": 1e400}, "frame"),
    ("read_frame", {"frame": FIRST, "gamma": 0}, "gamma"),
    ("open_plate", {"path": "p.####.exr", "frame_range": "abc"}, "frame_range"),
    ("read_mask", {"path": "m.png", "width": "x"}, "width"),
    ("sam_mask", {"handle": "h", "box": [1, 2]}, "box"),
    ("run_shot", {"shot_path": "s.json", "frobnicate": 1}, "frobnicate"),
])
def test_a_bad_parameter_is_invalid_params_in_one_line(worker, method, params, field):
    w, out = worker
    line = json.dumps(protocol.request(7, method, params)).encode()  # 1e400 as JSON writes it
    start = len(out.getvalue())
    w.handle_line(line.replace(b"Infinity", b"1e400"))
    (answer,) = [protocol.decode(x) for x in out.getvalue()[start:].splitlines()]
    assert answer["id"] == 7 and answer["error"]["code"] == protocol.INVALID_PARAMS
    assert field in answer["error"]["message"] and "\n" not in answer["error"]["message"]


def test_a_failed_open_plate_keeps_the_open_plate(worker, tmp_path):
    w, out = worker
    make_shot(tmp_path, n=3)
    plate = str(tmp_path / "plates" / "plate.####.exr")
    (opened,) = _ask(w, out, 1, "open_plate", {"path": plate, "colourspace": "ACEScg"})
    result = protocol.PlateOpened.from_json(opened["result"])
    assert result.frames == 3 and result.displays  # the display/view menu, once, here
    for bad in ({"path": plate, "colourspace": "No Such Space"}, {"path": str(tmp_path / "gone.####.exr")},
                {"path": plate, "frame_range": "abc"}):
        (answer,) = _ask(w, out, 2, "open_plate", bad)
        assert "error" in answer and answer["error"]["code"] != protocol.INTERNAL_ERROR
        assert w.plate_path == plate and w.colourspace == "ACEScg"
    (frame,) = _ask(w, out, 3, "read_frame", {"frame": FIRST + 1})
    assert "displays" not in frame["result"]  # the menu went once, with open_plate
    assert set(frame["result"]) == {f.name for f in dataclasses.fields(protocol.FrameRead)}


def test_deep_nesting_is_a_parse_error_and_the_worker_goes_on(worker):
    w, out = worker
    w.handle_line(b"[" * 100000)
    (answer,) = [protocol.decode(x) for x in out.getvalue().splitlines()[1:]]
    assert answer["error"]["code"] == protocol.PARSE_ERROR and answer["id"] is None
    (alive,) = _ask(w, out, 5, "cancel", {})
    assert alive["result"] == {"cancelled": False}


def test_a_protocol_mismatch_is_one_line():
    out = io.BytesIO()
    w = Worker(out)
    try:
        w.handle_line(protocol.encode(protocol.request(1, "hello", {"protocol": protocol.PROTOCOL_VERSION + 1})))
    finally:
        w.close()
    (answer,) = [protocol.decode(x) for x in out.getvalue().splitlines()]
    assert answer["error"]["code"] == protocol.VERSION_MISMATCH and "\n" not in answer["error"]["message"]


def test_every_message_round_trips_through_json():
    for table in (protocol.REQUESTS, protocol.RESULTS, protocol.NOTES):
        for method, kind in table.items():
            assert kind.method == method
    sample = protocol.Progress(frame=1001, done=1, total=3, fps=2.5, eta_s=0.8, preview_path="/t/p.png")
    assert protocol.Progress.from_json(json.loads(json.dumps(sample.to_json()))) == sample
    mask = protocol.SamMask(handle="h", points_pos=((1.0, 2.0),), box=(0.0, 0.0, 4.0, 4.0))
    assert protocol.SamMask.from_json(json.loads(json.dumps(mask.to_json()))) == mask


# --------------------------------------------------------------------------- property
_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12)
_FIELDS = sorted({f for k in protocol.REQUESTS.values() for f in k.__dataclass_fields__})
_PARAMS = st.dictionaries(st.sampled_from(_FIELDS), _JSON, max_size=4) | _JSON
_REQUEST = st.fixed_dictionaries(
    {"jsonrpc": st.just("2.0"), "method": st.sampled_from(sorted(protocol.REQUESTS) + ["nope"]) | st.text(max_size=6),
     "params": _PARAMS},
    optional={"id": st.integers(-3, 3) | st.text(max_size=3) | _JSON})
_LINE = (_REQUEST.map(lambda m: json.dumps(m).encode())
         | _JSON.map(lambda v: json.dumps(v).encode())
         | st.binary(max_size=40)
         | st.text(max_size=40).map(str.encode))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(line=_LINE)
def test_any_line_gets_a_json_rpc_answer_or_is_ignored_and_never_kills_the_worker(line):
    w, out = _worker()
    try:
        start = len(out.getvalue())
        w.handle_line(line)
        if w._job_thread is not None:
            w._job_thread.join(30)
        answers = [protocol.decode(x) for x in out.getvalue()[start:].splitlines()]
        assert len(answers) <= 1
        for answer in answers:
            assert protocol.is_response(answer)
            if "error" in answer:
                assert answer["error"]["code"] != protocol.INTERNAL_ERROR, answer
                assert "\n" not in answer["error"]["message"]
        if not w.stop.is_set():
            assert _ask(w, out, 99, "cancel", {})[0]["result"]["cancelled"] in (True, False)
    finally:
        w.close()
