"""Frame-number patterns of image sequences: `shot.####.exr`, `shot.%04d.exr`,
`shot.$F4.exr`, `shot.@@@@.exr`, or one frame's path (`shot.1001.exr`) whose siblings
are found on disk. Standard library only.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple

# One token per pattern; the first that matches wins. Each gives the padding.
_TOKENS = (
    (re.compile(r"#+"), lambda m: len(m.group(0))),
    (re.compile(r"@+"), lambda m: len(m.group(0))),
    (re.compile(r"%0?(\d*)d"), lambda m: int(m.group(1) or 1)),
    (re.compile(r"\$F(\d*)"), lambda m: int(m.group(1) or 1)),
)
# The last run of digits in a file name (optionally signed), for one-frame paths.
_FRAME_IN_NAME = re.compile(r"^(.*?)(-?\d+)(\.[^.\d][^.]*|)$")


@dataclass(frozen=True)
class FramePattern:
    """A sequence's file names: `directory/prefix<frame padded to padding>suffix`."""

    directory: str
    prefix: str
    suffix: str
    padding: int

    def path(self, frame: int) -> str:
        """The file path of source frame `frame`."""
        sign = "-" if frame < 0 else ""
        return os.path.join(self.directory, f"{self.prefix}{sign}{abs(frame):0{self.padding}d}{self.suffix}")

    @property
    def display(self) -> str:
        """The pattern as Nuke writes it (`shot.####.exr`)."""
        return os.path.join(self.directory, f"{self.prefix}{'#' * self.padding}{self.suffix}")

    @property
    def extension(self) -> str:
        dot = self.suffix.rfind(".")
        return self.suffix[dot:].lower() if dot >= 0 else ""

    def frame_of(self, name: str) -> Optional[int]:
        """The frame number a file name (no directory) stands for, or None."""
        if not (name.startswith(self.prefix) and name.endswith(self.suffix)):
            return None
        digits = name[len(self.prefix):len(name) - len(self.suffix)]
        if not re.fullmatch(r"-?\d+", digits):
            return None
        frame = int(digits)
        # Only the spelling this padding gives counts (`0998` for 4, never `998`).
        sign = "-" if frame < 0 else ""
        return frame if digits == f"{sign}{abs(frame):0{self.padding}d}" else None

    def scan(self) -> Dict[int, str]:
        """Frames present on disk: {frame: path}."""
        try:
            names = os.listdir(self.directory or ".")
        except OSError:
            return {}
        found = {}
        for name in names:
            frame = self.frame_of(name)
            if frame is not None:
                found[frame] = os.path.join(self.directory, name)
        return found


def has_token(path: str) -> bool:
    """True when the file name holds a frame token (`####`, `%04d`, `$F4`, `@@@@`)."""
    name = os.path.basename(str(path))
    return any(rx.search(name) for rx, _ in _TOKENS)


def parse(path: str) -> FramePattern:
    """The pattern of `path`: a token pattern, or one frame's path (its digits become the token).

    Raises ValueError when the name holds neither a token nor a frame number.
    """
    path = os.fspath(path)
    directory, name = os.path.split(path)
    for rx, padding_of in _TOKENS:
        m = None
        for m in rx.finditer(name):
            pass  # the last token in the name is the frame (`v002.####` keeps v002)
        if m is not None:
            return FramePattern(directory, name[:m.start()], name[m.end():], padding_of(m))
    m = _FRAME_IN_NAME.match(name)
    if not m:
        raise ValueError(f"{path}: no frame number or frame token (####, %04d, $F4) in the file name")
    digits = m.group(2)
    prefix = m.group(1)
    if digits.startswith("-") and prefix and prefix[-1].isalnum():
        prefix, digits = prefix + "-", digits[1:]  # `shot-1001.exr` is a separator, not a sign
    return FramePattern(directory, prefix, m.group(3), len(digits.lstrip("-")))


_BRACKETS = re.compile(r"^(?P<head>.*?)\[(?P<first>\d+)-(?P<last>\d+)\](?P<tail>[^\[\]]*)$")


def bracketed(path: str) -> Optional[Tuple[str, int, int]]:
    """Resolve's `name.[1001-1100].exr` -> ('name.####.exr', 1001, 1100); None for other paths."""
    match = _BRACKETS.match(path)
    if not match:
        return None
    first = match.group("first")
    return match.group("head") + "#" * len(first) + match.group("tail"), int(first), int(match.group("last"))


def compact_ranges(frames: List[int]) -> str:
    """`[1, 2, 3, 7, 9, 10]` -> `"1-3, 7, 9-10"` (for error messages)."""
    out: List[Tuple[int, int]] = []
    for f in sorted(frames):
        if out and f == out[-1][1] + 1:
            out[-1] = (out[-1][0], f)
        else:
            out.append((f, f))
    return ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in out)


def sequences_in(directory: str, extensions) -> List[FramePattern]:
    """The image sequences in a folder (file names with a frame number and one of
    `extensions`), one pattern each, sorted by name. Hidden files are skipped."""
    found: Dict[Tuple[str, str, int], bool] = {}    # pattern -> has a name with a leading zero
    try:
        names = sorted(os.listdir(directory))
    except OSError:
        return []
    for name in names:
        if name.startswith("."):
            continue
        dot = name.rfind(".")
        if dot < 0 or name[dot:].lower() not in extensions:
            continue
        try:
            pat = parse(os.path.join(directory, name))
        except ValueError:
            continue
        digits = name[len(pat.prefix):len(name) - len(pat.suffix)].lstrip("-")
        key = (pat.prefix, pat.suffix, pat.padding)
        # A longer number with no leading zero is the same sequence past a digit boundary
        # (`p.997.exr` ... `p.1002.exr`): padding is a minimum width, as `frame_of` reads it.
        found[key] = found.get(key, False) or digits.startswith("0")
    merged = set(found)
    for (p, s, n) in sorted(found):
        shorter = [m for (p2, s2, m) in merged if (p2, s2) == (p, s) and m < n]
        if shorter and not found[(p, s, n)]:
            merged.discard((p, s, n))
    return [FramePattern(directory, p, s, n) for (p, s, n) in sorted(merged)]
