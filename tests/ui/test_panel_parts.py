"""The controller's composed parts and named events (issue 16), object removal as an undo step and
unsaved work (issue 19.5), on the fake worker (these points are about the panel, not the worker)."""
from __future__ import annotations

import ast
import pathlib

import pytest

from ui.panel.events import Event
from tests.ui.conftest import REPO_ROOT, drag


def test_an_event_must_be_named_in_the_enum(panel):
    panel, _client = panel
    with pytest.raises(TypeError):
        panel.controller.emit("progres", {})  # a typo is an error, not silently dropped
    with pytest.raises(AttributeError):
        Event.PROGRES  # noqa: B018


def test_every_emit_in_the_panel_names_an_event_member():
    """No part emits a string: each `emit(...)` call's first argument is `Event.<member>`."""
    for name in ("controller.py", "edits.py", "samclicks.py", "runs.py", "alphas.py"):
        path = pathlib.Path(REPO_ROOT, "ui", "panel", name)
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "emit" and node.args:
                arg = node.args[0]
                assert isinstance(arg, ast.Attribute) and getattr(arg.value, "id", None) == "Event", \
                    f"{path.name}:{node.lineno}"
                assert arg.attr in Event.__members__, f"{path.name}:{node.lineno}: Event.{arg.attr}"


def test_parts_do_not_write_each_others_private_state():
    """The parts reach the controller through `shell` and never touch a `_private` of another object."""
    for name in ("edits.py", "samclicks.py", "runs.py", "alphas.py"):
        source = pathlib.Path(REPO_ROOT, "ui", "panel", name).read_text()
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__"):
                owner = node.value
                assert isinstance(owner, ast.Name) and owner.id == "self", f"{name}:{node.lineno} .{node.attr}"


def test_removing_an_object_is_undoable_with_its_masks_and_marks_the_shot_dirty(panel, qtbot):
    panel, _client = panel
    c = panel.controller
    v = panel.viewer
    assert not c.dirty
    c.add_object("hero")
    drag(v, [v.to_widget(20, 20), v.to_widget(40, 30)])
    assert c.dirty
    hero = c.selected
    mask = c.selected.masks[c.current_frame]
    c.remove_object(hero.id)
    assert c.objects == [] and c.undo_labels()[0] == "remove object"
    c.undo()
    assert [o.name for o in c.objects] == ["hero"] and c.selected.masks[c.current_frame] is mask
    assert c.undo_labels()[0] == "paint"  # the stroke's own undo step survived the removal
    c.redo()
    assert c.objects == []
    saved = []
    c.undo()
    c.save_shot(then=saved.append)
    qtbot.waitUntil(lambda: bool(saved), timeout=10000)
    assert not c.dirty


def test_rename_and_recolour_are_undo_steps(panel):
    panel, _client = panel
    c = panel.controller
    obj = c.add_object("hero")
    first_colour = obj.colour
    c.rename_object(obj.id, "stunt_double")
    c.set_colour(obj.id, "#123456")
    assert c.undo_labels()[0] == "colour" and c.dirty
    c.undo()
    assert obj.colour == first_colour and c.undo_labels()[0] == "rename"
    c.undo()
    assert obj.name == "hero"
    c.redo()
    assert obj.name == "stunt_double" and panel.objects_box.list.item(0).text() == "stunt_double"
