import pytest
import torch

from matanyone_engine.device import autocast, check_precision, describe, pick_device
from matanyone_engine.errors import DeviceError


def test_pick_device_auto_and_explicit(caplog):
    caplog.set_level("INFO", logger="matanyone_engine")
    auto = pick_device("auto")
    expected = "cuda" if torch.cuda.is_available() else ("mps" if torch.backends.mps.is_available() else "cpu")
    assert auto.type == expected
    assert "auto chose" in caplog.text
    assert pick_device("cpu") == torch.device("cpu")
    assert describe(torch.device("cpu")).startswith("cpu (")


def test_bad_devices_and_precisions():
    with pytest.raises(DeviceError, match="banana"):
        pick_device("banana")
    if not torch.cuda.is_available():
        with pytest.raises(DeviceError, match="CUDA is not available"):
            pick_device("cuda")
    with pytest.raises(DeviceError, match="fp8"):
        check_precision("fp8")


def test_autocast_modes():
    x = torch.ones(2, 2)
    with autocast(torch.device("cpu"), "bf16"):
        assert (x @ x).dtype == torch.bfloat16
    with autocast(torch.device("cpu"), "fp32"):
        assert (x @ x).dtype == torch.float32
