"""Resume: kill -9 / cancel leave whole frames; re-runs continue and give identical files;
an edited mask re-runs only its object; a changed plate or --force starts over."""
import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from plugin import job
from plugin.shot import Shot
from tests.plugin.pipeline_media import FIRST, make_shot, object_mask, output_alphas, write_mask

REPO = Path(__file__).resolve().parents[2]


def exr_names(directory):
    """Finished output frames (writers' temporaries are hidden dot-files)."""
    if not os.path.isdir(directory):
        return []
    return sorted(n for n in os.listdir(directory) if n.endswith(".exr") and not n.startswith("."))


def assert_same_outputs(a_dir, b_dir):
    a, b = output_alphas(a_dir), output_alphas(b_dir)
    assert sorted(a) == sorted(b)
    for name in a:
        np.testing.assert_array_equal(a[name], b[name], err_msg=name)


@pytest.mark.slow
def test_kill_nine_ten_times_then_resume_gives_identical_files(tmp_path):
    n = 12
    ref_dir = tmp_path / "ref"
    ref_shot = make_shot(ref_dir, n=n, objects=("hero", "prop"), keyframes={"hero": [FIRST], "prop": [FIRST + 1]})
    assert job.run(Shot.load(ref_shot)).status == "done"

    work = tmp_path / "work"
    shot_path = make_shot(work, n=n, objects=("hero", "prop"), keyframes={"hero": [FIRST], "prop": [FIRST + 1]})
    out = work / "out"
    env = dict(os.environ, MATANYONE_PLUGIN_CHECKPOINT_FRAMES="2", PYTHONPATH=str(REPO))
    cmd = [sys.executable, "-m", "plugin", "run", str(shot_path), "--quiet"]
    rng = random.Random(1234)
    kills = 0
    while kills < 10:
        have = len(exr_names(out))
        total = 2 * n
        if have >= total - 2:
            break
        target = rng.randint(have + 1, min(total - 1, have + 6))
        proc = subprocess.Popen(cmd, cwd=str(work), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 300
        while proc.poll() is None and len(exr_names(out)) < target and time.monotonic() < deadline:
            time.sleep(0.01)
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            kills += 1
        proc.wait()
        proc.stderr.close()
        # Whole frames only: no temporary file ever takes an output's name.
        from tests.plugin.pipeline_media import read_alpha
        for name in exr_names(out):
            assert read_alpha(out / name).shape == (48, 64)
    assert kills >= 5, "the runs ended before they could be killed"
    done = subprocess.run(cmd, cwd=str(work), env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert_same_outputs(ref_dir / "out", out)
    assert not [p for p in os.listdir(out) if p.startswith(".") and p.endswith(".exr")]
    assert "resumed" in done.stdout or len(exr_names(out)) == 2 * n


def cancel_after(frames_written: int):
    event = threading.Event()
    seen = []

    def on_progress(p):
        if p.paths:
            seen.append(p.frame)
        if len(seen) >= frames_written:
            event.set()

    def cancel():
        # The writer thread runs at idle priority and may lag the engine on a busy machine:
        # the engine's per-frame check waits briefly for it, so the cancel lands mid-run.
        return event.wait(timeout=0.5)
    return cancel, on_progress


@pytest.mark.parametrize("direction", ["forward", "both"])
def test_cancel_then_resume_is_identical(tmp_path, direction):
    kf = {"hero": [FIRST, FIRST + 5]}
    ref = make_shot(tmp_path / "ref", n=6, keyframes=kf, direction=direction)
    assert job.run(Shot.load(ref)).status == "done"
    shot_path = make_shot(tmp_path / "w", n=6, keyframes=kf, direction=direction)
    cancel, on_progress = cancel_after(2)
    first = job.run(Shot.load(shot_path), cancel=cancel, on_progress=on_progress)
    assert first.status == "cancelled"
    kept = exr_names(tmp_path / "w" / "out")
    assert 2 <= len(kept) < 6
    state_dir = tmp_path / "w" / "out" / ".sh010.matanyone"
    assert any(p.name.startswith("state.") for p in state_dir.iterdir())
    second = job.run(Shot.load(shot_path))
    assert second.status == "done" and second.resumed_from is not None
    assert second.frames_written <= 6 - len(kept) + 1
    assert_same_outputs(tmp_path / "ref" / "out", tmp_path / "w" / "out")
    assert not state_dir.exists()


def test_edited_mask_reruns_only_that_object(tmp_path):
    shot_path = make_shot(tmp_path, n=4, objects=("hero", "prop"))
    shot = Shot.load(shot_path)
    assert job.run(shot).status == "done"
    out = tmp_path / "out"
    stamp = {n: os.stat(out / n).st_mtime_ns for n in exr_names(out)}
    time.sleep(0.02)
    write_mask(tmp_path / "masks" / f"prop.{FIRST}.png", object_mask(1, 1))
    again = job.run(Shot.load(shot_path))
    assert again.objects_run == ["prop"] and again.objects_kept == ["hero"]
    for name, t in stamp.items():
        now = os.stat(out / name).st_mtime_ns
        if "_hero." in name:
            assert now == t, f"{name} was rewritten"
        else:
            assert now != t, f"{name} was not rewritten"
    # And the result is what a fresh run of the edited shot gives.
    fresh = make_shot(tmp_path / "fresh", n=4, objects=("hero", "prop"))
    write_mask(tmp_path / "fresh" / "masks" / f"prop.{FIRST}.png", object_mask(1, 1))
    job.run(Shot.load(fresh))
    a, b = output_alphas(out), output_alphas(tmp_path / "fresh" / "out")
    np.testing.assert_array_equal(a[f"sh010_prop.{FIRST + 2}.exr"], b[f"sh010_prop.{FIRST + 2}.exr"])
    np.testing.assert_allclose(a[f"sh010_hero.{FIRST + 2}.exr"], b[f"sh010_hero.{FIRST + 2}.exr"], atol=1e-6)


def test_changed_plate_or_force_starts_over(tmp_path):
    shot_path = make_shot(tmp_path, n=5)
    cancel, on_progress = cancel_after(2)
    assert job.run(Shot.load(shot_path), cancel=cancel, on_progress=on_progress).status == "cancelled"
    # Touch a plate frame: its fingerprint changes, so the saved state is not used.
    plate_frame = tmp_path / "plates" / f"plate.{FIRST + 4}.exr"
    st = os.stat(plate_frame)
    os.utime(plate_frame, ns=(st.st_atime_ns, st.st_mtime_ns + 10_000_000_000))
    again = job.run(Shot.load(shot_path))
    assert again.status == "done" and again.resumed_from is None and again.frames_written == 5
    forced = job.run(Shot.load(shot_path), force=True)
    assert forced.status == "done" and forced.frames_written == 5 and forced.objects_kept == []
    assert job.run(Shot.load(shot_path)).status == "up-to-date"


def test_deleted_output_frame_reruns_the_object(tmp_path):
    shot_path = make_shot(tmp_path, n=3)
    job.run(Shot.load(shot_path))
    os.remove(tmp_path / "out" / f"sh010_hero.{FIRST + 1}.exr")
    again = job.run(Shot.load(shot_path))
    assert again.status == "done" and again.objects_run == ["hero"]
    assert len(exr_names(tmp_path / "out")) == 3


def test_periodic_saves_do_not_wait_for_the_writer(tmp_path, monkeypatch):
    """A periodic state save is queued behind the frames it follows and written by the writer:
    the engine steps on while the writer is held (it used to stop at each save until the
    writer caught up: about 0.25 s a step at 1080p on 2 cores)."""
    from matanyone_engine import Session
    from plugin.job.runner import Runner
    from plugin.job.sinks import AlphaOutputs
    monkeypatch.setenv("MATANYONE_PLUGIN_CHECKPOINT_FRAMES", "1")
    ref = make_shot(tmp_path / "ref", n=3)
    assert job.run(Shot.load(ref)).status == "done"
    shot_path = make_shot(tmp_path / "w", n=3)
    steps, all_stepped, saved = [], threading.Event(), []
    step, write, save = Session.step, AlphaOutputs.write, Runner._write_checkpoint

    def counting_step(self, *a, **k):
        out = step(self, *a, **k)
        steps.append(1)
        if len(steps) == 3:
            all_stepped.set()
        return out

    def held_write(self, *a, **k):
        all_stepped.wait(timeout=30)  # a stepping thread waiting for this write never sets it
        return write(self, *a, **k)

    def recorded_save(self, pass_index, pos, state):
        saved.append((pos, all_stepped.is_set()))
        save(self, pass_index, pos, state)

    monkeypatch.setattr(Session, "step", counting_step)
    monkeypatch.setattr(AlphaOutputs, "write", held_write)
    monkeypatch.setattr(Runner, "_write_checkpoint", recorded_save)
    t0 = time.monotonic()
    assert job.run(Shot.load(shot_path)).status == "done"
    assert time.monotonic() - t0 < 25, "the engine waited for the writer"
    assert saved == [(0, True), (1, True)], saved  # saved after the frames before them, in order
    assert_same_outputs(tmp_path / "ref" / "out", tmp_path / "w" / "out")
