"""`matanyone-plugin app [PLATE]`: the standalone panel window."""
from __future__ import annotations


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "app", help="open the standalone panel (paint masks, click with SAM, run, preview)",
        description="Open the MatAnyone panel in its own window. PLATE may be a sequence pattern "
                    "(sh010.####.exr), any frame of a sequence, a movie, or a shot file (.json).")
    parser.add_argument("plate", nargs="?", help="plate or shot file to open")
    parser.set_defaults(func=_handler)


def _handler(args) -> int:
    import os
    from plugin.errors import PlateError
    if args.plate and not (os.path.exists(args.plate) or "#" in args.plate or "%" in args.plate):
        raise PlateError(f"{args.plate}: no such file; give a plate (sequence pattern, frame or movie) "
                         "or a shot file")
    from ui.app.main import run
    return run(os.path.abspath(args.plate) if args.plate else None)
