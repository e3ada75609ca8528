"""A fake `nukescripts` package: only `nukescripts.panels` (see panels.py)."""
from nukescripts import panels  # noqa: F401
