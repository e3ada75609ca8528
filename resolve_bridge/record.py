"""Which matte each shot attached in Resolve: the product's own record, kept as JSON beside
the shot file (`sh010.matanyone.resolve.json`).

Resolve 19.0.2 and later can also keep this in the clip's third-party metadata; older
releases cannot, and a clip matte belongs to the media pool item that two cuts of one
source share, so a re-run must know which matte *this* shot made. Standard library only.
"""
from __future__ import annotations

import json
import os
from typing import Dict, Optional


class MatteRecord:
    """{media pool item id: {"MatAnyone <shot> <object>": matte path}} for one shot file."""

    def __init__(self, shot_path: str):
        self.path = (os.path.splitext(os.path.abspath(shot_path))[0] + ".resolve.json") if shot_path else ""
        self._data: Dict[str, Dict[str, str]] = {}
        if self.path and os.path.isfile(self.path):
            try:
                with open(self.path, encoding="utf-8") as f:
                    loaded = json.load(f)
                self._data = {str(k): dict(v) for k, v in loaded.items() if isinstance(v, dict)}
            except (OSError, ValueError):
                self._data = {}  # a damaged record only forgets; the mattes are matched by path too

    def get(self, owner: str, key: str) -> Optional[str]:
        return self._data.get(owner, {}).get(key)

    def set(self, owner: str, key: str, matte: str) -> None:
        self._data.setdefault(owner, {})[key] = matte
        if not self.path:
            return
        tmp = self.path + ".tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(self._data, f, indent=1, sort_keys=True)
        os.replace(tmp, self.path)
