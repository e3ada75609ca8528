"""The settings file: read once per process into one frozen object; a broken file is a one-line
error naming the file and the key (issue 16: it silently switched colour to the built-in OCIO
config); `"offline": true` in the file stops the worker's download too."""
import io
import json

import pytest

from plugin import protocol, settings
from plugin.errors import SettingsError, is_user_error


def _write(text: str):
    path = settings.settings_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("text, names", [
    ("{not json", ["not valid JSON"]),
    ("[1, 2]", ["JSON object"]),
    ('{"offline": "yes"}', ["offline", "true or false"]),
    ('{"ocio_config": 3}', ["ocio_config", "OCIO config path"]),
    ('{"device": null}', ["device"]),
    ('{"ocio_cofnig": "/studio/config.ocio"}', ["'ocio_cofnig'", "not a known setting"]),
])
def test_a_broken_settings_file_is_one_line_naming_file_and_key(text, names):
    path = _write(text)
    with pytest.raises(SettingsError) as e:
        settings.load()
    message = str(e.value)
    assert "\n" not in message and str(path) in message and is_user_error(e.value)
    for name in names:
        assert name in message


def test_a_broken_settings_file_never_falls_back_to_the_builtin_ocio_config():
    from plugin import color

    _write('{"ocio_config": ["studio.ocio"]}')
    with pytest.raises(SettingsError, match="ocio_config"):
        color.config_source()
    _write('{"ocio_config": "/studio/config.ocio"}')
    assert color.config_source() == ("/studio/config.ocio", "settings")


def test_settings_are_read_once_per_process():
    settings.save(settings.Settings(device="cpu"))
    first = settings.current()
    assert first.device == "cpu" and settings.current() is first
    _write('{"device": "cuda"}')          # edited behind the process's back: not re-read
    assert settings.current() is first
    settings.save(settings.Settings(device="mps"))   # this process's own change is
    assert settings.current().device == "mps"
    with pytest.raises(Exception):
        first.device = "cuda"             # frozen: one object, passed around


def test_offline_in_the_settings_file_stops_the_workers_download(monkeypatch):
    """Without MATANYONE_PLUGIN_OFFLINE, only the file says offline; weights_get must refuse
    before any network access (the fetch is never reached with offline unset)."""
    from matanyone_engine import weights
    from plugin.worker import Worker

    monkeypatch.delenv("MATANYONE_PLUGIN_OFFLINE", raising=False)
    _write(json.dumps({"offline": True}))
    seen = {}

    def no_network(*args, **kwargs):  # records what the worker asked; a download would fail the test
        seen.update(kwargs)
        if not kwargs.get("offline"):
            raise AssertionError("weights_get would have downloaded although the settings say offline")
        raise weights.WeightsError("offline (setting): cannot download matanyone.pth")

    monkeypatch.setattr(weights, "fetch", no_network)
    out = io.BytesIO()
    w = Worker(out)
    try:
        w.handle_line(protocol.encode(protocol.request(1, "hello", {"protocol": protocol.PROTOCOL_VERSION})))
        w.handle_line(protocol.encode(protocol.request(2, "weights_get", {"name": "matanyone"})))
        w.pool.shutdown(wait=True)
    finally:
        w.close()
    answers = [protocol.decode(line) for line in out.getvalue().splitlines()]
    assert seen["offline"] is True
    assert answers[-1]["error"]["code"] == protocol.USER_ERROR and "offline" in answers[-1]["error"]["message"]
