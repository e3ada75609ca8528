"""The engine's user errors.

The engine cannot import `plugin`, so it marks its own user errors with the class attribute
`user_error = True`, the mark every front end checks: such an error is shown as its one-line
message (no traceback) and the command exits 1.
"""
from __future__ import annotations


class EngineError(Exception):
    """A problem the user can fix; `str(err)` is the one line to show."""

    user_error = True

    def __init__(self, message: str):
        super().__init__(" ".join(str(message).split()))


class WeightsError(EngineError):
    """A checkpoint that cannot be read or is unsafe to read."""


class WeightsLayoutError(WeightsError):
    """A checkpoint whose keys or shapes are not MatAnyone's."""


class UnsafeCheckpointError(WeightsError):
    """A pickled checkpoint that holds code or objects other than tensors."""


class DeviceError(EngineError):
    """A device or precision that cannot be used on this machine."""


class InputError(EngineError):
    """A frame or mask of the wrong shape, type or content."""


class StateError(EngineError):
    """A saved session state that does not fit this session."""


class Cancelled(Exception):
    """A step stopped by its `cancel` callable; the session is as it was before the step."""
