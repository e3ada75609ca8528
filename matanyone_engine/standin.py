"""Deterministic stand-in weights in the official layout ("stand-in[:SALT]").

No real checkpoint is available on every machine, so the product can run on weights anyone can
rebuild. The rule (version 2 of the stand-in, the one the parity fixtures were made with):
each tensor is drawn from its own CPU generator seeded with crc32(salt + key), in float64, then
cast to float32 -- conv/linear weights U(-1/sqrt(fan_in), 1/sqrt(fan_in)); 1-D weights (norms)
U(0.8, 1.2); biases and running means U(-0.1, 0.1); running variances U(0.5, 1.5);
`num_batches_tracked` zeros; `inv_freq` its closed form -- then a fixed calibration rescales a
few layers so that alpha depends on the mask and the readout is sharp (see `_calibrate`).

The layout (keys, shapes, dtypes) comes from the engine's own modules, not from a schema file.
"""
from __future__ import annotations

import zlib

import torch

DEFAULT_SALT = "demo"

_SCALES = {
    "mask_decoder.pred_mat.weight": 2.0,
    "temp_sparity.conv3x3_out.weight": 40.0,
    "key_proj.key_proj.weight": 4.0,
    "mask_encoder.fuser.distributor.g_transform.weight": 2.0,
    "mask_encoder.fuser.distributor.x_transform.weight": 0.25,
    "pixel_fuser.fuser.distributor.g_transform.weight": 2.0,
    "pixel_fuser.fuser.distributor.x_transform.weight": 0.25,
    "mask_decoder.decoder_feat_proc.transforms.0.weight": 0.3,
    "mask_decoder.decoder_feat_proc.transforms.1.weight": 0.3,
    "mask_decoder.decoder_feat_proc.transforms.2.weight": 0.3,
    "mask_decoder.decoder_feat_proc.transforms.3.weight": 0.3,
}
_MASK_CHANNEL_SCALE = 3.0
_PRED_MAT_BIAS = 0.5


def _draw(shape, lo: float, hi: float, seed: int) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    return (torch.rand(shape, generator=gen, dtype=torch.float64) * (hi - lo) + lo).float()


def _tensor(key: str, shape: tuple, dtype: torch.dtype, salt: str) -> torch.Tensor:
    if not dtype.is_floating_point:
        return torch.zeros(shape, dtype=dtype)
    seed = zlib.crc32((salt + key).encode())
    leaf = key.rsplit(".", 1)[-1]
    if leaf == "inv_freq":
        d = shape[0] * 2
        return 1.0 / (128 ** (torch.arange(0, d, 2).float() / d))
    if leaf == "running_mean":
        return _draw(shape, -0.1, 0.1, seed)
    if leaf == "running_var":
        return _draw(shape, 0.5, 1.5, seed)
    if len(shape) == 1:
        return _draw(shape, 0.8, 1.2, seed) if leaf == "weight" else _draw(shape, -0.1, 0.1, seed)
    fan_in = 1
    for s in shape[1:]:
        fan_in *= s
    bound = fan_in ** -0.5
    return _draw(shape, -bound, bound, seed)


def _calibrate(sd: dict) -> dict:
    for key in ("mask_decoder.pred_mat.weight", "temp_sparity.conv3x3_out.weight"):
        sd[key] = sd[key] - sd[key].mean()  # centred so the logits spread around the bias
    for key, factor in _SCALES.items():
        sd[key] = sd[key] * factor
    sd["mask_encoder.conv1.weight"][:, 3] *= _MASK_CHANNEL_SCALE  # the mask input channel
    sd["mask_decoder.pred_mat.bias"] = torch.full_like(sd["mask_decoder.pred_mat.bias"], _PRED_MAT_BIAS)
    return sd


def standin_state_dict(layout: dict, salt: str = DEFAULT_SALT) -> dict:
    """Stand-in weights for a module layout.

    Args:
        layout: a state dict (or any key -> tensor mapping) whose keys, shapes and dtypes to fill.
        salt: the stand-in's salt ("demo" is what plain "stand-in" means).
    Returns:
        dict key -> CPU tensor, in the layout's key order.
    """
    sd = {k: _tensor(k, tuple(v.shape), v.dtype, salt) for k, v in layout.items()}
    return _calibrate(sd)


def parse_spec(spec: str) -> str | None:
    """The salt of a "stand-in[:SALT]" spec, or None when `spec` is not a stand-in spec."""
    if spec == "stand-in":
        return DEFAULT_SALT
    if spec.startswith("stand-in:"):
        return spec[len("stand-in:"):]
    return None
