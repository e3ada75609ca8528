"""The panel's state as plain data (no Qt): plate, objects, SAM clicks, undo steps."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

# Object colours chosen away from skin tones (hues ~0-50 degrees) and from the UI's orange accent:
# cyan, lime, violet, blue, magenta, green, yellow-green, sky.
PALETTE = ("#2ee6ff", "#8cff3a", "#b45cff", "#3d7bff", "#ff3dd2", "#3dffb0", "#e6ff3d", "#7ab8ff")
UNDO_DEPTH = 100
Rect = Tuple[int, int, int, int]  # x, y, width, height in plate pixels


@dataclass
class PlateInfo:
    """What `open_plate` told us about the plate."""

    path: str
    first: int
    last: int
    frames: List[int]
    width: int
    height: int
    colourspace: Optional[str] = None
    ocio_config: Optional[str] = None
    frame_offset: int = 0
    displays: Dict[str, List[str]] = field(default_factory=dict)
    fps: Optional[float] = None
    colourspace_guess: Optional[str] = None   # what the worker guessed from the file (marked in the menu)
    colourspaces: List[str] = field(default_factory=list)  # the OCIO config's, for the plate colour menu
    applied: Optional[List[str]] = None       # [display, view] the viewer applies, as the worker said
    shown_as_file: bool = False               # the worker said: display-referred, shown as the file


@dataclass
class SamState:
    """The clicks that made one object's mask at one keyframe (plate pixels)."""

    points_pos: Tuple[Tuple[float, float], ...] = ()
    points_neg: Tuple[Tuple[float, float], ...] = ()
    box: Optional[Tuple[float, float, float, float]] = None


@dataclass
class MattedObject:
    id: int
    name: str
    colour: str
    visible: bool = True
    masks: Dict[int, object] = field(default_factory=dict)  # source frame -> mask image (plate size)


@dataclass
class Edit:
    """One undoable change of one object's mask at one frame."""

    obj_id: int
    frame: int
    rect: Optional[Rect]        # None: the whole mask (before/after are whole masks or None)
    before: object              # patch, whole mask, or None (no keyframe before)
    after: object
    label: str
    sam_before: Optional[SamState] = None
    sam_after: Optional[SamState] = None


@dataclass
class ObjectRemoval:
    """One undoable removal of an object with all its masks and clicks."""

    obj: MattedObject
    index: int
    sam: Dict[int, SamState]
    label: str = "remove object"


@dataclass
class ObjectChange:
    """One undoable rename or recolour of an object."""

    obj_id: int
    field: str          # "name" | "colour"
    before: str
    after: str

    @property
    def label(self) -> str:
        return "rename" if self.field == "name" else "colour"
