"""Fixtures for the host bridges: the fake `nuke`/`nukescripts` and `DaVinciResolveScript`
modules in `fakes/`, importable only while a test asks for them."""
import sys
from pathlib import Path

import pytest

FAKES = Path(__file__).resolve().parent / "fakes"
_FAKE_MODULES = ("nuke", "nukescripts", "nukescripts.panels", "DaVinciResolveScript",
                 "hiero", "hiero.core", "hiero.core.events", "hiero.ui")


def _forget(prefixes):
    for name in list(sys.modules):
        if name in _FAKE_MODULES or any(name == p or name.startswith(p + ".") for p in prefixes):
            del sys.modules[name]


@pytest.fixture
def fake_nuke(monkeypatch, tmp_path):
    """The fake `nuke` module, reset, with nuke_bridge imported fresh against it; the script
    is saved as <tmp>/comp/sh010_comp_v001.nk (mattes go beside it)."""
    monkeypatch.syspath_prepend(str(FAKES))
    monkeypatch.delenv("OCIO", raising=False)
    monkeypatch.delenv("MATANYONE_NUKE_OUTPUT", raising=False)
    _forget(("nuke_bridge",))
    import nuke

    nuke.fake_reset()
    (tmp_path / "comp").mkdir()
    nuke.root()["name"].setValue((tmp_path / "comp" / "sh010_comp_v001.nk").as_posix())
    del nuke.calls[:]
    del nuke.undo_history[:]
    yield nuke
    _forget(("nuke_bridge",))


@pytest.fixture
def fake_resolve_module(monkeypatch):
    """The fake `DaVinciResolveScript` module, reset, with resolve_bridge imported fresh."""
    monkeypatch.syspath_prepend(str(FAKES))
    _forget(("resolve_bridge",))
    import DaVinciResolveScript

    DaVinciResolveScript.fake_reset()
    yield DaVinciResolveScript
    _forget(("resolve_bridge",))


@pytest.fixture
def fake_hiero(monkeypatch, tmp_path):
    """The fake `hiero` package, fresh, with a project saved at <tmp>/edit/show.hrox."""
    monkeypatch.syspath_prepend(str(FAKES))
    monkeypatch.delenv("OCIO", raising=False)
    monkeypatch.delenv("MATANYONE_HIERO_OUTPUT", raising=False)
    monkeypatch.delenv("MATANYONE_HIERO_HANDLES", raising=False)
    _forget(("nuke_bridge",))
    import hiero.core
    import hiero.ui

    (tmp_path / "edit").mkdir()
    del hiero.core.log[:]
    del hiero.core.events.interests[:]
    hiero.ui.state.update(sequence=None, selection=[], time=0, menubar=None, windows=[])
    hiero.fake_project = hiero.core.Project((tmp_path / "edit" / "show.hrox").as_posix())
    yield hiero
    _forget(("nuke_bridge",))
