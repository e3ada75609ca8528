"""Shared test assertions (the project's `OTIOAssertions`)."""
from __future__ import annotations

import numpy as np


def assert_alpha_close(actual, expected, *, mean: float, max: float, label: str = "alpha") -> None:
    """Assert mean and max |actual - expected| are within bounds; the message names the worst frame.

    Args:
        actual, expected: arrays of the same shape ([T, K, H, W] or any).
        mean, max: bounds on the mean and the maximum absolute difference.
    """
    a = np.asarray(actual, dtype=np.float64)
    e = np.asarray(expected, dtype=np.float64)
    assert a.shape == e.shape, f"{label}: shape {a.shape} != expected {e.shape}"
    assert np.isfinite(a).all(), f"{label}: non-finite values"
    diff = np.abs(a - e)
    worst = np.unravel_index(int(diff.argmax()), diff.shape) if diff.size else ()
    msg = f"{label}: mean |d| {diff.mean():.3g} (bound {mean:g}), max |d| {diff.max():.3g} (bound {max:g}) at {worst}"
    assert diff.mean() <= mean and diff.max() <= max, msg


# DESIGN "Host Python": the modules of `plugin` that ui/ and the bridges may import (standard
# library only, Python 3.9); the host-Python tests import and parse each of them.
HOST_SAFE = ("plugin.errors", "plugin.settings", "plugin.shot", "plugin.framepattern", "plugin.protocol",
             "plugin.client")
