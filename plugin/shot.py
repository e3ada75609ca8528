"""The shot file, version 1: everything needed to (re-)run one shot, as JSON.

Paths in the file are relative to the file itself; in memory they are absolute.
Validation raises `ShotFileError` with one line naming the key (`objects[1].keyframes`).
Standard library only, Python 3.9: the panel (inside a host's Python) builds, edits, saves and
loads shots through this module, with the same defaults and checks as the run.

    {"version": 1,
     "plate": {"path": "plates/sh010.####.exr", "first": 1001, "last": 1100,
               "colourspace": "ACEScg", "ocio_config": null, "frame_offset": 0},
     "network_input": {"display": null, "view": null},
     "objects": [{"id": 1, "name": "hero", "keyframes": {"1001": "masks/hero.1001.png"}}],
     "mask_cleanup": {"dilate": 10, "erode": 10},
     "engine": {"weights": "auto", "model": "matanyone", "warmup": 10, "mem_every": 5, "max_mem_frames": 5,
                "top_k": 30, "precision": "fp32", "device": "auto", "max_internal_size": null},
     "output": {"path": "matte/sh010_{object}.####.exr", "dtype": "half", "channels": "A"},
     "direction": "forward"}

`direction` (forward | backward | both), an object's `colour` and `engine.model` (matanyone |
matanyone2: the checkpoint `auto` weights mean) are optional additions to DESIGN's example;
absent, they are "forward", none and "matanyone", so older shot files keep their meaning.
"""
from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

from plugin.errors import ShotFileError
from plugin.protocol import CHANNELS, DIRECTIONS, DTYPES, MODELS, PRECISIONS

SHOT_VERSION = 1
_OBJECT_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")


@dataclass(frozen=True)
class PlateSpec:
    path: str                      # absolute pattern (`####`, `%04d`) or movie file
    first: int                     # source frame numbers, inclusive
    last: int
    colourspace: Optional[str] = None  # OCIO name; None = the plate's guess
    ocio_config: Optional[str] = None
    frame_offset: int = 0          # host frame = source frame + offset

    @property
    def frames(self) -> List[int]:
        return list(range(self.first, self.last + 1))


@dataclass(frozen=True)
class ShotObject:
    id: int
    name: str
    keyframes: Dict[int, str]      # source frame -> absolute mask path (8/16-bit PNG or EXR)
    colour: Optional[Tuple[float, float, float]] = None

    @property
    def first_keyframe(self) -> int:
        return min(self.keyframes)

    @property
    def last_keyframe(self) -> int:
        return max(self.keyframes)


@dataclass(frozen=True)
class EngineSpec:
    weights: str = "auto"          # auto | PATH | stand-in[:SALT]
    model: str = MODELS[0]         # which checkpoint `auto` means (MODELS); recorded with the outputs
    warmup: int = 10
    mem_every: int = 5
    max_mem_frames: int = 5
    top_k: int = 30
    precision: str = "fp32"
    device: str = "auto"
    max_internal_size: Optional[int] = None  # shorter side of the network input; None = native


@dataclass(frozen=True)
class OutputSpec:
    path: str                      # absolute pattern with `{object}` and `####`
    dtype: str = "half"
    channels: str = "A"

    def pattern_for(self, obj: ShotObject) -> str:
        return self.path.replace("{object}", obj.name)


@dataclass(frozen=True)
class Shot:
    plate: PlateSpec
    objects: Tuple[ShotObject, ...]
    output: OutputSpec
    engine: EngineSpec = field(default_factory=EngineSpec)
    display: Optional[str] = None  # network_input.display
    view: Optional[str] = None     # network_input.view
    dilate: int = 10               # mask_cleanup, elliptic kernel sizes in plate pixels
    erode: int = 10
    direction: str = "forward"
    shot_file: Optional[str] = None  # the file this shot was loaded from (None: built in memory)

    # -- construction -------------------------------------------------------------
    @classmethod
    def load(cls, path) -> "Shot":
        """Read and validate a shot file; relative paths resolve from its folder."""
        path = Path(path).expanduser()
        try:
            text = path.read_text(encoding="utf-8-sig")   # a byte-order mark (Windows editors) is fine
        except FileNotFoundError:
            raise ShotFileError(f"{path}: shot file not found") from None
        except IsADirectoryError:
            raise ShotFileError(f"{path}: a folder, not a shot file; give the .json file itself") from None
        except UnicodeDecodeError as err:
            raise ShotFileError(f"{path}: not a text file in UTF-8 (byte {err.start}); save it as UTF-8 "
                                f"JSON") from None
        except OSError as err:
            raise ShotFileError(f"{path}: cannot read the shot file ({err.strerror or err})") from None
        try:
            data = json.loads(text)
        except RecursionError:
            raise ShotFileError(f"{path}: not valid JSON (nested too deeply); fix the file or write it "
                                "again with `matanyone-plugin run --plate ... --out ...`") from None
        except ValueError as err:
            raise ShotFileError(f"{path}: not valid JSON ({err}); fix the file or write it again "
                                "with `matanyone-plugin run --plate ... --out ...`") from None
        return cls.from_dict(data, base_dir=path.resolve().parent, shot_file=str(path.resolve()))

    @classmethod
    def from_dict(cls, data: Any, *, base_dir=None, shot_file: Optional[str] = None) -> "Shot":
        """Validate a parsed shot file. `base_dir` resolves relative paths (default: cwd)."""
        where = shot_file or "shot file"
        base = Path(base_dir) if base_dir is not None else Path.cwd()
        v = _Validator(where, base)
        if not isinstance(data, dict):
            v.fail("", "must be a JSON object")
        version = data.get("version")
        if "version" not in data:
            v.fail("version", f"is missing; add \"version\": {SHOT_VERSION} (the shot file format)")
        if isinstance(version, str) and version.strip() == str(SHOT_VERSION):
            v.fail("version", f"is the text {version!r}; write the number {SHOT_VERSION}, without quotes")
        if version != SHOT_VERSION or isinstance(version, bool):
            v.fail("version", f"is {_short(version)}, a format this plugin does not read; it reads "
                   f"version {SHOT_VERSION} (a newer plugin may read this file)")
        v.keys(data, "", {"version", "plate", "network_input", "objects", "mask_cleanup",
                          "engine", "output", "direction"}, required={"plate", "objects", "output"})
        p = v.obj(data, "plate")
        v.keys(p, "plate", {"path", "first", "last", "colourspace", "ocio_config", "frame_offset"},
               required={"path", "first", "last"})
        plate = PlateSpec(
            path=v.path(p, "plate.path", "path"),
            first=v.int(p, "plate.first", "first", limit="frame"),
            last=v.int(p, "plate.last", "last", limit="frame"),
            colourspace=v.opt_str(p, "plate.colourspace", "colourspace"),
            ocio_config=v.opt_path(p, "plate.ocio_config", "ocio_config"),
            frame_offset=v.int(p, "plate.frame_offset", "frame_offset", default=0, limit="frame_offset"))
        if plate.last < plate.first:
            v.fail("plate.last", f"({plate.last}) is before plate.first ({plate.first})")
        if plate.last - plate.first + 1 > MAX_FRAMES:
            v.fail("plate", f"{plate.first}-{plate.last} is {plate.last - plate.first + 1} frames; a shot "
                   f"holds at most {MAX_FRAMES}: split it into shots")
        ni = v.obj(data, "network_input", default={})
        v.keys(ni, "network_input", {"display", "view"})
        mc = v.obj(data, "mask_cleanup", default={})
        v.keys(mc, "mask_cleanup", {"dilate", "erode"})
        dilate = v.int(mc, "mask_cleanup.dilate", "dilate", default=10, limit="dilate")
        erode = v.int(mc, "mask_cleanup.erode", "erode", default=10, limit="erode")
        e = v.obj(data, "engine", default={})
        v.keys(e, "engine", {"weights", "model", "warmup", "mem_every", "max_mem_frames", "top_k",
                             "precision", "device", "max_internal_size"})
        d = EngineSpec()
        weights = v.opt_str(e, "engine.weights", "weights") or d.weights
        if weights not in ("auto",) and not weights.startswith("stand-in"):
            weights = str(_resolve(base, weights))
        engine = EngineSpec(
            weights=weights,
            model=v.choice(e, "engine.model", "model", MODELS, d.model),
            warmup=v.int(e, "engine.warmup", "warmup", default=d.warmup, limit="warmup"),
            mem_every=v.int(e, "engine.mem_every", "mem_every", default=d.mem_every, limit="mem_every"),
            max_mem_frames=v.int(e, "engine.max_mem_frames", "max_mem_frames", default=d.max_mem_frames,
                                 limit="max_mem_frames"),
            top_k=v.int(e, "engine.top_k", "top_k", default=d.top_k, limit="top_k"),
            precision=v.choice(e, "engine.precision", "precision", PRECISIONS, d.precision),
            device=v.opt_str(e, "engine.device", "device") or d.device,
            max_internal_size=v.opt_int(e, "engine.max_internal_size", "max_internal_size",
                                        limit="max_internal_size"))
        o = v.obj(data, "output")
        v.keys(o, "output", {"path", "dtype", "channels"}, required={"path"})
        output = OutputSpec(path=v.path(o, "output.path", "path"),
                            dtype=v.choice(o, "output.dtype", "dtype", DTYPES, "half"),
                            channels=v.choice(o, "output.channels", "channels", CHANNELS, "A"))
        objs = data.get("objects")
        if not isinstance(objs, list) or not objs:
            v.fail("objects", "must be a non-empty list of objects, each with id, name and keyframes")
        objects = []
        for i, od in enumerate(objs):
            key = f"objects[{i}]"
            if not isinstance(od, dict):
                v.fail(key, "must be an object with id, name and keyframes")
            v.keys(od, key, {"id", "name", "keyframes", "colour"}, required={"id", "name", "keyframes"})
            oid = v.int(od, f"{key}.id", "id", limit="id")
            name = v.opt_str(od, f"{key}.name", "name")
            problem = object_name_problem(name)
            if problem:
                v.fail(f"{key}.name", problem)
            kfs = od.get("keyframes")
            if not isinstance(kfs, dict) or not kfs:
                v.fail(f"{key}.keyframes", "must map at least one source frame number to a mask file")
            keyframes, spelt = {}, {}
            for fk, mp in kfs.items():
                try:
                    frame = int(str(fk).strip())
                except ValueError:
                    v.fail(f"{key}.keyframes", f"key {fk!r} is not a frame number")
                if frame in spelt:
                    v.fail(f"{key}.keyframes", f"gives frame {frame} twice ({spelt[frame]!r} and {fk!r}); "
                           f"keep one mask per frame")
                spelt[frame] = fk
                if not (plate.first <= frame <= plate.last):
                    v.fail(f"{key}.keyframes[{fk}]",
                           f"frame {frame} is outside the plate range {plate.first}-{plate.last}")
                if not isinstance(mp, str) or not mp:
                    v.fail(f"{key}.keyframes[{fk}]", "must be a mask file path")
                keyframes[frame] = str(_resolve(base, mp))
            colour = od.get("colour")
            if colour is not None:
                if (not isinstance(colour, (list, tuple)) or len(colour) != 3
                        or not all(isinstance(c, (int, float)) for c in colour)):
                    v.fail(f"{key}.colour", "must be three numbers (R, G, B)")
                colour = tuple(float(c) for c in colour)
            objects.append(ShotObject(oid, name, dict(sorted(keyframes.items())), colour))
        _check_unique(v, objects)
        direction = v.choice(data, "direction", "direction", DIRECTIONS, "forward")
        shot = cls(plate=plate, objects=tuple(objects), output=output, engine=engine,
                   display=v.opt_str(ni, "network_input.display", "display"),
                   view=v.opt_str(ni, "network_input.view", "view"),
                   dilate=dilate, erode=erode, direction=direction, shot_file=shot_file)
        shot.check_output_pattern(where)
        return shot

    def check_output_pattern(self, where: str = "shot file") -> None:
        from plugin import framepattern
        name = os.path.basename(self.output.path)
        if not framepattern.has_token(name):
            raise ShotFileError(f"{where}: output.path {self.output.path!r} needs a frame token "
                                "(e.g. matte/sh010_{object}.####.exr)")
        if len(self.objects) > 1 and "{object}" not in self.output.path:
            raise ShotFileError(f"{where}: output.path {self.output.path!r} needs '{{object}}' "
                                f"since the shot has {len(self.objects)} objects")
        if not name.lower().endswith(".exr"):
            raise ShotFileError(f"{where}: output.path {self.output.path!r} must be an .exr sequence "
                                "(alpha is written as linear float EXR)")

    # -- output -------------------------------------------------------------------
    def to_dict(self, base_dir=None) -> dict:
        """The JSON form; paths relative to `base_dir` where they can be (else absolute)."""
        rel = (lambda p: _relative(p, base_dir)) if base_dir is not None else (lambda p: p)
        weights = self.engine.weights
        if weights != "auto" and not weights.startswith("stand-in"):
            weights = rel(weights)
        out = {
            "version": SHOT_VERSION,
            "plate": {"path": rel(self.plate.path), "first": self.plate.first, "last": self.plate.last,
                      "colourspace": self.plate.colourspace,
                      "ocio_config": (self.plate.ocio_config if _is_uri(self.plate.ocio_config or "")
                                      else rel(self.plate.ocio_config) if self.plate.ocio_config else None),
                      "frame_offset": self.plate.frame_offset},
            "network_input": {"display": self.display, "view": self.view},
            "objects": [],
            "mask_cleanup": {"dilate": self.dilate, "erode": self.erode},
            "engine": {"weights": weights, "model": self.engine.model, "warmup": self.engine.warmup,
                       "mem_every": self.engine.mem_every,
                       "max_mem_frames": self.engine.max_mem_frames, "top_k": self.engine.top_k,
                       "precision": self.engine.precision, "device": self.engine.device,
                       "max_internal_size": self.engine.max_internal_size},
            "output": {"path": rel(self.output.path), "dtype": self.output.dtype,
                       "channels": self.output.channels},
            "direction": self.direction,
        }
        if self.engine.model == MODELS[0]:  # the default stays unwritten: DESIGN's example, key for key
            del out["engine"]["model"]
        for o in self.objects:
            od = {"id": o.id, "name": o.name,
                  "keyframes": {str(f): rel(p) for f, p in sorted(o.keyframes.items())}}
            if o.colour is not None:
                od["colour"] = list(o.colour)
            out["objects"].append(od)
        return out

    def checked(self, path) -> "Shot":
        """This shot as `Shot.load` would read it back from `path`: every check of the run
        (names, ranges, keyframes inside the plate, the output pattern), one line on failure."""
        base = Path(path).expanduser().resolve().parent
        return Shot.from_dict(self.to_dict(base_dir=base), base_dir=base, shot_file=str(Path(path).resolve()))

    def to_json(self, base_dir=None) -> str:
        return json.dumps(self.to_dict(base_dir), indent=2) + "\n"

    def save(self, path) -> Path:
        """Write atomically (temp file in the same folder, then rename); paths relative to it."""
        path = Path(path).expanduser().resolve()
        text = self.to_json(base_dir=path.parent)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
            tmp.write_text(text, encoding="utf-8")
            os.replace(tmp, path)
        except OSError as err:
            raise ShotFileError(f"{path}: cannot write the shot file ({err.strerror or err})") from None
        return path

    # -- helpers ------------------------------------------------------------------
    def object_named(self, name: str) -> ShotObject:
        for o in self.objects:
            if o.name == name or str(o.id) == str(name):
                return o
        names = ", ".join(o.name for o in self.objects)
        raise ShotFileError(f"object {name!r} is not in the shot (objects: {names})")

    def with_objects(self, names) -> "Shot":
        """The same shot restricted to the named objects (names or ids)."""
        keep = [self.object_named(n) for n in names]
        return replace(self, objects=tuple(o for o in self.objects if o in keep))

    def with_frames(self, first: int, last: int) -> "Shot":
        """The same shot over frames first-last (inside the plate range; keyframes must stay inside)."""
        if first > last:
            raise ShotFileError(f"frame range {first}-{last}: the first frame is after the last")
        if first < self.plate.first or last > self.plate.last:
            raise ShotFileError(f"frame range {first}-{last} is outside the shot's plate range "
                                f"{self.plate.first}-{self.plate.last}")
        for o in self.objects:
            inside = [f for f in o.keyframes if first <= f <= last]
            if not inside:
                raise ShotFileError(f"object {o.name!r}: no keyframe inside frames {first}-{last} "
                                    f"(keyframes: {', '.join(map(str, o.keyframes))})")
        objs = tuple(replace(o, keyframes={f: p for f, p in o.keyframes.items() if first <= f <= last})
                     for o in self.objects)
        return replace(self, plate=replace(self.plate, first=first, last=last), objects=objs)


@dataclass(frozen=True)
class Limit:
    """The range a numeric setting may take (inclusive), and why it ends there."""

    low: int
    high: int
    why: str


# Every numeric setting's range, checked wherever a shot is made (shot file, command line,
# panel); README "Limits" lists this table. Dilate and erode are also held to the plate's size
# when the masks are read (`check_cleanup_for_plate`).
LIMITS: Dict[str, Limit] = {
    "dilate": Limit(0, 256, "mask clean-up in plate pixels; the cost grows with its square"),
    "erode": Limit(0, 256, "mask clean-up in plate pixels; the cost grows with its square"),
    "warmup": Limit(0, 1000, "first-frame refinements, one network step each; the official value is 10"),
    "mem_every": Limit(1, 10000, "frames between memory frames"),
    "max_mem_frames": Limit(1, 200, "memory frames kept; memory and time grow with it"),
    "top_k": Limit(1, 10000, "memory positions each pixel reads"),
    "max_internal_size": Limit(16, 16384, "the network input's shorter side in pixels"),
    "id": Limit(1, 65535, "object ids"),
    "frame": Limit(-9_999_999, 99_999_999, "source frame numbers"),
    "frame_offset": Limit(-99_999_999, 99_999_999, "host frame minus source frame"),
}
MAX_FRAMES = 1_000_000   # frames in one shot


def check_limit(name: str, value: int, where: str, label: Optional[str] = None) -> int:
    """`value` if inside LIMITS[name], else ShotFileError naming the setting and its range."""
    lim = LIMITS[name]
    if not lim.low <= value <= lim.high:
        raise ShotFileError(f"{where}: {label or name} is {_short(value)}; use {lim.low} to {lim.high} "
                            f"({lim.why})")
    return value


def check_cleanup_for_plate(dilate: int, erode: int, width: int, height: int) -> None:
    """Dilate and erode past an eighth of the plate's shorter side (at least the official 10)
    close the whole frame and take minutes: refuse them for this plate."""
    top = max(10, min(width, height) // 8)
    for name, value in (("dilate", dilate), ("erode", erode)):
        if value > top:
            raise ShotFileError(f"mask_cleanup.{name} {value} is too large for a {width}x{height} plate; "
                                f"use 0 to {top} (an eighth of its shorter side)")


def _short(value: Any) -> str:
    """A value as a message shows it: at most 40 characters."""
    try:
        text = repr(value)
    except RecursionError:
        return f"a {type(value).__name__} nested too deeply to show"
    return text if len(text) <= 40 else f"{text[:30]}... ({len(text)} characters)"


def object_name_problem(name: Optional[str]) -> Optional[str]:
    """Why `name` cannot name an object (it becomes part of the output file names), or None."""
    if not name or not _OBJECT_NAME.match(name):
        return (f"{name!r} must be letters, digits, '_', '.' or '-' "
                "(it becomes part of the output file names)")
    return None


@dataclass
class RunSettings:
    """A shot's run options as one flat, editable record (the panel's run box). Every default is
    the shot file's own, read from the classes above, and `specs`/`from_shot` convert both ways,
    so an editor and the run cannot disagree on a default."""

    weights: str = EngineSpec.weights
    model: str = EngineSpec.model
    warmup: int = EngineSpec.warmup
    mem_every: int = EngineSpec.mem_every
    max_mem_frames: int = EngineSpec.max_mem_frames
    top_k: int = EngineSpec.top_k
    precision: str = EngineSpec.precision
    device: str = EngineSpec.device
    max_internal_size: Optional[int] = EngineSpec.max_internal_size
    dilate: int = Shot.dilate
    erode: int = Shot.erode
    output_path: str = ""          # "" = the front end's default pattern
    dtype: str = OutputSpec.dtype
    channels: str = OutputSpec.channels
    direction: str = Shot.direction

    def engine(self) -> EngineSpec:
        return EngineSpec(**{f.name: getattr(self, f.name) for f in fields(EngineSpec)})

    def output(self, default_path: str) -> OutputSpec:
        return OutputSpec(path=self.output_path or default_path, dtype=self.dtype, channels=self.channels)

    @classmethod
    def from_shot(cls, shot: "Shot") -> "RunSettings":
        return cls(**{f.name: getattr(shot.engine, f.name) for f in fields(EngineSpec)},
                   dilate=shot.dilate, erode=shot.erode, output_path=shot.output.path,
                   dtype=shot.output.dtype, channels=shot.output.channels, direction=shot.direction)


_FRAME_TOKENS = re.compile(r"#+|%0?\d*d|@+")


def plate_stem(pattern: str) -> str:
    """'plates/sh010.####.exr' -> 'sh010'; 'clip.mov' -> 'clip'."""
    name = os.path.basename(pattern)
    name = _FRAME_TOKENS.split(name)[0].rstrip("._-") or os.path.splitext(name)[0]
    if "." in name:
        name = name.split(".")[0]
    return name or "shot"


def default_output_pattern(plate_path: str) -> str:
    """The alpha pattern beside the plate: <plate folder>/matte/<stem>_{object}.####.exr."""
    folder = os.path.dirname(os.path.abspath(plate_path))
    return os.path.join(folder, "matte", plate_stem(plate_path) + "_{object}.####.exr")


def default_shot_path(plate_path: str, output_pattern: str = "") -> str:
    """The shot file beside the outputs' folder (DESIGN: JSON beside the outputs)."""
    out = output_pattern or default_output_pattern(plate_path)
    folder = os.path.dirname(os.path.dirname(os.path.abspath(out)))
    return os.path.join(folder, plate_stem(plate_path) + ".matanyone.json")


def parse_frame_range(text: str) -> Tuple[int, int]:
    """`"1001-1100"` or `"1001"` -> (first, last). Negative frames: `-5--1`."""
    m = re.fullmatch(r"\s*(-?\d{1,12})\s*(?:[-:]\s*(-?\d{1,12})\s*)?", str(text))
    if not m:
        raise ShotFileError(f"frame range {_short(text)}: write it as FIRST-LAST, e.g. 1001-1100")
    first = int(m.group(1))
    last = int(m.group(2)) if m.group(2) is not None else first
    if last < first:
        raise ShotFileError(f"frame range {_short(text)}: the first frame is after the last")
    for frame in (first, last):
        check_limit("frame", frame, f"frame range {_short(text)}", "a frame")
    return first, last


def _check_unique(v: "_Validator", objects: List[ShotObject]) -> None:
    seen_ids, seen_names = set(), {}
    for i, o in enumerate(objects):
        if o.id in seen_ids:
            v.fail(f"objects[{i}].id", f"{o.id} is used by two objects")
        # Names become file names: on macOS and Windows disks `hero` and `Hero` are one file.
        other = seen_names.get(o.name.casefold())
        if other == o.name:
            v.fail(f"objects[{i}].name", f"{o.name!r} is used by two objects")
        if other is not None:
            v.fail(f"objects[{i}].name", f"{o.name!r} and {other!r} differ only in case, and would "
                   f"write the same files on macOS and Windows; rename one")
        seen_ids.add(o.id)
        seen_names[o.name.casefold()] = o.name


def _is_uri(p: str) -> bool:
    """`ocio://...` and other `scheme://` names: kept as given, never joined to a folder."""
    return bool(re.match(r"^[A-Za-z][A-Za-z0-9+.-]+://", p))


def _resolve(base: Path, p: str) -> Path:
    q = Path(os.path.expandvars(os.path.expanduser(p)))
    return Path(os.path.normpath(q if q.is_absolute() else (base / q)))


def _relative(p: str, base_dir) -> str:
    try:
        return Path(os.path.relpath(p, base_dir)).as_posix()
    except ValueError:  # another drive on Windows
        return p


class _Validator:
    """One-line errors that name the file and the key."""

    def __init__(self, where: str, base: Path):
        self.where, self.base = where, base

    def fail(self, key: str, what: str):
        raise ShotFileError(f"{self.where}: {key + ' ' if key else ''}{what}")

    def keys(self, d: dict, key: str, allowed, required=()):
        for k in required:
            if k not in d:
                self.fail(f"{key}.{k}" if key else k, "is missing")
        for k in d:
            if k not in allowed:
                self.fail(f"{key}.{k}" if key else k,
                          f"is not a known key (known: {', '.join(sorted(allowed))})")

    def obj(self, d: dict, key: str, default=None) -> dict:
        if key not in d or d[key] is None:
            if default is not None:
                return default
            self.fail(key, "is missing")
        val = d[key]
        if not isinstance(val, dict):
            self.fail(key, "must be a JSON object")
        return val

    def int(self, d, key, name, default=None, minimum=None, limit=None) -> int:
        if name not in d or d[name] is None:
            if default is None:
                self.fail(key, "is missing")
            return default
        val = d[name]
        if isinstance(val, bool) or not isinstance(val, int):
            self.fail(key, f"must be a whole number, not {_short(val)}")
        if minimum is not None and val < minimum:
            self.fail(key, f"must be at least {minimum}, not {val}")
        if limit is not None:
            check_limit(limit, val, self.where, key)
        return val

    def opt_int(self, d, key, name, minimum=None, limit=None) -> Optional[int]:
        if d.get(name) is None:
            return None
        return self.int(d, key, name, minimum=minimum, limit=limit)

    def opt_str(self, d, key, name) -> Optional[str]:
        val = d.get(name)
        if val is None:
            return None
        if not isinstance(val, str):
            self.fail(key, f"must be a string, not {_short(val)}")
        return val

    def choice(self, d, key, name, options, default) -> str:
        val = d.get(name)
        if val is None:
            return default
        if val not in options:
            self.fail(key, f"is {_short(val)}; use one of {', '.join(options)}")
        return val

    def path(self, d, key, name) -> str:
        val = self.opt_str(d, key, name)
        if not val:
            self.fail(key, "is missing")
        return str(_resolve(self.base, val))

    def opt_path(self, d, key, name) -> Optional[str]:
        val = self.opt_str(d, key, name)
        if val and _is_uri(val):
            return val              # e.g. ocio://studio-config-latest: not a file
        return str(_resolve(self.base, val)) if val else None
