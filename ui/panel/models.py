"""Which model checkpoints the worker can use, asked once it starts (`weights_status`), so the
panel greys out what cannot work and says why in an artist's words before the first click;
and the download the artist asks for (`weights_get`). A part of `PanelController` (no Qt)."""
from __future__ import annotations

from dataclasses import replace
from typing import Dict, Optional

from plugin.protocol import MODELS
from ui.panel.events import Event

MODEL_LABELS = {"matanyone": "MatAnyone", "matanyone2": "MatAnyone2"}  # artists' names of MODELS


class Models:
    """`installed` is None until the worker answered; then {checkpoint name: installed}."""

    def __init__(self, shell):
        self.shell = shell
        self.installed: Optional[Dict[str, bool]] = None
        self.rows: Dict[str, dict] = {}
        self.downloading: Optional[str] = None

    def refresh(self) -> None:
        def got(result):
            self.rows = {row["name"]: row for row in result.get("weights") or []}
            self.installed = {name: bool(row.get("path")) for name, row in self.rows.items()}
            self.shell.emit(Event.MODELS, self.installed)
        self.shell.call("weights_status", {}, got, lambda _err: None)  # an old worker: nothing greyed out

    def sam_checkpoint(self) -> Optional[str]:
        """The registry name of the SAM2 model clicks use; None for stand-in weights (always there)."""
        model = self.shell.sam_model or "tiny"
        if model.startswith("stand-in"):
            return None
        return model if model.startswith("sam2.1-") else f"sam2.1-{model}"

    def matting_checkpoint(self) -> Optional[str]:
        """The registry name Run needs (the chosen model's); None when the shot names a file or stand-in weights."""
        return self.shell.run_settings.model if self.shell.run_settings.weights == "auto" else None

    def choose(self, model: str) -> None:
        """The artist picked (or a shot file brought) the model: Run and the download follow its checkpoint."""
        if model not in MODELS:
            return
        self.shell.run_settings = replace(self.shell.run_settings, model=model)
        if self.installed is not None:
            self.shell.emit(Event.MODELS, self.installed)

    def missing(self, name: Optional[str]) -> bool:
        return bool(name) and self.installed is not None and not self.installed.get(name, True)

    def why_sam_missing(self) -> str:
        name = self.sam_checkpoint()
        if not self.missing(name):
            return ""
        return (f"The SAM2 model is not installed, so Smart select cannot work yet: click Download models…, "
                f"or ask your TD to install {name}")

    def why_matting_missing(self) -> str:
        name = self.matting_checkpoint()
        if not self.missing(name):
            return ""
        return (f"The {MODEL_LABELS.get(name, name)} model is not installed, so Run cannot work yet: click "
                f"Download models…, or ask your TD to install {name}")

    def download(self, name: str) -> None:
        """Fetch one checkpoint (the artist accepted its licence in the dialog); progress as status lines."""
        self.downloading = name

        def done(_result):
            self.downloading = None
            self.shell.emit(Event.STATUS, f"{name} is installed")
            self.refresh()

        def failed(err):
            self.downloading = None
            self.shell.error_from(err, f"downloading {name}")
        self.shell.call("weights_get", {"name": name, "accept_licence": True}, done, failed)

    def on_progress(self, params: dict) -> None:
        done, total = params.get("done") or 0, params.get("total")
        size = f"{done / 1e6:.1f} of {total / 1e6:.1f} MB" if total else f"{done / 1e6:.1f} MB"
        self.shell.emit(Event.STATUS, f"Downloading {params.get('name', '')}: {params.get('state', '')} {size}")
