"""Build the network from a checkpoint path, a state-dict mapping or "stand-in[:SALT]".

Loading never runs pickled code: `.pth`/`.pt` files go through `torch.load(weights_only=True)`
and `.safetensors` through safetensors. The layout is checked key by key before loading with
`strict=True`, so a wrong file fails with a message naming the file and the first keys.
"""
from __future__ import annotations

import hashlib
import os
import pickle
import re
import warnings
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import List, Optional

import torch

from . import standin
from .cpu_fast import use_cpu_layout
from .device import check_precision, describe, log, pick_device
from .errors import UnsafeCheckpointError, WeightsError, WeightsLayoutError
from .network import MatAnyoneNet

_SHOW = 5  # keys named in a layout error


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 22), b""):
            digest.update(block)
    return digest.hexdigest()


# How a PyTorch checkpoint begins: a zip archive (torch.save since 1.6), or the legacy
# format's pickle (protocol 2-5 opcode). Anything else is not a checkpoint, whatever its name.
_ZIP_MAGIC = b"PK\x03\x04"
_GLOBAL = re.compile(r"unsupported (?:global:?\s+)?GLOBAL\s+([\w.]+)", re.IGNORECASE)


def _not_a_checkpoint(path: Path, why: str = "") -> WeightsError:
    return WeightsError(f"weights file {path} is not a PyTorch or safetensors checkpoint{why}; "
                        f"give matanyone.pth or a .safetensors file, or use `matanyone-plugin weights get`")


def read_checkpoint(path: Path):
    """The object a checkpoint file holds, read without running pickled code.

    Raises:
        WeightsError: a missing, empty, folder or non-checkpoint file, in one line.
        UnsafeCheckpointError: a pickle that names code or objects other than tensors.
    """
    if path.is_dir():
        raise WeightsError(f"weights file {path} is a folder; give the checkpoint file in it "
                           f"(e.g. {path / 'matanyone.pth'})")
    if not path.is_file():
        raise WeightsError(f"weights file {path} does not exist; give the path of matanyone.pth "
                           f"or use `matanyone-plugin weights get matanyone`")
    with open(path, "rb") as f:
        head = f.read(8)
    if not head:
        raise WeightsError(f"weights file {path} is empty (0 bytes); copy or download it again "
                           f"(`matanyone-plugin weights get`)")
    if path.suffix.lower() == ".safetensors":
        try:
            from safetensors.torch import load_file
            return load_file(str(path), device="cpu")
        except Exception as err:  # noqa: BLE001 - safetensors raises its own error types
            raise _not_a_checkpoint(path, f" ({' '.join(str(err).split())[:120]})") from None
    if not (head.startswith(_ZIP_MAGIC) or (head[0] == 0x80 and 2 <= head[1] <= 5)):
        raise _not_a_checkpoint(path)
    try:
        with warnings.catch_warnings():     # torch warns about odd pickle protocols on stderr
            warnings.simplefilter("ignore")
            return torch.load(str(path), map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        named = _GLOBAL.search(str(err))
        name = named.group(1) if named else _pickled_global(path)
        if name is None:
            raise _not_a_checkpoint(path) from None
        raise UnsafeCheckpointError(
            f"weights file {path} holds pickled code or objects ({name}), not only tensors, "
            f"and was not loaded; use the official checkpoint or a .safetensors file") from None
    except (EOFError, zipfile.BadZipFile) as err:
        raise WeightsError(f"weights file {path} is cut short ({type(err).__name__}); the download or "
                           f"copy did not finish: fetch it again") from None
    except Exception:  # noqa: BLE001 - torch's unpickler fails in many ways on a file that is not its own
        raise _not_a_checkpoint(path) from None


def _pickled_global(path: Path) -> Optional[str]:
    """The first non-torch global a plain pickle names, read with pickletools (which runs
    nothing), for a pickle torch's own reader gave up on before naming it."""
    import pickletools
    strings: List[str] = []
    try:
        with open(path, "rb") as f:
            for op, arg, _ in pickletools.genops(f):
                if op.name == "GLOBAL":
                    name = str(arg).replace(" ", ".")
                elif op.name == "STACK_GLOBAL" and len(strings) >= 2:
                    name = f"{strings[-2]}.{strings[-1]}"
                else:
                    if isinstance(arg, str):
                        strings.append(arg)
                    continue
                if not name.startswith(("torch.", "collections.OrderedDict")):
                    return name
    except Exception:  # noqa: BLE001 - not a readable pickle: no global to name
        return None
    return None


def _read_file(path: Path) -> Mapping:
    data = read_checkpoint(path)
    if isinstance(data, Mapping):
        for wrapper in ("state_dict", "model", "network"):
            inner = data.get(wrapper)
            if isinstance(inner, Mapping) and not any(isinstance(v, torch.Tensor) for v in data.values()):
                return inner
        return data
    raise WeightsLayoutError(f"weights file {path} holds a {type(data).__name__}, not a state dict of tensors")


def _check_layout(net: MatAnyoneNet, sd: Mapping, source: str) -> dict:
    if any(isinstance(k, str) and k.startswith("module.") for k in sd) and all(str(k).startswith("module.") for k in sd):
        sd = {k[len("module."):]: v for k, v in sd.items()}
    own = net.state_dict()
    missing = [k for k in own if k not in sd]
    unexpected = [k for k in sd if k not in own]
    if missing or unexpected:
        parts = []
        if missing:
            parts.append(f"{len(missing)} missing key(s), first: {', '.join(missing[:_SHOW])}")
        if unexpected:
            parts.append(f"{len(unexpected)} unexpected key(s), first: {', '.join(map(str, unexpected[:_SHOW]))}")
        raise WeightsLayoutError(f"{source} is not a MatAnyone checkpoint: {'; '.join(parts)}")
    out = {}
    for key, ref in own.items():
        value = sd[key]
        if not isinstance(value, torch.Tensor):
            raise WeightsLayoutError(f"{source}: key {key} holds a {type(value).__name__}, not a tensor")
        if tuple(value.shape) != tuple(ref.shape):
            raise WeightsLayoutError(f"{source}: key {key} has shape {tuple(value.shape)}, expected {tuple(ref.shape)}")
        if value.dtype.is_floating_point != ref.dtype.is_floating_point:
            raise WeightsLayoutError(f"{source}: key {key} has dtype {value.dtype}, expected {ref.dtype}")
        if value.dtype.is_floating_point and not bool(torch.isfinite(value).all()):
            raise WeightsError(f"{source}: key {key} holds non-finite numbers (NaN or infinity); the "
                               f"checkpoint is damaged: download or export it again")
        out[key] = value.to(ref.dtype)
    return out


def _mapping_id(sd: Mapping) -> str:
    digest = hashlib.sha256()
    for key in sorted(sd):
        value = sd[key]
        digest.update(key.encode())
        if isinstance(value, torch.Tensor):
            digest.update(value.detach().cpu().contiguous().view(-1).view(torch.uint8).numpy().tobytes())
    return f"state-dict sha256:{digest.hexdigest()}"


@torch.inference_mode()
def load_network(weights, device="auto", precision: str = "fp32", cpu_layout: bool = True) -> MatAnyoneNet:
    """The MatAnyone network with its weights, in eval mode, on a device.

    Args:
        weights: a checkpoint path (.pth/.pt via torch.load(weights_only=True), or .safetensors),
            a state-dict mapping, or "stand-in" / "stand-in:SALT" (deterministic stand-in weights).
        device: "auto" (CUDA, MPS, CPU), a device name or torch.device.
        precision: "fp32" (default, exact), "official-mixed", "bf16" or "fp16" (autocast; see device.py).
        cpu_layout: on CPU, use the fast channels-last layout with BatchNorm folded
            (cpu_fast.py; same results within rounding). False keeps the checkpoint's layout.
    Returns:
        MatAnyoneNet with `weights_id` ("stand-in:SALT" or "<file name> sha256:<hex>"),
        `device` and `precision` set.
    Raises:
        WeightsError / WeightsLayoutError / UnsafeCheckpointError / DeviceError (user errors).
    """
    check_precision(precision)
    dev = pick_device(device)
    net = MatAnyoneNet()
    salt = standin.parse_spec(weights) if isinstance(weights, str) else None
    if salt is not None:
        sd = standin.standin_state_dict(net.state_dict(), salt)
        weights_id = f"stand-in:{salt}"
        source = f"stand-in weights {weights_id}"
    elif isinstance(weights, Mapping):
        sd = weights
        weights_id = _mapping_id(sd)
        source = "the given state dict"
    elif isinstance(weights, (str, os.PathLike)):
        path = Path(weights).expanduser()
        sd = _read_file(path)
        weights_id = f"{path.name} sha256:{_sha256(path)}"
        source = f"weights file {path}"
    else:
        raise WeightsError(f"weights must be a file path, a state dict or 'stand-in[:SALT]', not {type(weights).__name__}")
    sd = _check_layout(net, sd, source)
    net.load_state_dict(sd, strict=True)
    net.to(dev)
    net.eval()
    if cpu_layout and dev.type == "cpu":
        use_cpu_layout(net)
    net.weights_id = weights_id
    net.precision = precision
    log.info("network: %s on %s, %s", weights_id, describe(dev), precision)
    return net
