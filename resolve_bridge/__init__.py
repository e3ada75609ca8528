"""MatAnyone for DaVinci Resolve Studio: the Workspace > Scripts entry (README.md, section "DaVinci Resolve").

`MatAnyone.py` is the script Resolve lists (installed by `python -m resolve_bridge.install`),
`launch.py` connects and opens the panel, `host.py` is the `ui.host.HostAdapter` for
Resolve. Importing this package loads nothing.
"""
