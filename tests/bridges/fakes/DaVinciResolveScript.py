"""A fake `DaVinciResolveScript`: only calls of Resolve's documented scripting API (its
scripting README, typed by `fusionscript-stubs`; test_resolve_stubs.py checks every
public method here against those stubs, name and parameters), recording what the bridge
did. Names starting with `fake_` are test controls, not Resolve calls.
"""
calls = []
_state = {}


def _record(name, *args):
    calls.append((name, args))


class MediaPoolItem(object):
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


class TimelineItem(object):
    def __init__(self, uid, name, media, start, duration, source_start, source_end=None, left_offset=None):
        self._uid, self._name, self._media = uid, name, media
        self._start, self._duration = start, duration
        self._source_start = source_start
        self._source_end = source_start + duration if source_end is None else source_end
        self._left = source_start if left_offset is None else left_offset

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

    def GetSourceStartFrame(self):
        return self._source_start

    def GetSourceEndFrame(self):
        return self._source_end

    def GetLeftOffset(self, subframe_precision):
        return self._left


class Timeline(object):
    def __init__(self, name, fps, start_frame, tracks):
        self._name, self._fps, self._start, self._tracks = name, fps, start_frame, tracks
        self._frame = start_frame

    def GetName(self):
        return self._name

    def GetSetting(self, settingName):
        return {"timelineFrameRate": str(self._fps)}.get(settingName, "")

    def GetStartFrame(self):
        return self._start

    def GetEndFrame(self):
        ends = [i.GetEnd(False) for items in self._tracks for i in items] or [self._start]
        return max(ends) - 1

    def GetCurrentTimecode(self):
        fps = int(round(self._fps))
        f = self._frame
        return "%02d:%02d:%02d:%02d" % (f // (3600 * fps), f // (60 * fps) % 60, f // fps % 60, f % fps)

    def GetTrackCount(self, trackType):
        return len(self._tracks) if trackType == "video" else 0

    def GetItemListInTrack(self, trackType, index):
        _record("GetItemListInTrack", trackType, index)
        return list(self._tracks[index - 1]) if trackType == "video" else []

    def GetCurrentVideoItem(self):
        for items in reversed(self._tracks):  # the highest track at the playhead, as Resolve does
            for item in items:
                if item.GetStart(False) <= self._frame < item.GetEnd(False):
                    return item
        return None


class Folder(object):
    def __init__(self, name):
        self._name, self._clips, self._subfolders = name, [], []

    def GetName(self):
        return self._name

    def GetClipList(self):
        return list(self._clips)

    def GetSubFolderList(self):
        return list(self._subfolders)


class MediaPool(object):
    def __init__(self):
        self._root = Folder("Master")
        self._current = self._root
        self._timeline_mattes = []

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
        mediaPoolItem._mattes = [p for p in mediaPoolItem._mattes if p not in paths]
        return True

    def GetTimelineMatteList(self, folder):
        return [m for f, m in self._timeline_mattes if f is folder]

    def DeleteClips(self, clips):
        _record("DeleteClips", [c.GetUniqueId() for c in clips])
        self._timeline_mattes = [(f, m) for f, m in self._timeline_mattes if m not in clips]
        for folder in [self._root] + self._root._subfolders:
            folder._clips = [c for c in folder._clips if c not in clips]
        return True

    def ImportMedia(self, items):
        _record("ImportMedia", list(items))
        made = []
        for info in items:
            path = info["FilePath"] if isinstance(info, dict) else info
            made.append(MediaPoolItem("imported-%d" % len(calls), path.split("/")[-1], {"File Path": path}))
        self._current._clips.extend(made)
        return made


class MediaStorage(object):
    def AddClipMattesToMediaPool(self, mediaPoolItem, paths, stereoEye=None):
        _record("AddClipMattesToMediaPool", mediaPoolItem.GetUniqueId(), list(paths), stereoEye)
        mediaPoolItem._mattes.extend(paths)
        return True

    def AddTimelineMattesToMediaPool(self, paths):
        _record("AddTimelineMattesToMediaPool", list(paths))
        pool = _state["project"].GetMediaPool()
        item = MediaPoolItem("matte-%d" % len(calls), paths[0].split("/")[-1], {"File Path": paths[0]})
        pool._timeline_mattes.append((pool._current, item))
        return [item]


class Project(object):
    def __init__(self, settings, timeline):
        self._settings, self._timeline, self._pool = dict(settings), timeline, MediaPool()

    def GetSetting(self, settingName):
        return self._settings.get(settingName, "")

    def GetCurrentTimeline(self):
        return self._timeline

    def GetMediaPool(self):
        return self._pool


class ProjectManager(object):
    def GetCurrentProject(self):
        return _state.get("project")


class Resolve(object):
    def __init__(self):
        self._pm, self._storage = ProjectManager(), MediaStorage()

    def GetProjectManager(self):
        return self._pm

    def GetMediaStorage(self):
        return self._storage


def scriptapp(app):
    """DaVinciResolveScript.scriptapp: the app object, or None when scripting is unavailable."""
    _record("scriptapp", app)
    return _state.get("resolve") if app == "Resolve" else None


# ---- test controls (not Resolve calls) ----
def fake_reset(studio=True):
    del calls[:]
    _state.clear()
    if studio:
        _state["resolve"] = Resolve()


def fake_project(tracks, fps=24, start_frame=86400, settings=None, playhead=None):
    timeline = Timeline("Edit v3", fps, start_frame, tracks)
    timeline._frame = start_frame if playhead is None else playhead
    _state["project"] = Project(settings or {"colorScienceMode": "davinciYRGB"}, timeline)
    return _state["project"]


def fake_calls(name):
    return [args for n, args in calls if n == name]
