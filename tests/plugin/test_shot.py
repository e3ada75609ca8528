"""The shot file, version 1: load/save round trips, relative paths, one-line validation errors."""
import json
import os

import pytest

from plugin.errors import ShotFileError
from plugin.shot import Shot, parse_frame_range


def shot_dict(**over):
    d = {
        "version": 1,
        "plate": {"path": "plates/sh010.####.exr", "first": 1001, "last": 1100, "colourspace": "ACEScg",
                  "ocio_config": None, "frame_offset": 0},
        "network_input": {"display": None, "view": None},
        "objects": [{"id": 1, "name": "hero", "keyframes": {"1001": "masks/hero.1001.png",
                                                              "1050": "masks/hero.1050.png"}}],
        "mask_cleanup": {"dilate": 10, "erode": 10},
        "engine": {"weights": "auto", "warmup": 10, "mem_every": 5, "max_mem_frames": 5, "top_k": 30,
                   "precision": "fp32", "device": "auto", "max_internal_size": None},
        "output": {"path": "matte/sh010_{object}.####.exr", "dtype": "half", "channels": "A"},
    }
    d.update(over)
    return d


def write(tmp_path, data, name="sh010.shot.json"):
    p = tmp_path / name
    p.write_text(json.dumps(data) if not isinstance(data, str) else data)
    return p


def test_design_example_loads_with_paths_relative_to_the_file(tmp_path):
    p = write(tmp_path, shot_dict())
    shot = Shot.load(p)
    assert shot.plate.path == str(tmp_path / "plates" / "sh010.####.exr")
    assert shot.plate.first == 1001 and shot.plate.last == 1100
    assert shot.plate.colourspace == "ACEScg"
    (hero,) = shot.objects
    assert hero.keyframes == {1001: str(tmp_path / "masks/hero.1001.png"),
                              1050: str(tmp_path / "masks/hero.1050.png")}
    assert shot.output.pattern_for(hero) == str(tmp_path / "matte" / "sh010_hero.####.exr")
    assert shot.engine.warmup == 10 and shot.engine.max_internal_size is None
    assert (shot.dilate, shot.erode, shot.direction) == (10, 10, "forward")


def test_save_elsewhere_keeps_the_same_files_and_round_trips(tmp_path):
    shot = Shot.load(write(tmp_path, shot_dict()))
    dest = tmp_path / "out" / "deep" / "copy.shot.json"
    shot.save(dest)
    data = json.loads(dest.read_text())
    assert data["version"] == 1
    assert data["plate"]["path"] == "../../plates/sh010.####.exr"
    assert data["objects"][0]["keyframes"]["1050"] == "../../masks/hero.1050.png"
    again = Shot.load(dest)
    assert again.plate.path == shot.plate.path
    assert again.objects[0].keyframes == shot.objects[0].keyframes
    assert again.output.path == shot.output.path
    assert again.to_dict() == shot.to_dict()
    # Atomic: no temporary file left behind.
    assert sorted(os.listdir(dest.parent)) == ["copy.shot.json"]


@pytest.mark.parametrize("channels", ["A", "RGBA", "matte"])
def test_every_output_channels_choice_round_trips(tmp_path, channels):
    shot = Shot.load(write(tmp_path, shot_dict(output={"path": "m/{object}.####.exr", "channels": channels})))
    assert shot.output.channels == channels
    shot.save(tmp_path / "again.shot.json")
    assert Shot.load(tmp_path / "again.shot.json").output.channels == channels


def test_save_failure_is_one_line(tmp_path):
    shot = Shot.load(write(tmp_path, shot_dict()))
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(ShotFileError) as e:
        shot.save(blocker / "sub" / "x.json")
    assert "\n" not in str(e.value) and "cannot write" in str(e.value)


@pytest.mark.parametrize("mutate, key", [
    (lambda d: d.update(version=2), "version"),
    (lambda d: d.pop("plate"), "plate"),
    (lambda d: d["plate"].update(first="a"), "plate.first"),
    (lambda d: d["plate"].update(last=900), "plate.last"),
    (lambda d: d["objects"][0]["keyframes"].update({"2000": "m.png"}), "objects[0].keyframes[2000]"),
    (lambda d: d["objects"][0]["keyframes"].update({"abc": "m.png"}), "objects[0].keyframes"),
    (lambda d: d["objects"][0].update(keyframes={}), "objects[0].keyframes"),
    (lambda d: d.update(objects=[]), "objects"),
    (lambda d: d["objects"].append({"id": 1, "name": "other", "keyframes": {"1001": "a.png"}}), "objects[2].id"),
    (lambda d: d["objects"][0].update(name="hero/../x"), "objects[0].name"),
    (lambda d: d["engine"].update(warmpu=3), "engine.warmpu"),
    (lambda d: d["engine"].update(precision="fp8"), "engine.precision"),
    (lambda d: d["engine"].update(warmup=-1), "engine.warmup"),
    (lambda d: d["mask_cleanup"].update(dilate=True), "mask_cleanup.dilate"),
    (lambda d: d["output"].update(dtype="uint8"), "output.dtype"),
    (lambda d: d.update(direction="sideways"), "direction"),
    (lambda d: d["output"].update(path="matte/sh010.####.exr"), "output.path"),  # 2 objects need {object}
    (lambda d: d["output"].update(path="matte/{object}.exr"), "output.path"),
    (lambda d: d["output"].update(path="matte/{object}.####.png"), "output.path"),
])
def test_validation_names_the_key_in_one_line(tmp_path, mutate, key):
    d = shot_dict()
    d["objects"].append({"id": 2, "name": "prop", "keyframes": {"1001": "masks/prop.png"}})
    mutate(d)
    p = write(tmp_path, d)
    with pytest.raises(ShotFileError) as e:
        Shot.load(p)
    msg = str(e.value)
    assert "\n" not in msg
    assert key in msg, msg
    assert str(p.resolve()) in msg


def test_broken_json_and_missing_file(tmp_path):
    with pytest.raises(ShotFileError, match="not valid JSON"):
        Shot.load(write(tmp_path, '{"version": 1, "plate": '))
    with pytest.raises(ShotFileError, match="not found"):
        Shot.load(tmp_path / "nope.json")


def test_optional_keys_default_and_colour_round_trips(tmp_path):
    d = shot_dict(direction="both")
    del d["network_input"], d["mask_cleanup"], d["engine"]
    d["objects"][0]["colour"] = [1, 0.5, 0]
    shot = Shot.load(write(tmp_path, d))
    assert shot.engine.weights == "auto" and shot.engine.top_k == 30
    assert shot.direction == "both" and shot.objects[0].colour == (1.0, 0.5, 0.0)
    assert shot.to_dict()["objects"][0]["colour"] == [1.0, 0.5, 0.0]


def test_frame_and_object_restriction(tmp_path):
    d = shot_dict()
    d["objects"].append({"id": 2, "name": "prop", "keyframes": {"1060": "masks/prop.png"}})
    shot = Shot.load(write(tmp_path, d))
    sub = shot.with_frames(1040, 1080)
    assert (sub.plate.first, sub.plate.last) == (1040, 1080)
    assert list(sub.objects[0].keyframes) == [1050]
    with pytest.raises(ShotFileError, match="no keyframe inside"):
        shot.with_frames(1001, 1040)  # prop has none there
    with pytest.raises(ShotFileError, match="outside"):
        shot.with_frames(990, 1010)
    assert [o.name for o in shot.with_objects(["prop"]).objects] == ["prop"]
    assert [o.name for o in shot.with_objects(["2"]).objects] == ["prop"]
    with pytest.raises(ShotFileError, match="'ghost' is not in the shot"):
        shot.with_objects(["ghost"])


def test_parse_frame_range():
    assert parse_frame_range("1001-1100") == (1001, 1100)
    assert parse_frame_range("7") == (7, 7)
    assert parse_frame_range("-5--1") == (-5, -1)
    for bad in ("a-b", "10-5", ""):
        with pytest.raises(ShotFileError):
            parse_frame_range(bad)
