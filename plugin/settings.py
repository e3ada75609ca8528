"""The one settings file shared by CLI, worker, panel and bridges.

A JSON file in the platformdirs user config folder; environment variables win
(`MATANYONE_PLUGIN_PYTHON`, `MATANYONE_PLUGIN_WEIGHTS`, `MATANYONE_PLUGIN_OFFLINE`).
Standard library only: the panel reads it inside a host's Python.

A process reads it once, through `current()`, and passes the one `Settings` object on; a
broken file is a one-line `SettingsError` naming the file and the key, never a silent
fall-back to defaults (a studio's OCIO config silently replaced by the built-in one would
change every matte).
"""
from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Optional, Tuple

from plugin.errors import SettingsError

APP_NAME = "matanyone-plugin"
ENV_PYTHON = "MATANYONE_PLUGIN_PYTHON"
ENV_WEIGHTS = "MATANYONE_PLUGIN_WEIGHTS"
ENV_OFFLINE = "MATANYONE_PLUGIN_OFFLINE"
ENV_CONFIG_DIR = "MATANYONE_PLUGIN_CONFIG_DIR"
ENV_CACHE_DIR = "MATANYONE_PLUGIN_CACHE_DIR"


@dataclass(frozen=True)
class Settings:
    """What a studio or artist sets once for every front end."""

    weights_dir: Optional[str] = None   # a shared studio folder of checkpoints
    worker_python: Optional[str] = None  # the product's own interpreter, for hosts
    device: str = "auto"                # auto | cpu | cuda | cuda:N | mps
    ocio_config: Optional[str] = None   # a config path; None = $OCIO, else OCIO's built-in studio config
    offline: bool = False               # forbid all network access

    def to_json(self) -> dict:
        return asdict(self)


def _user_dir(kind: str) -> Path:
    """The platformdirs folder of `kind` ('config' or 'cache'), imported lazily so a host
    without platformdirs still gets a sensible folder."""
    override = os.environ.get(ENV_CONFIG_DIR if kind == "config" else ENV_CACHE_DIR)
    if override:
        return Path(override)
    try:
        import platformdirs
    except ImportError:  # inside a host's Python without platformdirs
        base = Path.home() / (".config" if kind == "config" else ".cache")
        return base / APP_NAME
    if kind == "config":
        return Path(platformdirs.user_config_dir(APP_NAME, appauthor=False))
    return Path(platformdirs.user_cache_dir(APP_NAME, appauthor=False))


def config_dir() -> Path:
    return _user_dir("config")


def cache_dir() -> Path:
    return _user_dir("cache")


def settings_path() -> Path:
    return config_dir() / "settings.json"


# key -> (allowed types, what to write instead); None is allowed for the optional paths.
_TYPES = {"weights_dir": ((str, type(None)), "a folder path or null"),
          "worker_python": ((str, type(None)), "an interpreter path or null"),
          "device": ((str,), "auto, cpu, cuda, cuda:N or mps"),
          "ocio_config": ((str, type(None)), "an OCIO config path or null"),
          "offline": ((bool,), "true or false")}


def _read_file(path: Path) -> dict:
    """The file's keys, checked; SettingsError (one line naming the file and key) when broken."""
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as err:
        raise SettingsError(f"settings file {path}: cannot read it ({err}); fix or delete it") from None
    except (ValueError, RecursionError) as err:
        raise SettingsError(f"settings file {path}: not valid JSON ({err}); fix or delete it") from None
    if not isinstance(data, dict):
        raise SettingsError(f"settings file {path}: must be a JSON object of settings; fix or delete it")
    for key, value in data.items():
        if key not in _TYPES:
            raise SettingsError(f"settings file {path}: {key!r} is not a known setting "
                                f"(known: {', '.join(sorted(_TYPES))})")
        types, what = _TYPES[key]
        if not isinstance(value, types):
            raise SettingsError(f"settings file {path}: {key} is {value!r}; it must be {what}")
    return data


def load() -> Settings:
    """The settings file, then the environment, read now (use `current()` in a process)."""
    settings = Settings(**_read_file(settings_path()))
    env = os.environ
    if env.get(ENV_PYTHON):
        settings = replace(settings, worker_python=env[ENV_PYTHON])
    if env.get(ENV_WEIGHTS):
        settings = replace(settings, weights_dir=env[ENV_WEIGHTS])
    if env.get(ENV_OFFLINE, "").strip().lower() in ("1", "true", "yes", "on"):
        settings = replace(settings, offline=True)
    return settings


_CURRENT: "Optional[Tuple[tuple, Settings]]" = None


def _where() -> tuple:
    # The file's folder and the overriding environment: a test (or a host) that points the
    # process elsewhere gets that folder's settings, not the first ones read.
    env = os.environ
    return (str(settings_path()), env.get(ENV_PYTHON), env.get(ENV_WEIGHTS), env.get(ENV_OFFLINE))


def current() -> Settings:
    """This process's settings, read once; every front end passes this one object on."""
    global _CURRENT
    where = _where()
    if _CURRENT is None or _CURRENT[0] != where:
        _CURRENT = (where, load())
    return _CURRENT[1]


def save(settings: Settings) -> Path:
    """Write the settings file atomically and make it this process's settings; returns its path."""
    global _CURRENT
    path = settings_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(settings.to_json(), indent=2), encoding="utf-8")
    os.replace(tmp, path)
    _CURRENT = None
    return path
