"""plugin.job against hostile inputs and faults (issue 21): outputs never land on an input,
Ctrl-C/SIGTERM/cancel stop promptly, non-finite alphas stop the run, per-frame windows,
one lock per shot, disk full, and a cancelled --force re-run that says it is mixed."""
import hashlib
import os
from pathlib import Path

import numpy as np
import pytest

from plugin import cli
from tests.plugin.pipeline_media import WEIGHTS, object_mask, write_mask, write_plate


def _sha(path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _issue_repro(tmp_path, n=4):
    """The issue's files: plate p/plate.####.exr (frames 1..n), hero's mask m.png at 1, hair's mask
    o/m_hero.0002.exr at 2 (inside hero's output pattern o/m_{object}.####.exr)."""
    write_plate(tmp_path / "p", n, first=1)
    (tmp_path / "o").mkdir()
    write_mask(tmp_path / "m.png", object_mask(0, 0))
    write_mask(tmp_path / "o" / "m_hero.0002.exr", object_mask(1, 1), dtype="half")
    return tmp_path / "o" / "m_hero.0002.exr"


@pytest.mark.parametrize("out, mask2", [
    ("o/m_{object}.####.exr", "o/m_hero.0002.exr"),         # the issue's command
    ("o/../o/m_{object}.####.exr", "./o/m_hero.0002.exr"),  # `..` and `.` spellings
    ("link/m_{object}.%04d.exr", "o/m_hero.0002.exr"),      # through a symlinked folder, %04d
    ("o/m_{object}.#.exr", "o/m_hero.2.exr"),               # another padding: the same file name
])
def test_an_output_never_lands_on_another_objects_mask(tmp_path, monkeypatch, capsys, out, mask2):
    mask = _issue_repro(tmp_path)
    if mask2.endswith("m_hero.2.exr"):
        os.rename(mask, tmp_path / "o" / "m_hero.2.exr")
        mask = tmp_path / "o" / "m_hero.2.exr"
    os.symlink(tmp_path / "o", tmp_path / "link")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MATANYONE_PLUGIN_OFFLINE", "1")
    before = _sha(mask)
    code = cli.main(["run", "--quiet", "--plate", "p/plate.####.exr", "--object", "hero", "--mask", "1=m.png",
                     "--object", "hair", "--mask", f"2={mask2}", "--out", out, "--weights", WEIGHTS,
                     "--device", "cpu", "--warmup", "0", "--dilate", "0", "--erode", "0"])
    err = capsys.readouterr().err.strip()
    assert code == 1, err
    assert len(err.splitlines()) == 1 and "keyframe mask of object 'hair' at frame 2" in err, err
    assert _sha(mask) == before
    assert sorted(os.listdir(tmp_path / "o")) == [mask.name]  # nothing written before the refusal


def test_an_output_never_lands_on_its_own_mask_at_a_middle_frame(tmp_path, monkeypatch, capsys):
    """The issue's second form: one object, `--mask 1=o/m.0003.exr`, output o/m.####.exr."""
    write_plate(tmp_path / "p", 5, first=1)
    (tmp_path / "o").mkdir()
    write_mask(tmp_path / "o" / "m.0003.exr", object_mask(0, 2), dtype="half")
    before = _sha(tmp_path / "o" / "m.0003.exr")
    monkeypatch.chdir(tmp_path)
    code = cli.main(["run", "--quiet", "--plate", "p/plate.####.exr", "--mask", "1=o/m.0003.exr",
                     "--out", "o/m.####.exr", "--weights", WEIGHTS, "--device", "cpu", "--warmup", "0"])
    err = capsys.readouterr().err.strip()
    assert code == 1 and "keyframe mask of object 'matte' at frame 1" in err, err
    assert _sha(tmp_path / "o" / "m.0003.exr") == before


def test_an_output_never_lands_on_a_plate_frame_or_the_shot_file(tmp_path, monkeypatch, capsys):
    write_plate(tmp_path / "p", 3, first=1)
    write_mask(tmp_path / "m.png", object_mask(0, 0))
    monkeypatch.chdir(tmp_path)
    before = _sha(tmp_path / "p" / "plate.0002.exr")
    code = cli.main(["run", "--quiet", "--plate", "p/plate.####.exr", "--mask", "1=m.png",
                     "--out", "p/../p/plate.####.exr", "--weights", WEIGHTS, "--device", "cpu"])
    err = capsys.readouterr().err.strip()
    assert code == 1 and "plate frame" in err, err
    assert _sha(tmp_path / "p" / "plate.0002.exr") == before
    # A shot file named like an output frame.
    import json
    shot = {"version": 1, "plate": {"path": "../p/plate.####.exr", "first": 1, "last": 3,
                                    "colourspace": "ACEScg"},
            "objects": [{"id": 1, "name": "hero", "keyframes": {"1": "../m.png"}}],
            "engine": {"weights": WEIGHTS, "device": "cpu"}, "output": {"path": "x.####.exr"}}
    (tmp_path / "o").mkdir()
    (tmp_path / "o" / "x.0002.exr").write_text(json.dumps(shot))
    before = _sha(tmp_path / "o" / "x.0002.exr")
    code = cli.main(["run", "--quiet", "o/x.0002.exr"])
    err = capsys.readouterr().err.strip()
    assert code == 1 and "the shot file" in err, err
    assert _sha(tmp_path / "o" / "x.0002.exr") == before


# --------------------------------------------------------------------------- B: stop when asked
REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("sig", ["SIGINT", "SIGTERM"])
def test_ctrl_c_and_sigterm_stop_the_warm_up_within_a_step(tmp_path, sig):
    """`--warmup 1000` (the most allowed) on a 192x144 plate takes far longer than the wait."""
    import json
    import signal
    import subprocess
    import sys
    import time
    write_plate(tmp_path / "p", 3, h=144, w=192, first=1)
    write_mask(tmp_path / "m.png", object_mask(0, 0, 144, 192))
    env = dict(os.environ, PYTHONPATH=str(REPO), MATANYONE_PLUGIN_OFFLINE="1")
    cmd = [sys.executable, "-m", "plugin", "run", "--quiet", "--plate", "p/plate.####.exr", "--mask", "1=m.png",
           "--out", "o/m.####.exr", "--weights", WEIGHTS, "--device", "cpu", "--warmup", "1000"]
    proc = subprocess.Popen(cmd, cwd=str(tmp_path), env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    log = tmp_path / "o" / "m.log"
    deadline = time.monotonic() + 120
    while not (log.exists() and "direction" in log.read_text()) and time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.05)
    time.sleep(1.0)  # well inside the warm-up of frame 1
    sent = time.monotonic()
    proc.send_signal(getattr(signal, sig))
    out, err = proc.communicate(timeout=60)
    took = time.monotonic() - sent
    err = err.decode()
    assert proc.returncode == (130 if sig == "SIGINT" else 143), err
    assert took < 10, took
    assert len(err.strip().splitlines()) == 1 and "cancelled" in err and "Traceback" not in err, err
    assert "cancelled" in log.read_text().splitlines()[-1]
    record = json.loads((tmp_path / "o" / "m.run.json").read_text())
    assert record["objects"]["matte"]["status"] == "cancelled"
    assert not [n for n in os.listdir(tmp_path / "o") if n.endswith(".tmp") or ".tmp-" in n]


@pytest.mark.parametrize("module", ["plugin.errors", "plugin.commands.demo"])
def test_ctrl_c_while_python_starts_prints_no_traceback(tmp_path, module):
    """Ctrl-C that lands while the command imports (`python -m plugin` importing plugin.cli, or
    the command modules): made deterministic by an import hook that raises it there."""
    import subprocess
    import sys
    env = dict(os.environ, PYTHONPATH=str(REPO))
    code = ("import sys, runpy\n"
            "class Hook:\n"
            "    def find_spec(self, name, path, target=None):\n"
            f"        if name == {module!r}: raise KeyboardInterrupt\n"
            "sys.meta_path.insert(0, Hook())\n"
            "sys.argv = ['matanyone-plugin', 'info']\n"
            "runpy.run_module('plugin', run_name='__main__', alter_sys=True)\n")
    proc = subprocess.run([sys.executable, "-c", code], cwd=str(tmp_path), env=env, capture_output=True,
                          timeout=120)
    err = proc.stderr.decode()
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    assert proc.returncode == 130, err


def test_a_cancel_in_a_later_objects_warm_up_resumes_to_identical_alphas(tmp_path):
    """hair joins at frame 3; the cancel comes in the middle of its warm-up, after hero has
    stepped frame 3: the saved state is the one before frame 3, and the resume is exact."""
    from plugin import job
    from plugin.shot import Shot
    from tests.plugin.pipeline_media import FIRST, make_shot, output_alphas
    kf = {"hero": [FIRST], "hair": [FIRST + 2]}
    ref = make_shot(tmp_path / "ref", n=5, objects=("hero", "hair"), keyframes=kf, warmup=3)
    assert job.run(Shot.load(ref)).status == "done"
    shot_path = make_shot(tmp_path / "work", n=5, objects=("hero", "hair"), keyframes=kf, warmup=3)
    calls = []

    def cancel():
        # Asked once per frame and before each warm-up refinement: frame 1 (1 + 4 for hero's
        # warm-up), frame 2 (1), frame 3 (1, then hair's warm-up): the 10th call is in it.
        calls.append(1)
        return len(calls) >= 10
    first = job.run(Shot.load(shot_path), cancel=cancel)
    assert first.status == "cancelled"
    second = job.run(Shot.load(shot_path))
    assert second.status == "done" and second.resumed_from == FIRST + 1
    a, b = output_alphas(tmp_path / "ref" / "out"), output_alphas(tmp_path / "work" / "out")
    assert sorted(a) == sorted(b)
    for name in a:
        np.testing.assert_array_equal(a[name], b[name], err_msg=name)


# --------------------------------------------------------------------------- C: non-finite numbers
def test_a_checkpoint_with_nan_is_refused_at_load_naming_the_file_and_key(tmp_path, capsys):
    import torch
    from matanyone_engine import standin
    from matanyone_engine.network import MatAnyoneNet
    sd = standin.standin_state_dict(MatAnyoneNet().state_dict(), "nan")
    keys = [k for k, v in sd.items() if v.dtype.is_floating_point]
    bad = keys[7]
    sd[bad] = torch.full_like(sd[bad], float("nan"))
    for k in keys[8:]:
        sd[k] = torch.full_like(sd[k], float("inf"))  # later keys too: the first bad one is named
    torch.save(sd, tmp_path / "nan.pth")
    write_plate(tmp_path / "p", 2, first=1)
    write_mask(tmp_path / "m.png", object_mask(0, 0))
    code = cli.main(["run", "--quiet", "--plate", str(tmp_path / "p/plate.####.exr"), "--mask",
                     f"1={tmp_path / 'm.png'}", "--out", str(tmp_path / "o/m.####.exr"),
                     "--weights", str(tmp_path / "nan.pth"), "--device", "cpu"])
    err = capsys.readouterr().err.strip()
    assert code == 1 and len(err.splitlines()) == 1, err
    assert "nan.pth" in err and f"key {bad} " in err and "non-finite" in err, err
    assert not list((tmp_path / "o").glob("*.exr"))


def test_a_non_finite_alpha_stops_the_run_naming_the_frame(tmp_path, monkeypatch):
    from matanyone_engine import Session
    from plugin import job
    from plugin.errors import UserError
    from plugin.shot import Shot
    from tests.plugin.pipeline_media import FIRST, make_shot
    shot = Shot.load(make_shot(tmp_path, n=5))
    real_step = Session.step
    count = []

    def poisoned(self, image, **kw):
        out = real_step(self, image, **kw)
        count.append(1)
        if len(count) == 3:  # the network's output at frame FIRST + 2 is NaN somewhere
            for a in out.values():
                a[0, 0] = np.nan
        return out
    monkeypatch.setattr(Session, "step", poisoned)
    with pytest.raises(UserError) as err:
        job.run(shot)
    assert f"frame {FIRST + 2}:" in str(err.value) and "non-finite" in str(err.value)
    out = tmp_path / "out"
    assert not (out / f"sh010_hero.{FIRST + 2}.exr").exists()


# --------------------------------------------------------------------------- D: windows per frame
def test_each_output_frame_keeps_its_own_source_frames_windows(tmp_path):
    """An autocropped render: the data window changes frame by frame (and overscans on one)."""
    import OpenImageIO as oiio
    from plugin import job
    from plugin.shot import Shot
    from tests.plugin.media import write_image
    from tests.plugin.pipeline_media import FIRST, H, W, make_shot, plate_pixels
    shot = Shot.load(make_shot(tmp_path, n=3))
    pixels = plate_pixels(3)
    windows = {FIRST + 1: (10, 5, 30, 20), FIRST + 2: (-4, -2, W + 8, H + 4)}
    for f, (x, y, w, h) in windows.items():
        full = np.zeros((H + 40, W + 40, 3), np.float32)
        full[20:20 + H, 20:20 + W] = pixels[f - FIRST]
        write_image(tmp_path / "plates" / f"plate.{f}.exr", full[20 + y:20 + y + h, 20 + x:20 + x + w],
                    data_window=(x, y, w, h), display_window=(0, 0, W, H))
    windows[FIRST] = (0, 0, W, H)
    assert job.run(shot).status == "done"
    for f, want in windows.items():
        inp = oiio.ImageInput.open(str(tmp_path / "out" / f"sh010_hero.{f}.exr"))
        spec = inp.spec()
        inp.close()
        assert (spec.x, spec.y, spec.width, spec.height) == want, f
        assert (spec.full_x, spec.full_y, spec.full_width, spec.full_height) == (0, 0, W, H), f


# --------------------------------------------------------------------------- E: one lock, disk full
def test_a_second_run_of_the_same_shot_is_refused_naming_the_first(tmp_path, capsys):
    """The issue's two `--direction both` runs: the second said FileNotFoundError of the first's
    work frames. Now it says, in one line, that the first (pid) works on the shot."""
    import signal
    import subprocess
    import sys
    import time
    write_plate(tmp_path / "p", 3, h=144, w=192, first=1)
    write_mask(tmp_path / "m.png", object_mask(0, 0, 144, 192))
    args = ["run", "--quiet", "--plate", str(tmp_path / "p/plate.####.exr"), "--mask", f"1={tmp_path / 'm.png'}",
            "--out", str(tmp_path / "o/m.####.exr"), "--weights", WEIGHTS, "--device", "cpu",
            "--direction", "both", "--warmup", "1000"]
    env = dict(os.environ, PYTHONPATH=str(REPO), MATANYONE_PLUGIN_OFFLINE="1")
    proc = subprocess.Popen([sys.executable, "-m", "plugin", *args], cwd=str(tmp_path), env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        log = tmp_path / "o" / "m.log"
        deadline = time.monotonic() + 120
        while not (log.exists() and "direction" in log.read_text()) and time.monotonic() < deadline:
            assert proc.poll() is None, proc.communicate()
            time.sleep(0.05)
        code = cli.main(args)
        err = capsys.readouterr().err.strip()
        assert code == 1 and len(err.splitlines()) == 1, err
        assert f"another run (pid {proc.pid}) is working on object 'matte'" in err, err
    finally:
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=60)
    assert proc.returncode == 130


@pytest.fixture
def small_disk(tmp_path):
    """A 160 KiB tmpfs: the output folder fills up after a few frames."""
    import subprocess
    where = tmp_path / "small"
    where.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root (to fill a disk without filling the machine's)")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=160k", "tmpfs", str(where)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"this machine refuses a tmpfs mount ({done.stderr.decode().strip()})")
    yield where
    subprocess.run(["umount", "-l", str(where)], check=False)


@pytest.mark.parametrize("direction, key", [("forward", 1), ("both", 20)])
def test_a_full_disk_is_one_line_and_leaves_no_temporary_file(tmp_path, small_disk, capsys, direction, key):
    """forward: the alpha EXRs fill the disk; both: the backward pass's work frames do."""
    write_plate(tmp_path / "p", 24, first=1)
    write_mask(tmp_path / "m.png", object_mask(0, key - 1))
    out = small_disk / "o"
    code = cli.main(["run", "--quiet", "--plate", str(tmp_path / "p/plate.####.exr"), "--mask",
                     f"{key}={tmp_path / 'm.png'}", "--out", str(out / "m.####.exr"), "--weights", WEIGHTS,
                     "--device", "cpu", "--direction", direction, "--warmup", "0"])
    err = capsys.readouterr().err.strip()
    assert code == 1 and len(err.splitlines()) == 1, err
    assert f"{out}: the disk is full" in err and " free; " in err and "needs about" in err, err
    left = [os.path.join(root, n) for root, _, names in os.walk(small_disk) for n in names]
    assert not [p for p in left if ".tmp" in os.path.basename(p)], left
    assert not [p for p in left if ".npy" in p], left   # the work frames of a two-way run
    from tests.plugin.pipeline_media import read_alpha
    for p in left:
        if p.endswith(".exr"):
            assert read_alpha(p).shape == (48, 64), p    # whole frames only
    assert direction == "both" or [p for p in left if p.endswith(".exr")]  # it did fill up mid-run


# --------------------------------------------------------------------------- F: a mixed folder
def test_a_cancelled_force_rerun_says_which_frames_are_current_and_resumes(tmp_path, capsys):
    """Run warm-up 2 to the end, then `--force` with warm-up 3, cancelled after 2 frames: the
    folder mixes both. The record says which frames are current, `info` says MIXED, and a
    plain re-run resumes the new settings to the alphas of a fresh warm-up-3 run."""
    import json
    import threading
    from plugin import job
    from plugin.job import files
    from plugin.shot import Shot
    from tests.plugin.pipeline_media import FIRST, make_shot, output_alphas
    n = 12
    ref = make_shot(tmp_path / "ref", n=n, warmup=3)
    assert job.run(Shot.load(ref)).status == "done"
    shot_path = make_shot(tmp_path / "w", n=n, warmup=2)
    assert job.run(Shot.load(shot_path)).status == "done"
    data = json.loads(shot_path.read_text())
    data["engine"]["warmup"] = 3
    shot_path.write_text(json.dumps(data))
    cancel, seen = threading.Event(), []

    def on_progress(p):
        seen.append(p.frame)
        if len(seen) >= 2:
            cancel.set()
    first = job.run(Shot.load(shot_path), force=True, cancel=cancel, on_progress=on_progress)
    assert first.status == "cancelled" and first.frames_written < n
    shot = Shot.load(shot_path)
    record = files.read_json(job.job_paths(shot).record)["objects"]["hero"]
    current = files.frames_in(record["current"])
    assert current == set(range(FIRST, FIRST + first.frames_written)), record["current"]
    assert cli.main(["info", str(shot_path)]) == 0
    out = capsys.readouterr().out
    stale = f"{FIRST + first.frames_written}-{FIRST + n - 1}"
    assert "MIXED" in out and f"frames {stale} are not of these settings" in out, out
    second = job.run(Shot.load(shot_path))
    assert second.status == "done" and second.resumed_from is not None
    a, b = output_alphas(tmp_path / "ref" / "out"), output_alphas(tmp_path / "w" / "out")
    for name in a:
        np.testing.assert_array_equal(a[name], b[name], err_msg=name)
    assert cli.main(["info", str(shot_path)]) == 0
    out = capsys.readouterr().out
    assert "MIXED" not in out and f"done; current frames {FIRST}-{FIRST + n - 1}" in out, out
