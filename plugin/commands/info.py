"""`matanyone-plugin info [PLATE]`: what a plate is (range, size, windows, channels, pixel type,
fps/timecode, colourspace guess), or with no plate what this install offers (formats, OCIO
config, weights folder, device)."""
from __future__ import annotations

HELP = ("describe a plate, a shot file's run (which output frames are current), or (with neither) "
        "the formats, OCIO config, weights folder and device")


def register(subparsers) -> None:
    parser = subparsers.add_parser("info", help=HELP, description=HELP + ".")
    parser.add_argument("plate", nargs="?", metavar="PLATE",
                        help="shot.####.exr, shot.%%04d.dpx, shot.$F4.exr, one frame's path, a movie, "
                             "or a shot file (SHOT.json: its run record, a mixed output folder)")
    parser.add_argument("--ocio-config", metavar="PATH", default=None,
                        help="OCIO config to use (default: $OCIO, then the settings file, then OCIO's built-in studio config)")
    parser.add_argument("--check", action="store_true",
                        help="also read every frame of PLATE (finds damaged frames and size changes)")
    parser.add_argument("--colourspaces", action="store_true",
                        help="with no PLATE: also list every colourspace of the OCIO config")
    parser.set_defaults(func=handle)


def _rows(rows) -> None:
    width = max(len(label) for label, _ in rows)
    for label, value in rows:
        print(f"{label.rjust(width)}: {value}")


def _plate_info(args) -> int:
    from plugin import color, plates

    with plates.open(args.plate) as plate:
        rows = plate.describe()
        rows.append(("colourspace guess", color.guess_colourspace(plate, args.ocio_config)))
        rows.append(("OCIO config", color.config_name(args.ocio_config)))
        if args.check:
            for frame in plate.frames:
                plate.read(frame)
            rows.append(("check", f"all {len(plate.frames)} frames read"))
        else:
            plate.read(plate.first)
        _rows(rows)
    return 0


def _device_line(setting: str) -> str:
    try:
        import torch
    except ImportError:
        return "no torch installed (install the 'ml' extra)"
    try:
        from matanyone_engine import device as engine_device
        chosen = engine_device.pick_device(setting or "auto")
        return f"{engine_device.describe(chosen)} (setting {setting!r}, torch {torch.__version__})"
    except Exception as err:  # noqa: BLE001 - info prints what it can
        if getattr(err, "user_error", False):
            return f"unusable: {err}"
        return f"{'cuda' if torch.cuda.is_available() else 'cpu'} (torch {torch.__version__})"


def _weights_rows(current, settings):
    try:
        from matanyone_engine import weights
        cache = str(weights.cache_dir())
        studio = weights.studio_path(current.weights_dir)
    except Exception:  # noqa: BLE001 - the engine may be absent in a partial install
        cache, studio = str(settings.cache_dir() / "weights"), current.weights_dir
    return [("weights cache", cache), ("studio weights", str(studio) if studio else "not set")]


def _install_info(args) -> int:
    from plugin import color, plates, settings

    current = settings.current()
    rows = []
    fmts = plates.formats()
    rows.append(("image sequences", " ".join(e for e, k in fmts.items() if k.startswith("image"))))
    rows.append(("movies", " ".join(e for e, k in fmts.items() if k.startswith("movie"))))
    rows.append(("alpha out", "OpenEXR (A or RGBA premultiplied; half/float; zip/piz), PNG 16-bit preview"))
    try:
        rows.append(("OCIO config", color.config_name(args.ocio_config)))
        d, v = color.default_display_view(args.ocio_config)
        rows.append(("network input", f"display {d!r}, view {v!r} (display-referred plates unchanged)"))
    except Exception as err:  # noqa: BLE001 - show the one line, keep going
        if not getattr(err, "user_error", False):
            raise
        rows.append(("OCIO config", f"unusable: {err}"))
    rows.extend(_weights_rows(current, settings))
    rows.append(("cache folder", str(settings.cache_dir())))
    rows.append(("settings file", str(settings.settings_path())))
    rows.append(("offline", "yes" if current.offline else "no"))
    rows.append(("device", _device_line(current.device)))
    _rows(rows)
    if args.colourspaces:
        print("colourspaces:")
        for name in color.colourspaces(args.ocio_config):
            print(f"  {name}")
    return 0


def _shot_info(args) -> int:
    """A shot file: which frames of each object's output hold the shot's current settings."""
    from plugin.job.files import describe_run
    from plugin.shot import Shot
    shot = Shot.load(args.plate)
    _rows([("shot", args.plate), ("plate", f"{shot.plate.path} ({shot.plate.first}-{shot.plate.last})")]
          + describe_run(shot))
    return 0


def handle(args) -> int:
    if args.plate and args.plate.lower().endswith(".json"):
        return _shot_info(args)
    if args.plate:
        return _plate_info(args)
    return _install_info(args)
