"""Building blocks of the MatAnyone network, named so the official state dict loads strictly.

Shapes in comments: B batch (1), C channels, H x W a feature map. Every block here works on
4-D (B, C, H, W) maps: the engine runs one object per call, which is what the official
single-object network does with its (B, N=1, C, H, W) maps.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from .device import fp32_island


# ---------------------------------------------------------------- fused convolution
_POINTWISE = getattr(torch.ops.mkldnn, "_convolution_pointwise", None) if torch.backends.mkldnn.is_available() else None
_POINTWISE_INTO = getattr(torch.ops.mkldnn, "_convolution_pointwise_", None) if _POINTWISE is not None else None


def keep_fused_conv_if_exact() -> bool:
    """Check that this build's oneDNN runs the fused call and gives the separate ops' values (on
    a tiny map), and switch the fused path off for good where it does not. Returns whether it stays on."""
    global _POINTWISE, _POINTWISE_INTO
    if _POINTWISE is None:
        return False
    try:
        with torch.inference_mode():
            gen = torch.Generator().manual_seed(0)
            x = torch.rand(1, 4, 6, 6, generator=gen).contiguous(memory_format=torch.channels_last)
            w = torch.rand(8, 4, 3, 3, generator=gen).contiguous(memory_format=torch.channels_last)
            b = torch.rand(8, generator=gen)
            add = torch.rand(1, 8, 6, 6, generator=gen).contiguous(memory_format=torch.channels_last)
            got = _POINTWISE.binary(x, add, w, b, [1, 1], [1, 1], [1, 1], 1, "add", None, "relu", [], None)
            expected = torch.relu(F.conv2d(x, w, b, padding=1) + add)
            ok = bool(torch.allclose(got, expected, rtol=1e-5, atol=1e-6))
    except Exception:  # noqa: BLE001 - any failure means: do not use it
        ok = False
    if not ok:
        _POINTWISE = _POINTWISE_INTO = None
    return ok


def _fused_weights(conv: nn.Conv2d, x: torch.Tensor, bn):
    """(weight, bias) for one oneDNN call of conv [+ bn] [+ add] [+ relu], or None where the
    separate ops must run: CPU fp32 on the channels-last layout (cpu_fast.py, which also folds
    each BatchNorm into its conv), autocast off."""
    if (_POINTWISE is None or x.device.type != "cpu" or x.dtype != torch.float32 or conv.weight.dim() != 4
            or not conv.weight.is_contiguous(memory_format=torch.channels_last)
            or torch.is_autocast_enabled("cpu")):
        return None
    if bn is None:
        return conv.weight, conv.bias
    folded = getattr(conv, "folded_weight", None)
    return None if folded is None else (folded, conv.folded_bias)


def conv_bn(conv: nn.Conv2d, x: torch.Tensor, bn: nn.Module | None = None, add: torch.Tensor | None = None,
            relu: bool = False) -> torch.Tensor:
    """relu(bn(conv(x)) + add), each part optional.

    On the fast CPU layout this is one oneDNN call with the BatchNorm folded into the conv:
    the add and relu happen on the conv's output before it is written, saving full passes over
    large maps. Elsewhere it runs the separate ops in the reference order.
    """
    weights = _fused_weights(conv, x, bn)
    if weights is not None:
        args = (*weights, conv.padding, conv.stride, conv.dilation, conv.groups)
        if add is None:
            return _POINTWISE(x, *args, "relu" if relu else "none", [], None)
        return _POINTWISE.binary(x, add, *args, "add", None, "relu" if relu else None, [], None)
    y = conv(x)
    if bn is not None:
        y = bn(y)
    if add is not None:
        y += add
    return F.relu_(y) if relu else y


def can_add_into(conv: nn.Conv2d, x: torch.Tensor) -> bool:
    """Whether `conv_add_into(conv, x, target)` can run (the fast CPU layout, in-place call built)."""
    return _POINTWISE_INTO is not None and _fused_weights(conv, x, None) is not None


def conv_add_into(conv: nn.Conv2d, x: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """target += conv(x) in one oneDNN call, for a channels-last `target` (the same values as
    conv(x) + target); only where `can_add_into(conv, x)`. Returns target."""
    _POINTWISE_INTO.binary(target, x, *_fused_weights(conv, x, None), conv.padding, conv.stride, conv.dilation,
                           conv.groups, "add", None, None, [], None)
    return target


def _downsample(seq: nn.Sequential | None, x: torch.Tensor) -> torch.Tensor:
    """A ResNet shortcut: x itself, or its 1x1 conv + BatchNorm."""
    return x if seq is None else conv_bn(seq[0], x, seq[1])


# ---------------------------------------------------------------- ResNet parts
class Bottleneck(nn.Module):
    """ResNet-50 bottleneck (v1.5: stride on the 3x3)."""

    def __init__(self, inplanes: int, width: int, stride: int = 1):
        super().__init__()
        out = width * 4
        self.conv1 = nn.Conv2d(inplanes, width, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = nn.Conv2d(width, width, 3, stride=stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(width)
        self.conv3 = nn.Conv2d(width, out, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(out)
        self.downsample = None
        if stride != 1 or inplanes != out:
            self.downsample = nn.Sequential(nn.Conv2d(inplanes, out, 1, stride=stride, bias=False), nn.BatchNorm2d(out))

    def forward(self, x):
        y = conv_bn(self.conv1, x, self.bn1, relu=True)
        y = conv_bn(self.conv2, y, self.bn2, relu=True)
        identity = _downsample(self.downsample, x)
        return conv_bn(self.conv3, y, self.bn3, add=identity, relu=True)


class BasicBlock(nn.Module):
    """ResNet-18 basic block."""

    def __init__(self, inplanes: int, planes: int, stride: int = 1):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = None
        if stride != 1 or inplanes != planes:
            self.downsample = nn.Sequential(nn.Conv2d(inplanes, planes, 1, stride=stride, bias=False), nn.BatchNorm2d(planes))

    def forward(self, x):
        y = conv_bn(self.conv1, x, self.bn1, relu=True)
        identity = _downsample(self.downsample, x)
        return conv_bn(self.conv2, y, self.bn2, add=identity, relu=True)


def _layer(block, inplanes: int, planes: int, blocks: int, stride: int) -> nn.Sequential:
    expansion = 4 if block is Bottleneck else 1
    layers = [block(inplanes, planes, stride)]
    layers += [block(planes * expansion, planes) for _ in range(blocks - 1)]
    return nn.Sequential(*layers)


class PixelEncoder(nn.Module):
    """ResNet-50 up to layer3. (B,3,Hp,Wp) normalised image -> (f16, f8, f4, f2, f1)."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.res2 = _layer(Bottleneck, 64, 64, 3, 1)
        self.layer2 = _layer(Bottleneck, 256, 128, 4, 2)
        self.layer3 = _layer(Bottleneck, 512, 256, 6, 2)

    def forward(self, image):
        f2 = conv_bn(self.conv1, image, self.bn1, relu=True)
        f4 = self.res2(F.max_pool2d(f2, 3, 2, 1))
        f8 = self.layer2(f4)
        f16 = self.layer3(f8)
        return f16, f8, f4, f2, image


# ---------------------------------------------------------------- shared blocks
class CAResBlock(nn.Module):
    """Two 3x3 convs with ECA channel attention and an identity residual (in == out)."""

    def __init__(self, dim: int):
        super().__init__()
        self.conv1 = nn.Conv2d(dim, dim, 3, padding=1)
        self.conv2 = nn.Conv2d(dim, dim, 3, padding=1)
        t = int((abs(math.log2(dim)) + 1) // 2)
        k = t if t % 2 else t + 1
        self.conv = nn.Conv1d(1, 1, k, padding=(k - 1) // 2, bias=False)

    def forward(self, x):
        y = self.conv2(conv_bn(self.conv1, F.relu(x), relu=True))
        b, c = y.shape[:2]
        w = F.adaptive_avg_pool2d(y, 1).view(b, 1, c)
        w = self.conv(w).transpose(-1, -2).unsqueeze(-1).sigmoid()
        return y.mul_(w).add_(x)  # in place: the same values as y * w + x, one buffer


class GroupResBlock(nn.Module):
    """conv2(relu(conv1(relu(g)))) + (1x1 downsample(g) when in != out, else g)."""

    def __init__(self, in_dim: int, out_dim: int):
        super().__init__()
        self.downsample = nn.Conv2d(in_dim, out_dim, 1) if in_dim != out_dim else None
        self.conv1 = nn.Conv2d(in_dim, out_dim, 3, padding=1)
        self.conv2 = nn.Conv2d(out_dim, out_dim, 3, padding=1)

    def forward(self, g, relu_out: torch.Tensor | None = None):
        """relu_out: an optional buffer of g's shape for relu(g) (ScratchMaps)."""
        identity = g if self.downsample is None else self.downsample(g)
        activated = F.relu(g) if relu_out is None else torch.clamp_min(g, 0, out=relu_out)
        return conv_bn(self.conv2, conv_bn(self.conv1, activated, relu=True), add=identity)


class ScratchMaps:
    """Two channels-last buffers that every step reuses for the decoder's largest maps.

    Each upsample stage makes two maps at its output size (the upsampled map plus skip, and its
    ReLU): at full resolution 64 channels, 75 MB at 512x288 and 1 GB at 1080p. Fresh ones arrive
    from the kernel as new pages every step; reusing two buffers, sized for the largest stage and
    shared by all four, took that stage from about 50 ms to 10 ms at 512x288 without raising the
    peak (those two maps are live at the peak anyway). One step at a time per network.
    """

    def __init__(self):
        self._stores: list = [None, None]

    def get(self, slot: int, shape, like: torch.Tensor) -> torch.Tensor:
        """A channels-last (B, C, H, W) buffer of `shape` in slot 0 or 1, dtype/device of `like`."""
        b, c, h, w = shape
        n = b * c * h * w
        store = self._stores[slot]
        if store is None or store.numel() < n or store.dtype != like.dtype or store.device != like.device:
            store = torch.empty(n, dtype=like.dtype, device=like.device)
            self._stores[slot] = store
        return store[:n].as_strided((b, c, h, w), (h * w * c, 1, w * c, c))

    @property
    def nbytes(self) -> int:
        return sum(t.numel() * t.element_size() for t in self._stores if t is not None)

    def release(self) -> None:
        """Free both buffers (the next step allocates them again)."""
        self._stores = [None, None]


class Distributor(nn.Module):
    """x_transform(x) + g_transform(g)."""

    def __init__(self, x_dim: int, g_dim: int, out_dim: int):
        super().__init__()
        self.x_transform = nn.Conv2d(x_dim, out_dim, 1)
        self.g_transform = nn.Conv2d(g_dim, out_dim, 1)

    def forward(self, x, g):
        return conv_bn(self.g_transform, g, add=self.x_transform(x))  # addition commutes exactly


class FeatureFusionBlock(nn.Module):
    """Fuse an image feature map x into an object map g, then two CAResBlocks."""

    def __init__(self, x_dim: int, g_dim: int, out_dim: int):
        super().__init__()
        self.distributor = Distributor(x_dim, g_dim, out_dim)
        self.block1 = CAResBlock(out_dim)
        self.block2 = CAResBlock(out_dim)

    def forward(self, x, g):
        return self.block2(self.block1(self.distributor(x, g)))


def gru_update(h: torch.Tensor, values: torch.Tensor) -> torch.Tensor:
    """h' = sigmoid(v0) * h * (1 - sigmoid(v1)) + sigmoid(v1) * tanh(v2); values (B, 3C, H, W)."""
    dim = values.shape[1] // 3
    forget = torch.sigmoid(values[:, :dim])
    update = torch.sigmoid(values[:, dim:dim * 2])
    new = torch.tanh(values[:, dim * 2:])
    return forget * h * (1 - update) + update * new


class SensoryDeepUpdater(nn.Module):
    """The value encoder's sensory update: 3x3 conv on cat(value, sensory) in fp32, then GRU."""

    def __init__(self, value_dim: int, sensory_dim: int):
        super().__init__()
        self.transform = nn.Conv2d(value_dim + sensory_dim, sensory_dim * 3, 3, padding=1)

    def forward(self, g, h):
        with fp32_island(g):
            g, h = g.float(), h.float()
            return gru_update(h, self.transform(torch.cat([g, h], 1)))


class SensoryUpdaterFullscale(nn.Module):
    """The decoder's sensory update from all five decoder scales."""

    def __init__(self, dims, mid_dim: int, sensory_dim: int):
        super().__init__()
        self.g16_conv = nn.Conv2d(dims[0], mid_dim, 1)
        self.g8_conv = nn.Conv2d(dims[1], mid_dim, 1)
        self.g4_conv = nn.Conv2d(dims[2], mid_dim, 1)
        self.g2_conv = nn.Conv2d(dims[3], mid_dim, 1)
        self.g1_conv = nn.Conv2d(dims[4], mid_dim, 1)
        self.transform = nn.Conv2d(mid_dim + sensory_dim, sensory_dim * 3, 3, padding=1)

    def forward(self, p16, p8, p4, p2, p1, h):
        g = (self.g16_conv(p16) + self.g8_conv(F.avg_pool2d(p8, 2)) + self.g4_conv(F.avg_pool2d(p4, 4))
             + self.g2_conv(F.avg_pool2d(p2, 8)) + self.g1_conv(F.avg_pool2d(p1, 16)))
        with fp32_island(g):
            g, h = g.float(), h.float()
            return gru_update(h, self.transform(torch.cat([g, h], 1)))


# ---------------------------------------------------------------- positional encoding
class SinePE(nn.Module):
    """2-D sine positional encoding; `inv_freq` is a persistent buffer (it is in the checkpoint).

    Channels [0, dim) encode x (width), [dim, 2*dim) encode y (height), each as interleaved
    (sin, cos) pairs of pos / (last + 1e-6) * scale * inv_freq.
    """

    def __init__(self, channels: int = 256, scale: float = 32.0, temperature: float = 128.0):
        super().__init__()
        self.dim = int(math.ceil(channels / 4) * 2)
        self.scale = scale
        inv_freq = 1.0 / (temperature ** (torch.arange(0, self.dim, 2).float() / self.dim))
        self.register_buffer("inv_freq", inv_freq)
        self._cache: tuple | None = None

    def forward(self, h: int, w: int, dtype: torch.dtype) -> torch.Tensor:
        """(h, w, 2*dim) encoding, cached by (h, w, dtype, device)."""
        key = (h, w, dtype, self.inv_freq.device, self.inv_freq.data_ptr())
        if self._cache is not None and self._cache[0] == key:
            return self._cache[1]
        pos_y = torch.arange(h, device=self.inv_freq.device, dtype=self.inv_freq.dtype)
        pos_x = torch.arange(w, device=self.inv_freq.device, dtype=self.inv_freq.dtype)
        pos_y = pos_y / (pos_y[-1] + 1e-6) * self.scale
        pos_x = pos_x / (pos_x[-1] + 1e-6) * self.scale
        emb_y = _sin_cos(torch.einsum("i,j->ij", pos_y, self.inv_freq)).unsqueeze(1)
        emb_x = _sin_cos(torch.einsum("i,j->ij", pos_x, self.inv_freq))
        emb = torch.zeros((h, w, self.dim * 2), device=self.inv_freq.device, dtype=dtype)
        emb[:, :, :self.dim] = emb_x
        emb[:, :, self.dim:] = emb_y
        self._cache = (key, emb)
        return emb


def _sin_cos(x: torch.Tensor) -> torch.Tensor:
    return torch.stack((x.sin(), x.cos()), dim=-1).flatten(-2, -1)


# ---------------------------------------------------------------- transformer parts
class CrossAttention(nn.Module):
    """Queries x read from mem: q = norm(x) + x_pe, k = mem + mem_pe, v = mem; out = norm(x) + attn."""

    def __init__(self, dim: int, heads: int, norm: bool):
        super().__init__()
        self.cross_attn = nn.MultiheadAttention(dim, heads, batch_first=True)
        self.norm = nn.LayerNorm(dim) if norm else None

    def forward(self, x, mem, x_pe, mem_pe, attn_mask=None):
        if self.norm is not None:
            x = self.norm(x)
        out = self.cross_attn(x + x_pe, mem + mem_pe, mem, attn_mask=attn_mask, need_weights=False)[0]
        return x + out


class SelfAttention(nn.Module):
    """xn = norm(x); q = k = xn + pe; v = xn; out = xn + attn."""

    def __init__(self, dim: int, heads: int):
        super().__init__()
        self.self_attn = nn.MultiheadAttention(dim, heads, batch_first=True)
        self.norm = nn.LayerNorm(dim)

    def forward(self, x, pe):
        x = self.norm(x)
        q = x + pe
        return x + self.self_attn(q, q, x)[0]


class FFN(nn.Module):
    """Pre-norm feed-forward: x + linear2(relu(linear1(norm(x))))."""

    def __init__(self, dim: int, hidden: int):
        super().__init__()
        self.linear1 = nn.Linear(dim, hidden)
        self.linear2 = nn.Linear(hidden, dim)
        self.norm = nn.LayerNorm(dim)

    def forward(self, x):
        return x + self.linear2(F.relu(self.linear1(self.norm(x))))


class PixelFFN(nn.Module):
    """A CAResBlock on the attended pixel map (tokens back to a (B, C, h, w) map)."""

    def __init__(self, dim: int):
        super().__init__()
        self.conv = CAResBlock(dim)

    def forward(self, pixel_flat, h: int, w: int):
        b, _, c = pixel_flat.shape
        return self.conv(pixel_flat.view(b, h, w, c).permute(0, 3, 1, 2).contiguous())


class QueryTransformerBlock(nn.Module):
    def __init__(self, dim: int, heads: int, ff_dim: int):
        super().__init__()
        self.read_from_pixel = CrossAttention(dim, heads, norm=True)
        self.self_attn = SelfAttention(dim, heads)
        self.ffn = FFN(dim, ff_dim)
        self.read_from_query = CrossAttention(dim, heads, norm=False)
        self.pixel_ffn = PixelFFN(dim)

    def forward(self, x, pixel, query_pe, pixel_pe, attn_mask):
        """x (B,Q,C) queries; pixel (B,C,h,w); pixel_pe (B,hw,C); attn_mask (B*heads,Q,hw) True = blocked."""
        h, w = pixel.shape[-2:]
        pixel_flat = pixel.flatten(2).transpose(1, 2).contiguous()
        x = self.read_from_pixel(x, pixel_flat, query_pe, pixel_pe, attn_mask=attn_mask)
        x = self.self_attn(x, query_pe)
        x = self.ffn(x)
        pixel_flat = self.read_from_query(pixel_flat, x, pixel_pe, query_pe)
        return x, self.pixel_ffn(pixel_flat, h, w)
