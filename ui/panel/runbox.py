"""The run box: the settings that matter, Run/Cancel, progress with fps and ETA, preview mode."""
from __future__ import annotations

from dataclasses import replace

from plugin.protocol import DEVICES, DIRECTIONS, MODELS, PRECISIONS
from plugin.shot import LIMITS
from ui.panel.events import Event
from ui.panel.models import MODEL_LABELS
from ui.qt import QtCore, QtWidgets

# Labels only: the choices themselves are plugin.protocol's (one list for CLI, shot and panel).
# Artists' words; the exact terms stay in the tooltips (TIPS) for the TD reading a log.
LABELS = {"both": "Both ways", "forward": "Forward", "backward": "Backward",
          "fp32": "Best", "official-mixed": "Faster", "fp16": "Fastest", "bf16": "Fastest (newer GPUs)",
          "auto": "Automatic", "cpu": "CPU", "cuda": "NVIDIA GPU", "mps": "Apple GPU"}
PREVIEWS = (("masks", "Masks"), ("overlay", "Alpha overlay"), ("alpha", "Alpha only"), ("checker", "Over checkerboard"))

TIPS = {
    "warmup": "Warm-up (warmup): how many times the first keyframe is looked at before the shot starts. More "
              "gives steadier first frames; 10 is what MatAnyone was tuned with.",
    "cleanup": "Closes small gaps and specks in your keyframe masks before matting (pixels, 0 = off). "
               "Turn it off when the mask is already clean and fine details like hair must stay.",
    "direction": "Which way the matte travels from your keyframes: both ways, or only forwards/backwards in time.",
    "device": "Where the matting runs (device: auto, cpu, cuda, mps): Automatic picks the GPU when there is one, "
              "else the CPU (much slower).",
    "precision": "Best is full precision (fp32), the reference quality. Faster is mixed precision as the official "
                 "code runs (official-mixed); Fastest is half precision (fp16, or bf16 on newer GPUs): less GPU "
                 "memory, tiny differences at soft edges.",
    "model": "Which trained model mattes the shot (model: matanyone | matanyone2). MatAnyone2 is the authors' "
             "successor: the same network, so the same speed, newer training. Each shot keeps its choice; "
             "a model that is not installed offers Download models….",
    "output": "Where the alpha EXRs go; {object} becomes the object's name, #### the frame number. "
              "Empty = a 'matte' folder beside the plate.",
    "run": "Save the shot file and matte every frame (Ctrl+Return). Finished frames are kept if you cancel.",
    "cancel": "Stop after the current frame; frames already written stay on disk (Esc).",
    "preview": "How to look at the alpha as it arrives: your masks, alpha tinted over the plate, alpha alone "
               "(white = solid), or the plate cut out over a checkerboard.",
}


class RunBox(QtWidgets.QGroupBox):
    """Edits `controller.run_settings` and starts/cancels the run."""

    previewModeChanged = QtCore.Signal(str)
    allObjectsChanged = QtCore.Signal(bool)

    def __init__(self, controller, parent=None):
        super().__init__("Run", parent)
        self.controller = controller
        self._has_plate = False
        self._missing_model = ""
        self.warmup = QtWidgets.QSpinBox()
        self.warmup.setRange(LIMITS["warmup"].low, LIMITS["warmup"].high)     # the shot file's own bounds
        self.cleanup = QtWidgets.QSpinBox()
        self.cleanup.setRange(LIMITS["dilate"].low, LIMITS["dilate"].high)
        self.cleanup.setSuffix(" px")
        self.direction = QtWidgets.QComboBox()
        for key in DIRECTIONS:
            self.direction.addItem(LABELS.get(key, key), key)
        self.device = QtWidgets.QComboBox()
        for key in DEVICES:
            self.device.addItem(LABELS.get(key, key), key)
        self.precision = QtWidgets.QComboBox()
        for key in PRECISIONS:
            self.precision.addItem(LABELS.get(key, key), key)
        self.model = QtWidgets.QComboBox()
        for key in MODELS:
            self.model.addItem(MODEL_LABELS.get(key, key), key)
        self.output = QtWidgets.QLineEdit()
        self.output.setPlaceholderText("beside the plate: matte/<plate>_{object}.####.exr")
        self.run_button = QtWidgets.QPushButton("Run")
        self.run_button.setDefault(True)
        self.download_button = QtWidgets.QPushButton("Download models…")
        self.download_button.setToolTip("Install the models this panel needs (asks before each download)")
        self.download_button.hide()
        self.cancel_button = QtWidgets.QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.progress = QtWidgets.QProgressBar()
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.progress.setFormat("idle")
        self.progress.setTextVisible(True)
        self.rate = QtWidgets.QLabel("")
        self.preview = QtWidgets.QComboBox()
        for key, label in PREVIEWS:
            self.preview.addItem(label, key)
        self.scope = QtWidgets.QComboBox()
        self.scope.addItem("Selected object", False)
        self.scope.addItem("All objects", True)
        self.scope.setToolTip("Show the matte of the selected object only, or of every visible object")
        self.follow = QtWidgets.QCheckBox("Follow")
        self.follow.setChecked(True)
        self.follow.setToolTip("While running, show each frame as it is matted")
        for widget, key in ((self.warmup, "warmup"), (self.cleanup, "cleanup"), (self.direction, "direction"),
                            (self.device, "device"), (self.precision, "precision"), (self.model, "model"),
                            (self.output, "output"),
                            (self.run_button, "run"), (self.cancel_button, "cancel"), (self.preview, "preview")):
            widget.setToolTip(TIPS[key])
        form = QtWidgets.QFormLayout()
        form.addRow("Settle passes", self.warmup)
        form.addRow("Mask clean-up", self.cleanup)
        form.addRow("Direction", self.direction)
        form.addRow("Run on", self.device)
        form.addRow("Speed", self.precision)
        form.addRow("Model", self.model)
        form.addRow("Output", self.output)
        buttons = QtWidgets.QHBoxLayout()
        buttons.addWidget(self.run_button, 1)
        buttons.addWidget(self.cancel_button)
        preview_row = QtWidgets.QHBoxLayout()
        preview_row.addWidget(QtWidgets.QLabel("View"))
        preview_row.addWidget(self.preview, 1)
        preview_row.addWidget(self.scope, 1)
        preview_row.addWidget(self.follow)
        layout = QtWidgets.QVBoxLayout(self)
        layout.addLayout(form)
        layout.addLayout(buttons)
        layout.addWidget(self.download_button)
        layout.addWidget(self.progress)
        layout.addWidget(self.rate)
        layout.addLayout(preview_row)
        self.load_settings()
        for signal in (self.warmup.valueChanged, self.cleanup.valueChanged, self.direction.currentIndexChanged,
                       self.device.currentIndexChanged, self.precision.currentIndexChanged,
                       self.output.editingFinished):
            signal.connect(self.store_settings)
        self.model.currentIndexChanged.connect(lambda _i: self.controller.models.choose(self.model.currentData()))
        controller.subscribe(self._on_event)
        self.run_button.clicked.connect(self.run_clicked)
        self.cancel_button.clicked.connect(self.controller.cancel)
        self.preview.currentIndexChanged.connect(lambda _i: self.previewModeChanged.emit(self.preview.currentData()))
        self.scope.currentIndexChanged.connect(lambda _i: self.allObjectsChanged.emit(bool(self.scope.currentData())))

    def load_settings(self) -> None:
        s = self.controller.run_settings
        widgets = (self.warmup, self.cleanup, self.direction, self.device, self.precision, self.model, self.output)
        for w in widgets:
            w.blockSignals(True)
        self.warmup.setValue(int(s.warmup))
        self.cleanup.setValue(int(max(s.dilate, s.erode)))
        self.direction.setCurrentIndex(max(0, self.direction.findData(s.direction)))
        self.device.setCurrentIndex(max(0, self.device.findData(s.device if s.device in DEVICES else "auto")))
        self.precision.setCurrentIndex(max(0, self.precision.findData(s.precision)))
        self.model.setCurrentIndex(max(0, self.model.findData(s.model)))
        self.output.setText(s.output_path)
        for w in widgets:
            w.blockSignals(False)
        self.controller.models.choose(s.model)  # a loaded shot's model decides what Run needs

    def store_settings(self, *_args) -> None:
        size = self.cleanup.value()
        self.controller.run_settings = replace(
            self.controller.run_settings, warmup=self.warmup.value(), dilate=size, erode=size,
            direction=self.direction.currentData(), device=self.device.currentData(),
            precision=self.precision.currentData(), output_path=self.output.text().strip())

    def _on_event(self, event, installed) -> None:
        if event == Event.MODELS:
            self.show_installed(installed)

    def show_installed(self, installed) -> None:
        """Each model's entry says whether its checkpoint is installed (nothing while the worker has not said)."""
        for i in range(self.model.count()):
            key = self.model.itemData(i)
            state = None if installed is None or key not in installed else bool(installed[key])
            suffix = {None: "", True: " (installed)", False: " (not installed)"}[state]
            self.model.setItemText(i, MODEL_LABELS.get(key, key) + suffix)

    def set_plate(self, has_plate: bool) -> None:
        """Run needs a plate: greyed out, with the reason in its tooltip, until one is open."""
        self._has_plate = bool(has_plate)
        self._refresh_run_button()

    def set_missing_model(self, why: str) -> None:
        """Run needs the matting model: greyed out with `why` (artist's words) while it is missing."""
        self._missing_model = why
        self._refresh_run_button()

    def _refresh_run_button(self) -> None:
        why = ("Open a plate first (File > Open Plate, drop one on the panel, or Use selected)"
               if not self._has_plate else self._missing_model)
        self.run_button.setEnabled(not why and not self.controller.running)
        self.run_button.setToolTip(why or TIPS["run"])

    def set_preview_mode(self, mode: str) -> None:
        self.preview.setCurrentIndex(max(0, self.preview.findData(mode)))

    def run_clicked(self) -> None:
        self.store_settings()
        self.controller.run()

    def on_run_state(self, state: str) -> None:
        busy = state in ("saving", "running", "cancelling")
        self.run_button.setEnabled(not busy and self._has_plate and not self._missing_model)
        self.cancel_button.setEnabled(state in ("saving", "running"))
        for w in (self.warmup, self.cleanup, self.direction, self.device, self.precision, self.model, self.output):
            w.setEnabled(not busy)
        if state == "saving":
            self.progress.setRange(0, 0)
            self.progress.setFormat("saving the shot…")
            self.rate.setText("")
        elif state == "running":
            self.progress.setRange(0, 0)
            self.progress.setFormat("starting…")
        elif state == "cancelling":
            self.progress.setFormat("cancelling after this frame…")
        else:
            info = self.controller.last_progress
            total = int(info.get("plate_total") or info.get("total") or 0)
            done = int(info.get("plate_done") or 0)
            written = info.get("written")
            self.progress.setRange(0, max(1, total))
            if state == "finished":
                self.progress.setValue(total)
                count = total if written is None else int(written)
                self.progress.setFormat(f"finished: {count} frames written" if written else
                                        f"finished: {count} frames (already up to date)" if written == 0 else
                                        f"finished: {count} frames")
            else:
                self.progress.setValue(min(done, max(1, total)))
                self.progress.setFormat({"cancelled": "cancelled at %v/%m frames",
                                         "failed": "failed at %v/%m frames"}.get(state, "idle"))
            self.rate.setText("")  # rates of a run that is over mislead

    def on_progress(self, info: dict) -> None:
        """Frames of the plate matted so far, the pass by name, speed and time left."""
        total = int(info.get("plate_total") or info.get("total") or 0)
        done = int(info.get("plate_done") or info.get("done") or 0)
        self.progress.setRange(0, max(1, total))
        self.progress.setValue(min(done, max(1, total)))
        name = info.get("pass_name") or "Matting"
        self.progress.setFormat("{} · frame {} · %v/%m frames".format(name, info.get("frame", "?")))
        fps, eta = info.get("fps"), info.get("eta_s")
        parts = []
        if fps:
            parts.append(f"{float(fps):.2f} fps")
        if eta is not None:
            parts.append("ETA " + format_eta(float(eta)))
        self.rate.setText("   ".join(parts))


def format_eta(seconds: float) -> str:
    seconds = max(0, int(round(seconds)))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"
