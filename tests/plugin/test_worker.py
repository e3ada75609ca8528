"""The worker protocol, the client, and a real worker process: frames by file, run_shot with
progress and cancel, one-line errors, version refusal, death reported to the client."""
import json
import os
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from plugin import client as client_mod
from plugin import errors, protocol
from plugin.client import WorkerClient, find_worker_python
from tests.plugin.pipeline_media import FIRST, make_shot

REPO = Path(__file__).resolve().parents[2]


# --------------------------------------------------------------------------- protocol
def test_messages_round_trip_as_single_lines():
    req = protocol.request(7, protocol.READ_FRAME, {"frame": 1001, "exposure": 0.5})
    line = protocol.encode(req)
    assert line.endswith(b"\n") and line.count(b"\n") == 1
    assert protocol.decode(line) == req and protocol.is_request(req)
    note = protocol.notification(protocol.PROGRESS, {"frame": 3, "done": 1, "total": 9})
    assert protocol.is_notification(protocol.decode(protocol.encode(note)))
    err = protocol.error(7, protocol.USER_ERROR, "bad\nplate  here", kind="PlateError")
    assert err["error"]["message"] == "bad plate here" and err["error"]["data"]["kind"] == "PlateError"
    assert protocol.is_response(protocol.decode(protocol.encode(err)))
    for bad in (b"{nope", b'{"jsonrpc": "1.0", "id": 1, "method": "x"}', b'[1, 2]',
                b'{"jsonrpc": "2.0", "id": 1, "method": "x", "params": [1]}', b'{"jsonrpc": "2.0"}'):
        with pytest.raises(protocol.ProtocolError):
            protocol.decode(bad)
    with pytest.raises(ValueError):
        protocol.encode(protocol.result(1, float("nan")))


def test_client_errors_map_to_user_errors():
    e = client_mod._error_from({"code": protocol.USER_ERROR, "message": "m", "data": {"kind": "PlateError"}}, "x")
    assert isinstance(e, errors.PlateError) and str(e) == "m"
    e = client_mod._error_from({"code": protocol.INTERNAL_ERROR, "message": "KeyError: 1",
                                "data": {"log": "/tmp/l"}}, "run_shot")
    assert isinstance(e, errors.WorkerError) and "run_shot" in str(e) and "/tmp/l" in str(e)


# --------------------------------------------------------------------------- finding the interpreter
def test_missing_interpreter_is_a_clear_error(monkeypatch, tmp_path):
    with pytest.raises(errors.WorkerError, match="not found") as e:
        find_worker_python(str(tmp_path / "nope" / "python"))
    assert "MATANYONE_PLUGIN_PYTHON" in str(e.value)
    monkeypatch.setenv("MATANYONE_PLUGIN_PYTHON", str(tmp_path / "gone"))
    with pytest.raises(errors.WorkerError, match="MATANYONE_PLUGIN_PYTHON"):
        find_worker_python()
    monkeypatch.delenv("MATANYONE_PLUGIN_PYTHON")
    monkeypatch.setattr(client_mod, "_can_import_torch_here", lambda: False)
    with pytest.raises(errors.WorkerError, match="no worker interpreter is set"):
        find_worker_python()
    monkeypatch.setattr(client_mod, "_can_import_torch_here", lambda: True)
    assert find_worker_python() == sys.executable


def fake_python(tmp_path, body: str) -> str:
    p = tmp_path / "fake-python"
    p.write_text("#!/bin/sh\n" + body + "\n")
    p.chmod(p.stat().st_mode | stat.S_IEXEC)
    return str(p)


@pytest.mark.skipif(os.name != "posix", reason="shell script interpreter")
def test_worker_that_dies_at_start_reports_its_last_stderr_line(tmp_path):
    py = fake_python(tmp_path, "echo 'loading...' >&2; echo 'ModuleNotFoundError: No module named torch' >&2; exit 3")
    c = WorkerClient(python=py)
    with pytest.raises(errors.WorkerError) as e:
        c.start(timeout=30)
    assert "exited with code 3" in str(e.value) and "No module named torch" in str(e.value)
    assert "\n" not in str(e.value)


@pytest.mark.skipif(os.name != "posix", reason="shell script interpreter")
def test_worker_of_another_protocol_version_is_refused(tmp_path):
    reply = json.dumps({"jsonrpc": "2.0", "id": 1, "result": {"protocol": 99}})
    py = fake_python(tmp_path, f"read line; echo '{reply}'; sleep 5")
    c = WorkerClient(python=py)
    with pytest.raises(errors.WorkerError, match="protocol version 99"):
        c.start(timeout=30)


def test_worker_refuses_a_client_of_another_version():
    env = dict(os.environ, PYTHONPATH=str(REPO))
    proc = subprocess.run([sys.executable, "-m", "plugin", "worker"], input=protocol.encode(
        protocol.request(1, "hello", {"protocol": 99})) + protocol.encode(protocol.request(2, "weights_status")),
        capture_output=True, env=env, timeout=120)
    lines = [protocol.decode(l) for l in proc.stdout.splitlines() if l.strip()]
    assert lines[0]["error"]["code"] == protocol.VERSION_MISMATCH
    assert "protocol version" in lines[0]["error"]["message"]
    assert proc.returncode == 0


# --------------------------------------------------------------------------- a real worker
@pytest.fixture(scope="module")
def worker():
    notes = []
    c = WorkerClient(python=sys.executable, on_notification=lambda m, p: notes.append((m, p)))
    hello = c.start(timeout=120)
    c.notes = notes
    c.hello_info = hello
    yield c
    c.close()


def test_hello_and_requests_before_a_plate(worker):
    assert worker.hello_info["protocol"] == protocol.PROTOCOL_VERSION
    # the device in use (auto resolved), not the setting (issue 16)
    from matanyone_engine.device import pick_device
    assert worker.hello_info["device"] == str(pick_device("auto")) != "auto"
    assert "torch" in worker.hello_info
    with pytest.raises(errors.WorkerError, match="open_plate"):
        worker.call("read_frame", frame=1001, timeout=60)
    with pytest.raises(errors.WorkerError, match="unknown method"):
        worker.call("frobnicate", timeout=60)
    rows = worker.call("weights_status", timeout=60)["weights"]
    assert any(r["name"].startswith("matanyone") for r in rows)


def test_open_plate_and_read_frame_by_file(worker, tmp_path):
    make_shot(tmp_path, n=3)
    with pytest.raises(errors.PlateError) as e:
        worker.call("open_plate", path=str(tmp_path / "nope.####.exr"), timeout=60)
    assert "\n" not in str(e.value)
    info = worker.call("open_plate", path=str(tmp_path / "plates" / "plate.####.exr"), colourspace="ACEScg",
                       timeout=60)
    assert (info["first"], info["last"], info["width"], info["height"]) == (FIRST, FIRST + 2, 64, 48)
    res = worker.call("read_frame", frame=FIRST + 1, timeout=60)
    assert res["format"] == "rgba8" and (res["width"], res["height"]) == (64, 48)
    data = np.fromfile(res["path"], np.uint8).reshape(48, 64, 4)
    assert (data[..., 3] == 255).all() and data[..., :3].std() > 5
    brighter = worker.call("read_frame", frame=FIRST + 1, exposure=1.0, timeout=60)
    more = np.fromfile(brighter["path"], np.uint8).reshape(48, 64, 4)
    assert more[..., :3].mean() > data[..., :3].mean()
    half = worker.call("read_frame", frame=FIRST, downscale=2, timeout=60)
    assert (half["width"], half["height"]) == (32, 24)
    with pytest.raises(errors.PlateError):
        worker.call("read_frame", frame=FIRST + 10, timeout=60)


def test_run_shot_with_progress_and_cancel(worker, tmp_path):
    shot_path = make_shot(tmp_path, n=8)
    worker.notes.clear()
    done = threading.Event()
    box = {}

    def finished(result, error):
        box["result"], box["error"] = result, error
        done.set()

    def on_note():
        return [p for m, p in worker.notes if m == "frame_done"]

    worker.call_async("run_shot", {"shot_path": str(shot_path)}, finished)
    deadline = time.monotonic() + 300
    while len(on_note()) < 2 and time.monotonic() < deadline and not done.is_set():
        time.sleep(0.02)
    worker.cancel()
    assert done.wait(300)
    assert box["error"] is None, box["error"]
    assert box["result"]["status"] == "cancelled"
    written = sorted(os.listdir(tmp_path / "out"))
    frames_done = [p["frame"] for p in on_note()]
    assert 2 <= len(frames_done) < 8
    assert all(os.path.isfile(p) for n in on_note() for p in n["paths"].values())
    progress = [p for m, p in worker.notes if m == "progress"]
    assert progress and progress[-1]["total"] == 8 and "fps" in progress[-1]
    assert any(p.get("preview_path") for p in progress)
    # Resume through the worker: finishes the shot.
    result = worker.call("run_shot", shot_path=str(shot_path), timeout=600)
    assert result["status"] == "done" and result["resumed_from"] is not None
    assert len([n for n in os.listdir(tmp_path / "out") if n.endswith(".exr")]) == 8
    assert written  # the cancelled run left whole frames


def test_run_shot_bad_input_is_a_one_line_user_error(worker, tmp_path):
    shot_path = make_shot(tmp_path, n=2)
    data = json.loads(shot_path.read_text())
    data["engine"]["weights"] = "auto"
    shot_path.write_text(json.dumps(data))
    with pytest.raises(errors.WeightsError) as e:
        worker.call("run_shot", shot_path=str(shot_path), timeout=300)
    assert "\n" not in str(e.value)


def test_worker_death_is_reported_to_the_client(tmp_path):
    c = WorkerClient(python=sys.executable)
    c.start(timeout=120)
    got = {}
    ev = threading.Event()
    shot_path = make_shot(tmp_path, n=30)
    c.call_async("run_shot", {"shot_path": str(shot_path)}, lambda r, e: (got.update(r=r, e=e), ev.set()))
    time.sleep(0.5)
    os.kill(c._proc.pid, 9)
    assert ev.wait(60)
    assert isinstance(got["e"], errors.WorkerError)
    assert "exited" in str(got["e"]) and "\n" not in str(got["e"])
    with pytest.raises(errors.WorkerError, match="exited"):
        c.call("weights_status", timeout=10)
    assert not c.running
    c.close()


def test_read_mask_converts_exr_masks_to_png(worker, tmp_path):
    from plugin.masks import read_mask
    from tests.plugin.pipeline_media import write_mask
    m = np.zeros((48, 64), np.float32)
    m[10:20, 5:40] = 1.0
    src = write_mask(tmp_path / "m.exr", m, dtype="half")
    res = worker.call("read_mask", path=src, width=64, height=48, timeout=60)
    assert (res["width"], res["height"]) == (64, 48)
    png = read_mask(res["mask_path"])
    assert png.dtype == np.uint8 and (png == (m * 255).astype(np.uint8)).all()
    with pytest.raises(errors.MaskError, match="64x48"):
        worker.call("read_mask", path=src, width=32, height=48, timeout=60)


def test_sam_embed_and_mask_by_file(worker, tmp_path):
    from plugin.masks import read_mask
    make_shot(tmp_path, n=2)
    worker.call("open_plate", path=str(tmp_path / "plates" / "plate.####.exr"), colourspace="ACEScg", timeout=60)
    with pytest.raises(errors.UserError):
        worker.call("sam_mask", handle="nope", points_pos=[[10, 10]], points_neg=[], timeout=60)
    emb = worker.call("sam_embed", frame=FIRST, model="stand-in", timeout=300)
    assert emb["handle"] and (emb["width"], emb["height"]) == (64, 48)
    res = worker.call("sam_mask", handle=emb["handle"], points_pos=[[20, 17]], points_neg=[[60, 40]], timeout=300)
    assert (res["width"], res["height"]) == (64, 48) and isinstance(res["score"], float)
    mask = read_mask(res["mask_path"])
    assert mask.shape == (48, 64) and mask.dtype == np.uint8 and set(np.unique(mask)) <= {0, 255}


def test_sample_pixel_is_the_plate_as_decoded_and_each_written_alpha(worker, tmp_path):
    """The pixel readout (issue 19.6): scene-linear values over 1 come back as in the file, not
    through the display transform; each object's alpha is the written EXR's; no file is None."""
    import OpenImageIO as oiio
    from tests.plugin.media import make_exr_sequence, write_image
    pixels = np.zeros((2, 24, 32, 3), np.float32)
    pixels[:, 5, 7] = (2.5, 0.125, 0.0625)       # a highlight over 1: linear, as Nuke's viewer reads it
    pixels[1, 9, 3] = (0.3, 0.6, 0.9)
    pattern, _ = make_exr_sequence(tmp_path / "plates", frames=2, h=24, w=32, first=1001, pixels=pixels)
    worker.call("open_plate", path=pattern, colourspace="ACEScg", timeout=60)
    alpha = np.zeros((24, 32), np.float32)
    alpha[9, 3] = 0.75
    (tmp_path / "matte").mkdir()
    write_image(tmp_path / "matte" / "hero.1002.exr", alpha, dtype="half", channels=["A"])
    paths = {"1": str(tmp_path / "matte" / "hero.####.exr"), "2": str(tmp_path / "matte" / "none.####.exr")}
    for frame, x, y in ((1001, 7, 5), (1002, 3, 9)):
        file_pixel = oiio.ImageBuf(pattern.replace("####", str(frame))).getpixel(x, y)  # read independently
        res = worker.call("sample_pixel", frame=frame, x=x, y=y, paths=paths, timeout=60)
        assert res["rgb"] == pytest.approx(list(file_pixel[:3]), abs=0) and res["colourspace"] == "ACEScg"
        assert (res["frame"], res["x"], res["y"]) == (frame, x, y)
    assert res["rgb"] == pytest.approx([0.3, 0.6, 0.9], abs=1e-3)  # half precision of the values written
    assert res["alphas"] == {"1": 0.75, "2": None}
    first = worker.call("sample_pixel", frame=1001, x=7, y=5, paths=paths, timeout=60)
    assert first["rgb"][0] == 2.5 and first["alphas"] == {"1": None, "2": None}
    with pytest.raises(errors.WorkerError, match="outside the 32x24 plate"):
        worker.call("sample_pixel", frame=1001, x=32, y=0, timeout=60)
