"""MatAnyone2 beside MatAnyone: its registry entry, `auto` per model, and the download, licence,
offline and layout paths of `weights get/list/verify/path matanyone2` against a local HTTP server.

The stand-in checkpoint is a real MatAnyone state dict (562 keys) saved as `matanyone2.pth`:
MatAnyone2 has the same network, so the strict layout check accepts it.
"""
from __future__ import annotations

import io
import json

import pytest

from matanyone_engine import weights
from matanyone_engine.errors import WeightsError
from tests.engine.httpserver import StandInServer


@pytest.fixture(scope="module")
def state_dict():
    from matanyone_engine import load_network

    return load_network("stand-in:m2", device="cpu", cpu_layout=False).state_dict()


def _saved(sd) -> bytes:
    import torch

    buf = io.BytesIO()
    torch.save(sd, buf)
    return buf.getvalue()


@pytest.fixture(scope="module")
def checkpoint(state_dict) -> bytes:
    return _saved(state_dict)


@pytest.fixture
def server(checkpoint):
    with StandInServer({"/matanyone2.pth": checkpoint}) as srv:
        yield srv


@pytest.fixture
def local_registry(server, tmp_path, monkeypatch):
    """The product's registry with only matanyone2's URL pointing at the local server."""
    data = json.loads(weights.REGISTRY_PATH.read_text(encoding="utf-8"))
    data["checkpoints"]["matanyone2"]["url"] = server.url("/matanyone2.pth")
    path = tmp_path / "registry.json"
    path.write_text(json.dumps(data))
    monkeypatch.setattr(weights, "REGISTRY_PATH", path)
    return path


def test_registry_entry_as_published():
    reg = weights.registry()
    e = reg["matanyone2"]
    assert e.url == "https://github.com/pq-yang/MatAnyone2/releases/download/v1.0.0/matanyone2.pth"
    assert e.file == "matanyone2.pth" and e.kind == "matanyone"
    assert e.md5 == "b1d3cfbb7596ecf3b88391198427ca95" and "third party" in e.md5_note and "unverified" in e.md5_note
    assert e.sha256 is None and e.size is None
    mine = reg["matanyone"]
    assert (e.licence, e.licence_summary, e.needs_acceptance) == (mine.licence, mine.licence_summary, True)
    assert e.licence_url == "https://github.com/pq-yang/MatAnyone2/blob/main/LICENSE"
    assert weights.models() == ("matanyone", "matanyone2")


def test_auto_resolves_the_chosen_models_checkpoint(tmp_path, monkeypatch):
    studio = tmp_path / "studio"
    studio.mkdir()
    (studio / "matanyone.pth").write_bytes(b"1")
    (studio / "matanyone2.pth").write_bytes(b"2")  # a studio folder may hold both
    assert weights.resolve("auto", weights_dir=studio) == str(studio / "matanyone.pth")
    assert weights.resolve("auto", weights_dir=studio, model="matanyone") == str(studio / "matanyone.pth")
    assert weights.resolve("auto", weights_dir=studio, model="matanyone2") == str(studio / "matanyone2.pth")
    assert weights.resolve("matanyone2", weights_dir=studio) == str(studio / "matanyone2.pth")
    with pytest.raises(WeightsError, match="unknown model 'matanyone3'; choose one of matanyone, matanyone2"):
        weights.resolve("auto", weights_dir=studio, model="matanyone3")
    # the model picks the file; an explicit path or stand-in ignores it
    assert weights.resolve("stand-in:x", model="matanyone2") == "stand-in:x"
    assert weights.resolve(str(studio / "matanyone.pth"), model="matanyone2") == str(studio / "matanyone.pth")
    # only MatAnyone present: choosing MatAnyone2 says which file and the command
    (studio / "matanyone2.pth").unlink()
    with pytest.raises(WeightsError) as info:
        weights.resolve("auto", weights_dir=studio, model="matanyone2")
    msg = str(info.value)
    assert "matanyone2.pth not found" in msg and "weights get matanyone2" in msg and str(studio) in msg
    assert "\n" not in msg
    # the cache also holds it
    weights.cache_dir().mkdir(parents=True)
    (weights.cache_dir() / "matanyone2.pth").write_bytes(b"c")
    cached = weights.cache_dir() / "matanyone2.pth"
    assert weights.resolve("auto", weights_dir=studio, model="matanyone2") == str(cached)


def test_a_direct_studio_file_stands_for_the_model_its_name_says(tmp_path):
    renamed = tmp_path / "studio_matanyone_v1.pth"
    renamed.write_bytes(b"1")
    assert weights.resolve("auto", weights_dir=renamed) == str(renamed)
    with pytest.raises(WeightsError, match="matanyone2.pth not found"):
        weights.resolve("auto", weights_dir=renamed, model="matanyone2")  # not silently MatAnyone
    second = tmp_path / "matanyone2.pth"
    second.write_bytes(b"2")
    assert weights.resolve("auto", weights_dir=second, model="matanyone2") == str(second)
    with pytest.raises(WeightsError, match="matanyone.pth not found"):
        weights.resolve("auto", weights_dir=second)  # nor MatAnyone2 standing in for MatAnyone


def test_cli_get_asks_for_the_licence_then_downloads_verifies_and_lists(server, local_registry, monkeypatch, capsys):
    from plugin.cli import main

    monkeypatch.delenv("MATANYONE_PLUGIN_OFFLINE")
    assert main(["weights", "get", "matanyone2"]) == 1          # stdin is not a terminal: no prompt
    err = capsys.readouterr().err
    assert "matanyone2.pth: NTU S-Lab License 1.0" in err and "non-commercial" in err
    assert "weights get matanyone2 --accept-licence" in err.splitlines()[-1]
    assert server.log == []
    assert not weights.licence_accepted("matanyone2")

    assert main(["weights", "get", "matanyone2", "--accept-licence"]) == 0
    captured = capsys.readouterr()
    path = weights.cache_dir() / "matanyone2.pth"
    assert captured.out.strip() == str(path) and "matanyone2.pth: ready" in captured.err
    record = weights.read_record(weights.registry()["matanyone2"])
    assert record["layout"] == "ok" and record["licence_accepted"]["licence"] == "NTU S-Lab License 1.0"
    assert record["md5_matches_registry"] is False  # the stand-in is not the published file
    assert not weights.licence_accepted("matanyone")  # accepted per checkpoint, as for MatAnyone

    assert main(["weights", "list"]) == 0
    line = next(x for x in capsys.readouterr().out.splitlines() if x.startswith("matanyone2 "))
    assert "cached, verified" in line and "NTU S-Lab License 1.0" in line and "accept once" not in line
    assert main(["weights", "verify", "matanyone2"]) == 0
    out = capsys.readouterr().out
    assert f"ok     matanyone2: {path}" in out and "layout ok" in out and "MD5 differs" in out
    assert main(["weights", "path", "matanyone2"]) == 0
    assert capsys.readouterr().out.strip() == str(path)
    assert len(server.requests("/matanyone2.pth")) == 1


def test_cli_get_offline_names_the_file_and_place(server, local_registry, capsys):
    from plugin.cli import main

    assert main(["weights", "get", "matanyone2", "--accept-licence"]) == 1
    err = capsys.readouterr().err.strip()
    assert "MATANYONE_PLUGIN_OFFLINE=1" in err and "matanyone2.pth" in err
    assert server.url("/matanyone2.pth") in err and str(weights.cache_dir()) in err
    assert server.log == []


def _differing(state_dict):
    """Two wrong files: one key renamed (and one extra), one tensor of another shape."""
    import torch

    renamed = dict(state_dict)
    first = next(iter(renamed))
    renamed["quality_head.weight"] = renamed.pop(first)
    reshaped = dict(state_dict)
    key = list(reshaped)[7]
    reshaped[key] = torch.zeros(tuple(reshaped[key].shape) + (2,))
    return first, renamed, key, reshaped


def test_a_file_with_another_layout_is_refused_naming_the_first_differing_keys(
        server, local_registry, monkeypatch, state_dict, tmp_path, capsys):
    from plugin.cli import main

    monkeypatch.delenv("MATANYONE_PLUGIN_OFFLINE")
    first, renamed, key, reshaped = _differing(state_dict)
    server.files["/matanyone2.pth"] = _saved(renamed)
    assert main(["weights", "get", "matanyone2", "--accept-licence"]) == 1
    err = capsys.readouterr().err.strip().splitlines()[-1]  # after the progress bar
    assert err.startswith("error: the downloaded weights file") and "matanyone2.pth" in err
    assert f"1 missing key(s), first: {first}" in err and "1 unexpected key(s), first: quality_head.weight" in err
    assert "deleted" in err
    cache = weights.cache_dir()
    assert not (cache / "matanyone2.pth").exists() and not (cache / "matanyone2.pth.part").exists()
    # a studio file of the wrong shape is refused by `weights verify` and never pinned
    studio = tmp_path / "studio"
    studio.mkdir()
    (studio / "matanyone2.pth").write_bytes(_saved(reshaped))
    monkeypatch.setenv("MATANYONE_PLUGIN_WEIGHTS", str(studio))
    assert main(["weights", "verify", "matanyone2"]) == 1
    out = capsys.readouterr().out
    assert out.startswith("FAILED matanyone2:") and f"key {key} has shape" in out

