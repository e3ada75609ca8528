"""Fake `hiero.core`: projects, bins, clips, media, sequences, tracks and track items, with the
undo steps a project records. Each method names its class page in the Hiero Python reference
(api_core.html#hiero.core.<Class>.<method>). `fake_*` names are test controls."""
from hiero.core import events  # noqa: F401 - hiero.core.events

log = []  # (what, detail) in order: undo steps and changes


class FileInfo(object):  # hiero.core.FileInfo
    def __init__(self, filename):
        self._filename = filename

    def filename(self):  # hiero.core.FileInfo.filename
        return self._filename


class MediaSource(object):  # hiero.core.MediaSource(path)
    def __init__(self, path, fake_start=1, fake_duration=1):
        self._path, self._start, self._duration = path, fake_start, fake_duration

    def fileinfos(self):  # hiero.core.MediaSource.fileinfos
        return [FileInfo(self._path)]

    def startTime(self):  # hiero.core.MediaSource.startTime
        return self._start

    def duration(self):  # hiero.core.MediaSource.duration
        return self._duration


class Clip(object):  # hiero.core.Clip(mediaSource)
    def __init__(self, mediaSource):
        self._media, self._name, self._colour = mediaSource, "clip", "default (linear)"

    def mediaSource(self):  # hiero.core.Clip.mediaSource
        return self._media

    def name(self):  # hiero.core.Clip.name
        return self._name

    def setName(self, name):  # hiero.core.Clip.setName
        self._name = name

    def sourceMediaColourTransform(self):  # hiero.core.Clip.sourceMediaColourTransform
        return self._colour

    def setSourceMediaColourTransform(self, colourTransform):  # hiero.core.Clip.setSourceMediaColourTransform
        self._colour = colourTransform


class BinItem(object):  # hiero.core.BinItem(clip)
    def __init__(self, item):
        self._item = item

    def activeItem(self):  # hiero.core.BinItem.activeItem
        return self._item

    def name(self):  # hiero.core.BinItem.name
        return self._item.name()


class Bin(object):  # hiero.core.Bin(name)
    def __init__(self, name):
        self._name, self._items = name, []

    def name(self):  # hiero.core.Bin.name
        return self._name

    def bins(self):  # hiero.core.Bin.bins
        return [i for i in self._items if isinstance(i, Bin)]

    def items(self):  # hiero.core.Bin.items
        return [i for i in self._items if isinstance(i, BinItem)]

    def addItem(self, item):  # hiero.core.Bin.addItem
        log.append(("Bin.addItem", (self._name, item.name())))
        self._items.append(item)

    def removeItem(self, item):  # hiero.core.Bin.removeItem
        log.append(("Bin.removeItem", (self._name, item.name())))
        self._items.remove(item)


class TrackItem(object):  # hiero.core.TrackItem (made by Track.createTrackItem)
    def __init__(self, name):
        self._name, self._source, self._speed, self._track = name, None, 1.0, None
        self._src = [0, 0]
        self._tl = [0, 0]

    def name(self):  # hiero.core.TrackItem.name
        return self._name

    def source(self):  # hiero.core.TrackItem.source
        return self._source

    def setSource(self, clip):  # hiero.core.TrackItem.setSource
        self._source = clip

    def sourceIn(self):  # hiero.core.TrackItem.sourceIn (frames from the media's start)
        return self._src[0]

    def sourceOut(self):  # hiero.core.TrackItem.sourceOut
        return self._src[1]

    def setSourceIn(self, frame):  # hiero.core.TrackItem.setSourceIn
        self._src[0] = frame

    def setSourceOut(self, frame):  # hiero.core.TrackItem.setSourceOut
        self._src[1] = frame

    def timelineIn(self):  # hiero.core.TrackItem.timelineIn
        return self._tl[0]

    def timelineOut(self):  # hiero.core.TrackItem.timelineOut
        return self._tl[1]

    def setTimelineIn(self, frame):  # hiero.core.TrackItem.setTimelineIn
        self._tl[0] = frame

    def setTimelineOut(self, frame):  # hiero.core.TrackItem.setTimelineOut
        self._tl[1] = frame

    def playbackSpeed(self):  # hiero.core.TrackItem.playbackSpeed
        return self._speed

    def parentTrack(self):  # hiero.core.TrackItem.parentTrack: the track it is on (None before addItem)
        return self._track


class VideoTrack(object):  # hiero.core.VideoTrack(name)
    def __init__(self, name):
        self._name, self._items = name, []

    def name(self):  # hiero.core.VideoTrack.name (TrackBase)
        return self._name

    def items(self):  # hiero.core.VideoTrack.items (TrackBase)
        return list(self._items)

    def createTrackItem(self, name):  # hiero.core.TrackBase.createTrackItem
        return TrackItem(name)

    def addItem(self, item):  # hiero.core.TrackBase.addItem
        log.append(("Track.addItem", (self._name, item.name())))
        self._items.append(item)
        item._track = self

    def removeItem(self, item):  # hiero.core.TrackBase.removeItem
        log.append(("Track.removeItem", (self._name, item.name())))
        self._items.remove(item)
        item._track = None


class Sequence(object):  # hiero.core.Sequence
    def __init__(self, name, project):
        self._name, self._project, self._tracks = name, project, []

    def project(self):  # hiero.core.Sequence.project
        return self._project

    def videoTracks(self):  # hiero.core.Sequence.videoTracks (bottom to top)
        return list(self._tracks)

    def addTrack(self, track):  # hiero.core.Sequence.addTrack(track): no index argument
        # A new video track goes on top: Foundry's own Sequence.addClip adds "Video N" tracks with
        # addTrack until videoTracks()[index] exists (hiero/core/FnAddClipToSequence.py, in the
        # reference's module sources, e.g. .../13.1/HieroPythonDevGuide/_modules/hiero/core/
        # FnAddClipToSequence.html).
        assert track not in self._tracks, "addTrack of a track already in the sequence"
        log.append(("Sequence.addTrack", (track.name(),)))
        self._tracks.append(track)

    def removeTrack(self, track):  # hiero.core.Sequence.removeTrack(track)
        # The track object keeps its items and can be added again (undoable, like every edit).
        assert track in self._tracks, "removeTrack of a track not in the sequence"
        log.append(("Sequence.removeTrack", (track.name(),)))
        self._tracks.remove(track)

    def duration(self):  # hiero.core.Sequence.duration
        return max([i.timelineOut() + 1 for t in self._tracks for i in t.items()] or [0])


class Project(object):  # hiero.core.Project
    def __init__(self, path=""):
        self._path, self._bin, self._undo = path, Bin("Sequences"), None
        self.fake_ocio = ""
        self.fake_steps = []  # closed undo steps: (name, changes made inside)

    def path(self):  # hiero.core.Project.path
        return self._path

    def clipsBin(self):  # hiero.core.Project.clipsBin
        return self._bin

    def ocioConfigPath(self):  # hiero.core.Project.ocioConfigPath
        return self.fake_ocio

    def beginUndo(self, name):  # hiero.core.Project.beginUndo
        assert self._undo is None, "beginUndo inside an open undo step"
        self._undo = (name, len(log))

    def endUndo(self):  # hiero.core.Project.endUndo
        name, start = self._undo
        self.fake_steps.append((name, log[start:]))
        self._undo = None

    def undo(self):  # hiero.core.Project.undo: reverts the last step (the fake only records it)
        log.append(("Project.undo", (self.fake_steps[-1][0],)))
