"""The interface a host (Nuke, Resolve) offers the panel. Imports no host module.

The standalone app passes `host=None`; the panel and its controller know only this
interface, so every host runs the same panel code (STYLE.md, 14).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, Optional, Tuple

try:  # typing.Protocol exists from 3.8; kept explicit for hosts' Pythons
    from typing import Protocol
except ImportError:  # pragma: no cover
    Protocol = object  # type: ignore


@dataclass(frozen=True)
class PlateRef:
    """A plate as the host knows it, in the product's terms.

    path: a sequence pattern (`####`/`%04d`) or a movie file.
    first, last: source frame numbers to matte (inclusive).
    colourspace: the OCIO colourspace name of the plate, or None to guess.
    ocio_config: the host's OCIO config path when it uses one, else None.
    frame_offset: host frame = source frame + frame_offset (recorded in the shot file).
    label: how the host names it (node or clip name), for titles and backdrops.
    extra: host-specific identity (node name, timeline item id) the bridge needs back.
    output_dir: the host's folder for this plate's outputs when the artist sets none (Nuke: beside
        the script, since plate folders are often read-only), else None (beside the plate).
    """

    path: str
    first: int
    last: int
    colourspace: Optional[str] = None
    ocio_config: Optional[str] = None
    frame_offset: int = 0
    label: str = ""
    extra: Dict[str, str] = field(default_factory=dict)
    output_dir: Optional[str] = None


class HostAdapter(Protocol):
    """What the panel asks of a host; each method is a few host calls."""

    name: str  # "nuke" | "hiero" | "resolve"

    def selected_plate(self) -> PlateRef:
        """The plate the artist has selected; raises a UserError-like exception with one line if none."""

    def frame_range(self) -> Tuple[int, int]:
        """The host's current frame range, in host frame numbers."""

    def current_frame(self) -> int:
        """The host's current frame, in host frame numbers."""

    def bring_back(self, alpha_patterns: Dict[str, str], plate: PlateRef, shot_path: str) -> None:
        """Put the finished alpha sequences (object name -> EXR pattern) back into the host."""
