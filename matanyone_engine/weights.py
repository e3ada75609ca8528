"""Checkpoints on a user's machine: the registry, the cache, studio folders, downloads.

`registry.json` beside this module names every checkpoint the product uses (URL, file name,
size and hashes where known, licence). A checkpoint is found, in this order, in

1. a studio folder or file: `weights_dir` (the `weights_dir` setting) or `$MATANYONE_PLUGIN_WEIGHTS`;
2. the user cache: `$MATANYONE_PLUGIN_CACHE_DIR/weights`, else platformdirs' user cache
   folder of "matanyone-plugin", `/weights`.

Only `fetch` (the `weights get` command and the panel's download dialog) touches the network,
never during a run; `MATANYONE_PLUGIN_OFFLINE=1` forbids it and the error says which file to
place where. A download resumes a `.part` file with HTTP Range, is verified (size, SHA-256 where
known, and a strict weights-only load of its layout), has its SHA-256 pinned in the cache's
record the first time it passes, and is made read-only. Concurrent fetches of one file download
it once: the others wait on a lock and then use it. Licences that need it are accepted once
(recorded in the cache record).

Importing this module imports neither torch nor sam2; the layout checks import them lazily.
"""
from __future__ import annotations

import datetime as _dt
import functools
import hashlib
import json
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Dict, List, Mapping, Optional

from matanyone_engine.download import DownloadProgress, ProgressCallback, fetch_to_part, file_lock
from matanyone_engine.errors import WeightsError

ENV_CACHE_DIR = "MATANYONE_PLUGIN_CACHE_DIR"
ENV_WEIGHTS = "MATANYONE_PLUGIN_WEIGHTS"
ENV_OFFLINE = "MATANYONE_PLUGIN_OFFLINE"
APP_NAME = "matanyone-plugin"
REGISTRY_PATH = Path(__file__).with_name("registry.json")
NETWORK = "matanyone"          # the kind of a checkpoint the matting network loads
DEFAULT_MODEL = "matanyone"    # the checkpoint `resolve("auto")` means when no model is chosen
STAND_IN = "stand-in"


class LicenceNotAccepted(WeightsError):
    """A download whose licence has not been acknowledged yet."""


@dataclass(frozen=True)
class Checkpoint:
    """One registry entry. `size`/`sha256` are None where no trustworthy value is published."""

    name: str
    url: str
    file: str
    kind: Optional[str] = None          # "matanyone" | "sam2" | None (no layout check)
    description: str = ""
    size: Optional[int] = None
    approx_size: Optional[int] = None
    sha256: Optional[str] = None
    md5: Optional[str] = None
    md5_note: Optional[str] = None      # why the MD5 is informational only
    licence: str = ""
    licence_url: Optional[str] = None
    licence_summary: str = ""
    needs_acceptance: bool = False
    sam2_config: Optional[str] = None   # packaged sam2 yaml for SAM checkpoints

    @classmethod
    def from_json(cls, name: str, data: Mapping) -> "Checkpoint":
        known = set(cls.__dataclass_fields__) - {"name"}
        return cls(name=name, **{k: v for k, v in data.items() if k in known})


@functools.lru_cache(maxsize=4)
def _read_registry(path: str) -> Dict[str, Checkpoint]:
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    return {name: Checkpoint.from_json(name, entry) for name, entry in data["checkpoints"].items()}


def registry(path=None) -> Dict[str, Checkpoint]:
    """Name -> Checkpoint from `registry.json` (or another registry file)."""
    return dict(_read_registry(str(path or REGISTRY_PATH)))


def models(entries: Optional[Mapping[str, Checkpoint]] = None) -> tuple:
    """The registry names a shot may choose as its model: every checkpoint of the network's layout."""
    entries = registry() if entries is None else entries
    return tuple(name for name, entry in entries.items() if entry.kind == NETWORK)


def _entry(name: str, entries: Optional[Mapping[str, Checkpoint]] = None) -> Checkpoint:
    entries = registry() if entries is None else entries
    if name not in entries:
        raise WeightsError(f"no checkpoint named {name!r}; known: {', '.join(sorted(entries))}")
    return entries[name]


# ---------------------------------------------------------------------------------------------
# Where files live


def cache_dir() -> Path:
    """The user cache folder for checkpoints (created only when something is written)."""
    override = os.environ.get(ENV_CACHE_DIR)
    if override:
        return Path(override).expanduser() / "weights"
    import platformdirs

    return Path(platformdirs.user_cache_dir(APP_NAME, appauthor=False)) / "weights"


def studio_path(weights_dir=None) -> Optional[Path]:
    """The studio folder or file: `weights_dir` when given, else $MATANYONE_PLUGIN_WEIGHTS."""
    value = weights_dir if weights_dir not in (None, "") else os.environ.get(ENV_WEIGHTS)
    return Path(value).expanduser() if value else None


def is_offline() -> bool:
    return os.environ.get(ENV_OFFLINE, "").strip().lower() in ("1", "true", "yes", "on")


def locate(name: str, *, weights_dir=None, entries=None, cache: Optional[Path] = None) -> Optional[Path]:
    """The file of checkpoint `name` in the studio folder/file or the cache, or None."""
    entry = _entry(name, entries)
    studio = studio_path(weights_dir)
    if studio is not None:
        if studio.is_dir() and (studio / entry.file).is_file():
            return studio / entry.file
        if studio.is_file() and (studio.name == entry.file or _stands_for_default(studio, entry, entries)):
            return studio
    cached = (cache or cache_dir()) / entry.file
    return cached if cached.is_file() else None


def _stands_for_default(studio: Path, entry: Checkpoint, entries) -> bool:
    """A direct file path named like no registry file stands for the default model's checkpoint
    (studios rename it); one named `matanyone2.pth` stands for MatAnyone2 only."""
    entries = registry() if entries is None else entries
    return entry.name == DEFAULT_MODEL and studio.name not in {e.file for e in entries.values()}


def missing_message(entry: Checkpoint, *, weights_dir=None, cache: Optional[Path] = None, offline=False) -> str:
    """One line: which file to place where (and the command that downloads it)."""
    cache = cache or cache_dir()
    studio = studio_path(weights_dir)
    places = f"{cache}{os.sep}"
    if studio is not None:
        places += f" or the studio folder {studio}{os.sep}" if not studio.is_file() else ""
    else:
        places += f" (or a folder named by ${ENV_WEIGHTS} or weights_dir)"
    # Under 300 characters with ordinary paths: one line a terminal or a dialog can show.
    if offline:
        return f"offline ({ENV_OFFLINE}=1 or setting): {entry.file} is not here; copy it from {entry.url} into {places}"
    return (f"checkpoint {entry.file} not found: run `matanyone-plugin weights get {entry.name}`, "
            f"or copy it from {entry.url} into {places}")


def resolve(spec: str, *, weights_dir=None, model: str = DEFAULT_MODEL) -> str:
    """The checkpoint a `weights` setting means, for `load_network`.

    Args:
        spec: "auto" (the chosen model's checkpoint from the studio folder or cache), a registry
            name ("matanyone2", "sam2.1-tiny", ...), a file path, or "stand-in[:SALT]" (returned
            unchanged).
        weights_dir: the studio folder or file (the setting); else $MATANYONE_PLUGIN_WEIGHTS.
        model: the model "auto" means ("matanyone" or "matanyone2", see `models()`).

    Returns:
        A file path (str), or the stand-in spec.

    Raises:
        WeightsError: one line naming the file, where to put it, and `weights get`.
    """
    spec = str(spec).strip()
    if spec == STAND_IN or spec.startswith(STAND_IN + ":"):
        return spec
    entries = registry()
    name = spec
    if spec in ("", "auto"):
        if model not in models(entries):
            raise WeightsError(f"unknown model {model!r}; choose one of {', '.join(models(entries))}")
        name = model
    if name in entries:
        studio = studio_path(weights_dir)
        if studio is not None and not studio.exists():
            raise WeightsError(f"the studio weights folder {studio} does not exist; fix the weights_dir "
                               f"setting or ${ENV_WEIGHTS}")
        found = locate(name, weights_dir=weights_dir, entries=entries)
        if found is None:
            raise WeightsError(missing_message(entries[name], weights_dir=weights_dir))
        return str(found)
    path = Path(spec).expanduser()
    if path.is_dir():
        raise WeightsError(f"weights file {path} is a folder; give the checkpoint file in it, or set the "
                           f"folder as the studio weights folder (weights_dir) and use auto")
    if not path.is_file():
        raise WeightsError(f"weights file {path} does not exist; use auto, stand-in, or an existing checkpoint file")
    return str(path)


# ---------------------------------------------------------------------------------------------
# The cache record (one JSON per file: pinned SHA-256, licence acceptance)


def _record_path(entry: Checkpoint, cache: Path) -> Path:
    return cache / f"{entry.file}.record.json"


def read_record(entry: Checkpoint, cache: Optional[Path] = None) -> dict:
    path = _record_path(entry, cache or cache_dir())
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


def _write_record(entry: Checkpoint, cache: Path, **changes) -> dict:
    record = read_record(entry, cache)
    record.update({"name": entry.name, "file": entry.file, "url": entry.url}, **changes)
    path = _record_path(entry, cache)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(json.dumps(record, indent=2, sort_keys=True), encoding="utf-8")
        os.replace(tmp, path)
    except OSError as err:
        tmp.unlink(missing_ok=True)
        raise _cache_unwritable(entry, cache, err) from None
    return record


def _cache_unwritable(entry: Checkpoint, cache: Path, err: OSError) -> WeightsError:
    return WeightsError(
        f"cannot write to the weights cache {cache} ({err.strerror or err}); make it writable, set "
        f"${ENV_CACHE_DIR} to a writable folder, or copy {entry.file} (from {entry.url}) into a studio "
        f"folder named by ${ENV_WEIGHTS}")


def licence_accepted(name: str, *, entries=None, cache: Optional[Path] = None) -> bool:
    entry = _entry(name, entries)
    if not entry.needs_acceptance:
        return True
    accepted = read_record(entry, cache).get("licence_accepted") or {}
    return accepted.get("licence") == entry.licence


def licence_text(name: str, *, entries=None) -> str:
    """What the user is shown before accepting (a few lines)."""
    entry = _entry(name, entries)
    lines = [f"{entry.file}: {entry.licence}"]
    if entry.licence_summary:
        lines.append(entry.licence_summary)
    if entry.licence_url:
        lines.append(f"Full text: {entry.licence_url}")
    return "\n".join(lines)


def accept_licence(name: str, *, entries=None, cache: Optional[Path] = None) -> None:
    """Record that the user accepted `name`'s licence (in the cache record)."""
    entry = _entry(name, entries)
    cache = cache or cache_dir()
    _ensure_dir(entry, cache)
    _write_record(entry, cache, licence_accepted={"licence": entry.licence, "at": _now()})


def _ensure_dir(entry: Checkpoint, cache: Path) -> None:
    try:
        cache.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise _cache_unwritable(entry, cache, err) from None
    if not os.access(cache, os.W_OK | os.X_OK):
        raise _cache_unwritable(entry, cache, PermissionError(13, "permission denied"))


# ---------------------------------------------------------------------------------------------
# Verification


@dataclass(frozen=True)
class Verified:
    """What `verify` established about one file."""

    name: str
    path: Path
    size: int
    sha256: str
    md5_matches: Optional[bool]   # None when the registry has no MD5
    layout: str                   # "ok" | "not checked"
    pinned: bool                  # the SHA-256 equals the one pinned in the cache record


def _hashes(path: Path) -> tuple:
    sha, md5 = hashlib.sha256(), hashlib.md5()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            sha.update(block)
            md5.update(block)
    return sha.hexdigest(), md5.hexdigest()


def _check_layout(entry: Checkpoint, path: Path) -> str:
    """Strict weights-only load of the file into the network it is for."""
    if entry.kind == NETWORK:
        from matanyone_engine import load_network  # weights_only, strict; errors name the keys

        load_network(str(path), device="cpu")
        return "ok"
    if entry.kind == "sam2":
        from matanyone_engine import sam

        sam.check_checkpoint(path, entry.sam2_config)
        return "ok"
    return "not checked"


def _verify_file(entry: Checkpoint, path: Path, pinned: Optional[str], progress=None) -> Verified:
    size = path.stat().st_size
    where = f"{entry.file} ({path})"
    if entry.size is not None and size != entry.size:
        raise WeightsError(f"{where} has {size:,} bytes but should have {entry.size:,}: it is incomplete or another file")
    if progress:
        progress(DownloadProgress(entry.name, entry.file, "verifying", 0, size))
    sha, md5 = _hashes(path)
    if entry.sha256 and sha != entry.sha256.lower():
        raise WeightsError(f"{where} has SHA-256 {sha[:16]}..., not the registry's {entry.sha256[:16]}...: "
                           "it is damaged or another file")
    if pinned and sha != pinned:
        raise WeightsError(f"{where} has changed since it was verified (SHA-256 {sha[:16]}... instead of the "
                           f"pinned {pinned[:16]}...): delete it and run `matanyone-plugin weights get {entry.name}`")
    layout = _check_layout(entry, path)
    md5_matches = None if not entry.md5 else (md5 == entry.md5.lower())
    return Verified(entry.name, path, size, sha, md5_matches, layout, bool(pinned) and sha == pinned)


def verify(name: str, *, weights_dir=None, entries=None, cache: Optional[Path] = None,
           progress: Optional[ProgressCallback] = None) -> Verified:
    """Check the file `name` resolves to; a cache file gets its SHA-256 pinned the first time.

    Raises:
        WeightsError: missing, wrong size or hash, changed since pinned, or wrong layout.
    """
    entry = _entry(name, entries)
    cache = cache or cache_dir()
    path = locate(name, weights_dir=weights_dir, entries=entries, cache=cache)
    if path is None:
        raise WeightsError(missing_message(entry, weights_dir=weights_dir, cache=cache))
    in_cache = path.parent == cache
    pinned = read_record(entry, cache).get("sha256") if in_cache else None
    result = _verify_file(entry, path, pinned, progress)
    if in_cache and not pinned and os.access(cache, os.W_OK):
        _pin(entry, cache, result)
        result = Verified(**{**result.__dict__, "pinned": True})
    return result


def _pin(entry: Checkpoint, cache: Path, result: Verified) -> None:
    _write_record(entry, cache, sha256=result.sha256, size=result.size, md5_matches_registry=result.md5_matches,
                  layout=result.layout, verified_at=_now())


# ---------------------------------------------------------------------------------------------
# Download


def fetch(name: str, *, accept_licence: bool = False, progress: Optional[ProgressCallback] = None,
          cancel: Optional[Callable[[], bool]] = None, weights_dir=None, entries=None,
          cache: Optional[Path] = None, offline: Optional[bool] = None, retries: int = 3,
          timeout: float = 30.0, backoff: float = 1.0) -> Path:
    """Make checkpoint `name` available locally and return its path.

    A file already in the studio folder or cache is used as it is (a cached one is verified
    once). Otherwise it is downloaded into the cache (resuming a `.part`), verified, pinned and
    made read-only. Concurrent calls for one file download it once.

    Args:
        accept_licence: the user has just accepted the licence (recorded); without it a licence
            that needs acceptance and was not accepted before raises LicenceNotAccepted.
        progress: called with DownloadProgress ("waiting", "downloading", "verifying", "done").
        cancel: polled during the download; True stops it (the `.part` is kept).
        entries: registry entries to use instead of registry.json (tests).
        offline: forbid network access; None reads $MATANYONE_PLUGIN_OFFLINE.

    Raises:
        WeightsError (LicenceNotAccepted, DownloadCancelled): one line each.
    """
    entry = _entry(name, entries)
    cache = cache or cache_dir()
    found = locate(name, weights_dir=weights_dir, entries=entries, cache=cache)
    if found is not None and found.parent != cache:
        return found  # studio copy: the studio manages it
    if found is not None and _is_pinned(entry, cache, found):
        return found
    offline = is_offline() if offline is None else offline
    if found is None and offline:
        raise WeightsError(missing_message(entry, weights_dir=weights_dir, cache=cache, offline=True))
    if found is None and entry.needs_acceptance and not accept_licence and not licence_accepted(name, entries=entries, cache=cache):
        raise LicenceNotAccepted(
            f"{entry.file} is under the {entry.licence} ({entry.licence_summary.rstrip('.')}; {entry.licence_url}): "
            f"accept it once with `matanyone-plugin weights get {name} --accept-licence` or in the panel's download dialog")
    _ensure_dir(entry, cache)
    if entry.needs_acceptance and accept_licence and not licence_accepted(name, entries=entries, cache=cache):
        _write_record(entry, cache, licence_accepted={"licence": entry.licence, "at": _now()})

    def waiting():
        if progress:
            progress(DownloadProgress(name, entry.file, "waiting"))

    final = cache / entry.file
    try:
        with file_lock(cache / f"{entry.file}.lock", on_wait=waiting):
            if final.is_file():  # placed by hand, or another process finished while we waited
                if not _is_pinned(entry, cache, final):
                    _pin(entry, cache, _verify_file(entry, final, read_record(entry, cache).get("sha256"), progress))
            else:
                if offline:
                    raise WeightsError(missing_message(entry, weights_dir=weights_dir, cache=cache, offline=True))
                _download(entry, cache, final, progress, cancel, retries, timeout, backoff)
    except OSError as err:  # lock, .part, rename: the cache folder cannot be written (or is full)
        raise _cache_unwritable(entry, cache, err) from None
    if progress:
        size = final.stat().st_size
        progress(DownloadProgress(name, entry.file, "done", size, size))
    return final


def _is_pinned(entry: Checkpoint, cache: Path, path: Path) -> bool:
    """Cheap check: the cache record pinned this file's hash at this size."""
    record = read_record(entry, cache)
    return bool(record.get("sha256")) and record.get("size") == path.stat().st_size


def _download(entry: Checkpoint, cache: Path, final: Path, progress, cancel, retries, timeout, backoff) -> None:
    part = cache / f"{entry.file}.part"
    fetch_to_part(entry.url, part, label=entry.file, expected_size=entry.size, progress=progress,
                  cancel=cancel, name=entry.name, retries=retries, timeout=timeout, backoff=backoff)
    try:
        result = _verify_file(entry, part, None, progress)
    except WeightsError as err:
        part.unlink(missing_ok=True)
        raise type(err)(f"the downloaded {err} (the download was deleted; run `matanyone-plugin weights get "
                        f"{entry.name}` again, and report it if it fails again)") from None
    os.chmod(part, stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH)
    os.replace(part, final)
    _pin(entry, cache, Verified(**{**result.__dict__, "path": final}))


def status(*, weights_dir=None, entries=None, cache: Optional[Path] = None) -> List[dict]:
    """One dict per registry entry for `weights list`, `info` and the worker's weights_status."""
    entries = registry() if entries is None else entries
    cache = cache or cache_dir()
    rows = []
    for name, entry in entries.items():
        path = locate(name, weights_dir=weights_dir, entries=entries, cache=cache)
        record = read_record(entry, cache)
        where = None if path is None else ("cache" if path.parent == cache else "studio")
        rows.append({
            "name": name, "file": entry.file, "description": entry.description, "url": entry.url,
            "size": entry.size, "approx_size": entry.approx_size, "licence": entry.licence,
            "licence_url": entry.licence_url, "needs_acceptance": entry.needs_acceptance,
            "licence_accepted": licence_accepted(name, entries=entries, cache=cache),
            "path": str(path) if path else None, "where": where,
            "verified": bool(where == "cache" and _is_pinned(entry, cache, path)),
            "sha256": record.get("sha256") if where == "cache" else None,
            "expected_path": str(cache / entry.file),
        })
    return rows
