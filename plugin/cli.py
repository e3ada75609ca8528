"""`matanyone-plugin`: one sub-command per module in `plugin.commands`.

Each command module defines `register(subparsers)` (argparse only, no heavy imports)
and sets `func` on its parser; heavy imports happen inside `func`. A `UserError`
prints one line and exits 1; anything else prints one line, saves the traceback to
the log and exits 2.
"""
from __future__ import annotations

import argparse
import importlib
import os
import sys
import traceback

from plugin.errors import is_user_error

# Sub-command modules under plugin/commands/, in the order `--help` lists them.
COMMANDS = ("run", "demo", "info", "weights", "eval", "farm", "app", "worker")

EXIT_OK, EXIT_USER, EXIT_INTERNAL = 0, 1, 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="matanyone-plugin",
        description="MatAnyone video matting: plate in, linear float alpha sequence out.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        try:
            module = importlib.import_module(f"plugin.commands.{name}")
        except ModuleNotFoundError as err:
            if err.name != f"plugin.commands.{name}":
                raise
            continue  # a command not built yet
        module.register(sub)
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


def main(argv=None) -> int:
    _quiet_openmp_threads()
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return EXIT_USER
    try:
        return int(args.func(args) or EXIT_OK)
    except KeyboardInterrupt:
        print("cancelled: whole frames written so far are kept; run again to resume.", file=sys.stderr)
        return 130
    except Exception as err:  # noqa: BLE001 - the one place errors become one line
        if is_user_error(err):
            print(f"error: {err}", file=sys.stderr)
            return EXIT_USER
        log = _internal_error_log()
        print(f"internal error: {type(err).__name__}: {err} (traceback saved to {log})", file=sys.stderr)
        return EXIT_INTERNAL


if __name__ == "__main__":
    sys.exit(main())
