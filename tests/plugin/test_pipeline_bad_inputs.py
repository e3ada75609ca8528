"""Bad inputs to `matanyone-plugin run`: each is one line on stderr, exit code 1, and nothing
is written (no output folder, no shot copy, no log, no record; sources untouched)."""
import json
import os

import numpy as np
import pytest

from plugin import cli
from tests.plugin.media import files_under
from tests.plugin.pipeline_media import FIRST, make_shot, write_mask


@pytest.fixture
def shot(tmp_path):
    """A valid 3-frame shot with two objects; tests break one thing each."""
    return make_shot(tmp_path, n=3, objects=("hero", "prop"))


def edit(path, fn):
    data = json.loads(path.read_text())
    fn(data)
    path.write_text(json.dumps(data))
    return path


def run_and_expect(capsys, tmp_path, argv, *words):
    before = files_under(tmp_path)
    code = cli.main(["run", "--quiet", *map(str, argv)])
    err = capsys.readouterr().err.strip()
    assert code == 1, err
    lines = [l for l in err.splitlines() if l.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("error: ") and "Traceback" not in err
    for w in words:
        assert w in lines[0], lines[0]
    after = files_under(tmp_path)
    assert after == before, f"files changed: {set(after) ^ set(before)}"
    assert not (tmp_path / "out").exists()
    return lines[0]


def test_broken_json(capsys, tmp_path, shot):
    shot.write_text(shot.read_text()[:-20])
    run_and_expect(capsys, tmp_path, [shot], "not valid JSON", str(shot))


def test_unknown_key(capsys, tmp_path, shot):
    edit(shot, lambda d: d["engine"].update(warmpu=3))
    run_and_expect(capsys, tmp_path, [shot], "engine.warmpu")


def test_mask_of_wrong_size(capsys, tmp_path, shot):
    write_mask(tmp_path / "masks" / f"prop.{FIRST}.png", np.ones((20, 30), np.float32))
    run_and_expect(capsys, tmp_path, [shot], "prop", "30x20", "64x48")


def test_keyframe_outside_range(capsys, tmp_path, shot):
    edit(shot, lambda d: d["objects"][0]["keyframes"].update({"1100": "masks/hero.1001.png"}))
    run_and_expect(capsys, tmp_path, [shot], "1100", "outside the plate range")


def test_missing_weights_with_auto(capsys, tmp_path, shot):
    edit(shot, lambda d: d["engine"].update(weights="auto"))
    run_and_expect(capsys, tmp_path, [shot], "matanyone")


def test_weights_file_that_does_not_exist(capsys, tmp_path, shot):
    edit(shot, lambda d: d["engine"].update(weights="nowhere/matanyone.pth"))
    run_and_expect(capsys, tmp_path, [shot], "matanyone.pth")


def test_unwritable_output(capsys, tmp_path, shot):
    (tmp_path / "blocker").write_text("a file where a folder should be")
    edit(shot, lambda d: d["output"].update(path="blocker/sub/{object}.####.exr"))
    run_and_expect(capsys, tmp_path, [shot], "blocker")


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root can write anywhere")
def test_read_only_output_folder(capsys, tmp_path, shot):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        edit(shot, lambda d: d["output"].update(path="ro/{object}.####.exr"))
        run_and_expect(capsys, tmp_path, [shot], "not writable")
    finally:
        ro.chmod(0o700)


def test_empty_first_frame_mask(capsys, tmp_path, shot):
    write_mask(tmp_path / "masks" / f"prop.{FIRST}.png", np.zeros((48, 64), np.float32))
    run_and_expect(capsys, tmp_path, [shot], "empty", "prop", str(FIRST))


def test_unknown_object(capsys, tmp_path, shot):
    run_and_expect(capsys, tmp_path, [shot, "--object", "ghost"], "ghost", "hero")


def test_frames_outside_the_shot(capsys, tmp_path, shot):
    run_and_expect(capsys, tmp_path, [shot, "--frames", "990-1002"], "990-1002", "outside")


def test_frames_without_a_keyframe(capsys, tmp_path, shot):
    run_and_expect(capsys, tmp_path, [shot, "--frames", "1002-1003"], "no keyframe")


def test_missing_plate_frame(capsys, tmp_path, shot):
    os.remove(tmp_path / "plates" / f"plate.{FIRST + 1}.exr")
    run_and_expect(capsys, tmp_path, [shot], str(FIRST + 1))


def test_missing_mask_file(capsys, tmp_path, shot):
    os.remove(tmp_path / "masks" / f"hero.{FIRST}.png")
    run_and_expect(capsys, tmp_path, [shot], "hero.1001.png", "not found")


def test_unknown_colourspace(capsys, tmp_path, shot):
    edit(shot, lambda d: d["plate"].update(colourspace="ACESgc"))
    run_and_expect(capsys, tmp_path, [shot], "ACESgc")


def test_output_over_the_plate(capsys, tmp_path, shot):
    edit(shot, lambda d: d.update(objects=d["objects"][:1]) or d["output"].update(path="plates/plate.####.exr"))
    run_and_expect(capsys, tmp_path, [shot], "overwrite")  # and every file is byte-identical


def test_output_without_object_token_for_two_objects(capsys, tmp_path, shot):
    edit(shot, lambda d: d["output"].update(path="out/sh010.####.exr"))
    run_and_expect(capsys, tmp_path, [shot], "{object}")


def test_mask_option_without_frame(capsys, tmp_path, shot):
    run_and_expect(capsys, tmp_path, ["--plate", tmp_path / "plates" / "plate.####.exr",
                                      "--mask", tmp_path / "masks" / f"hero.{FIRST}.png",
                                      "--out", tmp_path / "out" / "x.####.exr"], "FRAME=MASK")


def test_shot_file_and_plate_together(capsys, tmp_path, shot):
    run_and_expect(capsys, tmp_path, [shot, "--plate", "x.####.exr"], "--plate")


def test_shot_of_another_version(capsys, tmp_path, shot):
    edit(shot, lambda d: d.update(version=2))
    run_and_expect(capsys, tmp_path, [shot], "version")


def test_bad_display(capsys, tmp_path, shot):
    edit(shot, lambda d: d.update(network_input={"display": "Nope Display", "view": None}))
    run_and_expect(capsys, tmp_path, [shot], "Nope Display")
