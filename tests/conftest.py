"""Shared test set-up: an isolated config/cache folder, offline mode, the parity fixtures."""
import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def fixtures_dir() -> Path:
    return Path(os.environ.get("MATANYONE_FIXTURES", REPO.parent / "shared" / "fixtures"))


@pytest.fixture(autouse=True)
def _isolated_user_dirs(tmp_path_factory, monkeypatch):
    """Every test gets its own config and cache folders and no network for weights."""
    base = tmp_path_factory.mktemp("userdirs")
    monkeypatch.setenv("MATANYONE_PLUGIN_CONFIG_DIR", str(base / "config"))
    monkeypatch.setenv("MATANYONE_PLUGIN_CACHE_DIR", str(base / "cache"))
    monkeypatch.setenv("MATANYONE_PLUGIN_OFFLINE", "1")
    monkeypatch.delenv("MATANYONE_PLUGIN_WEIGHTS", raising=False)
    monkeypatch.delenv("OCIO", raising=False)


@pytest.fixture(scope="session")
def fixtures():
    """The folder of parity fixtures; skips where absent, except under CI=true where absence fails."""
    path = fixtures_dir()
    if not (path / "matanyone_state_dict_schema.tsv").is_file():
        if os.environ.get("CI") == "true":
            pytest.fail(f"parity fixtures not found at {path} (set MATANYONE_FIXTURES)")
        pytest.skip(f"parity fixtures not found at {path} (set MATANYONE_FIXTURES)")
    return path
