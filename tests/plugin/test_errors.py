"""One error hierarchy: every user-facing error, the engine's included, carries the user-error
mark and one line, and crosses the worker line as the same kind (issue 16: the kinds were
class-name lists kept twice, in plugin/worker.py and plugin/client.py)."""
import ast
import importlib
from pathlib import Path

import pytest

from plugin import client, errors, protocol

REPO = Path(__file__).resolve().parents[2]
PACKAGES = ("matanyone_engine", "plugin", "ui", "nuke_bridge", "resolve_bridge")
# Not user-facing: internal signals and protocol plumbing, each caught where it is raised
# (the engine's Cancelled stops a warm-up step; plugin.job catches it and reports the cancel).
INTERNAL = {"ProtocolError", "ParamsError", "_Cancelled", "_RequestError", "Cancelled"}


def _exception_classes():
    """(module, class name) of every exception class the product defines, found in the source."""
    for package in PACKAGES:
        for path in sorted((REPO / package).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for node in tree.body:
                if isinstance(node, ast.ClassDef) and any(
                        isinstance(b, ast.Name) and (b.id.endswith("Error") or b.id == "Exception"
                                                      or b.id.endswith("Cancelled") or b.id.endswith("Accepted"))
                        for b in node.bases):
                    module = ".".join(path.relative_to(REPO).with_suffix("").parts)
                    yield module, node.name


@pytest.mark.parametrize("module, name", sorted(set(_exception_classes()) - {
    (m, n) for m, n in _exception_classes() if n in INTERNAL}))
def test_every_user_facing_error_carries_the_mark_and_one_line(module, name):
    if module.startswith(("nuke_bridge", "resolve_bridge")):
        pytest.skip("bridges import their host module; they define no error classes of their own")
    cls = getattr(importlib.import_module(module), name)
    err = cls("plate sh010.1001.exr\n  is missing:   place it")
    assert errors.is_user_error(err), f"{module}.{name} lacks user_error = True"
    assert str(err) == "plate sh010.1001.exr is missing: place it"


def test_engine_errors_cross_the_worker_line_as_the_same_kind():
    from matanyone_engine import errors as engine
    from matanyone_engine.download import DownloadCancelled

    cases = {engine.WeightsError: errors.WeightsError, engine.WeightsLayoutError: errors.WeightsError,
             DownloadCancelled: errors.WeightsError, engine.DeviceError: errors.DeviceError,
             engine.InputError: errors.UserError, errors.PlateError: errors.PlateError,
             errors.SettingsError: errors.SettingsError}
    for raised, expected in cases.items():
        sent = protocol.error(1, protocol.USER_ERROR, str(raised("x")), kind=errors.kind_of(raised("x")))
        got = client._error_from(protocol.decode(protocol.encode(sent))["error"], "run_shot")
        assert type(got) is expected and str(got) == "x" and errors.is_user_error(got)


def test_every_plugin_error_class_is_a_kind():
    for name in dir(errors):
        obj = getattr(errors, name)
        if isinstance(obj, type) and issubclass(obj, errors.UserError):
            assert errors.kind_of(obj("m")) == name
            assert type(errors.from_kind(name, "m")) is obj
    assert type(errors.from_kind("NoSuchKind", "m")) is errors.UserError
