"""Fast CPU setup: channels-last feature maps and BatchNorm folded into its convolution.

oneDNN runs convolutions on channels-last (NHWC) maps with its direct NHWC kernels; on
NCHW maps PyTorch reorders every input, output and weight into a blocked layout on each call,
which costs about a fifth of a CPU step. Folding each eval-mode BatchNorm into the conv before
it removes one full pass over the map per BatchNorm.

Both change only the order of fp32 roundings, not the computation: on the parity fixtures the
alphas stay as close to the official ones as the NCHW path (two objects: mean 1.3e-7, max
5.9e-5; single: mean 1.8e-6, max 2.3e-4; bounds 1e-6/5e-4 and 1e-5/1e-3). On this layout
`modules.conv_bn` also runs conv + residual add + ReLU as one oneDNN call (same values).
Applied on CPU only: CUDA keeps the reference NCHW path whose parity was measured on the GPU.

Memory: importing `matanyone_engine` before torch turns on torch's transparent-huge-page
allocation for large tensors (THP_MEM_ALLOC_ENABLE): the maps of a step are faulted in 2 MiB at
a time instead of 4 KiB (1080p: 6.3 s a step instead of 8.2 s, same peak memory, 3.4 GiB).
Keeping freed memory in the heap instead (mallopt) was faster still in kernel time but raised
the peak (1080p 4.6 GiB), so it is not done.
"""
from __future__ import annotations

import torch
from torch import nn

from .modules import keep_fused_conv_if_exact

CHANNELS_LAST = torch.channels_last

# (conv attribute, batchnorm attribute) pairs that sit in one module, conv feeding the norm
_PAIRS = (("conv1", "bn1"), ("conv2", "bn2"), ("conv3", "bn3"), ("conv1x1_v2", "bn1"), ("conv3x3", "bn2"))


def _fold(conv: nn.Conv2d, bn: nn.BatchNorm2d) -> None:
    """Give `conv` the weight and bias of conv followed by eval-mode `bn` as non-persistent
    buffers (computed in float64): the checkpoint's tensors and state dict stay as they are."""
    scale = bn.weight.double() / torch.sqrt(bn.running_var.double() + bn.eps)
    bias = bn.bias.double() - bn.running_mean.double() * scale
    if conv.bias is not None:
        bias = bias + conv.bias.double() * scale
    dtype = conv.weight.dtype
    conv.register_buffer("folded_weight", (conv.weight.double() * scale.view(-1, 1, 1, 1)).to(dtype), persistent=False)
    conv.register_buffer("folded_bias", bias.to(dtype), persistent=False)


def fold_batchnorms(net: nn.Module) -> int:
    """Fold every conv -> BatchNorm pair of `net` (eval mode); returns how many. `modules.conv_bn`
    uses the folded tensors on the fast path and the separate BatchNorm elsewhere."""
    count = 0
    for module in list(net.modules()):
        children = dict(module.named_children())
        pairs = [(c, b) for c, b in _PAIRS if c in children and b in children]
        if isinstance(module, nn.Sequential) and len(module) == 2:
            pairs.append(("0", "1"))
        for conv_name, bn_name in pairs:
            conv, bn = children[conv_name], children[bn_name]
            if isinstance(conv, nn.Conv2d) and isinstance(bn, nn.BatchNorm2d):
                _fold(conv, bn)
                count += 1
    return count


@torch.inference_mode()
def use_cpu_layout(net: nn.Module) -> None:
    """Switch a loaded, eval-mode network to the fast CPU layout (in place, once). Its state
    dict keeps the checkpoint's keys and values."""
    if getattr(net, "channels_last", False):
        return
    net.eval()
    keep_fused_conv_if_exact()  # else conv_bn keeps to the separate ops
    fold_batchnorms(net)
    net.to(memory_format=CHANNELS_LAST)
    net.channels_last = True
