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


@pytest.mark.filterwarnings("ignore:CUDA is not available")
@pytest.mark.parametrize("opted_in", [False, True])
def test_cudnn_benchmark_only_when_asked_and_for_reduced_precision_on_cuda(monkeypatch, opted_in):
    """cuDNN's benchmark mode (fastest algorithm per shape) is off by default: the algorithm it
    picks can change between processes, and alphas must repeat bit for bit after a resume
    (DESIGN). `MATANYONE_CUDNN_BENCHMARK=1` turns it on inside reduced-precision steps on CUDA
    only, never for fp32 or off the GPU. Runs without a GPU: entering the contexts touches only
    flags (autocast for an absent CUDA is a no-op with a warning)."""
    if opted_in:
        monkeypatch.setenv("MATANYONE_CUDNN_BENCHMARK", "1")
    else:
        monkeypatch.delenv("MATANYONE_CUDNN_BENCHMARK", raising=False)
    cudnn = torch.backends.cudnn
    cuda, cpu = torch.device("cuda"), torch.device("cpu")
    assert cudnn.benchmark is False  # torch's default, which the steps must leave as it was
    seen = {}
    for device in (cuda, cpu):
        for precision in ("fp32", "fp16", "bf16", "official-mixed"):
            with autocast(device, precision):
                seen[device.type, precision] = cudnn.benchmark
            assert cudnn.benchmark is False, (device, precision)
    assert seen == {("cuda", "fp32"): False, ("cuda", "fp16"): opted_in, ("cuda", "bf16"): opted_in,
                    ("cuda", "official-mixed"): opted_in, ("cpu", "fp32"): False, ("cpu", "fp16"): False,
                    ("cpu", "bf16"): False, ("cpu", "official-mixed"): False}
    with autocast(cuda, "fp32"):  # fp32 on CUDA also keeps TF32 off
        assert cudnn.allow_tf32 is False and torch.backends.cuda.matmul.allow_tf32 is False
