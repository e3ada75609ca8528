"""The standalone app: window system check, sequence detection, main window (open, drop, recent,
save, output folder, remembered layout) and the `matanyone-plugin app` command."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest
from ui.qt import QtCore, QtGui

from tests.ui.conftest import REPO_ROOT, make_panel, open_fake_plate
from ui.app import platform_check
from ui.app.window import MainWindow, sequence_pattern


def test_platform_check_names_missing_libraries():
    env = {"DISPLAY": ":0"}
    have = {"libGL.so.1", "libEGL.so.1", "libfontconfig.so.1", "libxcb-shape.so.0"}
    line = platform_check.problem(env, "linux", loadable=lambda name: name in have)
    assert line is not None and "\n" not in line
    for package in ("libxcb-cursor0", "libxkbcommon-x11-0", "libxcb-icccm4", "libxcb-keysyms1",
                    "libxcb-render-util0", "libxcb-xinerama0"):
        assert package in line
    assert "libgl1" not in line.split("`")[1]  # only what is missing is named in the apt command
    assert platform_check.problem(env, "linux", loadable=lambda name: True) is None
    assert "DISPLAY" in platform_check.problem({}, "linux", loadable=lambda name: True)
    assert platform_check.problem({"QT_QPA_PLATFORM": "offscreen"}, "linux", loadable=lambda n: False) is None
    assert platform_check.problem({}, "darwin", loadable=lambda n: False) is None


def test_app_command_without_display_prints_one_line():
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "QT_QPA_PLATFORM", "WAYLAND_DISPLAY")}
    proc = subprocess.run([sys.executable, "-m", "plugin", "app"], cwd=REPO_ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: no X display"), proc.stderr


def test_app_command_missing_plate_is_one_line():
    proc = subprocess.run([sys.executable, "-m", "plugin", "app", "/no/such/plate.exr"], cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1 and proc.stderr.strip().count("\n") == 0
    assert "/no/such/plate.exr" in proc.stderr and "Traceback" not in proc.stderr


def test_sequence_pattern(tmp_path):
    for f in (1001, 1002, 1003):
        (tmp_path / f"sh010.{f}.exr").write_bytes(b"")
    (tmp_path / "single.0001.png").write_bytes(b"")
    assert sequence_pattern(str(tmp_path / "sh010.1002.exr")) == str(tmp_path / "sh010.####.exr")
    assert sequence_pattern(str(tmp_path / "single.0001.png")) == str(tmp_path / "single.0001.png")
    assert sequence_pattern(str(tmp_path / "clip.mov")) == str(tmp_path / "clip.mov")
    assert sequence_pattern("/a/b.####.exr") == "/a/b.####.exr"


@pytest.fixture
def window(qtbot, tmp_path):
    panel, holder = make_panel(qtbot)
    settings = QtCore.QSettings(str(tmp_path / "app.ini"), QtCore.QSettings.IniFormat)
    win = MainWindow(panel=panel, settings=settings)
    qtbot.addWidget(win)
    win.show()
    yield win, holder, settings
    panel.controller.close()


def test_open_drop_recent_and_save(window, qtbot, tmp_path):
    win, holder, settings = window
    for f in (7, 8, 9):
        (tmp_path / f"plate.{f:04d}.exr").write_bytes(b"")
    mime = QtCore.QMimeData()
    mime.setUrls([QtCore.QUrl.fromLocalFile(str(tmp_path / "plate.0008.exr"))])
    enter = QtGui.QDragEnterEvent(QtCore.QPoint(10, 10), QtCore.Qt.CopyAction, mime, QtCore.Qt.LeftButton,
                                  QtCore.Qt.NoModifier)
    enter.ignore()
    win.dragEnterEvent(enter)  # Qt delivers drag events only during a real drag: call the handlers
    assert enter.isAccepted()
    drop = QtGui.QDropEvent(QtCore.QPointF(10, 10), QtCore.Qt.CopyAction, mime, QtCore.Qt.LeftButton,
                            QtCore.Qt.NoModifier)
    win.dropEvent(drop)
    qtbot.waitUntil(lambda: win.panel.viewer.image is not None, timeout=5000)
    client = holder["client"]
    assert client.calls_of("open_plate")[0]["path"] == str(tmp_path / "plate.####.exr")
    assert win.recent()[0] == str(tmp_path / "plate.####.exr")
    assert [a.text() for a in win.recent_menu.actions()] == ["plate.####.exr"]
    assert "plate.####.exr" in win.windowTitle()
    assert settings.value("folders/plate") == str(tmp_path)
    # output beside the plate by default, or in a chosen folder
    assert win.controller.output_pattern() == str(tmp_path / "matte" / "plate_{object}.####.exr")
    win.set_output_folder(str(tmp_path / "renders"))
    assert win.controller.output_pattern() == str(tmp_path / "renders" / "plate_{object}.####.exr")
    assert win.panel.run_box.output.text() == str(tmp_path / "renders" / "plate_{object}.####.exr")
    # save the shot (Ctrl+S) beside the outputs' folder; it joins the recent list
    v = win.panel.viewer
    from tests.ui.conftest import drag
    drag(v, [v.to_widget(20, 20), v.to_widget(40, 30)])
    win.save_action.trigger()
    qtbot.waitUntil(lambda: win.recent()[0].endswith(".json"), timeout=5000)
    assert os.path.isfile(win.recent()[0])
    assert win.recent()[0] == str(tmp_path / "plate.matanyone.json")


def test_layout_is_remembered(qtbot, tmp_path):
    settings = QtCore.QSettings(str(tmp_path / "app.ini"), QtCore.QSettings.IniFormat)
    panel, _holder = make_panel(qtbot)
    win = MainWindow(panel=panel, settings=settings)
    qtbot.addWidget(win)
    win.show()
    win.resize(700, 520)
    win.move(30, 40)
    size = win.size()
    win.close()
    assert settings.value("window/geometry") is not None
    panel2, _holder2 = make_panel(qtbot)
    win2 = MainWindow(panel=panel2, settings=settings)
    qtbot.addWidget(win2)
    assert win2.size() == size
    panel2.controller.close()


def test_open_shot_from_recent(window, qtbot, tmp_path):
    win, holder, settings = window
    open_fake_plate(qtbot, win.panel, holder, str(tmp_path / "sh050.####.exr"))
    v = win.panel.viewer
    from tests.ui.conftest import drag
    drag(v, [v.to_widget(20, 20), v.to_widget(40, 30)])
    saved = []
    win.controller.save_shot(str(tmp_path / "sh050.json"), then=saved.append)
    qtbot.waitUntil(lambda: bool(saved), timeout=5000)
    win.open_path(str(tmp_path / "sh050.json"))
    qtbot.waitUntil(lambda: len(holder["client"].calls_of("open_plate")) == 2, timeout=5000)
    qtbot.waitUntil(lambda: bool(win.controller.objects and win.controller.objects[0].masks), timeout=5000)
    assert win.recent()[0] == str(tmp_path / "sh050.json")


def test_known_crashing_qt_binding_is_refused(monkeypatch, capsys):
    from ui import qt
    from ui.app import main
    found = main.qt_binding_problem()
    if sys.version_info < (3, 12) and qt.BINDING_VERSION == "6.12.0":
        assert found and "6.11.0" in found  # this interpreter has the bug: the app says so
    else:
        assert found is None
    monkeypatch.setattr(main, "qt_binding_problem", lambda: "PySide6 6.12.0 on Python 3.11 crashes: install 6.11.0")
    monkeypatch.setattr(platform_check, "problem", lambda: None)
    assert main.run() == 1
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and err.startswith("error: PySide6 6.12.0")
