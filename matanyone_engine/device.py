"""Device and precision choice, in one place.

`pick_device("auto")` takes CUDA, then Apple MPS, then the CPU, and logs what it chose;
an explicit name ("cpu", "cuda", "cuda:1", "mps") is used as given or refused with a one-line
error. `autocast(device, precision)` is the only place where reduced precision is switched on.

Precision modes (the official drivers run autocast by default; our default is fp32):

- ``fp32``: autocast off; reproduces the official fp32 outputs (the parity fixtures).
- ``bf16`` / ``fp16``: `torch.autocast` with that dtype, with the official fp32 islands kept
  (sensory GRU transforms, object summariser MLPs and pooling, the final alpha conv, the
  attention-mask aggregation). Measured on CPU against the official fp32 alphas of
  ``parity_two_objects.npz`` (stand-in "two-a", 119x203, 28 frames, 2 objects, warm-up 3):
  bf16 max |d alpha| 4.5e-3, mean 7.5e-4, p99 2.4e-3; fp16 max 1.1e-3, mean 1.1e-4, p99 5.0e-4
  (fp32: max 8.9e-5, mean 1.7e-7). On this CPU bf16 was ~2.5x slower than fp32; the
  reduced precisions are meant for GPUs. On CUDA they run with `cudnn.benchmark` on (the
  fastest convolution algorithms for the shot's shapes, timed on its first frame), so their
  last bits may differ between processes, a resumed run included; fp32 never does.
- ``official-mixed``: what the official drivers run (reference §9): autocast fp16 on CUDA,
  bf16 on the CPU, nothing on MPS; the same fp32 islands.

The names are also listed in `plugin.protocol.PRECISIONS` (the engine cannot import `plugin`);
tests/engine/test_precisions.py checks that the two lists agree.
"""
from __future__ import annotations

import contextlib
import logging
import os

import torch

from .errors import DeviceError

log = logging.getLogger("matanyone_engine")

# precision -> {device type: autocast dtype}; a device type not listed runs without autocast.
PRECISIONS = {
    "fp32": {},
    "official-mixed": {"cuda": torch.float16, "cpu": torch.bfloat16},
    "fp16": {"cuda": torch.float16, "cpu": torch.float16, "mps": torch.float16},
    "bf16": {"cuda": torch.bfloat16, "cpu": torch.bfloat16, "mps": torch.bfloat16},
}


def _mps_available() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())


def pick_device(spec: str | torch.device = "auto") -> torch.device:
    """The torch device to run on.

    Args:
        spec: "auto" (CUDA, then MPS, then CPU), or an explicit device name / torch.device.

    Returns:
        torch.device; the choice is logged on the "matanyone_engine" logger.
    """
    if isinstance(spec, torch.device):
        spec = str(spec)
    name = (spec or "auto").strip().lower()
    if name == "auto":
        if torch.cuda.is_available():
            device = torch.device("cuda")
        elif _mps_available():
            device = torch.device("mps")
        else:
            device = torch.device("cpu")
        log.info("device: auto chose %s", describe(device))
        return device
    try:
        device = torch.device(name)
    except (RuntimeError, ValueError):
        raise DeviceError(f"device {spec!r} is not a device name; use auto, cpu, cuda, cuda:N or mps") from None
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise DeviceError(f"device {spec!r}: CUDA is not available on this machine; use device auto or cpu")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise DeviceError(f"device {spec!r}: this machine has {torch.cuda.device_count()} CUDA device(s)")
    elif device.type == "mps":
        if not _mps_available():
            raise DeviceError(f"device {spec!r}: Apple MPS is not available on this machine; use device auto or cpu")
    elif device.type != "cpu":
        raise DeviceError(f"device {spec!r} is not supported; use auto, cpu, cuda, cuda:N or mps")
    log.info("device: %s", describe(device))
    return device


def describe(device: torch.device) -> str:
    """A one-line description of a device for logs and `info` output."""
    if device.type == "cuda":
        index = device.index if device.index is not None else torch.cuda.current_device()
        return f"cuda:{index} ({torch.cuda.get_device_name(index)})"
    if device.type == "cpu":
        return f"cpu ({torch.get_num_threads()} threads)"
    return str(device)


def check_precision(precision: str) -> str:
    """The precision name, checked; raises DeviceError for an unknown one."""
    if precision not in PRECISIONS:
        raise DeviceError(f"precision {precision!r} is not known; use one of {', '.join(PRECISIONS)}")
    return precision


def autocast(device: torch.device, precision: str):
    """Context manager: autocast for bf16/fp16/official-mixed; without autocast on CUDA, TF32
    convolutions off (cuDNN uses TF32 by default on Ampere and later, which is not fp32 and not
    what the fixtures hold). With autocast on CUDA and `MATANYONE_CUDNN_BENCHMARK=1`, cuDNN's
    benchmark mode (`_cudnn_tuned`)."""
    dtype = PRECISIONS[check_precision(precision)].get(device.type)
    if dtype is None:
        if device.type == "cuda":
            return _no_tf32()
        return contextlib.nullcontext()
    if device.type == "cuda" and os.environ.get("MATANYONE_CUDNN_BENCHMARK") == "1":
        return _cudnn_tuned(dtype)
    return torch.autocast(device_type=device.type, dtype=dtype)


@contextlib.contextmanager
def _cudnn_tuned(dtype: torch.dtype):
    """Autocast on CUDA with `cudnn.benchmark` on: cuDNN times its convolution algorithms on the
    first call of each input shape and keeps the fastest, so a shot pays once, on its first
    frame (every frame of a shot has the same shapes), and a new shot size is timed again.

    Opt-in (`MATANYONE_CUDNN_BENCHMARK=1`, for measuring it) and only for the reduced
    precisions: the algorithm picked by timing can change from one process to the next, and with
    it the last bits of the alphas, while DESIGN promises bit-identical alphas after a resume on
    the same device and precision. fp32 always keeps cuDNN's fixed heuristic choice (`_no_tf32`).
    """
    cudnn = torch.backends.cudnn
    with cudnn.flags(enabled=cudnn.enabled, benchmark=True, deterministic=cudnn.deterministic,
                     allow_tf32=cudnn.allow_tf32):
        with torch.autocast(device_type="cuda", dtype=dtype):
            yield


@contextlib.contextmanager
def _no_tf32():
    matmul = torch.backends.cuda.matmul.allow_tf32
    try:
        torch.backends.cuda.matmul.allow_tf32 = False
        cudnn = torch.backends.cudnn
        with cudnn.flags(enabled=cudnn.enabled, benchmark=cudnn.benchmark, deterministic=cudnn.deterministic,
                         allow_tf32=False):
            yield
    finally:
        torch.backends.cuda.matmul.allow_tf32 = matmul


def fp32_island(x: torch.Tensor):
    """Context manager that turns autocast off (the official fp32 islands)."""
    return torch.autocast(device_type=x.device.type, enabled=False)
