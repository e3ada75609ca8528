"""The one settings file shared by CLI, worker, panel and bridges.

A JSON file in the platformdirs user config folder; environment variables win
(`MATANYONE_PLUGIN_PYTHON`, `MATANYONE_PLUGIN_WEIGHTS`, `MATANYONE_PLUGIN_OFFLINE`).
Standard library only: the panel reads it inside a host's Python.
"""
from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Optional

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


def load() -> Settings:
    """The settings file (missing or broken keys fall back to defaults), then the environment."""
    data = {}
    path = settings_path()
    if path.is_file():
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            data = {}
    known = {f.name for f in fields(Settings)}
    settings = Settings(**{k: v for k, v in data.items() if k in known})
    env = os.environ
    if env.get(ENV_PYTHON):
        settings = replace(settings, worker_python=env[ENV_PYTHON])
    if env.get(ENV_WEIGHTS):
        settings = replace(settings, weights_dir=env[ENV_WEIGHTS])
    if env.get(ENV_OFFLINE, "").strip().lower() in ("1", "true", "yes", "on"):
        settings = replace(settings, offline=True)
    return settings


def save(settings: Settings) -> Path:
    """Write the settings file atomically; returns its path."""
    path = settings_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(settings.to_json(), indent=2), encoding="utf-8")
    os.replace(tmp, path)
    return path
