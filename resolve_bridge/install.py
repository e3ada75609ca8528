"""Install the MatAnyone script into DaVinci Resolve's Scripts menu.

    python -m resolve_bridge.install [--all-users] [--dest FOLDER]

Run it with the product's own Python (the one with torch): the script it writes
remembers this checkout and that interpreter. Standard library only.
"""
from __future__ import annotations

import argparse
import os
import platform
import sys
from pathlib import Path
from typing import Mapping, Optional

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = Path(__file__).resolve().parent / "MatAnyone.py"


def scripts_folder(system: Optional[str] = None, all_users: bool = False,
                   env: Optional[Mapping[str, str]] = None) -> Path:
    """Resolve's `Fusion/Scripts/Utility` folder (listed under Workspace > Scripts on every page)."""
    system = system or platform.system()
    env = os.environ if env is None else env
    home = Path(env.get("HOME") or env.get("USERPROFILE") or Path.home())
    if system == "Darwin":
        base = Path("/Library") if all_users else home / "Library"
        scripts = base / "Application Support" / "Blackmagic Design" / "DaVinci Resolve" / "Fusion" / "Scripts"
    elif system == "Windows":
        if all_users:
            scripts = Path(env.get("PROGRAMDATA", r"C:\ProgramData")) / "Blackmagic Design" / "DaVinci Resolve" / "Fusion" / "Scripts"
        else:
            appdata = Path(env.get("APPDATA") or home / "AppData" / "Roaming")
            scripts = appdata / "Blackmagic Design" / "DaVinci Resolve" / "Support" / "Fusion" / "Scripts"
    else:
        scripts = Path("/opt/resolve/Fusion/Scripts") if all_users else home / ".local" / "share" / "DaVinciResolve" / "Fusion" / "Scripts"
    return scripts / "Utility"


def install(dest: Optional[Path] = None, python: Optional[str] = None, root: Path = ROOT) -> Path:
    """Write MatAnyone.py into `dest` (default: this user's Scripts/Utility folder); returns its path."""
    dest = Path(dest) if dest else scripts_folder()
    dest.mkdir(parents=True, exist_ok=True)
    text = SCRIPT.read_text(encoding="utf-8")
    text = text.replace("@MATANYONE_ROOT@", str(root)).replace("@MATANYONE_PYTHON@", python or sys.executable)
    target = dest / SCRIPT.name
    tmp = target.with_name(target.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, target)
    return target


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m resolve_bridge.install", description=__doc__.splitlines()[0])
    parser.add_argument("--all-users", action="store_true", help="install for every user (needs admin rights)")
    parser.add_argument("--dest", help="install into this folder instead")
    parser.add_argument("--python", help="the product's interpreter (default: this one)")
    args = parser.parse_args(argv)
    try:
        target = install(Path(args.dest) if args.dest else scripts_folder(all_users=args.all_users), args.python)
    except OSError as err:
        print(f"error: could not write the Resolve script ({err.strerror}: {err.filename}): "
              "use --dest with a folder you can write, or --all-users as admin", file=sys.stderr)
        return 1
    print(f"Installed {target}: in DaVinci Resolve (free or Studio) choose Workspace > Scripts > MatAnyone.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
