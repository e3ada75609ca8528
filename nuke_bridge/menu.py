"""Nuke menu start-up: register the MatAnyone pane and menu entries (builds no Qt object)."""
import nuke_bridge.panel

nuke_bridge.panel.register()
