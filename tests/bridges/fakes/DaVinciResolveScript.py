"""A fake `DaVinciResolveScript` that knows which Resolve it is.

Every public method is a call of Resolve's scripting README (the README.txt in
Developer/Scripting; each release's copy is kept in `WheheoHu/bmd_doc`,
`_README_API/<version>/README.txt`), with that README's parameters; test_resolve_stubs.py
checks each one against `fusionscript-stubs` (Resolve 21). `_SINCE` lists the calls the
bridge uses that older releases lack or take differently: on a version before a call's
first README the call is None, as Resolve's own objects give for a name they lack.
`resolve_readme_calls.json` lists, per release, each offered call's parameters as that
release's README writes them; test_resolve_bridge.py holds the fake to it.
Names starting with `fake_` (module level) are test controls, not Resolve calls.
"""
import inspect
import os
import re

if os.environ.get("FAKE_RESOLVE_IMPORT_ERROR") == "AttributeError":
    # What the real module raises under Python 3.12 on Windows (it reaches for `imp`).
    raise AttributeError("module 'imp' has no attribute 'load_dynamic'")

VERSIONS = ("18.6.6", "19.0.0", "19.0.2", "19.1.0", "20.3.0", "21.0.2")
PAGES = ("media", "cut", "edit", "fusion", "color", "fairlight", "deliver")
calls = []
_state = {}

# (class, call) -> [(first release whose README lists it, its parameters)]; parameters
# None = as defined below (the README of 19.0.2 onwards), () = no argument.
_SINCE = {
    ("MediaPoolItem", "GetThirdPartyMetadata"): [((19, 0, 2), None)],   # 19.0.2 README, MediaPoolItem
    ("MediaPoolItem", "SetThirdPartyMetadata"): [((19, 0, 2), None)],
    ("TimelineItem", "GetSourceStartFrame"): [((19, 0, 2), None)],      # 19.0.2 README, TimelineItem
    ("TimelineItem", "GetSourceEndFrame"): [((19, 0, 2), None)],
    ("TimelineItem", "GetStart"): [((0,), ()), ((19, 0, 2), None)],     # GetStart() until 19.0.1
    ("TimelineItem", "GetEnd"): [((0,), ()), ((19, 0, 2), None)],
    ("TimelineItem", "GetDuration"): [((0,), ()), ((19, 0, 2), None)],
    ("TimelineItem", "GetLeftOffset"): [((0,), ()), ((19, 0, 2), None)],
}
_TOKEN = re.compile(r"%0(\d+)d")
_BRACKETS = re.compile(r"^(.*)\[(\d+)-(\d+)\]([^\[\]]*)$")
_FRAME = re.compile(r"^(.*?)(\d+)(\.[A-Za-z0-9]+)$")


def _record(name, *args):
    calls.append((name, args))


def _version():
    return _state.get("version", (21, 0, 2))


class _Documented(object):
    """Hands out each call as the set Resolve version's README has it."""

    def __getattribute__(self, name):
        value = object.__getattribute__(self, name)
        rules = _SINCE.get((type(self).__name__, name))
        if not rules:
            return value
        known = [params for since, params in rules if since <= _version()]
        if not known:
            return None
        if known[-1] == ():
            def older(*args):
                if args:
                    raise TypeError("%s() takes no arguments in Resolve %s" % (name, _state["version_string"]))
                return value(False)
            older.__signature__ = inspect.Signature()
            return older
        return value


def _frames_of(path):
    """The files a matte path names: a bracketed sequence, or one file."""
    match = _BRACKETS.match(path)
    if not match:
        return [path]
    head, first, last, tail = match.groups()
    return ["%s%0*d%s" % (head, len(first), f, tail) for f in range(int(first), int(last) + 1)]


def _as_one_clip(paths):
    """How Resolve lists the files of one call: several frames of a sequence as one
    `name.[1001-1100].exr` entry; anything else as given."""
    if len(paths) == 1:
        return paths[0]
    parts = [_FRAME.match(p) for p in paths]
    if all(parts) and len({(m.group(1), m.group(3), len(m.group(2))) for m in parts}) == 1:
        numbers = sorted(int(m.group(2)) for m in parts)
        if numbers == list(range(numbers[0], numbers[-1] + 1)):
            m, width = parts[0], len(parts[0].group(2))
            return "%s[%0*d-%0*d]%s" % (m.group(1), width, numbers[0], width, numbers[-1], m.group(3))
    return None


def _timecode(frame, fps):
    fps = int(round(fps))
    return "%02d:%02d:%02d:%02d" % (frame // (3600 * fps), frame // (60 * fps) % 60, frame // fps % 60, frame % fps)


def _tc_frames(tc, fps):
    h, m, s, f = (int(v) for v in re.split(r"[:;]", tc))
    return ((h * 60 + m) * 60 + s) * int(round(fps)) + f


class MediaPoolItem(_Documented):
    def __init__(self, uid, name, properties):
        self._uid, self._name, self._props, self._mattes = uid, name, dict(properties), []
        self._third_party = {}

    def GetName(self):
        return self._name

    def GetUniqueId(self):
        return self._uid

    def GetThirdPartyMetadata(self, metadataType=None):
        if metadataType is None:
            return dict(self._third_party)
        return self._third_party.get(metadataType, "")

    def SetThirdPartyMetadata(self, metadataType, metadataValue):
        _record("SetThirdPartyMetadata", self._uid, metadataType, metadataValue)
        self._third_party[metadataType] = metadataValue
        return True

    def GetClipProperty(self, propertyName=None):
        if not propertyName:
            return dict(self._props)
        return self._props.get(propertyName, "")


class TimelineItem(_Documented):
    """A clip on a track: `left_offset` and `duration` in timeline frames, as Resolve counts
    them; `speed` stands for a retime (source frames played per timeline frame)."""

    def __init__(self, uid, name, media, start, duration, left_offset=0, enabled=True, speed=1.0):
        self._uid, self._name, self._media = uid, name, media
        self._start, self._duration, self._left = start, duration, left_offset
        self._enabled, self._speed = enabled, speed
        self._timeline = None

    def _ratio(self):
        clip = float(self._media.GetClipProperty("FPS") or self._timeline._fps)
        return clip / self._timeline._fps

    def GetName(self):
        return self._name

    def GetUniqueId(self):
        return self._uid

    def GetMediaPoolItem(self):
        return self._media

    def GetStart(self, subframe_precision):
        return self._start

    def GetEnd(self, subframe_precision):
        return self._start + self._duration

    def GetDuration(self, subframe_precision):
        return self._duration

    def GetLeftOffset(self, subframe_precision):
        return self._left

    def GetSourceStartFrame(self):
        """Counted from 0 or from the media's start timecode, as `fake_reset` sets."""
        first = int(round(self._left * self._ratio()))
        if _state.get("source_frames") == "timecode":
            first += _tc_frames(self._media.GetClipProperty("Start TC"), float(self._media.GetClipProperty("FPS")))
        return first

    def GetSourceEndFrame(self):
        return self.GetSourceStartFrame() + int(round(self._duration * self._ratio() * self._speed))

    def GetClipEnabled(self):
        return self._enabled


class Timeline(_Documented):
    def __init__(self, name, fps, start_frame, tracks, disabled_tracks=()):
        self._name, self._fps, self._start, self._tracks = name, float(fps), start_frame, tracks
        self._frame, self._disabled = start_frame, set(disabled_tracks)
        for items in tracks:
            for item in items:
                item._timeline = self
                if item._media is not None and item._speed == 1.0 and item._media.GetClipProperty("Frames"):
                    media = item._media
                    frames = int(media.GetClipProperty("Frames")) / item._ratio()
                    if not 0 <= item._left <= frames - item._duration:
                        raise ValueError("fake: clip %s left offset %s outside 0..%s" % (
                            item._uid, item._left, frames - item._duration))

    def GetName(self):
        return self._name

    def GetSetting(self, settingName):
        return {"timelineFrameRate": ("%g" % self._fps)}.get(settingName, "")

    def GetStartFrame(self):
        return self._start

    def GetEndFrame(self):
        ends = [i.GetEnd(False) for items in self._tracks for i in items] or [self._start]
        return max(ends) - 1

    def GetCurrentTimecode(self):
        """Only on the Cut, Edit, Color, Fairlight and Deliver pages (README, Timeline)."""
        if _state.get("page") in ("media", "fusion", None):
            return ""
        return _timecode(self._frame, self._fps)

    def GetTrackCount(self, trackType):
        return len(self._tracks) if trackType == "video" else 0

    def GetItemListInTrack(self, trackType, index):
        _record("GetItemListInTrack", trackType, index)
        return list(self._tracks[index - 1]) if trackType == "video" else []

    def GetIsTrackEnabled(self, trackType, trackIndex):
        return not (trackType == "video" and trackIndex in self._disabled)

    def GetCurrentVideoItem(self):
        for index in range(len(self._tracks), 0, -1):  # the highest enabled track, as Resolve does
            for item in self._tracks[index - 1]:
                if index not in self._disabled and item._enabled and \
                        item._start <= self._frame < item._start + item._duration:
                    return item
        return None


class Folder(_Documented):
    def __init__(self, name):
        self._name, self._clips, self._subfolders = name, [], []

    def GetName(self):
        return self._name

    def GetClipList(self):
        return list(self._clips)

    def GetSubFolderList(self):
        return list(self._subfolders)


class MediaPool(_Documented):
    def __init__(self):
        self._root = Folder("Master")
        self._current = self._root
        self._timeline_mattes = []

    def _folders(self, folder=None):
        folder = folder or self._root
        yield folder
        for sub in folder._subfolders:
            for f in self._folders(sub):
                yield f

    def GetRootFolder(self):
        return self._root

    def GetCurrentFolder(self):
        return self._current

    def SetCurrentFolder(self, folder):
        _record("SetCurrentFolder", folder.GetName())
        self._current = folder
        return True

    def AddSubFolder(self, folder, name):
        _record("AddSubFolder", folder.GetName(), name)
        sub = Folder(name)
        folder._subfolders.append(sub)
        return sub

    def GetClipMatteList(self, mediaPoolItem):
        return list(mediaPoolItem._mattes)

    def DeleteClipMattes(self, mediaPoolItem, paths):
        _record("DeleteClipMattes", mediaPoolItem.GetUniqueId(), list(paths))
        if any(p not in mediaPoolItem._mattes for p in paths):
            return False
        mediaPoolItem._mattes = [p for p in mediaPoolItem._mattes if p not in paths]
        return True

    def GetTimelineMatteList(self, folder):
        return [m for f, m in self._timeline_mattes if f is folder]

    def DeleteClips(self, clips):
        _record("DeleteClips", [c.GetUniqueId() for c in clips])
        self._timeline_mattes = [(f, m) for f, m in self._timeline_mattes if m not in clips]
        for folder in self._folders():
            folder._clips = [c for c in folder._clips if c not in clips]
        return True

    def ImportMedia(self, items):
        """File paths, or clipInfo dicts {"FilePath": "file_%03d.dpx", "StartIndex", "EndIndex"}
        (README, MediaPool: the two documented forms); anything else imports nothing."""
        _record("ImportMedia", list(items))
        made = []
        for info in items:
            if isinstance(info, dict):
                token = _TOKEN.search(info.get("FilePath", ""))
                if not token or not isinstance(info.get("StartIndex"), int) or not isinstance(info.get("EndIndex"), int):
                    return []
                width = int(token.group(1))
                path = "%s[%0*d-%0*d]%s" % (info["FilePath"][:token.start()], width, info["StartIndex"],
                                            width, info["EndIndex"], info["FilePath"][token.end():])
            else:
                path = info
            if not all(os.path.isfile(p) for p in _frames_of(path)):
                return []
            made.append(MediaPoolItem("imported-%d" % len(calls), path.split("/")[-1],
                                      {"File Path": path, "Frames": str(len(_frames_of(path)))}))
        self._current._clips.extend(made)
        return made


class MediaStorage(_Documented):
    def AddClipMattesToMediaPool(self, mediaPoolItem, paths, stereoEye=None):
        """One matte per call, listed as Resolve lists a sequence (`name.[1001-1100].exr`);
        False when a file is missing."""
        _record("AddClipMattesToMediaPool", mediaPoolItem.GetUniqueId(), list(paths), stereoEye)
        entry = _as_one_clip(list(paths))
        if not entry or not all(os.path.isfile(p) for p in _frames_of(entry)):
            return False
        mediaPoolItem._mattes.append(entry)
        return True

    def AddTimelineMattesToMediaPool(self, paths):
        _record("AddTimelineMattesToMediaPool", list(paths))
        entry = _as_one_clip(list(paths))
        if not entry or not all(os.path.isfile(p) for p in _frames_of(entry)):
            return []
        pool = _state["project"].GetMediaPool()
        item = MediaPoolItem("matte-%d" % len(calls), entry.split("/")[-1], {"File Path": entry})
        pool._timeline_mattes.append((pool._current, item))
        return [item]


class Project(_Documented):
    def __init__(self, settings, timelines):
        self._settings, self._timelines, self._pool = dict(settings), timelines, MediaPool()

    def GetSetting(self, settingName):
        return self._settings.get(settingName, "")

    def GetCurrentTimeline(self):
        return self._timelines[0]

    def GetMediaPool(self):
        return self._pool

    def GetTimelineCount(self):
        return len(self._timelines)

    def GetTimelineByIndex(self, idx):
        return self._timelines[idx - 1]


class ProjectManager(_Documented):
    def GetCurrentProject(self):
        return _state.get("project")


class Resolve(_Documented):
    def __init__(self):
        self._pm, self._storage = ProjectManager(), MediaStorage()

    def GetProjectManager(self):
        return self._pm

    def GetMediaStorage(self):
        return self._storage

    def GetCurrentPage(self):
        return _state.get("page")

    def GetProductName(self):
        return "DaVinci Resolve Studio" if _state.get("studio", True) else "DaVinci Resolve"

    def GetVersion(self):
        return list(_version()) + [7, ""]

    def GetVersionString(self):
        return _state["version_string"]


def scriptapp(app):
    """DaVinciResolveScript.scriptapp: the app object, or None when Resolve cannot be reached
    (external scripting is Studio only; README 21, "Studio and AI Scripting APIs")."""
    _record("scriptapp", app)
    return _state.get("resolve") if app == "Resolve" else None


# ---- test controls (not Resolve calls) ----
def fake_reset(studio=True, version="21.0.2", page="edit", source_frames="zero", reachable=True):
    """A fresh Resolve `version`; `source_frames` is how GetSourceStartFrame counts ("zero":
    from the media's first frame; "timecode": from its start timecode)."""
    del calls[:]
    _state.clear()
    _state.update(version=tuple(int(v) for v in version.split(".")), version_string=version, page=page,
                  studio=studio, source_frames=source_frames)
    if reachable:
        _state["resolve"] = Resolve()


def fake_project(tracks, fps=24, start_frame=86400, settings=None, playhead=None, disabled_tracks=(),
                 other_timelines=()):
    timeline = Timeline("Edit v3", fps, start_frame, tracks, disabled_tracks)
    timeline._frame = start_frame if playhead is None else playhead
    _state["project"] = Project(settings or {"colorScienceMode": "davinciYRGB"},
                                [timeline] + [Timeline("Other %d" % i, fps, start_frame, t)
                                              for i, t in enumerate(other_timelines)])
    return _state["project"]


def fake_sequence(uid, path, fps=24, header_tc=None):
    """A media pool item for an image sequence `dir/name.[1001-1100].exr`: its start timecode
    is the header's when given (Resolve's "embedded in the source clip"), else the first
    frame number counted at `fps` (Resolve's "from the file name")."""
    first, last = (int(v) for v in _BRACKETS.match(path).group(2, 3))
    return MediaPoolItem(uid, path.split("/")[-1], {
        "File Path": path, "FPS": "%g" % fps, "Frames": str(last - first + 1),
        "Start TC": header_tc or _timecode(first, fps)})


def fake_movie(uid, path, frames, fps=24, start_tc="00:00:00:00"):
    return MediaPoolItem(uid, path.split("/")[-1], {
        "File Path": path, "FPS": "%g" % fps, "Frames": str(frames), "Start TC": start_tc})


def fake_calls(name):
    return [args for n, args in calls if n == name]
