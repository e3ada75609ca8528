"""`matanyone-plugin`: one sub-command per module in `plugin.commands`.

Each command module defines `register(subparsers)` (argparse only, no heavy imports)
and sets `func` on its parser; heavy imports happen inside `func`. A `UserError`
prints one line and exits 1; anything else prints one line, saves the traceback to
the log and exits 2. The exit codes are defined here, once (README, "Exit codes").
"""
from __future__ import annotations

import argparse
import importlib
import os
import signal
import sys
import threading
import traceback

from plugin.errors import is_user_error

# Sub-command modules under plugin/commands/, in the order `--help` lists them.
COMMANDS = ("run", "demo", "info", "weights", "eval", "farm", "app", "worker")

# Exit codes, one meaning each (README, "Exit codes").
EXIT_OK = 0            # done, or already up to date
EXIT_USER = 1          # a problem the user can fix: one line naming the file, frame or setting
EXIT_INTERNAL = 2      # a defect of ours: one line, the traceback saved to the log
EXIT_USAGE = 64        # the command line itself is wrong (BSD sysexits EX_USAGE)
EXIT_CANCELLED = 130   # Ctrl-C (128 + SIGINT): whole frames written so far are kept
EXIT_PIPE_CLOSED = 141  # the reader of the output went away, as `| head -1` does (128 + SIGPIPE)
EXIT_TERMINATED = 143  # SIGTERM, a farm's cancel (128 + SIGTERM)


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error exits EXIT_USAGE (argparse's own 2 is our internal error)."""

    def error(self, message):
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="matanyone-plugin",
        description="MatAnyone video matting: plate in, linear float alpha sequence out.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(f"plugin.commands.{name}").register(sub)
    return parser


def _internal_error_log() -> str:
    from plugin import settings
    path = settings.cache_dir() / "logs" / "last-internal-error.txt"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(traceback.format_exc(), encoding="utf-8")
        return str(path)
    except OSError:
        return "(could not save the traceback)"


def _quiet_openmp_threads() -> None:
    """torch's OpenMP threads spin while they wait by default; beside the job's reader and
    writer threads on a small CPU that spinning steals the cores the network needs (measured:
    the job 1.6x the engine alone with spinning, 1.3x without; same alphas, the wait policy
    does not touch arithmetic). Set before torch is imported; the user's own setting wins."""
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def _detach_stdout() -> None:
    """Point stdout at the null device, so that the interpreter's last flush finds no closed pipe."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):   # not a real file (a test's capture): nothing to detach
        pass


class Terminated(KeyboardInterrupt):
    """SIGTERM (a farm's cancel, `kill`): handled as Ctrl-C, exits EXIT_TERMINATED."""


def _terminate_as_interrupt():
    """Until a run installs its own handler (which saves its state first), SIGTERM ends a
    command as Ctrl-C does: one line, no traceback. Returns the handler it replaced."""
    def interrupt(signum, frame):
        raise Terminated

    if threading.current_thread() is threading.main_thread():
        return signal.signal(signal.SIGTERM, interrupt)
    return None


def main(argv=None) -> int:
    _quiet_openmp_threads()
    previous = None
    try:
        try:
            previous = _terminate_as_interrupt()
            return _main(argv)
        except KeyboardInterrupt as err:  # also while the commands import
            print("cancelled: whole frames written so far are kept; run again to resume.", file=sys.stderr)
            return EXIT_TERMINATED if isinstance(err, Terminated) else EXIT_CANCELLED
        finally:
            sys.stdout.flush()      # here, not at exit, where a closed pipe can no longer be caught
            if previous is not None:
                signal.signal(signal.SIGTERM, previous)
    except BrokenPipeError:
        _detach_stdout()
        return EXIT_PIPE_CLOSED


def _main(argv) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    try:
        return int(args.func(args) or EXIT_OK)
    except BrokenPipeError:
        raise
    except Exception as err:  # noqa: BLE001 - the one place errors become one line
        from plugin.protocol import one_line
        if is_user_error(err):
            print(f"error: {one_line(err)}", file=sys.stderr)
            return EXIT_USER
        log = _internal_error_log()
        print(f"internal error: {type(err).__name__}: {one_line(err)} (traceback saved to {log})",
              file=sys.stderr)
        return EXIT_INTERNAL


if __name__ == "__main__":
    sys.exit(main())
