"""User errors: one exception family whose message is one line naming the file, frame
or setting and what to do. The CLI prints it without a traceback and exits 1."""


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


class WorkerError(UserError):
    """The worker process is missing, of another version, or died."""


class FarmError(UserError):
    """A farm job template that cannot be built, read or run as asked."""


def is_user_error(err: BaseException) -> bool:
    """True for errors whose message is the one line to show the user (ours or the engine's)."""
    return bool(getattr(err, "user_error", False))
