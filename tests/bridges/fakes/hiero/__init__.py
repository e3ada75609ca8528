"""A fake `hiero` package (Nuke Studio / Hiero): `hiero.core` and `hiero.ui`, documented calls only.

Reference: https://learn.foundry.com/nuke/developers/15.0/HieroPythonDevGuide/api/api_core.html
(hiero.core) and .../api/api_ui.html (hiero.ui); the class or function is named beside each call.
"""
