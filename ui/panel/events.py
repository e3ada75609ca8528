"""The controller's events, named once: a misspelt event is an AttributeError, not a silent no-op.

`Event` is a `str` enum so a subscriber written against the old string names still compares
equal (`Event.PROGRESS == "progress"`); the controller refuses plain strings when emitting.
"""
from __future__ import annotations

from enum import Enum


class Event(str, Enum):
    """What the controller tells its widgets (payload in the comment), always on the UI thread."""

    PLATE = "plate"                  # PlateInfo: a plate was opened
    DISPLAYS = "displays"            # {display: [views]}: the OCIO menu (or what the viewer applies) arrived
    PLATE_COLOUR = "plate_colour"    # str: the plate's colourspace changed (the artist chose it)
    FRAME = "frame"                  # {"frame", "image"}: a decoded plate frame
    CURRENT_FRAME = "current_frame"  # int: the frame the artist is on
    OBJECTS = "objects"              # [MattedObject]: added, removed, renamed, recoloured
    SELECTION = "selection"          # obj_id or None
    MASK = "mask"                    # {"obj_id", "frame", "rect"}: pixels of a keyframe mask changed
    KEYFRAMES = "keyframes"          # [int]: the set of keyframes changed
    UNDO = "undo"                    # None: the undo/redo stacks changed
    PROGRESS = "progress"            # RunProgress: a frame of the run was done
    PREVIEW = "preview"              # {"frame", "image"}: a small alpha preview from the run
    ALPHA = "alpha"                  # {"frame", "alphas"}: the written alphas of a frame were read
    RUN_STATE = "run_state"          # "saving" | "running" | "cancelling" | "finished" | "cancelled" | "failed"
    RUN_SETTINGS = "run_settings"    # RunSettings: loaded from a shot
    ERROR = "error"                  # {"message", "details"}
    STATUS = "status"                # str: one line for the status bar
    SAM_BUSY = "sam_busy"            # bool
    SHOT_SAVED = "shot_saved"        # str: the shot file written
    SHOT_LOADED = "shot_loaded"      # str: the shot file opened
    FRAME_DONE = "frame_done"        # {"frame", "paths"}: the worker wrote a frame's alphas
    RUN_RANGE = "run_range"          # (in, out) or None: the frames a run (and playback) covers
    MODELS = "models"                # {checkpoint name: installed}: what the worker can use
    DIRTY = "dirty"                  # bool: there are edits not saved in a shot file
    PIXEL = "pixel"                  # the worker's `sample_pixel` result under the cursor (readout)

    def __str__(self) -> str:
        return self.value
