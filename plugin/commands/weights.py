"""`matanyone-plugin weights`: the checkpoints on this machine.

    weights list [--json]                     what the registry names and where each file is
    weights get NAME [--accept-licence]       download (resumable) and verify; `fetch` is an alias
    weights verify [NAME]                     size, hashes and a strict layout load; pins SHA-256
    weights path [NAME]                       the cache folder, or the file NAME resolves to

NAME is a registry name (matanyone, matanyone2, sam2.1-tiny, ...; `tiny` etc. mean the SAM2.1 sizes).
Downloads happen only here and in the panel's download dialog; offline (setting or
MATANYONE_PLUGIN_OFFLINE=1) the error says which file to place where.
"""
from __future__ import annotations

import json
import sys
import time


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "weights", help="list, download, verify and locate checkpoints",
        description="Checkpoints: MatAnyone and MatAnyone2 (NTU S-Lab License 1.0, non-commercial) and SAM2.1 "
                    "(Apache-2.0). "
                    "Files are looked up in the studio folder (weights_dir setting or MATANYONE_PLUGIN_WEIGHTS), "
                    "then in the user cache.")
    sub = p.add_subparsers(dest="weights_command", metavar="ACTION")
    p.set_defaults(func=lambda args: (p.print_help(), 1)[1])

    ls = sub.add_parser("list", help="registry entries, their licence and where each file is")
    ls.add_argument("--json", action="store_true", help="machine-readable output")
    ls.set_defaults(func=_list)

    for name in ("get", "fetch"):
        g = sub.add_parser(name, help="download a checkpoint into the cache and verify it"
                           + (" (alias of get)" if name == "fetch" else ""))
        g.add_argument("name", metavar="NAME",
                       help="matanyone | matanyone2 | sam2.1-tiny | sam2.1-small | sam2.1-base_plus | sam2.1-large")
        g.add_argument("--accept-licence", "--accept-license", dest="accept_licence", action="store_true",
                       help="accept the checkpoint's licence without asking (for scripts)")
        g.set_defaults(func=_get)

    v = sub.add_parser("verify", help="check size, hashes and layout (all present checkpoints, or NAME)")
    v.add_argument("name", nargs="?", metavar="NAME")
    v.set_defaults(func=_verify)

    pa = sub.add_parser("path", help="print the cache folder, or the file NAME resolves to")
    pa.add_argument("name", nargs="?", metavar="NAME")
    pa.set_defaults(func=_path)


def _canonical(name: str) -> str:
    from matanyone_engine import weights

    entries = weights.registry()
    if name not in entries and f"sam2.1-{name}" in entries:
        return f"sam2.1-{name}"
    return name


def _mb(n) -> str:
    return "?" if n is None else f"{n / 1e6:,.0f} MB"


def _list(args) -> int:
    from matanyone_engine import weights
    from plugin import settings

    rows = weights.status(weights_dir=settings.current().weights_dir)
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    print(f"cache: {weights.cache_dir()}")
    studio = weights.studio_path(settings.current().weights_dir)
    print(f"studio: {studio if studio else '(none: weights_dir setting or MATANYONE_PLUGIN_WEIGHTS)'}")
    for r in rows:
        if r["where"] == "cache":
            state = "cached, verified" if r["verified"] else "cached, not verified yet"
        elif r["where"] == "studio":
            state = "studio"
        else:
            state = "missing"
        size = _mb(r["size"]) if r["size"] else "~" + _mb(r["approx_size"])
        licence = r["licence"] + (" (accept once)" if r["needs_acceptance"] and not r["licence_accepted"] else "")
        print(f"{r['name']:<17} {state:<25} {size:>8}  {licence}")
        print(f"{'':<17} {r['path'] or r['expected_path']}")
    return 0


class _ConsoleProgress:
    """A one-line progress bar on stderr."""

    def __init__(self, stream=None):
        self.stream = stream or sys.stderr
        self.width = 30
        self.open_line = False
        self.last = 0

    def __call__(self, p) -> None:
        if p.state == "waiting":
            self._line(f"{p.file}: another download of this file is running; waiting for it", end=True)
        elif p.state == "downloading":
            if p.total:
                frac = min(1.0, p.done / p.total)
                bar = "#" * int(frac * self.width)
                eta = (p.total - p.done) / p.bytes_per_s if p.bytes_per_s > 0 else 0
                self._line(f"{p.file} [{bar:<{self.width}}] {100 * frac:5.1f}% {p.done / 1e6:,.1f}/{p.total / 1e6:,.1f} MB "
                           f"{p.bytes_per_s / 1e6:.1f} MB/s ETA {time.strftime('%M:%S', time.gmtime(eta))}")
            else:
                self._line(f"{p.file} {p.done / 1e6:,.1f} MB {p.bytes_per_s / 1e6:.1f} MB/s")
        elif p.state == "verifying":
            self._line(f"{p.file}: verifying (size, SHA-256, layout)", end=True)
        elif p.state == "done":
            self._line(f"{p.file}: ready", end=True)

    def _line(self, text: str, end: bool = False) -> None:
        if self.open_line:  # redraw the bar in place
            text = "\r" + text.ljust(self.last)
        self.stream.write(text + ("\n" if end else ""))
        self.stream.flush()
        self.open_line = not end
        self.last = len(text)


def _get(args) -> int:
    from matanyone_engine import weights
    from plugin import settings
    from plugin.errors import WeightsError

    s = settings.current()
    name = _canonical(args.name)
    entries = weights.registry()
    if name not in entries:
        raise WeightsError(f"no checkpoint named {args.name!r}; known: {', '.join(entries)}")
    accept = bool(args.accept_licence)
    present = weights.locate(name, weights_dir=s.weights_dir) is not None
    if not present and not accept and not weights.licence_accepted(name):
        print(weights.licence_text(name), file=sys.stderr)
        if sys.stdin.isatty():
            answer = input(f"Accept the {entries[name].licence} for {entries[name].file}? Type yes to accept: ")
            if answer.strip().lower() not in ("yes", "y"):
                raise WeightsError(f"licence not accepted: {entries[name].file} was not downloaded")
            accept = True
    path = weights.fetch(name, accept_licence=accept, progress=_ConsoleProgress(), weights_dir=s.weights_dir,
                         offline=True if s.offline else None)
    print(path)
    return 0


def _verify(args) -> int:
    from matanyone_engine import weights
    from plugin import settings

    s = settings.current()
    if args.name:
        names = [_canonical(args.name)]
    else:
        names = [r["name"] for r in weights.status(weights_dir=s.weights_dir) if r["path"]]
        if not names:
            print(f"no checkpoints found (cache {weights.cache_dir()}); `matanyone-plugin weights get matanyone` downloads one")
            return 0
    failed = 0
    for name in names:
        try:
            r = weights.verify(name, weights_dir=s.weights_dir)
        except Exception as err:  # noqa: BLE001 - report each file, then exit 1
            if not getattr(err, "user_error", False):
                raise
            failed += 1
            print(f"FAILED {name}: {err}")
            continue
        md5 = {None: "", True: ", MD5 matches the third-party value",
               False: ", MD5 differs from the (unverified) third-party value"}[r.md5_matches]
        pin = "pinned" if r.pinned else "not pinned (studio file)"
        print(f"ok     {name}: {r.path} ({r.size:,} bytes, SHA-256 {r.sha256} {pin}, layout {r.layout}{md5})")
    return 1 if failed else 0


def _path(args) -> int:
    from matanyone_engine import weights
    from plugin import settings

    if not args.name:
        print(weights.cache_dir())
        return 0
    name = _canonical(args.name)
    print(weights.resolve(name, weights_dir=settings.current().weights_dir))
    return 0
