"""Bounds on every numeric setting, frames given twice and names that collide on
case-insensitive disks (issue 21: defects 10 and 11)."""
import copy
import json

import pytest

from plugin import cli
from plugin.errors import ShotFileError
from plugin.shot import LIMITS, MAX_FRAMES, Shot, parse_frame_range
from tests.plugin.pipeline_media import make_shot
from tests.plugin.test_pipeline_bad_inputs import run_and_expect
from tests.plugin.test_shot import shot_dict

# setting -> where it sits in the shot file
WHERE = {"dilate": ("mask_cleanup", "dilate"), "erode": ("mask_cleanup", "erode"),
         "warmup": ("engine", "warmup"), "mem_every": ("engine", "mem_every"),
         "max_mem_frames": ("engine", "max_mem_frames"), "top_k": ("engine", "top_k"),
         "max_internal_size": ("engine", "max_internal_size"), "frame_offset": ("plate", "frame_offset")}


def _with(name, value):
    data = shot_dict()
    section, key = WHERE[name]
    data[section] = dict(data[section], **{key: value})
    return data


@pytest.mark.parametrize("name", sorted(WHERE))
def test_each_numeric_setting_is_bounded_with_one_line_naming_it(tmp_path, name):
    lim = LIMITS[name]
    for ok in (lim.low, lim.high):
        Shot.from_dict(_with(name, ok), base_dir=tmp_path)
    for bad in (lim.high + 1, lim.low - 1, 10 ** 12):
        with pytest.raises(ShotFileError) as err:
            Shot.from_dict(_with(name, bad), base_dir=tmp_path)
        msg = str(err.value)
        section, key = WHERE[name]
        assert f"{section}.{key} is {bad}; use {lim.low} to {lim.high}" in msg and "\n" not in msg


def test_every_limit_is_tested_or_covered_below():
    assert set(LIMITS) == set(WHERE) | {"id", "frame"}


def test_object_ids_and_frames_are_bounded(tmp_path):
    data = shot_dict()
    data["objects"][0]["id"] = 10 ** 9
    with pytest.raises(ShotFileError, match=r"objects\[0\]\.id is 1000000000; use 1 to 65535"):
        Shot.from_dict(data, base_dir=tmp_path)
    data = shot_dict()
    data["plate"]["last"] = 10 ** 15
    with pytest.raises(ShotFileError, match=r"plate\.last is 1000000000000000; use -9999999 to 99999999"):
        Shot.from_dict(data, base_dir=tmp_path)
    data = shot_dict()
    data["plate"]["first"], data["plate"]["last"] = 0, MAX_FRAMES + 5
    with pytest.raises(ShotFileError, match="a shot holds at most 1000000"):
        Shot.from_dict(data, base_dir=tmp_path)
    with pytest.raises(ShotFileError, match="frame range '1-999999999999'"):
        parse_frame_range("1-999999999999")
    with pytest.raises(ShotFileError, match="write it as FIRST-LAST"):
        parse_frame_range("1-" + "9" * 5000)          # past Python's int-parsing limit: still one line


@pytest.mark.parametrize("flag, value, words", [
    ("--dilate", 1000000000, ["--dilate is 1000000000; use 0 to 256"]),
    ("--erode", 257, ["--erode is 257; use 0 to 256"]),
    ("--warmup", 1000000000000, ["--warmup is 1000000000000; use 0 to 1000"]),
    ("--warmup", -1, ["--warmup is -1; use 0 to 1000"]),
    ("--max-internal-size", 8, ["--max-internal-size is 8; use 16 to 16384"]),
])
def test_command_line_values_are_bounded(tmp_path, capsys, flag, value, words):
    shot = make_shot(tmp_path, n=2)
    run_and_expect(capsys, tmp_path, [shot, flag, value], *words)


def test_dilate_is_bounded_by_the_plate(tmp_path, capsys):
    shot = make_shot(tmp_path, n=2)               # a 64x48 plate: at most 10 (the default)
    run_and_expect(capsys, tmp_path, [shot, "--dilate", 40], "mask_cleanup.dilate 40 is too large for a 64x48 "
                                                           "plate; use 0 to 10")


# --------------------------------------------------------------------------- defect 11

def test_a_frame_given_twice_in_one_object_is_an_error(tmp_path):
    data = shot_dict()
    data["plate"]["first"] = 1
    data["objects"][0]["keyframes"] = {"1": "masks/a.png", "0001": "masks/b.png"}
    with pytest.raises(ShotFileError, match=r"objects\[0\]\.keyframes gives frame 1 twice \('1' and '0001'\)"):
        Shot.from_dict(data, base_dir=tmp_path)


def test_the_command_line_refuses_a_frame_given_twice(tmp_path, capsys):
    shot = Shot.load(make_shot(tmp_path, n=2))
    mask = shot.objects[0].keyframes[1001]
    run_and_expect(capsys, tmp_path, ["--plate", shot.plate.path, "--mask", f"1001={mask}",
                                      "--mask", f"01001={mask}", "--out", tmp_path / "out" / "m.####.exr"],
                   "object 'matte' has a mask for frame 1001 already")


@pytest.mark.parametrize("names", [("hero", "Hero"), ("hair", "HAIR"), ("hero", "hero")])
def test_names_that_collide_on_a_case_insensitive_disk_are_refused(tmp_path, names):
    data = shot_dict()
    second = copy.deepcopy(data["objects"][0])
    second.update(id=2, name=names[1])
    data["objects"][0]["name"] = names[0]
    data["objects"].append(second)
    with pytest.raises(ShotFileError, match=r"objects\[1\]\.name") as err:
        Shot.from_dict(data, base_dir=tmp_path)
    assert ("differ only in case" in str(err.value)) == (names[0] != names[1])


def test_shot_file_with_a_duplicate_frame_fails_through_the_cli(tmp_path, capsys):
    path = make_shot(tmp_path, n=2)
    data = json.loads(path.read_text())
    (mask,) = data["objects"][0]["keyframes"].values()
    data["objects"][0]["keyframes"] = {"1001": mask, " 1001": mask}
    path.write_text(json.dumps(data))
    run_and_expect(capsys, tmp_path, [path], "gives frame 1001 twice")
    assert cli.EXIT_USER == 1


def test_readme_lists_every_limit_as_the_table_has_it():
    import os
    readme = os.path.join(os.path.dirname(__file__), "..", "..", "README.md")
    text = open(readme, encoding="utf-8").read()
    table = text[text.index("#### Limits of the numeric settings"):][:3000]
    keys = {"dilate": "mask_cleanup.dilate", "erode": "mask_cleanup.erode", "warmup": "engine.warmup",
            "mem_every": "engine.mem_every", "max_mem_frames": "engine.max_mem_frames", "top_k": "engine.top_k",
            "max_internal_size": "engine.max_internal_size", "id": "objects[].id", "frame": "plate.first",
            "frame_offset": "plate.frame_offset"}
    assert set(keys) == set(LIMITS)
    for name, key in keys.items():
        row = next(line for line in table.splitlines() if line.startswith(f"| `{key}`"))
        assert f"{LIMITS[name].low} to {LIMITS[name].high}" in row, (name, row)
    assert f"at most {MAX_FRAMES} frames" in table
