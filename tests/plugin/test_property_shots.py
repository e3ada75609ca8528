"""Random shot files thrown at `run` and `info` (issue 21, property tests): whatever the JSON's
shape, depth and types, the command ends with a one-line user error or a run, never an internal
error, and writes nothing outside the shot's output folder.

In-process through `plugin.cli.main` (fast); a few fixed hostile files through the real
subprocess. The sandbox holds a real 2-frame plate and mask, so shots near the valid shape run
the engine (stand-in weights) and reach the writer.
"""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from plugin import cli
from plugin.shot import Shot
from tests.plugin.media import files_under
from tests.plugin.pipeline_media import make_shot

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# Leaves: small numbers (so a valid warm-up stays quick), numbers past every limit, and text.
_INTS = st.integers(-3, 40) | st.sampled_from([257, 1001, 65536, 10 ** 12, -10 ** 12, 2 ** 63, 10 ** 30])
_FLOATS = st.floats(allow_nan=True, allow_infinity=True)
# Text that cannot point outside the sandbox: no absolute paths, no `..`, `~` or `$VAR`.
_SAFE_TEXT = st.text(max_size=24).filter(
    lambda s: not s.startswith(("/", "\\")) and ".." not in s and "~" not in s and "$" not in s and ":" not in s)
_SPELLINGS = st.sampled_from(["1001", "0001", " 1001", "1e3", "", "stand-in", "stand-in:x", "auto", "cpu",
                              "fp32", "both", "A", "RGBA", "half", "float", "ACEScg", "hero", "Hero",
                              "out/m.####.exr", "out/{object}.####.exr", "out/m.exr", "plates/plate.####.exr",
                              "masks/hero.1001.png", "ocio://studio-config-latest", "\u00e9", "\x00"])
LEAF = st.none() | st.booleans() | _INTS | _FLOATS | _SAFE_TEXT | _SPELLINGS
JSON = st.recursive(LEAF, lambda inner: st.lists(inner, max_size=4)
                    | st.dictionaries(_SAFE_TEXT | _SPELLINGS, inner, max_size=4), max_leaves=12)


def _valid(sandbox: Path) -> dict:
    data = json.loads((sandbox / "shot.json").read_text())
    data["engine"]["warmup"] = 1
    return data


# (path of keys into the shot) -> replaced by random JSON; or a key removed; or one added.
_PLACES = [(), ("version",), ("plate",), ("plate", "path"), ("plate", "first"), ("plate", "last"),
           ("plate", "colourspace"), ("plate", "ocio_config"), ("plate", "frame_offset"), ("objects",),
           ("objects", 0), ("objects", 0, "id"), ("objects", 0, "name"), ("objects", 0, "keyframes"),
           ("objects", 0, "colour"), ("mask_cleanup",), ("mask_cleanup", "dilate"), ("mask_cleanup", "erode"),
           ("engine",), ("engine", "weights"), ("engine", "warmup"), ("engine", "mem_every"),
           ("engine", "max_mem_frames"), ("engine", "top_k"), ("engine", "precision"), ("engine", "device"),
           ("engine", "max_internal_size"), ("engine", "model"), ("output",), ("output", "path"),
           ("output", "dtype"), ("output", "channels"), ("network_input",), ("network_input", "display"),
           ("network_input", "view"), ("direction",), ("extra",)]
MUTATIONS = st.lists(st.tuples(st.sampled_from(_PLACES), st.sampled_from(["set", "delete"]), JSON),
                     min_size=1, max_size=3)


def _mutate(data, mutations):
    for place, how, value in mutations:
        if not place:
            data = value
            continue
        node = data
        try:
            for key in place[:-1]:
                node = node[key]
            if how == "delete":
                del node[place[-1]]
            else:
                node[place[-1]] = value
        except (KeyError, IndexError, TypeError):
            pass
    return data


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory):
    root = tmp_path_factory.mktemp("sandbox")
    shot = make_shot(root, n=2, weights="stand-in:property", warmup=1)
    os.replace(shot, root / "shot.json")
    return root


def _output_folder(shot_path: Path):
    """The folder a shot may write into, or None when the shot does not load."""
    try:
        shot = Shot.load(shot_path)
    except Exception as err:  # noqa: BLE001 - only the user's one-line errors are expected here
        assert getattr(err, "user_error", False), f"Shot.load: internal error {type(err).__name__}: {err}"
        return None
    return os.path.dirname(shot.output.path)


def _check_one(sandbox: Path, text: str, capsys, argv_tail=()):
    path = sandbox / "case.json"
    path.write_text(text, encoding="utf-8")
    before = files_under(sandbox)
    code = cli.main(["run", "--quiet", str(path), *argv_tail])
    err = capsys.readouterr().err
    try:
        event(f"run exit {code}")           # --hypothesis-show-statistics: how many cases ran
    except InvalidArgument:                 # called outside a hypothesis test
        pass
    assert "internal error" not in err and "Traceback" not in err, err
    assert code in (cli.EXIT_OK, cli.EXIT_USER), (code, err)
    if code == cli.EXIT_USER:
        assert len([line for line in err.splitlines() if line.strip()]) == 1, err
    allowed = _output_folder(path)
    after = files_under(sandbox)
    changed = {p for p in set(after) | set(before) if before.get(p) != after.get(p)} - {str(path)}
    outside = [p for p in changed if allowed is None or os.path.commonpath([allowed, p]) != allowed]
    assert not outside, f"written outside the output folder {allowed}: {outside}"
    quiet = files_under(sandbox)
    info = cli.main(["info", str(path)])            # a shot file: its run, or one line
    info_err = capsys.readouterr().err
    assert info in (cli.EXIT_OK, cli.EXIT_USER) and "internal error" not in info_err, info_err
    assert info_err.count("\n") == (info == cli.EXIT_USER), info_err
    assert files_under(sandbox) == quiet, "info wrote files"
    for p in changed:                       # the next case starts from the same sandbox
        if p not in before and os.path.exists(p):
            os.remove(p)
    return code


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                   HealthCheck.too_slow])
@given(mutations=MUTATIONS)
def test_shot_shaped_random_files_never_give_an_internal_error(sandbox, capsys, mutations):
    data = _mutate(_valid(sandbox), mutations)
    _check_one(sandbox, json.dumps(data, allow_nan=True), capsys)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=JSON)
def test_any_json_at_all_is_a_one_line_error(sandbox, capsys, data):
    _check_one(sandbox, json.dumps(data, allow_nan=True), capsys)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(max_size=60) | st.binary(max_size=60).map(lambda b: b.decode("latin-1")))
def test_text_that_is_not_json_is_a_one_line_error(sandbox, capsys, text):
    _check_one(sandbox, text, capsys)


def test_the_valid_shot_runs_and_writes_only_its_outputs(sandbox, capsys):
    assert _check_one(sandbox, json.dumps(_valid(sandbox)), capsys) == cli.EXIT_OK


@pytest.mark.parametrize("text", [
    "[" * 100000,                                                     # deep nesting (defect 9)
    "{\"version\": 1, \"plate\": " * 5000 + "null" + "}" * 5000,
    "\ufeff" + "{\"version\": \"1\"}",
    "{\"version\": 1e400}",
    "{\"version\": NaN, \"objects\": [Infinity]}",
], ids=["brackets", "deep-objects", "bom-and-text-version", "huge-float", "nan"])
def test_hostile_files_through_the_real_command(sandbox, text):
    path = sandbox / "hostile.json"
    path.write_text(text, encoding="utf-8")
    before = files_under(sandbox)
    env = dict(os.environ, PYTHONPATH=REPO)
    proc = subprocess.run([sys.executable, "-m", "plugin", "run", "--quiet", str(path)], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == cli.EXIT_USER, proc.stderr
    assert proc.stderr.count("\n") == 1 and proc.stderr.startswith("error: "), proc.stderr[:500]
    after = files_under(sandbox)
    assert {p for p in after if before.get(p) != after[p]} == set()
