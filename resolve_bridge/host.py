"""DaVinci Resolve as a `ui.host.HostAdapter`: the timeline clip under the playhead in,
its alpha attached as a clip matte (or timeline matte, or media pool clip) out.

Runs in whichever Python started the panel (Resolve's own or the product's): standard
library only. Every call on `resolve` objects is one of Resolve's documented scripting
calls, used only from the release whose README documents it, with that README's
parameters (the tests run against a fake of each release from 18.6 to 21).
"""
from __future__ import annotations

import os
from typing import Dict, List, Optional, Tuple

from resolve_bridge.media import (check_speed, frame_paths, frame_rate, is_sequence, matte_matches,
                                  printf_pattern, sequence_form, sequence_pattern, source_frame,
                                  timecode_to_frames, timeline_frame, used_frames)
from resolve_bridge.record import MatteRecord
from ui.host import PlateRef

from plugin.errors import OutputError, PlateError, UserError

MATTE_MODES = ("clip", "timeline", "bin")  # clip matte | timeline matte | media pool clip
MATTE_FORMATS = ("exr", "prores4444")      # the EXR sequence itself | a ProRes 4444 movie of it
MATTE_BIN = "MatAnyone"
_COLOUR_MANAGED = ("davinciYRGBColorManaged", "davinciYRGBColorManagedv2")
SUBFRAME_CALLS = (19, 0, 2)  # GetStart/GetEnd/GetDuration/GetLeftOffset(subframe_precision) from here
SOURCE_FRAME_CALLS = (19, 0, 2)  # Get/SetThirdPartyMetadata, GetSourceStartFrame/EndFrame from here
PLAYHEAD_PAGES = ("cut", "edit", "color", "fairlight", "deliver")  # where GetCurrentTimecode answers
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


def resolve_version(resolve) -> Tuple[int, int, int]:
    """(major, minor, patch) from `Resolve.GetVersion()` (every release since 16)."""
    fields = list(resolve.GetVersion() or [])[:3]
    try:
        return tuple(int(v) for v in fields + [0] * (3 - len(fields)))  # type: ignore[return-value]
    except (TypeError, ValueError):
        return (0, 0, 0)


# ---- the host ------------------------------------------------------------------------

class ResolveHost:
    """The `HostAdapter` the panel gets for DaVinci Resolve (18.6 and later, free or Studio)."""

    name = "resolve"
    # What the panel writes for Resolve (plugin.protocol.CHANNELS): a grey RGBA matte in a layer
    # named after the object, as Resolve's own External Matte Saver writes one.
    output_channels = "matte"

    def __init__(self, resolve, matte_mode: str = "clip", matte_format: str = "exr"):
        if matte_mode not in MATTE_MODES:
            raise UserError(f"matte mode '{matte_mode}' is not one of {', '.join(MATTE_MODES)}.")
        if matte_format not in MATTE_FORMATS:
            raise UserError(f"matte format '{matte_format}' is not one of {', '.join(MATTE_FORMATS)}.")
        self.resolve = resolve
        self.version = resolve_version(resolve)
        self.matte_mode = matte_mode
        self.matte_format = matte_format
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
        timecode = self.timeline().GetCurrentTimecode()
        if not timecode:  # Resolve answers only on the Cut, Edit, Color, Fairlight and Deliver pages
            page = self.resolve.GetCurrentPage() or "current"
            raise UserError(f"Resolve gives no playhead position on the {page.capitalize()} page: switch to "
                            "the Edit or Color page, park the playhead on the clip, then run MatAnyone again.")
        return timecode_to_frames(timecode, self.fps())

    def frame_range(self) -> Tuple[int, int]:
        timeline = self.timeline()
        return int(timeline.GetStartFrame()), int(timeline.GetEndFrame())

    def _frames(self, item, call: str) -> int:
        """A TimelineItem frame count, called as this release's README has it."""
        method = getattr(item, call)
        return int(method(False) if self.version >= SUBFRAME_CALLS else method())

    # -- which clip
    def clips_at_playhead(self) -> List[Tuple[int, object]]:
        """(video track index, item) of every enabled media clip under the playhead on an
        enabled track, top track first."""
        timeline, frame = self.timeline(), self.current_frame()
        found = []
        for track in range(int(timeline.GetTrackCount("video")), 0, -1):
            if not timeline.GetIsTrackEnabled("video", track):
                continue
            for item in timeline.GetItemListInTrack("video", track) or []:
                if self._frames(item, "GetStart") <= frame < self._frames(item, "GetEnd") \
                        and item.GetClipEnabled() and self._has_media(item):
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
                f"No enabled clip with media under the playhead on timeline '{timeline.GetName()}' at "
                f"{timeline.GetCurrentTimecode()}: park the playhead on the clip to matte.")
        return candidates[0][1]  # the top enabled track's clip, as Resolve shows it

    # -- the plate
    def selected_plate(self) -> PlateRef:
        item = self.selected_item()
        media = item.GetMediaPoolItem()
        raw_path = media.GetClipProperty("File Path")
        if not raw_path:
            raise PlateError(f"Clip '{item.GetName()}' has no media file (offline?): relink it, then try again.")
        pattern, seq_first, _ = sequence_pattern(raw_path)
        timeline_fps = self.fps()
        clip_fps = frame_rate(media.GetClipProperty("FPS"), timeline_fps)
        sequence = is_sequence(raw_path)
        first_number = (seq_first if seq_first is not None else _int(media.GetClipProperty("Start"), 1)) if sequence else 1
        try:
            first, last = used_frames(self._frames(item, "GetLeftOffset"), self._frames(item, "GetDuration"),
                                      clip_fps, timeline_fps, _int(media.GetClipProperty("Frames"), 0),
                                      first_number)
            if self.version >= SOURCE_FRAME_CALLS:
                check_speed(item.GetSourceStartFrame(), item.GetSourceEndFrame(), last - first + 1)
        except UserError as err:
            raise PlateError(f"Clip '{item.GetName()}': {err}") from None
        start = self._frames(item, "GetStart")
        return PlateRef(
            path=pattern,
            first=first,
            last=last,
            colourspace=self.input_colourspace(media),
            ocio_config=None,
            # the shot file's plain offset, exact where clip and timeline share a rate; the
            # bridge maps frames with source_frame/timeline_frame, which know both rates
            frame_offset=start - first,
            label=item.GetName(),
            extra={"item": item.GetUniqueId(), "media": media.GetUniqueId(),
                   "kind": "sequence" if sequence else "movie", "media_first": str(first_number),
                   "start_tc": media.GetClipProperty("Start TC") or "", "fps": f"{clip_fps:g}",
                   "timeline_start": str(start), "timeline_fps": f"{timeline_fps:g}"},
        )

    def source_frame(self, plate: PlateRef, frame: int) -> int:
        """The source frame of `plate` that the timeline shows at timeline frame `frame`."""
        return source_frame(frame, *self._clock(plate))

    def timeline_frame(self, plate: PlateRef, source: int) -> int:
        """The timeline frame that shows source frame `source` of `plate`."""
        return timeline_frame(source, *self._clock(plate))

    def playhead_source_frame(self, plate: PlateRef) -> int:
        """The source frame under the playhead, kept within the plate."""
        return min(max(self.source_frame(plate, self.current_frame()), plate.first), plate.last)

    @staticmethod
    def _clock(plate: PlateRef) -> Tuple[int, int, float, float]:
        extra = plate.extra or {}
        timeline_fps = frame_rate(extra.get("timeline_fps"), 24.0)
        return (_int(extra.get("timeline_start"), plate.first + plate.frame_offset), plate.first,
                frame_rate(extra.get("fps"), timeline_fps), timeline_fps)

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
    def matte_movies(self, alpha_patterns: Dict[str, str], plate: PlateRef, shot_path: str) -> Dict[str, object]:
        """The worker requests (`plugin.protocol.WriteMatteMovie`) that make the ProRes 4444
        mattes to attach instead of the EXRs (none for EXR mattes). Each movie starts at the
        media's first frame with its start timecode and frame rate, so it lines up with the
        clip by position and by timecode; the EXRs stay the master."""
        if self.matte_format != "prores4444":
            return {}
        if not shot_path:
            raise OutputError("A ProRes matte needs the shot file: run the shot from the panel, then attach again.")
        from plugin.protocol import WriteMatteMovie

        extra, base = plate.extra or {}, os.path.dirname(os.path.abspath(shot_path))
        requests = {}
        for obj, pattern in alpha_patterns.items():
            pattern = pattern if os.path.isabs(pattern) else os.path.normpath(os.path.join(base, pattern))
            stem = os.path.basename(pattern).split("#")[0].split("%")[0].rstrip("._") or obj
            requests[obj] = WriteMatteMovie(
                shot_path=os.path.abspath(shot_path), object=obj,
                path=os.path.join(os.path.dirname(pattern), stem + "_matte4444.mov"),
                start=min(_int(extra.get("media_first"), plate.first), plate.first),
                timecode=extra.get("start_tc") or None, fps=frame_rate(extra.get("fps"), 0.0) or None)
        return requests

    def bring_back(self, alpha_patterns: Dict[str, str], plate: PlateRef, shot_path: str) -> None:
        item = self._item_by_id(plate.extra.get("item"))
        media = item.GetMediaPoolItem()
        base = os.path.dirname(os.path.abspath(shot_path)) if shot_path else os.getcwd()
        shot = os.path.basename(shot_path or "").split(".")[0] or plate.label
        record = MatteRecord(shot_path)
        outputs = {}
        for obj, pattern in alpha_patterns.items():  # every object complete before any is attached
            pattern = pattern if os.path.isabs(pattern) else os.path.normpath(os.path.join(base, pattern))
            missing = [p for p in frame_paths(pattern, plate.first, plate.last) if not os.path.isfile(p)]
            if missing:
                raise OutputError(f"matte frame {missing[0]} is missing: run the shot again before attaching it.")
            outputs[obj] = pattern
        for obj, pattern in outputs.items():
            key = f"MatAnyone {shot} {obj}"
            matte = sequence_form(pattern, plate.first, plate.last)
            if self.matte_mode == "clip":
                self._replace_clip_matte(media, pattern, matte, key, record)
            else:
                self._replace_in_bin(pattern, matte, plate, key, record)

    def _previous(self, media, key: str, record: MatteRecord) -> Optional[str]:
        """Where this shot's last matte of an object went: the clip's third-party metadata
        (Resolve 19.0.2 and later), else the product's own record."""
        if self.version >= SOURCE_FRAME_CALLS:
            value = media.GetThirdPartyMetadata(key)
            if value:
                return value
        return record.get(media.GetUniqueId(), key)

    def _remember(self, media, key: str, matte: str, record: MatteRecord) -> None:
        record.set(media.GetUniqueId(), key, matte)
        if self.version >= SOURCE_FRAME_CALLS:
            media.SetThirdPartyMetadata(key, matte)

    def _replace_clip_matte(self, media, pattern: str, matte: str, key: str, record: MatteRecord) -> None:
        """Attach `matte` to the clip, then remove this shot's previous matte of the object
        (never another shot's: two cuts of one source share the clip's mattes). Adding first
        means a failed add leaves the old matte in place."""
        storage, pool = self.resolve.GetMediaStorage(), self.project().GetMediaPool()
        previous = self._previous(media, key, record)
        listed = list(pool.GetClipMatteList(media) or [])
        mine = [p for p in listed if matte_matches(p, pattern) or (previous and matte_matches(p, previous))]
        if matte in listed:  # the same files again: Resolve reads the new frames from them
            old = [p for p in mine if p != matte]
        else:
            if not storage.AddClipMattesToMediaPool(media, [matte]):
                raise OutputError(f"Resolve would not add {matte} as a clip matte: check that the files "
                                  "open in Resolve (the previous matte is still attached).")
            old = mine
        self._remember(media, key, matte, record)
        if old and not pool.DeleteClipMattes(media, old):
            raise OutputError(f"The new matte is attached but Resolve would not remove the previous one "
                              f"({old[0]}): remove it in the Media Pool if you no longer need it.")

    def _replace_in_bin(self, pattern: str, matte: str, plate: PlateRef, key: str, record: MatteRecord) -> None:
        """Add the matte to the MatAnyone bin (as a timeline matte or a clip), then remove
        this shot's previous one from that bin unless a timeline uses it. The Media Pool's
        current folder is put back as it was."""
        storage, pool = self.resolve.GetMediaStorage(), self.project().GetMediaPool()
        folder = self._matte_bin(pool)
        owner = "bin:" + (plate.extra.get("media") or "")
        previous = record.get(owner, key)
        listed = pool.GetTimelineMatteList(folder) if self.matte_mode == "timeline" else folder.GetClipList()
        old = [c for c in (listed or []) if matte_matches(c.GetClipProperty("File Path"), pattern)
               or (previous and matte_matches(c.GetClipProperty("File Path"), previous))]
        current = pool.GetCurrentFolder()
        pool.SetCurrentFolder(folder)
        try:
            if self.matte_mode == "timeline":
                made = storage.AddTimelineMattesToMediaPool([matte])
            else:
                printf = printf_pattern(pattern)
                info = [{"FilePath": printf, "StartIndex": plate.first, "EndIndex": plate.last}] if printf else [pattern]
                made = pool.ImportMedia(info)
        finally:
            if current:
                pool.SetCurrentFolder(current)
        if not made:
            raise OutputError(f"Resolve would not add {matte} to the '{MATTE_BIN}' bin "
                              f"(the previous matte is still there).")
        record.set(owner, key, matte)
        used = self._used_media_ids()
        old = [c for c in old if c.GetUniqueId() not in used]
        if old:
            pool.DeleteClips(old)

    def _matte_bin(self, pool):
        root = pool.GetRootFolder()
        folder = next((f for f in root.GetSubFolderList() or [] if f.GetName() == MATTE_BIN), None)
        return folder or pool.AddSubFolder(root, MATTE_BIN)

    def _used_media_ids(self) -> set:
        """Media pool items cut into any video track of any timeline of the project: never deleted."""
        project, used = self.project(), set()
        for index in range(1, int(project.GetTimelineCount() or 0) + 1):
            timeline = project.GetTimelineByIndex(index)
            for track in range(1, int(timeline.GetTrackCount("video") or 0) + 1):
                for item in timeline.GetItemListInTrack("video", track) or []:
                    media = item.GetMediaPoolItem()
                    if media:
                        used.add(media.GetUniqueId())
        return used

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


def _int(text, default: int) -> int:
    try:
        return int(str(text).strip())
    except (TypeError, ValueError):
        return default
