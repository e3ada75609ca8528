"""Nuke's own progress bar (`nuke.ProgressTask`) for a run, beside the panel's: the
artist sees it in Nuke's progress window and can cancel there too.

Driven by the panel controller's events, which arrive on Nuke's main thread.
"""
from __future__ import annotations

import nuke

_ENDED = ("finished", "failed", "cancelled")


class NukeProgress:
    """Subscribes to a panel controller; one ProgressTask per run, dropped when it ends."""

    def __init__(self, controller):
        self.controller = controller
        self.task = None
        controller.subscribe(self.on_event)

    def on_event(self, event: str, payload) -> None:
        if event == "run_state" and payload == "running":
            plate = getattr(self.controller, "plate", None)
            name = getattr(plate, "path", "") or "plate"
            self.task = nuke.ProgressTask("MatAnyone " + name.replace("\\", "/").rsplit("/", 1)[-1])
        elif event == "run_state" and payload in _ENDED:
            self.task = None  # Nuke closes a ProgressTask when it is deleted
        elif event == "progress" and self.task is not None:
            done, total = int(payload.get("done") or 0), max(int(payload.get("total") or 0), 1)
            self.task.setProgress(min(100, 100 * done // total))
            fps = payload.get("fps")
            rate = f", {float(fps):.1f} fps" if fps else ""
            self.task.setMessage(f"frame {payload.get('frame', '')} ({done}/{total}{rate})")
            if self.task.isCancelled():
                self.controller.cancel()
