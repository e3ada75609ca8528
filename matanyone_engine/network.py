"""The MatAnyone network as stages the session composes (no monolithic forward).

Module names and nesting follow the official checkpoint, so its 562-key state dict loads with
`load_state_dict(strict=True)`. Every stage works on ONE object: maps are (1, C, h, w) with
h = Hp/16, w = Wp/16 (Hp x Wp the padded frame); several objects share `encode_image`.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .device import fp32_island
from .modules import (BasicBlock, FeatureFusionBlock, PixelEncoder, QueryTransformerBlock, SensoryDeepUpdater,
                      ScratchMaps, SensoryUpdaterFullscale, SinePE, _layer, can_add_into, conv_add_into,
                      conv_bn)

PIXEL_MEAN = (0.485, 0.456, 0.406)
PIXEL_STD = (0.229, 0.224, 0.225)
NUM_QUERIES = 16
NUM_HEADS = 8


@dataclass
class ImageFeatures:
    """What one padded frame gives, shared by every object.

    image: (1,3,Hp,Wp) normalised image (= f1); ms: (f16 (1,1024,h,w), f8, f4, f2, f1);
    pix_feat (1,256,h,w); key (1,64,h,w); shrinkage (1,1,h,w); selection (1,64,h,w).
    """

    image: torch.Tensor
    ms: tuple
    pix_feat: torch.Tensor
    key: torch.Tensor
    shrinkage: torch.Tensor
    selection: torch.Tensor


class KeyProjection(nn.Module):
    def __init__(self):
        super().__init__()
        self.pix_feat_proj = nn.Conv2d(1024, 256, 1)
        self.key_proj = nn.Conv2d(256, 64, 3, padding=1)
        self.d_proj = nn.Conv2d(256, 1, 3, padding=1)
        self.e_proj = nn.Conv2d(256, 64, 3, padding=1)

    def forward(self, f16):
        x = self.pix_feat_proj(f16)
        shrinkage = self.d_proj(x) ** 2 + 1
        selection = torch.sigmoid(self.e_proj(x))
        return self.key_proj(x), shrinkage, selection


class MaskEncoder(nn.Module):
    """ResNet-18 to layer3 on (image, alpha), fused with pix_feat; optional deep sensory update."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(4, 64, 7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.layer1 = _layer(BasicBlock, 64, 64, 2, 1)
        self.layer2 = _layer(BasicBlock, 64, 128, 2, 2)
        self.layer3 = _layer(BasicBlock, 128, 256, 2, 2)
        self.fuser = FeatureFusionBlock(256, 256, 256)
        self.sensory_update = SensoryDeepUpdater(256, 256)

    def forward(self, image, pix_feat, mask):
        g = torch.cat([image, mask], 1)
        g = F.max_pool2d(conv_bn(self.conv1, g, self.bn1, relu=True), 3, 2, 1)  # relu and max commute
        g = self.layer3(self.layer2(self.layer1(g)))
        return self.fuser(pix_feat, g)


class DecoderFeatureProc(nn.Module):
    def __init__(self, in_dims, out_dims):
        super().__init__()
        self.transforms = nn.ModuleList([nn.Conv2d(i, o, 1) for i, o in zip(in_dims, out_dims)])


class UpsampleBlock(nn.Module):
    """Bilinear x2 of the coarse map, add the 1x1-projected skip, GroupResBlock."""

    def __init__(self, in_dim: int, out_dim: int):
        super().__init__()
        from .modules import GroupResBlock
        self.out_conv = GroupResBlock(in_dim, out_dim)

    def forward(self, g, skip_feature, skip_proj: nn.Conv2d, scratch: ScratchMaps | None = None):
        if scratch is not None and can_add_into(skip_proj, skip_feature):
            b, c, h, w = g.shape
            up = scratch.get(0, (b, c, 2 * h, 2 * w), g)
            torch.ops.aten.upsample_bilinear2d.out(g, [2 * h, 2 * w], False, 2.0, 2.0, out=up)
            x = conv_add_into(skip_proj, skip_feature, up)  # skip_proj(skip) + upsampled g, in up
            return self.out_conv(x, relu_out=scratch.get(1, x.shape, x))
        g = F.interpolate(g, scale_factor=2.0, mode="bilinear", align_corners=False)
        return self.out_conv(conv_bn(skip_proj, skip_feature, add=g))


class MaskDecoder(nn.Module):
    def __init__(self):
        super().__init__()
        up = [256, 128, 128, 64, 16]
        self.sensory_update = SensoryUpdaterFullscale([256, 128, 128, 64, 17], 256, 256)
        self.decoder_feat_proc = DecoderFeatureProc([512, 256, 64, 3], up[:-1])
        self.up_16_8 = UpsampleBlock(up[0], up[1])
        self.up_8_4 = UpsampleBlock(up[1], up[2])
        self.up_4_2 = UpsampleBlock(up[2], up[3])
        self.up_2_1 = UpsampleBlock(up[3], up[4])
        self.pred_seg = nn.Conv2d(up[-1], 1, 3, padding=1)
        self.pred_mat = nn.Conv2d(up[-1], 1, 3, padding=1)
        self.scratch = ScratchMaps()  # reused buffers for the upsample stages (not weights)


class PixelFuser(nn.Module):
    def __init__(self):
        super().__init__()
        self.fuser = FeatureFusionBlock(256, 256, 256)
        self.sensory_compress = nn.Conv2d(257, 256, 1)


class QueryTransformer(nn.Module):
    def __init__(self, dim: int = 256, ff_dim: int = 2048, blocks: int = 3):
        super().__init__()
        self.query_init = nn.Embedding(NUM_QUERIES, dim)
        self.query_emb = nn.Embedding(NUM_QUERIES, dim)
        self.summary_to_query_init = nn.Linear(dim, dim)
        self.summary_to_query_emb = nn.Linear(dim, dim)
        self.pixel_init_proj = nn.Conv2d(dim, dim, 1)
        self.pixel_emb_proj = nn.Conv2d(dim, dim, 1)
        self.spatial_pe = SinePE(dim)
        self.blocks = nn.ModuleList([QueryTransformerBlock(dim, NUM_HEADS, ff_dim) for _ in range(blocks)])
        self.mask_pred = nn.ModuleList([nn.Sequential(nn.ReLU(), nn.Conv2d(dim, 1, 1)) for _ in range(blocks + 1)])


class ObjectSummarizer(nn.Module):
    def __init__(self, dim: int = 256):
        super().__init__()
        self.pos_enc = SinePE(dim)
        self.input_proj = nn.Linear(dim, dim)
        self.feature_pred = nn.Sequential(nn.Linear(dim, dim), nn.ReLU(), nn.Linear(dim, dim))
        self.weights_pred = nn.Sequential(nn.Linear(dim, dim), nn.ReLU(), nn.Linear(dim, NUM_QUERIES))


class SensoryAux(nn.Module):
    def __init__(self):
        super().__init__()
        self.projection = nn.Conv2d(256, 257, 1)


class AuxComputer(nn.Module):
    """Training-only head; present so the official checkpoint loads strictly."""

    def __init__(self):
        super().__init__()
        self.sensory_aux = SensoryAux()


class UncertPred(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1x1_v2 = nn.Conv2d(256 * 2 + 1 + 256, 64, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.conv3x3 = nn.Conv2d(64, 32, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(32)
        self.conv3x3_out = nn.Conv2d(32, 1, 3, padding=1, bias=False)

    def forward(self, x):
        x = conv_bn(self.conv1x1_v2, x, self.bn1, relu=True)
        x = conv_bn(self.conv3x3, x, self.bn2, relu=True)
        return self.conv3x3_out(x)


def _area(x: torch.Tensor, size) -> torch.Tensor:
    return F.interpolate(x, size=size, mode="area")


class MatAnyoneNet(nn.Module):
    """MatAnyone (single-object matting configuration) as composable stages.

    Attributes set by `load_network`: weights_id (str), device (torch.device), precision (str).
    """

    def __init__(self):
        super().__init__()
        self.pixel_encoder = PixelEncoder()
        self.pix_feat_proj = nn.Conv2d(1024, 256, 1)
        self.key_proj = KeyProjection()
        self.mask_encoder = MaskEncoder()
        self.mask_decoder = MaskDecoder()
        self.pixel_fuser = PixelFuser()
        self.object_transformer = QueryTransformer()
        self.object_summarizer = ObjectSummarizer()
        self.aux_computer = AuxComputer()
        self.temp_sparity = UncertPred()
        self.register_buffer("pixel_mean", torch.tensor(PIXEL_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("pixel_std", torch.tensor(PIXEL_STD).view(1, 3, 1, 1), persistent=False)
        self.weights_id = "uninitialised"
        self.precision = "fp32"
        self.channels_last = False  # set by cpu_fast.use_cpu_layout
        self.eval()

    @property
    def device(self) -> torch.device:
        return self.pix_feat_proj.weight.device

    # ------------------------------------------------------------ image
    def encode_image(self, image: torch.Tensor) -> ImageFeatures:
        """Image features of one padded frame.

        Args:
            image: (1,3,Hp,Wp) float32 RGB in [0,1], Hp, Wp multiples of 16 (padding included).
        Returns:
            ImageFeatures.
        """
        image = (image - self.pixel_mean) / self.pixel_std
        if self.channels_last:
            image = image.contiguous(memory_format=torch.channels_last)
        ms = self.pixel_encoder(image)
        pix_feat = self.pix_feat_proj(ms[0])
        key, shrinkage, selection = self.key_proj(ms[0])
        return ImageFeatures(image, ms, pix_feat, key, shrinkage, selection)

    # ------------------------------------------------------------ mask / value
    def encode_value(self, feats: ImageFeatures, mask: torch.Tensor) -> torch.Tensor:
        """Mask value of one object: mask (1,1,Hp,Wp) alpha in [0,1] -> (1,256,h,w)."""
        return self.mask_encoder(feats.image, feats.pix_feat, mask.to(feats.image.dtype))

    def update_sensory_from_value(self, value: torch.Tensor, sensory: torch.Tensor) -> torch.Tensor:
        """Deep sensory update of a memory frame: (1,256,h,w) x2 -> new sensory (1,256,h,w) fp32."""
        return self.mask_encoder.sensory_update(value, sensory)

    def summarize(self, mask: torch.Tensor, value: torch.Tensor) -> torch.Tensor:
        """Object summaries: mask (1,1,Hp,Wp), value (1,256,h,w) -> (1,16,257) (sums | area), fp32."""
        h, w = value.shape[-2:]
        osum = self.object_summarizer
        m = _area(mask, (h, w)).permute(0, 2, 3, 1)  # (1,h,w,1)
        half = NUM_QUERIES // 2
        masks = torch.cat([m.expand(-1, -1, -1, half), (1 - m).expand(-1, -1, -1, half)], -1)
        v = osum.input_proj(value.permute(0, 2, 3, 1))
        v = v + osum.pos_enc(h, w, v.dtype)
        with fp32_island(v):
            v = v.float()
            feature = osum.feature_pred(v)
            weights = osum.weights_pred(v).sigmoid() * masks.float()
            sums = torch.einsum("bhwq,bhwc->bqc", weights, feature)
            area = weights.flatten(1, 2).sum(1).unsqueeze(-1)
        return torch.cat([sums, area], -1)

    # ------------------------------------------------------------ memory readout
    @staticmethod
    def read_memory(query_key, selection, mem_key, mem_shrinkage, mem_value, top_k: int, chunk: int | None = None):
        """Top-k L2-affinity readout, computed in chunks of query pixels.

        Args:
            query_key, selection: (1,64,h,w) of the current frame.
            mem_key: (1,64,N); mem_shrinkage: (1,1,N); mem_value: (1,256,N) memory tokens.
            top_k: affinities kept per query pixel (min(top_k, N) used).
            chunk: query pixels per chunk (None or <= 0: all at once). Exact: top-k is per query.
        Returns:
            (1,256,h,w) readout.
        """
        b, ck, h, w = query_key.shape
        hw = h * w
        qk = query_key.flatten(2)
        qe = selection.flatten(2)
        mk_t = mem_key.transpose(1, 2)
        mk_sq_t = mk_t.pow(2)
        ms = mem_shrinkage.flatten(1).unsqueeze(2)
        k = min(top_k, mem_key.shape[-1])
        step = hw if not chunk or chunk <= 0 else int(chunk)
        outs = []
        for s in range(0, hw, step):
            qk_c = qk[:, :, s:s + step]
            qe_c = qe[:, :, s:s + step]
            a_sq = mk_sq_t @ qe_c
            two_ab = 2 * (mk_t @ (qk_c * qe_c))
            b_sq = (qe_c * qk_c.pow(2)).sum(1, keepdim=True)
            sim = (-a_sq + two_ab - b_sq) * ms / (ck ** 0.5)
            values, indices = torch.topk(sim, k=k, dim=1)
            values = (values - values[:, :1]).exp()  # max subtracted: same softmax, no underflow
            values = values / values.sum(1, keepdim=True)
            affinity = sim.zero_().scatter_(1, indices, values)
            outs.append(mem_value.to(affinity.dtype) @ affinity)
        out = outs[0] if len(outs) == 1 else torch.cat(outs, 2)
        return out.view(b, -1, h, w)

    def uncertainty(self, last_pix_feat, pix_feat, last_mask, value_diff) -> torch.Tensor:
        """Uncertainty logits (1,1,h,w) from the last and current pix_feat (1,256,h,w), the last
        alpha (1,1,Hp,Wp) and readout - last value (1,256,h,w). sigmoid -> u (trust in memory)."""
        last_mask = _area(last_mask, last_pix_feat.shape[-2:])
        x = torch.cat([last_pix_feat, pix_feat, last_mask.to(pix_feat.dtype), value_diff.to(pix_feat.dtype)], 1)
        return self.temp_sparity(x)

    def pixel_fuse(self, pix_feat, value, sensory, last_mask) -> torch.Tensor:
        """Pixel readout (1,256,h,w) from the fused value (1,256,h,w), sensory and last alpha (1,1,Hp,Wp)."""
        last_mask = _area(last_mask, sensory.shape[-2:])
        fuser = self.pixel_fuser
        p16 = value + fuser.sensory_compress(torch.cat([sensory, last_mask], 1))
        return fuser.fuser(pix_feat, p16)

    # ------------------------------------------------------------ object transformer
    def _aux_mask(self, logits: torch.Tensor) -> torch.Tensor:
        """(1,1,h,w) aux logits -> (heads,16,hw) bool, True = blocked."""
        prob = logits.sigmoid()
        with fp32_island(prob):
            prob = prob.float()
            new_prob = torch.cat([torch.prod(1 - prob, dim=1, keepdim=True), prob], 1).clamp(1e-7, 1 - 1e-7)
            lo = torch.log(new_prob / (1 - new_prob))
        fg = (lo[:, 1:] >= lo.max(dim=1, keepdim=True)[0]).flatten(2)  # (1,1,hw)
        half = NUM_QUERIES // 2
        fg_block = (~fg).unsqueeze(2).repeat(1, NUM_HEADS, half, 1)
        bg_block = fg.unsqueeze(2).repeat(1, NUM_HEADS, half, 1)
        mask = torch.cat([fg_block, bg_block], 2).flatten(0, 1)  # (heads,16,hw)
        # A row that blocks every pixel blocks nothing instead. `all` and a masked fill keep it on
        # the device: indexing by `torch.where(...)` read the indices back to the host (a sync).
        return mask.masked_fill_(mask.all(-1, keepdim=True), False)

    def transform_objects(self, pixel: torch.Tensor, summaries: torch.Tensor, keep_aux: bool = False):
        """Object transformer.

        Args:
            pixel: (1,256,h,w) pixel readout.
            summaries: (1,16,257) running-sum object memory (sums | area).
            keep_aux: also return the aux logits of mask_pred[0..3] (debugging; mask_pred[3] is
                otherwise skipped: its result is unused).
        Returns:
            (1,256,h,w) pixel map (and the list of aux logits when keep_aux).
        """
        ot = self.object_transformer
        h, w = pixel.shape[-2:]
        obj_values = summaries[..., :-1] / (summaries[..., -1:] + 1e-4)
        query = ot.query_init.weight.unsqueeze(0) + ot.summary_to_query_init(obj_values)
        query_pe = ot.query_emb.weight.unsqueeze(0) + ot.summary_to_query_emb(obj_values)
        pixel_init = ot.pixel_init_proj(pixel)
        pixel_emb = ot.pixel_emb_proj(pixel).flatten(2).transpose(1, 2).contiguous()
        pixel_pe = ot.spatial_pe(h, w, pixel_emb.dtype).view(1, h * w, -1) + pixel_emb
        pixel = pixel_init
        aux = [ot.mask_pred[0](pixel)]
        attn_mask = self._aux_mask(aux[0])
        n = len(ot.blocks)
        for i, block in enumerate(ot.blocks):
            query, pixel = block(query, pixel, query_pe, pixel_pe, attn_mask)
            if i < n - 1 or keep_aux:
                aux.append(ot.mask_pred[i + 1](pixel))
                if i < n - 1:
                    attn_mask = self._aux_mask(aux[-1])
        return (pixel, aux) if keep_aux else pixel

    # ------------------------------------------------------------ decoder
    def decode(self, feats: ImageFeatures, p16: torch.Tensor, sensory: torch.Tensor, update_sensory: bool = True):
        """Decoder to full padded resolution.

        Args:
            feats: the frame's ImageFeatures; p16: (1,256,h,w) transformer output; sensory (1,256,h,w).
        Returns:
            (new sensory (1,256,h,w) fp32, unclamped alpha logits (1,1,Hp,Wp) fp32).
        """
        dec = self.mask_decoder
        t = dec.decoder_feat_proc.transforms
        p8 = dec.up_16_8(p16, feats.ms[1], t[0], dec.scratch)
        p4 = dec.up_8_4(p8, feats.ms[2], t[1], dec.scratch)
        p2 = dec.up_4_2(p4, feats.ms[3], t[2], dec.scratch)
        p1 = dec.up_2_1(p2, feats.ms[4], t[3], dec.scratch)
        with fp32_island(p1):
            logits = dec.pred_mat(F.relu(p1.float()))
            if update_sensory:
                p1x = torch.cat([p1.float(), logits], 1)
                sensory = dec.sensory_update(p16.float(), p8.float(), p4.float(), p2.float(), p1x, sensory)
        return sensory, logits
