"""The command line against hostile inputs (issue 21): `ocio://` configs (defect 5), a closed
output pipe (defect 14), and exit codes that keep usage, user and internal errors apart."""
import json
import os
import subprocess
import sys

import pytest

from plugin import cli, color
from plugin.errors import ColorError
from plugin.shot import Shot
from tests.plugin.pipeline_media import make_shot

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
STUDIO = "ocio://studio-config-latest"


# --------------------------------------------------------------------------- defect 5: ocio:// and folders

def test_ocio_uri_in_the_shot_file_is_kept_as_a_uri(tmp_path):
    shot_path = make_shot(tmp_path, n=2)
    data = json.loads(shot_path.read_text())
    data["plate"]["ocio_config"] = STUDIO
    shot = Shot.from_dict(data, base_dir=tmp_path)
    assert shot.plate.ocio_config == STUDIO
    assert shot.to_dict(base_dir=tmp_path)["plate"]["ocio_config"] == STUDIO
    assert color.get_config(shot.plate.ocio_config).getName()


def test_relative_ocio_config_in_the_shot_file_still_resolves_from_the_file(tmp_path):
    shot_path = make_shot(tmp_path, n=2)
    data = json.loads(shot_path.read_text())
    data["plate"]["ocio_config"] = "configs/show.ocio"
    shot = Shot.from_dict(data, base_dir=tmp_path)
    assert shot.plate.ocio_config == str(tmp_path / "configs" / "show.ocio")


def test_run_with_an_ocio_uri_option_runs(tmp_path, capsys):
    shot_path = make_shot(tmp_path, n=2)
    data = json.loads(shot_path.read_text())
    plate = os.path.join(os.path.dirname(shot_path), data["plate"]["path"])
    mask = os.path.join(os.path.dirname(shot_path), next(iter(data["objects"][0]["keyframes"].values())))
    code = cli.main(["run", "--quiet", "--plate", plate, "--colourspace", "ACEScg", "--mask", f"1001={mask}",
                     "--out", str(tmp_path / "uri" / "m.####.exr"), "--ocio-config", STUDIO,
                     "--weights", "stand-in:pipeline", "--warmup", "1"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert Shot.load(tmp_path / "uri" / "m.shot.json").plate.ocio_config == STUDIO


def test_a_folder_given_as_the_ocio_config_says_it_is_a_folder(tmp_path):
    (tmp_path / "aces").mkdir()
    (tmp_path / "aces" / "config.ocio").write_text("ocio_profile_version: 2\n")
    with pytest.raises(ColorError, match=r"aces \(from the shot file or --ocio-config\) is a folder, not a "
                                         r"config file \(it holds config\.ocio\); give the \.ocio file"):
        color.get_config(str(tmp_path / "aces"))


def test_config_named_in_info_says_where_it_came_from(monkeypatch):
    monkeypatch.delenv("OCIO", raising=False)
    assert color.config_name(STUDIO).endswith("from the shot file or --ocio-config)")


# --------------------------------------------------------------------------- defect 14: closed pipe

@pytest.mark.parametrize("argv", [["info", "--colourspaces"], ["--help"], ["weights", "list"]],
                         ids=lambda a: " ".join(a))
def test_a_closed_output_pipe_ends_the_command_quietly(argv):
    env = dict(os.environ, PYTHONPATH=REPO)
    proc = subprocess.Popen([sys.executable, "-m", "plugin", *argv], cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.close()                      # as `| head -0` would: the reader is gone before any output
    err = proc.stderr.read().decode()
    code = proc.wait(timeout=120)
    # argparse's help swallows the write error itself and exits 0: quiet either way.
    expected = {cli.EXIT_OK, cli.EXIT_PIPE_CLOSED} if argv == ["--help"] else {cli.EXIT_PIPE_CLOSED}
    assert err == "" and code in expected, (code, err)


# --------------------------------------------------------------------------- exit codes

def test_usage_user_and_internal_errors_exit_with_distinct_codes(tmp_path, capsys, monkeypatch):
    with pytest.raises(SystemExit) as usage:
        cli.main(["run", "--no-such-option"])
    assert usage.value.code == cli.EXIT_USAGE
    assert cli.main([]) == cli.EXIT_USAGE
    assert cli.main(["info", str(tmp_path / "missing.####.exr")]) == cli.EXIT_USER
    from plugin.commands import info
    monkeypatch.setattr(info, "handle", lambda args: 1 / 0)
    monkeypatch.setattr(cli, "_internal_error_log", lambda: "(log)")
    assert cli.main(["info"]) == cli.EXIT_INTERNAL
    codes = [cli.EXIT_OK, cli.EXIT_USER, cli.EXIT_INTERNAL, cli.EXIT_USAGE, cli.EXIT_CANCELLED,
             cli.EXIT_PIPE_CLOSED, cli.EXIT_TERMINATED]
    assert len(set(codes)) == len(codes)
    capsys.readouterr()


def test_readme_documents_every_exit_code():
    text = open(os.path.join(REPO, "README.md"), encoding="utf-8").read()
    section = text[text.index("Exit codes"):][:1500]
    for code in (cli.EXIT_OK, cli.EXIT_USER, cli.EXIT_INTERNAL, cli.EXIT_USAGE, cli.EXIT_CANCELLED,
                 cli.EXIT_PIPE_CLOSED, cli.EXIT_TERMINATED):
        assert f"`{code}`" in section, code
