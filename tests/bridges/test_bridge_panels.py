"""The bridges with the real panel (`ui.show_panel`, offscreen Qt) and a stand-in worker
client: the host's plate reaches the worker's open_plate, and a finished run comes back
through the host."""
import sys

import pytest

pytest.importorskip("PySide6")
widgets = pytest.importorskip("ui.panel.widgets")


class FakeClient:
    """Stands in for plugin.client.WorkerClient: records calls, answers open_plate."""

    made = []

    def __init__(self, python=None, on_notification=None):
        self.calls = []
        FakeClient.made.append(self)

    def start(self):
        return {"protocol": 1, "device": "cpu"}

    def call_async(self, method, params, callback):
        self.calls.append((method, dict(params)))
        if method == "open_plate":  # what the worker answers: plugin.protocol.PlateOpened
            from plugin import protocol
            callback(protocol.PlateOpened(
                path=params["path"], first=1001, last=1003, frames=3, width=96, height=64, is_movie=False,
                channels=("R", "G", "B"), pixel_type="half", display_window=(0, 0, 96, 64),
                data_window=(0, 0, 96, 64), displays={"sRGB": ("ACES 1.0 - SDR Video",)},
                colourspace=params.get("colourspace")).to_json(), None)

    def cancel(self):
        self.calls.append(("cancel", {}))

    def close(self):
        self.calls.append(("close", {}))


@pytest.fixture
def fake_worker(monkeypatch):
    import plugin.client

    FakeClient.made = []
    monkeypatch.setattr(plugin.client, "WorkerClient", FakeClient)
    monkeypatch.setenv("MATANYONE_PLUGIN_PYTHON", sys.executable)
    return FakeClient


def _calls(method):
    return [p for c in FakeClient.made for m, p in c.calls if m == method]


def _nuke_pane(qtbot, fake_nuke):
    """The pane opened on a selected Read 'Plate' (1001-1003), its plate loaded."""
    fake_nuke.fake_node("Read", name="Plate", selected=True, file="/s/sh010.%04d.exr", first=1001, last=1003)
    from nuke_bridge import panel

    panel.register()
    widget = panel.open_panel()
    qtbot.addWidget(widget)
    qtbot.waitUntil(lambda: widget.panel.controller.plate is not None, timeout=5000)
    return widget


def test_nuke_pane_loads_the_selected_read_into_the_real_panel(qtbot, fake_nuke, fake_worker):
    fake_nuke.fake_node("Read", name="Plate", selected=True, file="/s/sh010.%04d.exr", first=1001,
                        last=1003, colorspace="AlexaV3LogC", frame_mode="start at", frame="1")
    from nuke_bridge import panel
    from nuke_bridge.host import NukeHost

    panel.register()
    widget = panel.open_panel()
    qtbot.addWidget(widget)
    assert isinstance(widget.panel, widgets.Panel) and isinstance(widget.panel.host, NukeHost)
    assert widget.panel.parent() is widget
    assert widget.progress.controller is widget.panel.controller  # Nuke's progress bar follows runs
    qtbot.waitUntil(lambda: bool(_calls("open_plate")), timeout=5000)
    assert _calls("open_plate")[0]["path"] == "/s/sh010.%04d.exr"
    assert _calls("open_plate")[0]["colourspace"] == "ARRI LogC3 (EI800)"
    qtbot.waitUntil(lambda: widget.panel.controller.plate is not None, timeout=5000)
    assert widget.panel.controller.plate.frame_offset == -1000
    import nukescripts

    (docked,) = nukescripts.panels.shown  # added once (restorePanel would add it a second time)
    assert docked.pane == fake_nuke.getPaneFor("Properties.1") and docked.built is widget
    assert panel.open_panel() is widget  # a second 'Matte selected Read' reuses the pane
    assert len(nukescripts.panels.shown) == 1


def test_nuke_pane_floats_when_no_properties_pane_is_open(qtbot, fake_nuke, fake_worker):
    fake_nuke.fake_node("Read", name="Plate", selected=True, file="/s/sh010.%04d.exr", first=1001, last=1003)
    fake_nuke._panes.clear()  # getPaneFor("Properties.1") gives None, as in Nuke with that pane closed
    from nuke_bridge import panel
    import nukescripts

    panel.register()
    widget = panel.open_panel()
    qtbot.addWidget(widget)
    (docked,) = nukescripts.panels.shown
    assert docked.floating and docked.built is widget


def test_nuke_hidden_pane_tab_is_brought_forward(qtbot, fake_nuke, fake_worker):
    from ui.qt import QtWidgets

    fake_nuke.fake_node("Read", name="Plate", selected=True, file="/s/sh010.%04d.exr", first=1001, last=1003)
    from nuke_bridge import panel

    panel.register()
    widget = panel.open_panel()
    tabs = QtWidgets.QTabWidget()
    qtbot.addWidget(tabs)
    tabs.addTab(QtWidgets.QLabel("Properties"), "Properties")
    tabs.addTab(widget, "MatAnyone")
    tabs.setCurrentIndex(0)
    assert panel.open_panel() is widget
    assert tabs.currentWidget() is widget


def test_nuke_closing_the_pane_stops_the_worker(qtbot, fake_nuke, fake_worker):
    fake_nuke.fake_node("Read", name="Plate", selected=True, file="/s/sh010.%04d.exr", first=1001, last=1003)
    from nuke_bridge import panel

    panel.register()
    widget = panel.open_panel()
    qtbot.waitUntil(lambda: bool(_calls("open_plate")), timeout=5000)
    widget.deleteLater()  # what Nuke does with a closed pane's widget
    qtbot.waitUntil(lambda: bool(_calls("close")), timeout=5000)
    assert fake_nuke._script_close == []  # and its script-close callback is gone with it


def test_nuke_closing_the_script_cancels_the_run(qtbot, fake_nuke, fake_worker):
    widget = _nuke_pane(qtbot, fake_nuke)
    controller = widget.panel.controller
    errors = []
    controller.subscribe(lambda event, payload: errors.append(payload) if event == "error" else None)
    controller.runs.running = True  # a run in flight
    fake_nuke.fake_script_close()
    qtbot.waitUntil(lambda: bool(_calls("cancel")), timeout=5000)
    assert errors and "script was closed" in errors[-1]["message"]


def test_nuke_finished_run_is_wired_back_on_the_main_thread(qtbot, fake_nuke, fake_worker, tmp_path):
    widget = _nuke_pane(qtbot, fake_nuke)
    controller = widget.panel.controller
    controller.shot_path = str(tmp_path / "sh010.matanyone.json")
    controller.runs.finish("finished", {"outputs": {"hero": "matte/sh010_hero.####.exr"}})
    assert fake_nuke.toNode("MatAnyone_sh010_hero_alpha") is None  # queued for Nuke's main thread
    fake_nuke.fake_run_main_thread()
    read = fake_nuke.toNode("MatAnyone_sh010_hero_alpha")
    assert read["file"].value() == (tmp_path / "matte" / "sh010_hero.####.exr").as_posix()


def test_nuke_mask_from_a_node_goes_to_the_panels_frame(qtbot, fake_nuke, fake_worker, tmp_path):
    fake_nuke.fake_node("Read", name="Plate", selected=True, file="/s/sh010.%04d.exr", first=1001,
                        last=1003, frame_mode="offset", frame="10")
    from nuke_bridge import panel

    panel.register()
    widget = panel.open_panel()
    qtbot.addWidget(widget)
    controller = widget.panel.controller
    qtbot.waitUntil(lambda: controller.plate is not None, timeout=5000)
    imported = []
    controller.import_mask = lambda path: imported.append((path, controller.current_frame))
    fake_nuke._nodes["Plate"]._selected = False
    fake_nuke.fake_node("Grade", name="Roto1", selected=True)
    fake_nuke.frame(1012)  # host frame 1012 = source frame 1002
    path = panel.mask_from_selected()
    assert imported == [(path, 1002)] and path.endswith("Roto1_mask.1012.exr")
    fake_nuke.frame(1)
    assert panel.mask_from_selected() is None
    assert "outside the plate (1011-1013)" in fake_nuke.fake_calls("message")[-1][0]


def test_resolve_window_opens_on_the_clip(qtbot, fake_resolve_module, fake_worker):
    dvr = fake_resolve_module
    media = dvr.MediaPoolItem("m1", "sh010", {"File Path": "/s/sh010.[1001-1100].exr", "FPS": "24",
                                              "Start TC": "00:00:41:17", "Frames": "100"})
    dvr.fake_project([[dvr.TimelineItem("a", "sh010", media, 86400, 3, left_offset=0)]])
    from resolve_bridge.host import ResolveHost
    from resolve_bridge.launch import open_panel_window

    window = open_panel_window(ResolveHost(dvr.scriptapp("Resolve")))
    qtbot.addWidget(window)
    assert window.windowTitle() == "MatAnyone - sh010" and window.parent() is None
    qtbot.waitUntil(lambda: bool(_calls("open_plate")), timeout=5000)
    assert _calls("open_plate")[0]["path"] == "/s/sh010.####.exr"


@pytest.mark.parametrize("clip_fps, expected", [(24, 1002), (48, 1003)])
def test_resolve_window_opens_at_the_playheads_source_frame_writing_resolve_mattes(
        qtbot, fake_resolve_module, fake_worker, clip_fps, expected):
    dvr = fake_resolve_module
    media = dvr.MediaPoolItem("m1", "sh010", {"File Path": "/s/sh010.[1001-1100].exr", "FPS": str(clip_fps),
                                              "Start TC": "00:00:41:17", "Frames": "100"})
    dvr.fake_project([[dvr.TimelineItem("a", "sh010", media, 86400, 2, left_offset=0)]], playhead=86401)
    from resolve_bridge.host import ResolveHost
    from resolve_bridge.launch import open_panel_window

    window = open_panel_window(ResolveHost(dvr.scriptapp("Resolve")))
    qtbot.addWidget(window)
    qtbot.waitUntil(lambda: window.controller.current_frame == expected, timeout=5000)
    assert window.controller.run_settings.channels == "matte"


def test_hiero_pane_opens_on_the_selected_shot(qtbot, fake_hiero, fake_worker):
    from tests.bridges.test_hiero_bridge import _timeline

    _timeline(fake_hiero)
    from nuke_bridge import hiero_host

    widget = hiero_host.open_panel()
    qtbot.addWidget(widget)
    assert fake_hiero.ui.state["windows"] == [widget]  # docked through Hiero's window manager
    qtbot.waitUntil(lambda: bool(_calls("open_plate")), timeout=5000)
    assert _calls("open_plate")[0]["path"] == "/plates/sh010/sh010.%04d.exr"
    qtbot.waitUntil(lambda: widget.panel.controller.plate is not None, timeout=5000)
    assert widget.panel.controller.plate.frame_offset == 86400 - 1021
    assert hiero_host.open_panel() is widget and len(fake_hiero.ui.state["windows"]) == 1


def test_nuke_wiring_error_shows_in_the_pane_not_only_the_script_editor(qtbot, fake_nuke, fake_worker, tmp_path,
                                                                         monkeypatch):
    widget = _nuke_pane(qtbot, fake_nuke)
    controller = widget.panel.controller
    errors = []
    controller.subscribe(lambda event, payload: errors.append(payload) if event == "error" else None)

    def broken(*a, **k):
        raise RuntimeError("channel limit reached")
    monkeypatch.setattr(fake_nuke, "Layer", broken)
    controller.shot_path = str(tmp_path / "sh010.matanyone.json")
    controller.runs.finish("finished", {"outputs": {"a": "matte/a.####.exr", "b": "matte/b.####.exr"}})
    fake_nuke.fake_run_main_thread()
    assert errors and "channel limit reached" in errors[-1]["message"]
    assert fake_nuke.fake_calls("message") == []
    assert [n.name() for n in fake_nuke.allNodes()] == ["Plate"]
