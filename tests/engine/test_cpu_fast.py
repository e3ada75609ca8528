"""The fast CPU setup (cpu_fast.py): channels-last maps, folded BatchNorm, fused oneDNN calls."""
import os
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from matanyone_engine import load_network, matte_frames
from matanyone_engine.cpu_fast import fold_batchnorms
from matanyone_engine.modules import _fused_weights, conv_bn

from .conftest import tiny_clip

CL = torch.channels_last
ROOT = Path(__file__).resolve().parents[2]


def _conv(cin, cout, k, bias=True):
    torch.manual_seed(cin * 100 + cout)
    conv = nn.Conv2d(cin, cout, k, padding=k // 2, bias=bias).eval()
    return conv


@torch.inference_mode()
@pytest.mark.parametrize("relu", [False, True])
@pytest.mark.parametrize("with_add", [False, True])
def test_fused_conv_equals_separate_ops(relu, with_add):
    """conv + add + relu in one oneDNN call gives the very values of the separate ops."""
    conv = _conv(16, 24, 3).to(memory_format=CL)
    x = torch.randn(1, 16, 20, 28).contiguous(memory_format=CL)
    add = torch.randn(1, 24, 20, 28).contiguous(memory_format=CL)
    expected = conv(x)
    if with_add:
        expected = expected + add
    if relu:
        expected = torch.relu(expected)
    assert _fused_weights(conv, x, None) is not None  # the one-call path is the one tested
    got = conv_bn(conv, x, add=add if with_add else None, relu=relu)
    assert torch.equal(got, expected)


@torch.inference_mode()
def test_folded_batchnorm_matches_conv_then_norm():
    seq = nn.Sequential(_conv(8, 12, 3, bias=False), nn.BatchNorm2d(12)).eval()
    bn = seq[1]
    bn.running_mean.uniform_(-1, 1)
    bn.running_var.uniform_(0.1, 3)
    bn.weight.data.uniform_(0.5, 2)
    bn.bias.data.uniform_(-1, 1)
    x = torch.randn(1, 8, 16, 16)
    expected = seq(x)
    before = {k: v.clone() for k, v in seq.state_dict().items()}
    assert fold_batchnorms(seq) == 1
    seq.to(memory_format=CL)
    xc = x.contiguous(memory_format=CL)
    assert _fused_weights(seq[0], xc, seq[1]) is not None
    got = conv_bn(seq[0], xc, seq[1])
    assert torch.allclose(got, expected, rtol=1e-5, atol=1e-5)
    assert not torch.equal(got.contiguous(), seq[0](x))  # the norm was applied, not skipped
    after = seq.state_dict()  # folded tensors are not part of the state dict
    assert list(after) == list(before) and all(torch.equal(after[k], v) for k, v in before.items())


def test_fast_network_keeps_the_checkpoint_state_dict():
    fast = load_network("stand-in:fast", device="cpu")
    plain = load_network("stand-in:fast", device="cpu", cpu_layout=False)
    assert fast.channels_last and not plain.channels_last
    assert fast.pixel_encoder.conv1.weight.is_contiguous(memory_format=CL)
    a, b = fast.state_dict(), plain.state_dict()
    assert list(a) == list(b) and all(torch.equal(a[k], b[k]) for k in a)


def test_fast_layout_matches_reference_layout_beyond_the_fixtures():
    """Another salt, size and object count: the two CPU layouts differ by rounding only."""
    frames, masks = tiny_clip(frames=10, h=72, w=120, seed=3)
    fast = matte_frames(load_network("stand-in:other", device="cpu"), frames, masks, warmup=2)
    plain = matte_frames(load_network("stand-in:other", device="cpu", cpu_layout=False), frames, masks, warmup=2)
    diff = np.abs(fast - plain)
    assert diff.max() < 1e-4 and diff.mean() < 1e-6, (diff.max(), diff.mean())
    assert fast.std() > 0.05  # a real matte, not a constant


def _thp_mode() -> str:
    try:
        text = open("/sys/kernel/mm/transparent_hugepage/enabled").read()
    except OSError:
        return "none"
    return text.split("[", 1)[1].split("]", 1)[0] if "[" in text else "none"


@pytest.mark.skipif(not sys.platform.startswith("linux") or _thp_mode() not in ("always", "madvise"),
                    reason="transparent huge pages are a Linux feature, off on this machine")
def test_importing_the_engine_first_gives_large_tensors_huge_pages():
    """A fresh process that imports matanyone_engine (then torch) backs a large tensor with huge
    pages; without the engine's setting it does not (on 'madvise' machines)."""
    import subprocess
    probe = ("import {first}, torch\n"
             "t = torch.ones(96 << 18)\n"  # 96 MiB, touched
             "kb = [int(l.split()[1]) for l in open('/proc/self/smaps_rollup') if l.startswith('AnonHugePages')]\n"
             "print(kb[0] if kb else 0)\n")
    env = {k: v for k, v in os.environ.items() if k != "THP_MEM_ALLOC_ENABLE"}

    def huge_kb(first):
        out = subprocess.run([sys.executable, "-c", probe.format(first=first)], env=env, check=True,
                             capture_output=True, text=True, cwd=str(ROOT))
        return int(out.stdout.strip())

    assert huge_kb("matanyone_engine") >= 32 * 1024
    if _thp_mode() == "madvise":
        assert huge_kb("numpy") < 32 * 1024  # torch alone, default setting: no huge pages asked


def test_fused_conv_self_check_passes_here():
    from matanyone_engine import modules
    assert modules.keep_fused_conv_if_exact() is True and modules._POINTWISE is not None


@torch.inference_mode()
def test_conv_add_into_writes_conv_plus_target_in_place():
    from matanyone_engine.modules import can_add_into, conv_add_into
    conv = _conv(3, 16, 1).to(memory_format=CL)
    x = torch.randn(1, 3, 24, 40).contiguous(memory_format=CL)
    target = torch.randn(1, 16, 24, 40).contiguous(memory_format=CL)
    expected = conv(x) + target
    ptr = target.data_ptr()
    assert can_add_into(conv, x)
    assert conv_add_into(conv, x, target) is target
    assert target.data_ptr() == ptr and torch.equal(target, expected)
    assert not can_add_into(_conv(3, 16, 3), x)  # checkpoint (NCHW) weights: the separate ops run


@torch.inference_mode()
def test_decoder_with_reused_buffers_equals_fresh_maps():
    """The upsample stages give the same values with and without ScratchMaps, and a second call
    (buffers reused, sizes changed) is still right."""
    from matanyone_engine.modules import ScratchMaps
    net = load_network("stand-in:scratch", device="cpu")
    up = net.mask_decoder.up_2_1
    proj = net.mask_decoder.decoder_feat_proc.transforms[3]
    scratch = ScratchMaps()
    for h, w in ((12, 20), (20, 36), (12, 20)):
        g = torch.randn(1, 64, h, w).contiguous(memory_format=CL)
        skip = torch.randn(1, 3, 2 * h, 2 * w).contiguous(memory_format=CL)
        assert torch.equal(up(g, skip, proj, scratch), up(g, skip, proj))
        assert scratch._stores[0] is not None and scratch._stores[0].numel() >= 64 * 4 * h * w  # reused path taken
