"""Bad inputs: each gives one UserError line naming the file, frame or setting (never a
traceback, never a changed source), and the CLI turns it into exit code 1 and one stderr line."""
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from plugin import color, plates, writers
from plugin.errors import ColorError, OutputError, PlateError, UserError
from tests.plugin import media
from tests.plugin.media import plates_untouched  # noqa: F401 - autouse: every plate read stays byte-identical

REPO = Path(__file__).resolve().parents[2]


def _seq(tmp_path, frames=3):
    pattern, _ = media.make_exr_sequence(tmp_path / "plate", frames=frames, h=16, w=24)
    return pattern


def _read_all(target):
    with plates.open(target) as plate:
        for f in plate.frames:
            plate.read(f)


def truncated_exr(tmp_path):
    pattern = _seq(tmp_path)
    p = tmp_path / "plate" / "shot.1002.exr"
    data = p.read_bytes()
    p.write_bytes(data[: len(data) * 2 // 3])
    return (lambda: _read_all(pattern)), "shot.1002.exr", PlateError


def truncated_header(tmp_path):
    pattern = _seq(tmp_path)
    p = tmp_path / "plate" / "shot.1003.exr"
    p.write_bytes(p.read_bytes()[:40])
    return (lambda: _read_all(pattern)), "frame 1003", PlateError


def zero_byte_first_frame(tmp_path):
    pattern = _seq(tmp_path)
    (tmp_path / "plate" / "shot.1001.exr").write_bytes(b"")
    return (lambda: plates.open(pattern)), "shot.1001.exr", PlateError


def zero_byte_mid_frame(tmp_path):
    pattern = _seq(tmp_path)
    (tmp_path / "plate" / "shot.1002.exr").write_bytes(b"")
    return (lambda: _read_all(pattern)), "frame 1002", PlateError


def wrong_extension(tmp_path):
    p = tmp_path / "plate.1001.txt"
    p.write_text("not an image")
    return (lambda: plates.open(str(p))), "'.txt'", PlateError


def text_file_named_exr(tmp_path):
    p = tmp_path / "fake.1001.exr"
    p.write_text("this is not an OpenEXR file, it only has the name" * 10)
    return (lambda: _read_all(str(p))), "fake.1001.exr", PlateError


def missing_frame(tmp_path):
    pattern = _seq(tmp_path, frames=5)
    os.remove(tmp_path / "plate" / "shot.1004.exr")
    return (lambda: plates.open(pattern)), "1004", PlateError


def single_channel_plate(tmp_path):
    # One depth channel: not a picture (one luminance channel Y is a grey plate, issue 21.16).
    media.write_image(tmp_path / "y.1001.exr", np.full((8, 8), 0.5, np.float32), channels=["Z"])
    return (lambda: _read_all(str(tmp_path / "y.####.exr"))), "(Z)", PlateError


def mismatched_resolution(tmp_path):
    pattern = _seq(tmp_path)
    media.write_image(tmp_path / "plate" / "shot.1003.exr", media.source_image(20, 24))
    return (lambda: _read_all(pattern)), "frame 1003 is 24x20", PlateError


def unknown_colourspace(tmp_path):
    return (lambda: color.to_network_input(np.zeros((2, 2, 3), np.float32), "ACES cg")), "'ACES cg'", ColorError


def bad_ocio_path(tmp_path):
    os.environ["OCIO"] = str(tmp_path / "no_such_config.ocio")    # restored by conftest's monkeypatch
    return (lambda: color.to_network_input(np.zeros((2, 2, 3), np.float32), "ACEScg")), "$OCIO", ColorError


def broken_ocio_file(tmp_path):
    p = tmp_path / "broken.ocio"
    p.write_text("ocio_profile_version: 2\ncolorspaces:\n  - !<ColorSpace> {name: x, to_scene_reference: !<Nope> {}}\n")
    return (lambda: color.get_config(str(p))), "broken.ocio", ColorError


def output_over_source(tmp_path):
    pattern = _seq(tmp_path)

    def run():
        with plates.open(pattern) as plate:
            writers.open(str(tmp_path / "plate" / "shot.%04d.exr"), like=plate)
    return run, "shot.1001.exr", OutputError


def unwritable_output_dir(tmp_path):
    blocker = tmp_path / "not_a_folder"
    blocker.write_text("a file where a folder should be")
    return (lambda: writers.open(str(blocker / "matte" / "a.####.exr"), display_window=(0, 0, 4, 4))), \
        "not_a_folder", OutputError


def nonexistent_file(tmp_path):
    return (lambda: plates.open(str(tmp_path / "nowhere.1001.exr"))), "nowhere.1001.exr", PlateError


def nonexistent_folder(tmp_path):
    return (lambda: plates.open(str(tmp_path / "nofolder" / "x.####.exr"))), "nofolder", PlateError


def no_frames_match(tmp_path):
    _seq(tmp_path)
    return (lambda: plates.open(str(tmp_path / "plate" / "shot.#####.exr"))), "shot.#####.exr", PlateError


def movie_without_video(tmp_path):
    p = tmp_path / "sound.mov"
    media.make_audio_only_movie(p)
    return (lambda: plates.open(str(p))), "sound.mov", PlateError


def garbage_movie(tmp_path):
    p = tmp_path / "garbage.mov"
    p.write_bytes(np.random.default_rng(1).bytes(4096))
    return (lambda: plates.open(str(p))), "garbage.mov", PlateError


def zero_byte_movie(tmp_path):
    p = tmp_path / "empty.mov"
    p.write_bytes(b"")
    return (lambda: plates.open(str(p))), "empty.mov", PlateError


def frame_outside_plate(tmp_path):
    pattern = _seq(tmp_path)

    def run():
        with plates.open(pattern) as plate:
            plate.read(999)
    return run, "frame 999", PlateError


def unknown_display(tmp_path):
    return (lambda: color.to_network_input(np.zeros((2, 2, 3), np.float32), "ACEScg", display="Cinema")), \
        "'Cinema'", ColorError


def bad_output_dtype(tmp_path):
    return (lambda: writers.open(str(tmp_path / "a.####.exr"), display_window=(0, 0, 4, 4), dtype="int8")), \
        "dtype 'int8'", OutputError


def reversed_range(tmp_path):
    pattern = _seq(tmp_path)
    return (lambda: plates.open(pattern, frame_range=(1003, 1001))), "1003-1001", PlateError


def range_past_the_end(tmp_path):
    pattern = _seq(tmp_path)
    return (lambda: plates.open(pattern, frame_range=(1001, 1005))), "1004-1005", PlateError


CASES = [reversed_range, range_past_the_end, truncated_exr, truncated_header, zero_byte_first_frame, zero_byte_mid_frame, wrong_extension,
         text_file_named_exr, missing_frame, single_channel_plate, mismatched_resolution, unknown_colourspace,
         bad_ocio_path, broken_ocio_file, output_over_source, unwritable_output_dir, nonexistent_file,
         nonexistent_folder, no_frames_match, movie_without_video, garbage_movie, zero_byte_movie,
         frame_outside_plate, unknown_display, bad_output_dtype]


@pytest.mark.parametrize("case", CASES, ids=[c.__name__ for c in CASES])
def test_bad_input_gives_one_line(tmp_path, monkeypatch, case):
    monkeypatch.setenv("OCIO", "")          # let a case set it; restored afterwards
    monkeypatch.delenv("OCIO")
    run, names, kind = case(tmp_path)
    plate_dir = tmp_path / "plate"
    before = media.files_under(plate_dir) if plate_dir.is_dir() else {}
    with pytest.raises(UserError) as err:
        run()
    assert isinstance(err.value, kind)
    msg = str(err.value)
    assert "\n" not in msg and len(msg) < 400, msg
    assert names in msg, msg
    assert ";" in msg, f"no advice after the problem: {msg}"
    assert "Traceback" not in msg
    if before:
        assert media.files_under(plate_dir) == before      # nothing written into the plate's folder
    assert not [p for p in tmp_path.rglob("*") if writers.is_temp_name(p.name)]


def _info(*args, env=None):
    full_env = dict(os.environ)
    full_env.update(env or {})
    return subprocess.run([sys.executable, "-m", "plugin", "info", *args], cwd=REPO, capture_output=True,
                          text=True, timeout=120, env=full_env)


@pytest.mark.parametrize("case", [zero_byte_first_frame, missing_frame, movie_without_video,
                                  single_channel_plate, nonexistent_file],
                         ids=lambda c: c.__name__)
def test_cli_info_on_bad_plate_exits_1_with_one_line(tmp_path, case):
    case(tmp_path)
    target = {
        "zero_byte_first_frame": tmp_path / "plate" / "shot.####.exr",
        "missing_frame": tmp_path / "plate" / "shot.####.exr",
        "movie_without_video": tmp_path / "sound.mov",
        "single_channel_plate": tmp_path / "y.####.exr",
        "nonexistent_file": tmp_path / "nowhere.1001.exr",
    }[case.__name__]
    out = _info(str(target), "--check")
    assert out.returncode == 1, out
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), out.stderr
    assert "Traceback" not in out.stderr + out.stdout


def test_cli_info_with_bad_ocio_env(tmp_path):
    pattern = _seq(tmp_path)
    out = _info(pattern, env={"OCIO": str(tmp_path / "missing.ocio")})
    assert out.returncode == 1
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and "missing.ocio" in lines[0] and "$OCIO" in lines[0], out.stderr


def test_cli_info_good_plate_and_install(tmp_path):
    pattern = _seq(tmp_path)
    out = _info(pattern)
    assert out.returncode == 0, out.stderr
    assert "1001-1003 (3 frames)" in out.stdout and "24x16" in out.stdout and "ACEScg" in out.stdout
    out = _info()
    assert out.returncode == 0, out.stderr
    for label in ("image sequences", "movies", "OCIO config", "weights cache", "device"):
        assert label in out.stdout


def test_info_without_torch_and_io_modules_without_torch(tmp_path):
    pattern = _seq(tmp_path)
    code = ("import sys; sys.modules['torch'] = None\n"
            "import plugin.plates, plugin.color, plugin.writers, plugin.sample\n"
            "from plugin.cli import main\n"
            f"assert main(['info', {pattern!r}]) == 0\n"
            "sys.exit(main(['info']))\n")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "no torch installed" in out.stdout and "1001-1003" in out.stdout
