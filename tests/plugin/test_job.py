"""plugin.job internals: paths beside the outputs, the plan of passes, the blend, the internal
size rule, and streaming (the reader stays a bounded number of frames ahead of the engine)."""
import threading
import time

import numpy as np
import pytest

from plugin import job
from plugin.job import files
from plugin.shot import Shot, ShotObject
from tests.plugin.pipeline_media import FIRST, make_shot, output_alphas


def test_job_paths_sit_beside_the_outputs(tmp_path):
    shot = Shot.load(make_shot(tmp_path, n=2, out="matte/sh010_{object}.####.exr"))
    p = job.job_paths(shot)
    assert p.out_dir == str(tmp_path / "matte") and p.name == "sh010"
    assert p.shot.endswith("matte/sh010.shot.json") and p.record.endswith("matte/sh010.run.json")
    shot = Shot.load(make_shot(tmp_path / "b", n=2, out="matte/{object}/v001/sh020.####.exr"))
    p = job.job_paths(shot)
    assert p.out_dir == str(tmp_path / "b" / "matte") and p.name == "sh020"


def test_internal_shape_follows_the_official_rule():
    """(height, width) in, (height, width) out."""
    assert job.internal_shape(1080, 1920, None) is None
    assert job.internal_shape(1080, 1920, 1080) is None
    assert job.internal_shape(1080, 1920, 480) == (480, 853)  # int() truncation
    assert job.internal_shape(1920, 1080, 480) == (853, 480)


def test_plan_passes_and_blend():
    from plugin.job import planning

    class S:
        plate = type("P", (), {"first": 1, "last": 10})()
        direction = "both"
    a = ShotObject(1, "a", {3: "x", 7: "y"})
    b = ShotObject(2, "b", {5: "z"})
    back, fwd = planning.passes(S, [a, b])
    assert back.direction == "backward" and back.schedule == [7, 6, 5, 4, 3, 2, 1] and back.sink == planning.WORK
    assert fwd.schedule == list(range(1, 11)) and fwd.stepped == frozenset(range(3, 11))
    assert fwd.sink == planning.ALPHAS and fwd.blend
    S.direction = "backward"
    (only,) = planning.passes(S, [a, b])
    assert only.schedule == list(range(10, 0, -1)) and only.stepped == frozenset(range(1, 8)) and not only.blend
    assert planning.blend_weight(a, 3) == 0.5 and planning.blend_weight(a, 4) == 0.75
    assert planning.blend_weight(a, 6) == 0.25
    assert planning.covers(a, "forward", 2) is False and planning.covers(a, "backward", 8) is False


def test_plan_keeps_what_holds_these_settings_and_resumes_unless_forced(tmp_path):
    """The plan is pure: the record, fingerprints and what is on disk decide it."""
    shot = Shot.load(make_shot(tmp_path, n=4, objects=("hero", "prop")))
    fps = job.Fingerprints("g1", {"hero": "h1", "prop": "p1"})
    record = {"objects": {"hero": {"global": "g1", "fingerprint": "h1", "complete": True, "current": [[1001, 1004]]},
                          "prop": {"global": "g1", "fingerprint": "p0", "complete": True}}}
    p = job.plan(shot, record, fps, complete_on_disk={"hero", "prop"})
    assert [o.name for o in p.kept] == ["hero"] and [o.name for o in p.to_run] == ["prop"] and p.resume
    assert p.carried == {"prop": set()} and p.total == 4
    p = job.plan(shot, record, fps, complete_on_disk={"prop"})  # hero's frames are not all there
    assert [o.name for o in p.to_run] == ["hero", "prop"] and p.carried["hero"] == set(range(1001, 1005))
    p = job.plan(shot, record, fps, complete_on_disk={"hero", "prop"}, force=True)
    assert not p.kept and not p.resume and p.carried == {"hero": set(), "prop": set()}


def _counting_plate_reads(monkeypatch, reads, on_read=None):
    """Make every plate the job opens record (frame, thread name) of each read (then call `on_read`)."""
    from plugin import plates
    real_open = plates.open

    def counting_open(*a, **k):
        plate = real_open(*a, **k)
        real_read = plate.read

        def read(frame):
            reads.append((frame, threading.current_thread().name))
            if on_read is not None:
                on_read()
            return real_read(frame)
        plate.read = read
        return plate
    monkeypatch.setattr(plates, "open", counting_open)


def test_reader_stays_a_bounded_number_of_frames_ahead(tmp_path, monkeypatch):
    """No whole-clip arrays: decoded frames in flight never exceed the read-ahead queue."""
    from matanyone_engine import Session
    shot = Shot.load(make_shot(tmp_path, n=12))
    reads, steps, ahead = [], [], []
    _counting_plate_reads(monkeypatch, reads, on_read=lambda: ahead.append(len(reads) - len(steps)))
    real_step = Session.step

    def slow_step(self, image, **kw):
        steps.append(1)
        return real_step(self, image, **kw)

    monkeypatch.setattr(Session, "step", slow_step)
    progress = []
    result = job.run(shot, on_progress=progress.append)
    assert result.status == "done" and len(steps) == 12
    assert max(ahead) <= max(job.READ_AHEAD, job.reader_threads() + 1) + 2, ahead
    # Progress: every frame once, in order, with counts, fps and a small preview.
    assert [p.frame for p in progress] == list(range(FIRST, FIRST + 12))
    assert [p.done for p in progress] == list(range(1, 13)) and progress[-1].total == 12
    assert progress[-1].fps > 0 and progress[-1].eta_s == 0
    assert progress[0].preview is not None and progress[0].preview.dtype == np.float32
    assert progress[0].paths["hero"].endswith(f"sh010_hero.{FIRST}.exr")


def test_cancel_stops_at_the_next_frame(tmp_path):
    shot = Shot.load(make_shot(tmp_path, n=8))
    ev = threading.Event()

    def on_progress(p):
        if p.done == 1:
            ev.set()
    result = job.run(shot, on_progress=on_progress, cancel=ev)
    assert result.status == "cancelled"
    assert 1 <= result.frames_written <= 1 + job.WRITE_BEHIND + 1
    record = files.read_json(job.job_paths(shot).record)
    assert record["objects"]["hero"]["status"] == "cancelled" and not record["objects"]["hero"]["complete"]
    log = open(job.job_paths(shot).log).read()
    assert "cancelled after frame" in log


def test_callable_cancel_and_bad_cancel(tmp_path):
    with pytest.raises(TypeError):
        job._cancel_test(42)
    assert job._cancel_test(lambda: True)() is True
    assert job._cancel_test(None)() is False


def test_matte_channels_write_each_object_in_its_own_layer(tmp_path):
    """channels 'matte' (the Resolve bridge's): the job names each object's layer after it."""
    import json

    import OpenImageIO as oiio

    path = make_shot(tmp_path, n=2, objects=("hero", "prop"))
    data = json.loads(path.read_text())
    data["output"]["channels"] = "matte"
    path.write_text(json.dumps(data))
    shot = Shot.load(path)
    assert job.run(shot).status == "done"
    for obj in shot.objects:
        inp = oiio.ImageInput.open(shot.output.pattern_for(obj).replace("####", str(FIRST + 1)))
        spec = inp.spec()
        px = np.asarray(inp.read_image(0, 0, 0, spec.nchannels, "float")).reshape(spec.height, spec.width, -1)
        inp.close()
        assert sorted(spec.channelnames) == [f"{obj.name}.{c}" for c in "ABGR"]
        assert px.max() > 0 and all(np.array_equal(px[..., 0], px[..., i]) for i in range(4))


@pytest.mark.parametrize("cores, readers", [(1, 1), (2, 2), (4, 4), (16, 16), (64, 32)])
def test_one_reader_per_core(monkeypatch, cores, readers):
    """Idle-priority readers mostly run while a CPU engine waits for its next frame: then every
    core should read (one reader on 2 cores left a core idle for ~1 s of each 1080p step). A GPU
    engine takes frames faster than 16 cores convert them exactly (issue 22), so the cap is high;
    a farm's CPU set (affinity) counts, not the machine's cores."""
    monkeypatch.delenv("MATANYONE_PLUGIN_READERS", raising=False)
    monkeypatch.setattr(job.frames.os, "sched_getaffinity", lambda pid: set(range(cores)), raising=False)
    monkeypatch.setattr(job.frames.os, "cpu_count", lambda: 128)
    assert job.reader_threads() == readers
    monkeypatch.delattr(job.frames.os, "sched_getaffinity")  # macOS, Windows: all cores
    monkeypatch.setattr(job.frames.os, "cpu_count", lambda: cores)
    assert job.reader_threads() == readers
    monkeypatch.setenv("MATANYONE_PLUGIN_READERS", "3")
    assert job.reader_threads() == 3


@pytest.mark.parametrize("direction, first_step, internal", [("forward", FIRST + 1, None),
                                                              ("backward", FIRST + 4, None),
                                                              ("both", FIRST + 4, 32)])
def test_first_frame_is_read_while_the_network_loads(tmp_path, monkeypatch, direction, first_step, internal):
    """The engine alone starts stepping as soon as its network is built: the job reads its first
    frame during the load (issue 22: a 1080p CPU job otherwise waits ~1 s more), once, and the
    alphas are those of a run given a loaded network (which reads nothing early)."""
    shot = Shot.load(make_shot(tmp_path / "a", n=6, keyframes={"hero": [FIRST + 1, FIRST + 4]},
                               direction=direction, max_internal_size=internal))
    reads = []
    _counting_plate_reads(monkeypatch, reads)
    real_load = job.load_network
    during_load = []

    def load_after_first_read(s, key=None):
        deadline = time.monotonic() + 20
        while not reads and time.monotonic() < deadline:
            time.sleep(0.01)
        during_load.extend(reads)
        return real_load(s, key)
    monkeypatch.setattr(job, "load_network", load_after_first_read)
    assert job.planning.first_step(shot) == first_step
    assert job.run(shot).status == "done"
    assert during_load and during_load[0] == (first_step, "matanyone-early_0"), during_load
    assert [f for f, _ in reads].count(first_step) == 1, reads  # read early, and only then (every pass)

    given = Shot.load(make_shot(tmp_path / "b", n=6, keyframes={"hero": [FIRST + 1, FIRST + 4]},
                                direction=direction, max_internal_size=internal))
    reads.clear()
    assert job.run(given, network=real_load(given)).status == "done"
    assert all(name.startswith("matanyone-reader") or name == "MainThread" for _, name in reads), reads
    assert output_alphas(tmp_path / "a" / "out").keys() == output_alphas(tmp_path / "b" / "out").keys()
    for (name, a), b in zip(output_alphas(tmp_path / "a" / "out").items(),
                            output_alphas(tmp_path / "b" / "out").values()):
        assert np.array_equal(a, b), name


def test_a_first_frame_guess_that_misses_is_dropped(tmp_path, monkeypatch):
    """A resume steps on from its saved state: the frame read early is not used, and the run
    reads the frames it steps as usual."""
    shot = Shot.load(make_shot(tmp_path, n=6))
    monkeypatch.setenv("MATANYONE_PLUGIN_CHECKPOINT_FRAMES", "1")
    ev = threading.Event()
    first = job.run(shot, on_progress=lambda p: p.done == 3 and ev.set(), cancel=ev)
    assert first.status == "cancelled"
    reads = []
    _counting_plate_reads(monkeypatch, reads)
    result = job.run(shot)
    assert result.status == "done" and result.resumed_from is not None
    early = [f for f, name in reads if name.startswith("matanyone-early")]
    assert early == [FIRST]
    stepped = [f for f, name in reads if not name.startswith("matanyone-early")]
    assert FIRST not in stepped
    assert sorted(set(stepped)) == list(range(result.resumed_from + 1, FIRST + 6))
