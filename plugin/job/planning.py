"""What a run does, decided once and without touching a file: which objects are kept (their
outputs already hold these settings) and which run, the passes over the frames, which sink
each pass writes into, and whether saved state may be resumed. `direction` is read here and
nowhere else in the job."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List, Mapping, Optional, Sequence, Set, Tuple

from plugin.job.files import frames_in
from plugin.shot import Shot, ShotObject

WORK = "work"      # the backward pass of a two-way run: alphas kept aside to blend in
ALPHAS = "alphas"  # the alpha EXRs


@dataclass(frozen=True)
class Fingerprints:
    """What the outputs depend on: everything shared (`shared`) and each object's own inputs."""

    shared: str
    objects: Mapping[str, str]


@dataclass(frozen=True)
class Pass:
    """One walk over frames: `schedule` in stepping order; frames in `stepped` go through the
    engine, the rest only reach the sink (zeros, or the work frames blended in)."""

    direction: str                 # "forward" | "backward"
    schedule: List[int]
    stepped: frozenset
    sink: str                      # WORK | ALPHAS
    blend: bool = False            # ALPHAS of a two-way run: blend in the WORK frames

    def covers(self, obj: ShotObject, frame: int) -> bool:
        return covers(obj, self.direction, frame)


@dataclass(frozen=True)
class RunPlan:
    kept: List[ShotObject]
    to_run: List[ShotObject]
    passes: List[Pass]
    resume: bool                   # saved engine state of the same inputs may be continued
    carried: Dict[str, Set[int]] = field(default_factory=dict)  # frames already of these settings

    @property
    def total(self) -> int:
        return sum(len(p.schedule) for p in self.passes)


def plan(shot: Shot, record: Optional[dict], fingerprints: Fingerprints, *, complete_on_disk: Set[str],
         force: bool = False) -> RunPlan:
    """Decide a run.

    Args:
        shot: the shot as it runs (objects and frames already chosen).
        record: the run record beside the outputs (None: none, or `force`).
        fingerprints: of this run's inputs.
        complete_on_disk: names of objects whose every output frame is on disk.
        force: run everything again (keep nothing, resume nothing).
    Returns:
        RunPlan.
    """
    entries = {} if force or not record else (record.get("objects") or {})
    if not isinstance(entries, dict):
        entries = {}

    def same(o: ShotObject) -> dict:
        r = entries.get(o.name)
        ok = isinstance(r, dict) and r.get("global") == fingerprints.shared \
            and r.get("fingerprint") == fingerprints.objects[o.name]
        return r if ok else {}

    kept = [o for o in shot.objects if same(o).get("complete") and o.name in complete_on_disk]
    to_run = [o for o in shot.objects if o not in kept]
    carried = {o.name: frames_in(same(o).get("current")) for o in to_run}
    return RunPlan(kept, to_run, passes(shot, to_run) if to_run else [], not force, carried)


def passes(shot: Shot, objects: Sequence[ShotObject]) -> List[Pass]:
    first, last = shot.plate.first, shot.plate.last
    start_f = min(o.first_keyframe for o in objects)
    start_b = max(o.last_keyframe for o in objects)
    fwd = Pass("forward", list(range(first, last + 1)), frozenset(range(start_f, last + 1)), ALPHAS)
    if shot.direction == "forward":
        return [fwd]
    if shot.direction == "backward":
        return [Pass("backward", list(range(last, first - 1, -1)), frozenset(range(first, start_b + 1)), ALPHAS)]
    back = list(range(start_b, first - 1, -1))
    return [Pass("backward", back, frozenset(back), WORK), Pass(fwd.direction, fwd.schedule, fwd.stepped, ALPHAS,
                                                                  blend=True)]


def first_step(shot: Shot) -> int:
    """The frame a fresh run of every object steps first (what a job reads while the network loads)."""
    first = passes(shot, shot.objects)[0]
    return next(f for f in first.schedule if f in first.stepped)


def covers(obj: ShotObject, direction: str, frame: int) -> bool:
    """True where a pass in `direction` gives `obj` an alpha (from its first keyframe on)."""
    if direction == "forward":
        return frame >= obj.first_keyframe
    return frame <= obj.last_keyframe


def blend_weight(obj: ShotObject, frame: int) -> float:
    """Weight of the forward result where both passes cover `frame` (by distance to keyframes)."""
    before = max(f for f in obj.keyframes if f <= frame)
    after = min(f for f in obj.keyframes if f >= frame)
    d_f, d_b = frame - before, after - frame
    if d_f + d_b == 0:
        return 0.5
    return d_b / float(d_f + d_b)


def internal_shape(height: int, width: int, max_internal_size: Optional[int]) -> Optional[Tuple[int, int]]:
    """(height, width) of the network input when the shorter side exceeds `max_internal_size`,
    else None (native size). As the official code: the shorter side becomes max_internal_size,
    sizes truncate."""
    if not max_internal_size:
        return None
    short = min(width, height)
    if short <= max_internal_size:
        return None
    return int(height / short * max_internal_size), int(width / short * max_internal_size)
