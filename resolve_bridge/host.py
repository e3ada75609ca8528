"""DaVinci Resolve as a `ui.host.HostAdapter`: the timeline clip under the playhead in,
its alpha attached as a clip matte (or timeline matte, or media pool clip) out.

Runs in whichever Python started the panel (Resolve's own or the product's): standard
library only. Every call on `resolve` objects is one of Resolve's documented scripting
calls (checked against `fusionscript-stubs` by the tests).
"""
from __future__ import annotations

import os
import subprocess
from typing import Callable, Dict, List, Optional, Sequence, Tuple

from resolve_bridge.media import (frame_paths, frame_rate, is_sequence, matte_matches, printf_pattern,
                                  sequence_pattern, source_range, timecode_to_frames)
from ui.host import PlateRef

from plugin.errors import OutputError, PlateError, UserError

MATTE_MODES = ("clip", "timeline", "bin")  # clip matte | timeline matte | media pool clip
MATTE_FORMATS = ("exr", "prores4444")      # the EXR sequence itself | a ProRes 4444 movie of it
MATTE_BIN = "MatAnyone"
_COLOUR_MANAGED = ("davinciYRGBColorManaged", "davinciYRGBColorManagedv2")
# Resolve input colour space names -> OCIO built-in studio config names.
RESOLVE_TO_OCIO = {
    "Rec.709 Gamma 2.4": "Gamma 2.4 Encoded Rec.709",
    "Rec.709 Gamma 2.2": "Gamma 2.2 Encoded Rec.709",
    "Rec.709 (Scene)": "Camera Rec.709",
    "sRGB": "sRGB Encoded Rec.709 (sRGB)",
    "Linear": "Linear Rec.709 (sRGB)",
    "Rec.709 Linear": "Linear Rec.709 (sRGB)",
    "Rec.2020 Linear": "Linear Rec.2020",
    "P3-D65": "Gamma 2.6 P3-D65 - Display",
    "ACEScg": "ACEScg",
    "ACEScct": "ACEScct",
    "ARRI LogC3": "ARRI LogC3 (EI800)",
    "ARRI LogC4": "ARRI LogC4",
    "Sony S-Gamut3/S-Log3": "S-Log3 S-Gamut3",
    "Sony S-Gamut3.Cine/S-Log3": "S-Log3 S-Gamut3.Cine",
    "RED Wide Gamut RGB/Log3G10": "Log3G10 REDWideGamutRGB",
    "Canon Cinema Gamut/Canon Log 2": "CanonLog2 CinemaGamut D55",
    "Canon Cinema Gamut/Canon Log 3": "CanonLog3 CinemaGamut D55",
    "Panasonic V-Gamut/V-Log": "V-Log V-Gamut",
    "DaVinci Wide Gamut Intermediate": "DaVinci Intermediate WideGamut",
    "Blackmagic Design Wide Gamut Gen 5/Film Gen 5": "BMDFilm WideGamut Gen5",
    "Apple Log": "Apple Log",
}


def ocio_name(resolve_name: str) -> Optional[str]:
    """The OCIO name for a Resolve input colour space, or None when it has none."""
    return RESOLVE_TO_OCIO.get((resolve_name or "").strip())


def _optional_call(obj, name: str):
    """`obj.name()`, or None where this Resolve lacks the call (its objects then give None)."""
    try:
        value = getattr(obj, name)()
    except (AttributeError, TypeError):
        return None
    return value


# ---- the host ------------------------------------------------------------------------

class ResolveHost:
    """The `HostAdapter` the panel gets for DaVinci Resolve (Studio: scripting needs it)."""

    name = "resolve"

    def __init__(self, resolve, matte_mode: str = "clip", matte_format: str = "exr",
                 run_command: Optional[Callable[[Sequence[str]], None]] = None):
        if matte_mode not in MATTE_MODES:
            raise UserError(f"matte mode '{matte_mode}' is not one of {', '.join(MATTE_MODES)}.")
        if matte_format not in MATTE_FORMATS:
            raise UserError(f"matte format '{matte_format}' is not one of {', '.join(MATTE_FORMATS)}.")
        self.resolve = resolve
        self.matte_mode = matte_mode
        self.matte_format = matte_format
        self._run_command = run_command or _run_worker_command
        self.chosen = None  # the TimelineItem the user picked, when several overlap

    # -- where we are
    def project(self):
        project = self.resolve.GetProjectManager().GetCurrentProject()
        if not project:
            raise UserError("No project is open in DaVinci Resolve: open the project with the clip to matte.")
        return project

    def timeline(self):
        timeline = self.project().GetCurrentTimeline()
        if not timeline:
            raise UserError("No timeline is open in DaVinci Resolve: open the timeline with the clip to matte.")
        return timeline

    def fps(self) -> float:
        return frame_rate(self.timeline().GetSetting("timelineFrameRate"), 24.0)

    def current_frame(self) -> int:
        return timecode_to_frames(self.timeline().GetCurrentTimecode(), self.fps())

    def frame_range(self) -> Tuple[int, int]:
        timeline = self.timeline()
        return int(timeline.GetStartFrame()), int(timeline.GetEndFrame())

    # -- which clip
    def clips_at_playhead(self) -> List[Tuple[int, object]]:
        """(video track index, item) of every media clip under the playhead, top track first."""
        timeline, frame = self.timeline(), self.current_frame()
        found = []
        for track in range(int(timeline.GetTrackCount("video")), 0, -1):
            for item in timeline.GetItemListInTrack("video", track) or []:
                if item.GetStart(False) <= frame < item.GetEnd(False) and self._has_media(item):
                    found.append((track, item))
        return found

    def describe(self, track: int, item) -> str:
        """How the clip picker names a candidate: 'V2  A003_C012 (sh010.[1001-1100].exr)'."""
        path = item.GetMediaPoolItem().GetClipProperty("File Path")
        return f"V{track}  {item.GetName()} ({os.path.basename(path)})"

    def choose(self, item) -> None:
        """Use `item` (one of `clips_at_playhead`) from now on, whatever the playhead does."""
        self.chosen = item

    def selected_item(self):
        if self.chosen is not None:
            return self.chosen
        candidates = self.clips_at_playhead()
        if not candidates:
            timeline = self.timeline()
            raise PlateError(
                f"No clip with media under the playhead on timeline '{timeline.GetName()}' at "
                f"{timeline.GetCurrentTimecode()}: park the playhead on the clip to matte.")
        if len(candidates) == 1:
            return candidates[0][1]
        # Several overlap: Resolve's current video item is the top one; the picker lets the user choose.
        current = self.timeline().GetCurrentVideoItem()
        ids = {item.GetUniqueId(): item for _, item in candidates}
        return ids.get(current.GetUniqueId() if current else None, candidates[0][1])

    # -- the plate
    def selected_plate(self) -> PlateRef:
        item = self.selected_item()
        media = item.GetMediaPoolItem()
        raw_path = media.GetClipProperty("File Path")
        if not raw_path:
            raise PlateError(f"Clip '{item.GetName()}' has no media file (offline?): relink it, then try again.")
        pattern, seq_first, _ = sequence_pattern(raw_path)
        clip_fps = frame_rate(media.GetClipProperty("FPS"), self.fps())
        media_base = timecode_to_frames(media.GetClipProperty("Start TC") or "00:00:00:00", clip_fps)
        frames = int(media.GetClipProperty("Frames") or 0)
        sequence = is_sequence(raw_path)
        if sequence and seq_first is None:
            seq_first = media_base  # Resolve derives a sequence's start timecode from its first number
        start, end = _optional_call(item, "GetSourceStartFrame"), _optional_call(item, "GetSourceEndFrame")
        left = item.GetLeftOffset(False)
        if start is None:  # before Resolve 18.5: the left offset is the first used media frame
            start, end = left, None
        duration = int(item.GetDuration(False))
        try:
            first, last = source_range(int(start), None if end is None else int(end), duration,
                                       media_base, frames, seq_first if sequence else 1,
                                       None if left is None else int(left))
        except UserError as err:
            raise PlateError(f"Clip '{item.GetName()}': {err}") from None
        return PlateRef(
            path=pattern,
            first=first,
            last=last,
            colourspace=self.input_colourspace(media),
            ocio_config=None,
            frame_offset=int(item.GetStart(False)) - first,
            label=item.GetName(),
            extra={"item": item.GetUniqueId(), "media": media.GetUniqueId(),
                   "kind": "sequence" if sequence else "movie"},
        )

    def input_colourspace(self, media) -> Optional[str]:
        """The clip's input colour space as an OCIO name where the project is colour-managed."""
        project = self.project()
        if project.GetSetting("colorScienceMode") not in _COLOUR_MANAGED:
            return None
        name = media.GetClipProperty("Input Color Space")
        if not name or name == "Project":
            name = project.GetSetting("colorSpaceInput")
        return ocio_name(name)

    # -- the matte back
    def bring_back(self, alpha_patterns: Dict[str, str], plate: PlateRef, shot_path: str) -> None:
        item = self._item_by_id(plate.extra.get("item"))
        media = item.GetMediaPoolItem()
        storage, pool = self.resolve.GetMediaStorage(), self.project().GetMediaPool()
        base = os.path.dirname(os.path.abspath(shot_path)) if shot_path else os.getcwd()
        shot = os.path.basename(shot_path or "").split(".")[0] or plate.label
        outputs = {}
        for obj, pattern in alpha_patterns.items():  # every object complete before any is attached
            pattern = pattern if os.path.isabs(pattern) else os.path.normpath(os.path.join(base, pattern))
            paths = frame_paths(pattern, plate.first, plate.last)
            missing = [p for p in paths if not os.path.isfile(p)]
            if missing:
                raise OutputError(f"matte frame {missing[0]} is missing: run the shot again before attaching it.")
            outputs[obj] = (pattern, paths)
        if self.matte_format == "prores4444":
            outputs = {obj: self._movie_matte(obj, pattern, shot_path) for obj, (pattern, _) in outputs.items()}
        for obj, (pattern, paths) in outputs.items():
            if self.matte_mode == "clip":
                self._replace_clip_matte(storage, pool, media, pattern, paths, obj, f"MatAnyone {shot} {obj}")
            elif self.matte_mode == "timeline":
                self._replace_timeline_matte(storage, pool, pattern, paths, obj)
            else:
                self._replace_bin_clip(pool, pattern, plate, obj)

    def _movie_matte(self, obj: str, pattern: str, shot_path: str) -> Tuple[str, List[str]]:
        """A ProRes 4444 movie of `obj`'s finished EXR matte (picture and alpha = the matte),
        written beside the EXRs by the product's own interpreter; the EXRs stay the master."""
        if not shot_path:
            raise OutputError("A ProRes matte needs the shot file: run the shot from the panel, then attach again.")
        stem = os.path.basename(pattern).split("#")[0].split("%")[0].rstrip("._") or obj
        movie = os.path.join(os.path.dirname(pattern), stem + "_matte4444.mov")
        self._run_command(["-m", "plugin", "run", os.path.abspath(shot_path), "--object", obj,
                           "--preview", movie, "--preview-kind", "matte4444", "--quiet"])
        if not os.path.isfile(movie):
            raise OutputError(f"The ProRes matte {movie} was not written: see the shot's log beside it.")
        return movie, [movie]

    def _replace_clip_matte(self, storage, pool, media, pattern, paths, obj, key) -> None:
        """Swap this shot's matte of `obj` on the clip; the clip's metadata remembers where
        the last one was, so a new output folder (v002) still replaces it."""
        previous = media.GetThirdPartyMetadata(key) or ""
        old = [p for p in (pool.GetClipMatteList(media) or [])
               if matte_matches(p, pattern) or (previous and matte_matches(p, previous))]
        if old and not pool.DeleteClipMattes(media, old):
            raise OutputError(f"Resolve would not remove the previous matte of '{obj}' ({old[0]}): "
                              "remove it in the Media Pool, then try again.")
        if not storage.AddClipMattesToMediaPool(media, paths):
            raise OutputError(f"Resolve would not add {pattern} as a clip matte: check the files open in Resolve.")
        media.SetThirdPartyMetadata(key, pattern)

    def _replace_timeline_matte(self, storage, pool, pattern, paths, obj) -> None:
        folder = pool.GetCurrentFolder()
        old = [m for m in (pool.GetTimelineMatteList(folder) or [])
               if matte_matches(m.GetClipProperty("File Path"), pattern)]
        if old:
            pool.DeleteClips(old)
        if not storage.AddTimelineMattesToMediaPool(paths):
            raise OutputError(f"Resolve would not add {pattern} as a timeline matte for '{obj}'.")

    def _replace_bin_clip(self, pool, pattern, plate, obj) -> None:
        root = pool.GetRootFolder()
        folder = next((f for f in root.GetSubFolderList() if f.GetName() == MATTE_BIN), None)
        folder = folder or pool.AddSubFolder(root, MATTE_BIN)
        pool.SetCurrentFolder(folder)
        old = [c for c in folder.GetClipList() if matte_matches(c.GetClipProperty("File Path"), pattern)]
        if old:
            pool.DeleteClips(old)
        printf = printf_pattern(pattern)
        info = {"FilePath": printf, "StartIndex": plate.first, "EndIndex": plate.last} if printf else {"FilePath": pattern}
        if not pool.ImportMedia([info]):
            raise OutputError(f"Resolve would not import {pattern} into the '{MATTE_BIN}' bin for '{obj}'.")

    # -- helpers
    def _has_media(self, item) -> bool:
        media = item.GetMediaPoolItem()
        return bool(media and media.GetClipProperty("File Path"))

    def _item_by_id(self, unique_id):
        if self.chosen is not None and self.chosen.GetUniqueId() == unique_id:
            return self.chosen
        timeline = self.timeline()
        for track in range(1, int(timeline.GetTrackCount("video")) + 1):
            for item in timeline.GetItemListInTrack("video", track) or []:
                if item.GetUniqueId() == unique_id:
                    return item
        raise PlateError("The matted clip is no longer on the current timeline: open that timeline, then attach again.")


def _run_worker_command(args: Sequence[str]) -> None:
    """Run `<worker python> ARGS` (the product's own interpreter: Resolve's Python has no
    torch, numpy or PyAV); its one-line error becomes ours."""
    from plugin.client import find_worker_python

    proc = subprocess.run([find_worker_python(), *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          universal_newlines=True)
    if proc.returncode != 0:
        lines = [line for line in proc.stderr.splitlines() if line.strip()]
        raise OutputError(lines[-1] if lines else f"the matte movie could not be written (exit {proc.returncode}).")
