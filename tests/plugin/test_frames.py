"""The reader side of a run (`plugin.job.frames`): a frame's colour transform in bands that its
reader and the engine's thread share, so the engine never waits on a starved idle-priority reader
(issue 22), with the same bits as the whole-frame conversion."""
import threading

import numpy as np
import pytest

from plugin import color, job, plates
from plugin.errors import UserError
from plugin.job import frames
from plugin.shot import Shot
from tests.plugin.pipeline_media import FIRST, make_shot, output_alphas


def _loader(shot, plate, size=None):
    return frames.FrameLoader(shot, plate, shot.objects, size)


def _expected(shot, plate, frame):
    return color.to_network_input(plate.read(frame), shot.plate.colourspace, parallel=False)


@pytest.mark.parametrize("h, w", [(48, 64), (77, 50)])  # 77 rows: the last band is short
def test_bands_give_the_whole_frame_conversion_bit_for_bit(tmp_path, h, w):
    shot = Shot.load(make_shot(tmp_path, n=2, h=h, w=w))
    with plates.open(shot.plate.path) as plate:
        loader = _loader(shot, plate)
        got, image, masks = frames.FrameWork(loader, FIRST).take()  # all of it on this thread
        assert got == FIRST and image.dtype == np.float32 and image.flags.c_contiguous
        assert np.array_equal(image, _expected(shot, plate, FIRST))
        assert list(masks) == [1] and masks[1].shape == (h, w)
        work = frames.FrameWork(loader, FIRST + 1)
        work.run()  # a reader's part alone finishes it too
        assert np.array_equal(work.take()[1], _expected(shot, plate, FIRST + 1))


def test_the_engine_thread_finishes_a_frame_whose_reader_stalls_in_a_band(tmp_path, monkeypatch):
    """A reader that took a band and gets no CPU (idle priority on a busy machine): the waiting
    thread converts that band again, out of place, and finishes; the reader's late result for it
    changes nothing."""
    monkeypatch.setattr(frames, "BAND_ROWS", 8)
    shot = Shot.load(make_shot(tmp_path, n=1))
    with plates.open(shot.plate.path) as plate:
        loader = _loader(shot, plate)
        convert = loader.convert
        in_band, release = threading.Event(), threading.Event()

        def stalling(rows):
            if threading.current_thread().name == "stalled-reader" and not in_band.is_set():
                in_band.set()
                release.wait(30)
            convert(rows)
        loader.convert = stalling
        work = frames.FrameWork(loader, FIRST)
        reader = threading.Thread(target=work.run, name="stalled-reader")
        reader.start()
        assert in_band.wait(30)
        got, image, _ = work.take()  # must not wait for the stalled reader
        assert not release.is_set() and reader.is_alive()
        expected = _expected(shot, plate, FIRST)
        assert np.array_equal(image, expected)
        release.set()
        reader.join(30)
        assert np.array_equal(work.take()[1], expected) and work.take()[1] is image


def test_a_read_error_surfaces_on_the_engine_thread_from_either_side(tmp_path):
    shot = Shot.load(make_shot(tmp_path, n=2))
    (tmp_path / "plates" / f"plate.{FIRST + 1:04d}.exr").write_bytes(b"not an exr")
    with plates.open(shot.plate.path) as plate:
        loader = _loader(shot, plate)
        work = frames.FrameWork(loader, FIRST + 1)
        work.run()  # the reader's error is kept ...
        with pytest.raises(UserError, match=f"plate.{FIRST + 1:04d}.exr"):
            work.take()  # ... and raised here
        with pytest.raises(UserError, match=f"plate.{FIRST + 1:04d}.exr"):
            frames.FrameWork(loader, FIRST + 1).take()  # met by the engine's thread itself


def test_a_run_whose_readers_never_get_the_cpu_still_finishes_with_the_same_alphas(tmp_path, monkeypatch):
    """Starved readers (they do nothing): the stepping thread loads every frame itself."""
    kw = dict(n=5, keyframes={"hero": [FIRST, FIRST + 3]}, max_internal_size=32)
    fine = job.run(Shot.load(make_shot(tmp_path / "fine", **kw)))
    monkeypatch.setattr(frames.FrameWork, "run", lambda self: None)
    starved = job.run(Shot.load(make_shot(tmp_path / "starved", **kw)))
    assert fine.status == starved.status == "done" and starved.frames_written == 5
    a, b = output_alphas(tmp_path / "fine" / "out"), output_alphas(tmp_path / "starved" / "out")
    assert list(a) == list(b) and all(np.array_equal(a[k], b[k]) for k in a)
