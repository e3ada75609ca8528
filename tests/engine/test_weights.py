"""Weights: registry, resolve, and downloads against a local HTTP server with injected faults."""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from matanyone_engine import weights
from matanyone_engine.download import DownloadProgress
from matanyone_engine.errors import UnsafeCheckpointError, WeightsError, WeightsLayoutError
from tests.engine.httpserver import Fault, StandInServer

REPO = Path(__file__).resolve().parents[2]
DATA = bytes((i * 7919 + (i >> 8) * 31) % 251 for i in range(300_000))
SHA = hashlib.sha256(DATA).hexdigest()


@pytest.fixture
def server():
    with StandInServer({"/standin.bin": DATA, "/licensed.bin": DATA}) as srv:
        yield srv


@pytest.fixture
def online(monkeypatch):
    monkeypatch.delenv("MATANYONE_PLUGIN_OFFLINE", raising=False)


@pytest.fixture
def entries(server):
    return {
        "standin": weights.Checkpoint(name="standin", url=server.url("/standin.bin"), file="standin.bin",
                                      size=len(DATA), sha256=SHA, licence="Apache-2.0"),
        "licensed": weights.Checkpoint(name="licensed", url=server.url("/licensed.bin"), file="licensed.bin",
                                       size=len(DATA), sha256=SHA, licence="Test Licence 1.0",
                                       licence_summary="Non-commercial use only.",
                                       licence_url="https://example.invalid/LICENSE", needs_acceptance=True),
    }


def _cache() -> Path:
    return weights.cache_dir()


def _states(events):
    return [e.state for e in events]


def test_cache_dir_follows_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("MATANYONE_PLUGIN_CACHE_DIR", str(tmp_path / "c"))
    assert weights.cache_dir() == tmp_path / "c" / "weights"
    monkeypatch.delenv("MATANYONE_PLUGIN_CACHE_DIR")
    import platformdirs
    assert weights.cache_dir() == Path(platformdirs.user_cache_dir("matanyone-plugin", appauthor=False)) / "weights"


def test_registry_lists_every_checkpoint_with_licence():
    reg = weights.registry()
    assert set(reg) == {"matanyone", "matanyone2", "sam2.1-tiny", "sam2.1-small", "sam2.1-base_plus", "sam2.1-large"}
    net = reg["matanyone"]
    assert net.url == "https://github.com/pq-yang/MatAnyone/releases/download/v1.0.0/matanyone.pth"
    assert net.file == "matanyone.pth" and net.kind == "matanyone"
    assert net.md5 == "a50eeaa149a37509feb45e3d6b06f41d" and "unverified" in net.md5_note
    assert net.sha256 is None and net.needs_acceptance and "S-Lab" in net.licence
    for size, cfg in (("tiny", "t"), ("small", "s"), ("base_plus", "b+"), ("large", "l")):
        e = reg[f"sam2.1-{size}"]
        assert e.url == f"https://dl.fbaipublicfiles.com/segment_anything_2/092824/sam2.1_hiera_{size}.pt"
        assert e.sam2_config == f"configs/sam2.1/sam2.1_hiera_{cfg}.yaml"
        assert e.licence == "Apache-2.0" and not e.needs_acceptance


def test_fetch_downloads_verifies_pins_and_makes_read_only(server, online, entries):
    events = []
    path = weights.fetch("standin", entries=entries, progress=events.append)
    assert path == _cache() / "standin.bin"
    assert path.read_bytes() == DATA
    assert path.stat().st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH) == 0
    assert not (_cache() / "standin.bin.part").exists()
    record = weights.read_record(entries["standin"])
    assert record["sha256"] == SHA and record["size"] == len(DATA)
    assert "downloading" in _states(events) and "verifying" in _states(events)
    assert events[-1] == DownloadProgress("standin", "standin.bin", "done", len(DATA), len(DATA))
    # Second time: no network at all, even offline.
    os.environ["MATANYONE_PLUGIN_OFFLINE"] = "1"
    try:
        assert weights.fetch("standin", entries=entries) == path
    finally:
        del os.environ["MATANYONE_PLUGIN_OFFLINE"]
    assert len(server.requests("/standin.bin")) == 1


def test_resume_after_a_cut_connection(server, online, entries):
    server.faults["/standin.bin"] = Fault(cut_after=100_000, times=1)
    path = weights.fetch("standin", entries=entries, retries=2, backoff=0.01)
    assert path.read_bytes() == DATA
    first, second = server.requests("/standin.bin")
    assert first.cut and first.sent == 100_000
    assert second.range == "bytes=100000-" and second.status == 206 and second.start == 100_000
    assert first.sent + second.sent == len(DATA)  # nothing downloaded twice


def test_resume_in_a_later_run(server, online, entries):
    server.faults["/standin.bin"] = Fault(cut_after=120_000, times=1)
    with pytest.raises(WeightsError, match="run the same command again to resume") as info:
        weights.fetch("standin", entries=entries, retries=0)
    assert "\n" not in str(info.value)
    part = _cache() / "standin.bin.part"
    assert part.stat().st_size == 120_000
    path = weights.fetch("standin", entries=entries)
    assert path.read_bytes() == DATA
    assert server.requests("/standin.bin")[-1].range == "bytes=120000-"


def test_server_ignoring_range_restarts_the_file(server, online, entries):
    (_cache()).mkdir(parents=True)
    (_cache() / "standin.bin.part").write_bytes(b"\xff" * 5000)  # junk from some earlier run
    server.faults["/standin.bin"] = Fault(ignore_range=True)
    path = weights.fetch("standin", entries=entries)
    assert path.read_bytes() == DATA
    assert server.requests("/standin.bin")[0].status == 200


def test_wrong_size_is_refused(server, online, entries):
    entries["standin"] = weights.Checkpoint(**{**entries["standin"].__dict__, "size": len(DATA) + 10})
    with pytest.raises(WeightsError, match="registry says") as info:
        weights.fetch("standin", entries=entries)
    assert "standin.bin" in str(info.value)
    assert not (_cache() / "standin.bin").exists()


def test_short_file_with_unknown_size_fails_on_hash(server, online, entries):
    entries["standin"] = weights.Checkpoint(**{**entries["standin"].__dict__, "size": None})
    server.faults["/standin.bin"] = Fault(body=DATA[:-10])
    with pytest.raises(WeightsError, match="SHA-256"):
        weights.fetch("standin", entries=entries)
    assert not (_cache() / "standin.bin").exists() and not (_cache() / "standin.bin.part").exists()


def test_wrong_hash_is_refused_and_the_download_deleted(server, online, entries):
    bad = bytearray(DATA)
    bad[1234] ^= 0xFF
    server.faults["/standin.bin"] = Fault(body=bytes(bad))
    with pytest.raises(WeightsError, match="SHA-256") as info:
        weights.fetch("standin", entries=entries)
    assert "deleted" in str(info.value) and "\n" not in str(info.value)
    assert not (_cache() / "standin.bin").exists() and not (_cache() / "standin.bin.part").exists()
    assert weights.read_record(entries["standin"]).get("sha256") is None


def test_offline_says_which_file_to_place_where(server, entries):
    assert os.environ["MATANYONE_PLUGIN_OFFLINE"] == "1"  # set for every test by conftest
    with pytest.raises(WeightsError) as info:
        weights.fetch("standin", entries=entries)
    msg = str(info.value)
    assert "MATANYONE_PLUGIN_OFFLINE=1" in msg and "standin.bin" in msg
    assert str(_cache()) in msg and entries["standin"].url in msg
    assert server.log == []


def test_offline_uses_a_file_placed_by_hand_and_pins_it(server, entries):
    _cache().mkdir(parents=True)
    (_cache() / "standin.bin").write_bytes(DATA)
    assert weights.fetch("standin", entries=entries) == _cache() / "standin.bin"
    assert weights.read_record(entries["standin"])["sha256"] == SHA
    assert server.log == []


def _make_read_only(folder: Path):
    """Read-only for real, also as root (immutable flag); returns an undo function or None."""
    folder.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0:
        folder.chmod(0o555)
        return lambda: folder.chmod(0o755)
    if shutil.which("chattr") and subprocess.run(["chattr", "+i", str(folder)], capture_output=True).returncode == 0:
        return lambda: subprocess.run(["chattr", "-i", str(folder)], check=True)
    return None


def test_read_only_cache_dir(server, online, entries):
    undo = _make_read_only(_cache())
    if undo is None:
        pytest.skip("cannot make a folder read-only here (root without chattr)")
    try:
        with pytest.raises(WeightsError, match="cannot write to the weights cache") as info:
            weights.fetch("standin", entries=entries)
        assert str(_cache()) in str(info.value) and "MATANYONE_PLUGIN_CACHE_DIR" in str(info.value)
    finally:
        undo()
    assert server.log == []


def test_concurrent_fetches_download_once(server, online, entries):
    server.faults["/standin.bin"] = Fault(delay=0.02)  # ~1.5 s, so the two overlap even on a busy machine
    results, events = {}, {0: [], 1: []}
    start = threading.Barrier(2)

    def worker(i):
        start.wait()
        results[i] = weights.fetch("standin", entries=entries, progress=events[i].append)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert results[0] == results[1] == _cache() / "standin.bin"
    assert results[0].read_bytes() == DATA
    assert len(server.requests("/standin.bin")) == 1
    waited = [i for i in (0, 1) if "waiting" in _states(events[i])]
    assert len(waited) == 1 and "downloading" not in _states(events[waited[0]])


def test_concurrent_fetch_from_another_process_waits(server, online, entries, tmp_path):
    server.faults["/standin.bin"] = Fault(delay=0.01)  # ~0.75 s
    script = tmp_path / "other.py"
    script.write_text(
        "import sys\n"
        "from matanyone_engine import weights\n"
        f"e = weights.Checkpoint(name='standin', url={entries['standin'].url!r}, file='standin.bin', size={len(DATA)}, sha256={SHA!r})\n"
        "print('started', flush=True)\n"
        "p = weights.fetch('standin', entries={'standin': e}, progress=lambda ev: print(ev.state, flush=True))\n"
        "print('path', p)\n")
    env = dict(os.environ, PYTHONPATH=str(REPO))
    proc = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True, env=env)
    assert proc.stdout.readline().strip() == "started"
    mine = weights.fetch("standin", entries=entries)
    out = proc.communicate(timeout=60)[0]
    assert proc.returncode == 0, out
    assert f"path {mine}" in out
    assert len(server.requests("/standin.bin")) == 1


def test_licence_must_be_accepted_once(server, online, entries):
    with pytest.raises(weights.LicenceNotAccepted) as info:
        weights.fetch("licensed", entries=entries)
    msg = str(info.value)
    assert "Test Licence 1.0" in msg and "--accept-licence" in msg and "Non-commercial" in msg
    assert server.log == []
    assert not weights.licence_accepted("licensed", entries=entries)
    path = weights.fetch("licensed", entries=entries, accept_licence=True)
    assert path.read_bytes() == DATA
    record = weights.read_record(entries["licensed"])
    assert record["licence_accepted"]["licence"] == "Test Licence 1.0"
    # Accepted once: a later download (file removed) needs no flag.
    path.chmod(0o644)
    path.unlink()
    weights.fetch("licensed", entries=entries)
    assert len(server.requests("/licensed.bin")) == 2


def test_verify_pins_then_detects_a_changed_file(server, online, entries):
    _cache().mkdir(parents=True)
    target = _cache() / "standin.bin"
    target.write_bytes(DATA)
    result = weights.verify("standin", entries=entries)
    assert result.sha256 == SHA and result.pinned and result.size == len(DATA)
    assert weights.read_record(entries["standin"])["sha256"] == SHA
    bad = bytearray(DATA)
    bad[10] ^= 1
    target.write_bytes(bytes(bad))
    with pytest.raises(WeightsError, match="SHA-256"):
        weights.verify("standin", entries=entries)


def test_verify_detects_change_against_pin_when_registry_has_no_hash(entries):
    entry = weights.Checkpoint(**{**entries["standin"].__dict__, "sha256": None})
    e = {"standin": entry}
    _cache().mkdir(parents=True)
    target = _cache() / "standin.bin"
    target.write_bytes(DATA)
    assert weights.verify("standin", entries=e).pinned
    target.write_bytes(DATA[::-1])
    with pytest.raises(WeightsError, match="changed since it was verified"):
        weights.verify("standin", entries=e)


def test_resolve(tmp_path, monkeypatch):
    assert weights.resolve("stand-in") == "stand-in"
    assert weights.resolve("stand-in:abc") == "stand-in:abc"
    with pytest.raises(WeightsError) as info:
        weights.resolve("auto")
    msg = str(info.value)
    assert "matanyone.pth" in msg and str(_cache()) in msg and "weights get matanyone" in msg
    assert "MATANYONE_PLUGIN_WEIGHTS" in msg
    # studio folder by argument, then by environment
    studio = tmp_path / "studio"
    studio.mkdir()
    (studio / "matanyone.pth").write_bytes(b"x")
    assert weights.resolve("auto", weights_dir=studio) == str(studio / "matanyone.pth")
    monkeypatch.setenv("MATANYONE_PLUGIN_WEIGHTS", str(studio))
    assert weights.resolve("auto") == str(studio / "matanyone.pth")
    # a direct file path as the studio setting
    other = tmp_path / "ours_v2.pth"
    other.write_bytes(b"y")
    assert weights.resolve("auto", weights_dir=other) == str(other)
    # a studio folder without the file falls back to the cache, and says both places
    monkeypatch.delenv("MATANYONE_PLUGIN_WEIGHTS")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(WeightsError, match="studio folder") as info:
        weights.resolve("auto", weights_dir=empty)
    assert str(empty) in str(info.value)
    _cache().mkdir(parents=True)
    (_cache() / "matanyone.pth").write_bytes(b"z")
    assert weights.resolve("auto", weights_dir=empty) == str(_cache() / "matanyone.pth")
    (studio / "sam2.1_hiera_tiny.pt").write_bytes(b"s")
    assert weights.resolve("sam2.1-tiny", weights_dir=studio) == str(studio / "sam2.1_hiera_tiny.pt")
    with pytest.raises(WeightsError, match="sam2.1_hiera_tiny.pt"):
        weights.resolve("sam2.1-tiny", weights_dir=other)  # a direct file stands for MatAnyone only
    with pytest.raises(WeightsError, match="does not exist"):
        weights.resolve(str(tmp_path / "nope.pth"))
    with pytest.raises(WeightsError, match="does not exist"):
        weights.resolve("auto", weights_dir=tmp_path / "no-such-studio")
    assert weights.resolve(str(other)) == str(other)


def test_status_rows(entries):
    _cache().mkdir(parents=True)
    (_cache() / "standin.bin").write_bytes(DATA)
    rows = {r["name"]: r for r in weights.status(entries=entries)}
    assert rows["standin"]["where"] == "cache" and not rows["standin"]["verified"]
    assert rows["licensed"]["path"] is None and rows["licensed"]["needs_acceptance"]
    weights.verify("standin", entries=entries)
    rows = {r["name"]: r for r in weights.status(entries=entries)}
    assert rows["standin"]["verified"] and rows["standin"]["sha256"] == SHA
    json.dumps(rows)  # the worker sends these as JSON


def test_matanyone_layout_check_refuses_wrong_keys_and_pickled_code(server, online, tmp_path):
    import torch

    wrong = tmp_path / "wrong.pth"
    torch.save({"conv.weight": torch.zeros(2, 2)}, wrong)
    evil = tmp_path / "evil.pth"
    torch.save({"x": torch.zeros(1), "hook": Fault(cut_after=1)}, evil)  # an object: pickled code
    server.files["/wrong.pth"] = wrong.read_bytes()
    server.files["/evil.pth"] = evil.read_bytes()
    e = {name: weights.Checkpoint(name=name, url=server.url(f"/{name}.pth"), file="matanyone.pth", kind="matanyone")
         for name in ("wrong", "evil")}
    with pytest.raises(WeightsLayoutError, match="missing key"):
        weights.fetch("wrong", entries=e)
    with pytest.raises(UnsafeCheckpointError, match="pickled code"):
        weights.fetch("evil", entries=e)
    assert not (_cache() / "matanyone.pth").exists() and not (_cache() / "matanyone.pth.part").exists()


@pytest.mark.slow
def test_matanyone_layout_check_accepts_the_network_layout():
    import torch

    from matanyone_engine import load_network

    _cache().mkdir(parents=True)
    path = _cache() / "matanyone.pth"
    torch.save(load_network("stand-in", device="cpu").state_dict(), path)
    result = weights.verify("matanyone")
    assert result.layout == "ok" and result.pinned and result.md5_matches is False
    assert weights.resolve("auto") == str(path)


def test_importing_weights_imports_neither_sam2_nor_hydra():
    code = ("import sys, matanyone_engine.weights as w; w.registry(); w.status(); "
            "print(sorted(m for m in ('sam2', 'hydra', 'omegaconf') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True)
    assert out.stdout.strip() == "[]"


# --- the `weights` command ----------------------------------------------------------------------

@pytest.fixture
def cli_registry(entries, tmp_path, monkeypatch):
    data = {"version": 1, "checkpoints": {
        name: {k: v for k, v in e.__dict__.items() if k != "name"} for name, e in entries.items()}}
    path = tmp_path / "registry.json"
    path.write_text(json.dumps(data))
    monkeypatch.setattr(weights, "REGISTRY_PATH", path)
    return path


def test_cli_list_get_verify_path(server, online, cli_registry, capsys):
    from plugin.cli import main

    assert main(["weights", "list"]) == 0
    out = capsys.readouterr().out
    assert "standin" in out and "missing" in out and "Test Licence 1.0 (accept once)" in out

    assert main(["weights", "get", "licensed"]) == 1          # stdin is not a terminal: no prompt
    err = capsys.readouterr().err
    assert "Non-commercial use only." in err and "--accept-licence" in err.splitlines()[-1]
    assert server.log == []

    assert main(["weights", "fetch", "licensed", "--accept-licence"]) == 0
    captured = capsys.readouterr()
    path = _cache() / "licensed.bin"
    assert captured.out.strip() == str(path) and path.read_bytes() == DATA
    assert "100.0%" in captured.err and "licensed.bin: ready" in captured.err

    assert main(["weights", "path", "licensed"]) == 0
    assert capsys.readouterr().out.strip() == str(path)
    assert main(["weights", "path"]) == 0
    assert capsys.readouterr().out.strip() == str(_cache())
    assert main(["weights", "path", "standin"]) == 1
    assert "weights get standin" in capsys.readouterr().err

    assert main(["weights", "verify"]) == 0
    assert f"ok     licensed: {path}" in capsys.readouterr().out
    path.chmod(0o644)
    path.write_bytes(DATA[:-1] + b"\0")
    assert main(["weights", "verify", "licensed"]) == 1
    assert "FAILED licensed" in capsys.readouterr().out


def test_cli_get_respects_the_offline_setting(server, online, cli_registry, capsys):
    from plugin import settings
    from plugin.cli import main

    settings.save(settings.Settings(offline=True))
    assert main(["weights", "get", "standin"]) == 1
    assert "offline" in capsys.readouterr().err
    assert server.log == []


def test_cancel_keeps_the_part_and_a_later_run_resumes(server, online):
    big = DATA * 10
    server.files["/big.bin"] = big
    e = {"big": weights.Checkpoint(name="big", url=server.url("/big.bin"), file="big.bin", size=len(big),
                                   sha256=hashlib.sha256(big).hexdigest())}
    from matanyone_engine.download import DownloadCancelled

    with pytest.raises(DownloadCancelled, match="run it again to resume"):
        weights.fetch("big", entries=e, cancel=lambda: True)
    part = _cache() / "big.bin.part"
    kept = part.stat().st_size
    assert 0 < kept < len(big) and not (_cache() / "big.bin").exists()
    assert weights.fetch("big", entries=e).read_bytes() == big
    assert server.requests("/big.bin")[-1].range == f"bytes={kept}-"
