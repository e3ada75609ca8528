"""MatAnyone inside Nuke: add this folder to NUKE_PATH (README.md, section "Nuke").

`init.py` makes the package root importable, `menu.py` registers the pane, `panel.py`
builds it on demand, `host.py` is the `ui.host.HostAdapter` for Nuke. Importing this
package loads nothing.
"""
