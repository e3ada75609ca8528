"""Missing models found before the first click, in an artist's words (issue 19.9), on the fake worker
answering weights_status as plugin.worker does (tests/plugin/test_worker.py covers the worker's side)."""
from __future__ import annotations

from ui.qt import QtWidgets

from tests.ui.conftest import make_panel, open_fake_plate


def test_missing_models_greyed_out_with_the_reason_and_a_download(qtbot):
    panel, holder = make_panel(qtbot, installed={"matanyone": False, "sam2.1-tiny": False})
    open_fake_plate(qtbot, panel, holder)
    c = panel.controller
    sam = panel.tools.tool_buttons["sam"]
    qtbot.waitUntil(lambda: c.models.installed is not None, timeout=5000)
    assert not sam.isEnabled() and "SAM2 model is not installed" in sam.toolTip() and "ask your TD" in sam.toolTip()
    assert not panel.run_box.run_button.isEnabled()
    assert "MatAnyone model is not installed" in panel.run_box.run_button.toolTip()
    assert panel.run_box.download_button.isVisibleTo(panel)
    panel.tools.set_tool("sam")  # the key S: no tool change, one readable line
    assert panel.viewer.tool != "sam" and "SAM2 model is not installed" in panel.error_bar.message.text()
    assert "$MATANYONE" not in panel.error_bar.message.text() and "http" not in panel.error_bar.message.text()
    asked = []
    panel.ask = lambda title, text, buttons: asked.append((title, text)) or QtWidgets.QMessageBox.Yes
    panel.run_box.download_button.click()
    assert [t for t, _ in asked] == ["Download sam2.1-tiny", "Download matanyone"]
    assert "test licence" in asked[0][1] and "40 MB" in asked[0][1]
    qtbot.waitUntil(lambda: sam.isEnabled() and panel.run_box.run_button.isEnabled(), timeout=5000)
    assert not panel.run_box.download_button.isVisibleTo(panel)
    c.close()


def test_artist_words_with_the_exact_terms_in_tooltips(qtbot):
    panel, _holder = make_panel(qtbot)
    box = panel.run_box
    labels = [box.precision.itemText(i) for i in range(box.precision.count())]
    assert "Best" in labels and not any("fp" in t for t in labels)
    assert "fp32" in box.precision.toolTip() and "bf16" in box.precision.toolTip()
    assert [box.device.itemText(i) for i in range(box.device.count())][:2] == ["Automatic", "CPU"]
    assert "cuda" in box.device.toolTip() and "Warm-up" in box.warmup.toolTip()
    assert panel.tools.tool_buttons["sam"].text() == "Smart select" and "SAM2" in panel.tools.tool_buttons["sam"].toolTip()
    panel.controller.close()


def test_real_worker_reports_missing_models_before_the_first_click(qtbot, tmp_path, monkeypatch):
    """The worker's own weights_status (an empty cache and studio folder) greys Smart select and Run."""
    import importlib.util
    if importlib.util.find_spec("plugin.worker") is None:
        import pytest
        pytest.skip("plugin.worker not in this checkout")
    from matanyone_engine.weights import ENV_CACHE_DIR
    monkeypatch.setenv(ENV_CACHE_DIR, str(tmp_path / "cache"))
    monkeypatch.setenv("MATANYONE_PLUGIN_WEIGHTS", str(tmp_path / "studio"))
    monkeypatch.setenv("MATANYONE_PLUGIN_OFFLINE", "1")
    (tmp_path / "studio").mkdir()
    from tests.ui.test_panel_real_worker import _plate
    from ui.panel.widgets import Panel
    panel = Panel()
    qtbot.addWidget(panel)
    panel.show()
    c = panel.controller
    try:
        c.open_plate(_plate(str(tmp_path / "plates"), 2))
        qtbot.waitUntil(lambda: c.models.installed is not None and c.plate is not None, timeout=120000)
        assert c.models.installed.get("sam2.1-tiny") is False
        assert not panel.tools.tool_buttons["sam"].isEnabled()
        assert "SAM2 model is not installed" in panel.tools.tool_buttons["sam"].toolTip()
        assert not panel.run_box.run_button.isEnabled()
        assert "model is not installed" in panel.run_box.run_button.toolTip()
        c.sam_model = "stand-in"  # stand-in weights are always there
        c.run_settings.weights = "stand-in"
        panel._ev_models(c.models.installed)
        assert panel.tools.tool_buttons["sam"].isEnabled() and panel.run_box.run_button.isEnabled()
    finally:
        c.close()
