"""User errors: one exception family whose message is one line naming the file, frame
or setting and what to do. The CLI prints it without a traceback and exits 1.

Standard library only: hosts import it. The engine, which cannot import `plugin`, marks its
own errors with the same `user_error = True`; `kind_of` maps any marked error to the class
of this module the worker names over the wire, and `from_kind` is the client's way back, so
the list of kinds is this module itself, kept once."""


class UserError(Exception):
    """A problem the user can fix; `str(err)` is the one line to show.

    `user_error = True` is the mark every front end checks, so the engine (which cannot
    import `plugin`) marks its own user errors the same way.
    """

    user_error = True

    def __init__(self, message: str):
        super().__init__(" ".join(str(message).split()))


class PlateError(UserError):
    """A plate (image sequence or movie) that cannot be read as asked."""


class ColorError(UserError):
    """A colourspace, display/view or OCIO config that cannot be used."""


class OutputError(UserError):
    """An output path that cannot be written (or would overwrite a source)."""


class WeightsError(UserError):
    """A checkpoint that is missing, of the wrong layout, or unsafe to load."""


class ShotFileError(UserError):
    """A shot file (JSON) that is broken or names something impossible."""


class MaskError(UserError):
    """A mask file or painted mask that cannot be used."""


class SettingsError(UserError):
    """The settings file (JSON in the user config folder) is broken or has a bad value."""


class DeviceError(UserError):
    """A device or precision that cannot be used on this machine."""


class WorkerError(UserError):
    """The worker process is missing, of another version, or died."""


class FarmError(UserError):
    """A farm job template that cannot be built, read or run as asked."""


def is_user_error(err: BaseException) -> bool:
    """True for errors whose message is the one line to show the user (ours or the engine's)."""
    return bool(getattr(err, "user_error", False))


def kind_of(err: BaseException) -> str:
    """The name of this module's class that a user error stands for: its own class or the
    nearest base of the same name (the engine's `WeightsError` -> "WeightsError"); else "UserError"."""
    for cls in type(err).__mro__:
        if cls.__name__ in _KINDS:
            return cls.__name__
    return "UserError"


def from_kind(kind: str, message: str) -> UserError:
    """The user error of `kind` (a `kind_of` name; unknown kinds are a plain UserError)."""
    return _KINDS.get(str(kind or ""), UserError)(message)


_KINDS = {name: obj for name, obj in dict(globals()).items()
          if isinstance(obj, type) and issubclass(obj, UserError)}
