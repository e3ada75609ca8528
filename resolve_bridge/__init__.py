"""MatAnyone for DaVinci Resolve 18.6 to 21, free or Studio: the Workspace > Scripts entry
(README.md, section "DaVinci Resolve").

`MatAnyone.py` is the script Resolve lists (installed by `python -m resolve_bridge.install`);
it starts the panel's process and relays Resolve's calls to it (`relay.py`). `launch.py`
connects and opens the panel, `host.py` is the `ui.host.HostAdapter` for Resolve, `media.py`
its frame arithmetic, `record.py` which matte each shot attached. Importing this package
loads nothing.
"""
