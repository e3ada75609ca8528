"""SAM2 click-to-mask for keyframe masks, without torchvision.

The artist clicks on the frame the network will see; SAM2 answers with a mask at full plate
resolution. `sam2==1.1.0` supplies the model (its modeling modules and yaml configs); its image
predictor is not used because it imports torchvision for three input transforms. This module
does those in torch instead (`preprocess`), builds the model from the package's yaml without
Hydra (`_build_model`), loads checkpoints weights-only and strictly, and keeps a small LRU of
image embeddings so each click only runs the prompt encoder and mask decoder.

    sam = SamAssist.create("tiny")            # or a checkpoint path, or "stand-in"
    handle = sam.embed(image)                 # float32 HxWx3 in [0, 1], network-input colour
    result = sam.mask(handle, [(x, y)], [])   # plate pixels, x right, y down
    result.mask                               # bool HxW; result.alternatives offers the others

Importing `sam2` runs its package `__init__`, which registers sam2's configs with Hydra's global
state once; this module never composes a Hydra config itself, and it imports `sam2` only when a
model is built.
"""
from __future__ import annotations

import collections
import hashlib
import importlib
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn.functional as F

from matanyone_engine.errors import EngineError, WeightsError
from matanyone_engine.loader import read_checkpoint

IMAGE_SIZE = 1024                        # SAM2's square input
PIXEL_MEAN = (0.485, 0.456, 0.406)       # ImageNet statistics, as sam2's transforms use
PIXEL_STD = (0.229, 0.224, 0.225)
LOW_RES = 256                            # side of the decoder's mask logits
SIZES = ("tiny", "small", "base_plus", "large")
STAND_IN = "stand-in"
STAND_IN_SEED = 0
LOGIT_CLAMP = 32.0                       # previous-mask logits are clamped as sam2's predictor does

# build_sam2's default post-processing for click prompts: a single-mask answer whose stability
# is low falls back to the best of the three multi-mask answers.
_DECODER_EXTRA = {
    "dynamic_multimask_via_stability": True,
    "dynamic_multimask_stability_delta": 0.05,
    "dynamic_multimask_stability_thresh": 0.98,
}
# Only these classes may be named by a config's `_target_` (a config is data, not code).
_TARGET_PREFIX = "sam2.modeling."


class SamError(EngineError):
    """A SAM checkpoint, frame or prompt that cannot be used; the message is one line."""


@dataclass(frozen=True)
class SamHandle:
    """An embedded frame: pass it (or its `key`) to `SamAssist.mask`."""

    key: str
    height: int
    width: int
    model_id: str


class SamAlternative:
    """Another answer SAM offers for the same prompts; its plate-resolution mask is computed on
    first access (most clicks never look at the alternatives, and each costs a 1080p resize)."""

    __slots__ = ("score", "logits", "_low", "_size", "_mask")

    def __init__(self, score: float, low: torch.Tensor, height: int, width: int):
        self.score = score        # SAM's predicted IoU
        self.logits = low.clamp(-LOGIT_CLAMP, LOGIT_CLAMP).float().cpu().numpy()[None]  # 1x256x256
        self._low = low           # 256x256, unclamped: the plate mask is resized from these, as sam2 does
        self._size = (height, width)
        self._mask = None

    @property
    def mask(self) -> np.ndarray:
        """bool HxW at plate resolution."""
        if self._mask is None:
            with torch.inference_mode():
                self._mask = (SamAssist._upscale(self._low[None], *self._size)[0] > 0).cpu().numpy()
        return self._mask

    def __repr__(self) -> str:
        return f"SamAlternative(score={self.score:.3f})"


@dataclass(frozen=True)
class SamResult:
    """SAM's chosen answer and the others it offers (best first)."""

    mask: np.ndarray      # bool HxW at plate resolution
    score: float          # SAM's predicted IoU of `mask`
    logits: np.ndarray    # float32 1x256x256 low-resolution logits of `mask`
    alternatives: Tuple[SamAlternative, ...]


def preprocess(image: np.ndarray) -> torch.Tensor:
    """Network-input image -> SAM2's input tensor, equal to sam2's torchvision transforms.

    torchvision's `Resize((1024, 1024))` on a tensor is a bilinear, antialiased, non-aspect-
    preserving resize (half-pixel centres), followed by `Normalize(ImageNet mean, std)`.

    Args:
        image: float32 HxWx3 RGB in [0, 1] (uint8 is divided by 255, as `ToTensor` does).

    Returns:
        float32 tensor 1x3x1024x1024 (CPU).
    """
    array = np.asarray(image)
    if array.ndim != 3 or array.shape[2] != 3:
        raise SamError(f"SAM needs an RGB frame of shape HxWx3; got an array of shape {array.shape}")
    x = torch.from_numpy(np.ascontiguousarray(array))
    x = x.float().div(255) if x.dtype == torch.uint8 else x.float()
    x = resize(x.permute(2, 0, 1).unsqueeze(0), (IMAGE_SIZE, IMAGE_SIZE))
    mean = torch.tensor(PIXEL_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(PIXEL_STD).view(1, 3, 1, 1)
    return (x - mean) / std


def resize(x: torch.Tensor, size: Tuple[int, int]) -> torch.Tensor:
    """torchvision's tensor `Resize(size)`: bilinear with a triangle filter widened by the scale
    when shrinking (antialias), half-pixel centres, edge weights renormalised.

    Args:
        x: float32 N x C x H x W.
        size: (height, width) of the result.
    """
    return F.interpolate(x, size=tuple(size), mode="bilinear", align_corners=False, antialias=True)


def to_model_coords(points, height: int, width: int) -> np.ndarray:
    """Plate pixel coordinates (x right, y down) -> SAM2's 1024x1024 input space.

    Args:
        points: N x 2 sequence of (x, y) in plate pixels.

    Returns:
        float32 N x 2 array: x * 1024 / width, y * 1024 / height.
    """
    pts = np.asarray(points, dtype=np.float32).reshape(-1, 2)
    scale = np.array([IMAGE_SIZE / width, IMAGE_SIZE / height], dtype=np.float32)
    return pts * scale


# ---------------------------------------------------------------------------------------------
# Building and loading the model


def _sam2_root() -> Path:
    try:
        import sam2
    except ImportError as err:
        raise SamError(
            "SAM2 is not installed: run `SAM2_BUILD_CUDA=0 pip install --no-build-isolation --no-deps "
            f"sam2==1.1.0 hydra-core iopath tqdm pillow` in the product's environment ({err})") from None
    return Path(sam2.__file__).resolve().parent


def _config_tree(config_name: str) -> dict:
    """The `model` node of a sam2 yaml config as plain Python data (no Hydra compose)."""
    from omegaconf import OmegaConf  # comes with hydra-core, sam2's own dependency

    path = _sam2_root() / config_name
    if not path.is_file():
        raise SamError(f"SAM2 config {config_name} not found in the installed sam2 package ({path})")
    tree = OmegaConf.to_container(OmegaConf.load(path), resolve=True)
    return tree["model"]


def _instantiate(node):
    """Build the objects a config names, allowing only sam2's modeling classes."""
    if isinstance(node, dict):
        args = {k: _instantiate(v) for k, v in node.items() if k != "_target_"}
        target = node.get("_target_")
        if target is None:
            return args
        if not str(target).startswith(_TARGET_PREFIX):
            raise SamError(f"SAM2 config names {target!r}, which is not a sam2 modeling class")
        module_name, _, class_name = target.rpartition(".")
        return getattr(importlib.import_module(module_name), class_name)(**args)
    if isinstance(node, list):
        return [_instantiate(v) for v in node]
    return node


def _build_model(config_name: str, seed: Optional[int] = None) -> torch.nn.Module:
    """SAM2Base from a packaged config; random init drawn from `seed` when given."""
    tree = _config_tree(config_name)
    tree["sam_mask_decoder_extra_args"] = dict(_DECODER_EXTRA)
    with torch.random.fork_rng(devices=[]):  # building draws random init: leave the caller's RNG alone
        if seed is not None:
            torch.manual_seed(seed)
        model = _instantiate(tree)
    return model.eval()


def _trunk_signature(tree: dict) -> Tuple[int, int]:
    import inspect

    from sam2.modeling.backbones.hieradet import Hiera

    defaults = {k: p.default for k, p in inspect.signature(Hiera).parameters.items()}
    trunk = {**defaults, **tree["image_encoder"]["trunk"]}  # base+ relies on Hiera's defaults
    return int(trunk["embed_dim"]), int(sum(trunk["stages"]))


def _config_for_state(state: dict, path: Path) -> str:
    """The packaged config whose Hiera trunk matches the checkpoint's (width, depth)."""
    proj = state.get("image_encoder.trunk.patch_embed.proj.weight")
    if proj is None:
        raise WeightsError(f"{path} is not a SAM2 checkpoint (no image_encoder.trunk.patch_embed.proj.weight)")
    depth = 1 + max((int(k.split(".")[3]) for k in state if k.startswith("image_encoder.trunk.blocks.")), default=-1)
    version = "sam2.1" if "no_obj_embed_spatial" in state else "sam2"
    want = (int(proj.shape[0]), depth)
    folder = _sam2_root() / "configs" / version
    for yaml_path in sorted(folder.glob("*.yaml")):
        name = f"configs/{version}/{yaml_path.name}"
        if _trunk_signature(_config_tree(name)) == want:
            return name
    raise WeightsError(f"{path}: no packaged SAM2 config has a Hiera trunk of width {want[0]} and depth {want[1]}")


def _load_state(path: Path) -> dict:
    """A SAM2 checkpoint's tensors, refusing pickled code (weights_only)."""
    blob = read_checkpoint(Path(path))
    if not isinstance(blob, dict) or not isinstance(blob.get("model"), dict):
        raise WeightsError(f"{path} is not a SAM2 checkpoint (expected a dict with a 'model' state dict)")
    return blob["model"]


def _load_strict(model: torch.nn.Module, state: dict, path: Path) -> None:
    expected = model.state_dict()
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    wrong = [k for k in expected if k in state and tuple(state[k].shape) != tuple(expected[k].shape)]
    if missing or unexpected or wrong:
        parts = []
        if missing:
            parts.append(f"{len(missing)} missing (first: {', '.join(missing[:3])})")
        if unexpected:
            parts.append(f"{len(unexpected)} unexpected (first: {', '.join(unexpected[:3])})")
        if wrong:
            parts.append(f"{len(wrong)} of another shape (first: {wrong[0]})")
        raise WeightsError(f"{path} does not match the SAM2 model: {'; '.join(parts)}")
    model.load_state_dict(state, strict=True)


def check_checkpoint(path, config_name: Optional[str] = None) -> str:
    """Strict layout check of a SAM2 checkpoint (weights-only); returns the config it fits.

    Raises:
        UnsafeCheckpointError: pickled code or objects.
        WeightsError: not a SAM2 checkpoint, or keys/shapes that do not match.
    """
    path = Path(path)
    state = _load_state(path)
    config_name = config_name or _config_for_state(state, path)
    _load_strict(_build_model(config_name, seed=STAND_IN_SEED), state, path)
    return config_name


# ---------------------------------------------------------------------------------------------
# The assistant


class _Features:
    """One frame's image embedding: 1x256x64x64 plus the two high-resolution levels."""

    __slots__ = ("image_embed", "high_res", "height", "width")

    def __init__(self, image_embed, high_res, height, width):
        self.image_embed = image_embed
        self.high_res = high_res
        self.height = height
        self.width = width


class SamAssist:
    """SAM2 on one device: `embed` a frame once, then `mask` per click (see module docstring)."""

    def __init__(self, model: torch.nn.Module, model_id: str, device="cpu", cache_size: int = 4):
        from matanyone_engine.device import pick_device

        self.device = pick_device(device)
        self.model = model.to(self.device).eval()
        self.model_id = model_id
        self.cache_size = max(1, int(cache_size))
        self.cache_hits = 0
        self.cache_misses = 0
        self._cache: "collections.OrderedDict[str, _Features]" = collections.OrderedDict()
        self._lock = threading.RLock()
        self._dense_pe = None

    @classmethod
    def create(cls, model: str = "tiny", device="cpu", *, weights_dir=None, cache_size: int = 4) -> "SamAssist":
        """A SAM2 assistant.

        Args:
            model: "tiny" | "small" | "base_plus" | "large" (or "sam2.1-<size>"): the registry's
                checkpoint from the studio folder or cache; a checkpoint path; or "stand-in":
                the tiny model with seeded random weights (tests, CI; no real masks).
            device: "cpu", "cuda", "auto", ...
            weights_dir: studio folder of checkpoints (else $MATANYONE_PLUGIN_WEIGHTS, then the cache).
            cache_size: embedded frames kept (each ~25 MB for the tiny model).
        """
        from matanyone_engine import weights

        spec = str(model)
        if spec == STAND_IN:
            config = weights.registry()["sam2.1-tiny"].sam2_config
            return cls(_build_model(config, seed=STAND_IN_SEED), f"{STAND_IN}:sam2.1-tiny", device, cache_size)
        name = spec if spec.startswith("sam2.1-") else f"sam2.1-{spec}"
        entries = weights.registry()
        if name in entries and entries[name].kind == "sam2":
            path = Path(weights.resolve(name, weights_dir=weights_dir))
            config = entries[name].sam2_config
        else:
            path = Path(spec).expanduser()
            if not path.is_file():
                raise SamError(f"SAM model {spec!r} is neither one of {', '.join(SIZES)}, 'stand-in', nor an existing checkpoint file")
            config = None
        state = _load_state(path)
        config = config or _config_for_state(state, path)
        net = _build_model(config)
        _load_strict(net, state, path)
        stat = path.stat()
        return cls(net, f"{path.name}:{stat.st_size}:{stat.st_mtime_ns}", device, cache_size)

    # -- embedding ------------------------------------------------------------------------------

    @torch.inference_mode()
    def embed(self, image: np.ndarray, *, key: Optional[str] = None) -> SamHandle:
        """Embed one frame (cached by `key`, else by the image's content, and the model).

        Args:
            image: float32 HxWx3 RGB in [0, 1], the network-input image at plate resolution.
            key: a name for the frame (e.g. plate, frame number and colour settings); when
                omitted, a digest of the pixels.

        Returns:
            SamHandle naming the cached embedding.
        """
        array = np.asarray(image)
        if array.ndim != 3 or array.shape[2] != 3 or array.shape[0] < 1 or array.shape[1] < 1:
            raise SamError(f"SAM needs an RGB frame of shape HxWx3; got an array of shape {array.shape}")
        height, width = int(array.shape[0]), int(array.shape[1])
        if key is None:
            digest = hashlib.blake2b(digest_size=16)
            digest.update(f"{array.shape}{array.dtype}".encode())
            digest.update(np.ascontiguousarray(array).data)
            key = digest.hexdigest()
        with self._lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                self.cache_hits += 1
                return SamHandle(key, height, width, self.model_id)
            self.cache_misses += 1
        feats = self._encode(array)
        with self._lock:
            self._cache[key] = feats
            self._cache.move_to_end(key)
            while len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)
        return SamHandle(key, height, width, self.model_id)

    def _encode(self, array: np.ndarray) -> _Features:
        x = preprocess(array).to(self.device)
        out = self.model.forward_image(x)
        # The three FPN levels the decoder reads; the lowest one gets SAM2's "no memory" embedding,
        # as the image predictor does for a single image.
        fpn = out["backbone_fpn"][-self.model.num_feature_levels:]
        image_embed = fpn[-1]
        if self.model.directly_add_no_mem_embed:
            image_embed = image_embed + self.model.no_mem_embed.view(1, -1, 1, 1)
        return _Features(image_embed, [f for f in fpn[:-1]], array.shape[0], array.shape[1])

    @property
    def cached_keys(self) -> Tuple[str, ...]:
        with self._lock:
            return tuple(self._cache)

    # -- prompts ---------------------------------------------------------------------------------

    @torch.inference_mode()
    def mask(self, handle, points_pos: Sequence = (), points_neg: Sequence = (), box=None,
             previous_logits=None) -> SamResult:
        """Mask from clicks and/or a box on an embedded frame.

        One prompt (a single click or a box alone) is ambiguous: SAM's three multi-mask answers
        are ranked by predicted IoU and the best is chosen. More prompts use SAM's single-mask
        answer unless it is unstable (then the best multi-mask one), as sam2's predictor does.

        Args:
            handle: from `embed` (or its key).
            points_pos: (x, y) plate pixels inside the object.
            points_neg: (x, y) plate pixels outside it.
            box: (x0, y0, x1, y1) plate pixels, or None.
            previous_logits: `SamResult.logits` of the last answer (float32 1x256x256), to refine it.

        Returns:
            SamResult with `mask` bool HxW at plate resolution and the alternatives, best first.
        """
        key = handle.key if isinstance(handle, SamHandle) else str(handle)
        with self._lock:
            feats = self._cache.get(key)
            if feats is not None:
                self._cache.move_to_end(key)
        if feats is None:
            raise SamError(
                f"the SAM embedding of this frame is no longer cached (only the last {self.cache_size} "
                "frames are kept): embed the frame again")
        low, scores, n_prompts = self._decode(feats, points_pos, points_neg, box, previous_logits)
        scores = scores.float().cpu()
        multi = [1, 2, 3]
        best_multi = max(multi, key=lambda i: float(scores[i]))
        chosen = best_multi
        if n_prompts > 1 and self._stable(low[0]):
            chosen = 0
        others = sorted((i for i in multi if i != chosen), key=lambda i: -float(scores[i]))
        full = self._upscale(low[chosen:chosen + 1], feats.height, feats.width)[0] > 0
        logits = low[chosen:chosen + 1].clamp(-LOGIT_CLAMP, LOGIT_CLAMP).float().cpu().numpy()
        alternatives = tuple(SamAlternative(float(scores[i]), low[i], feats.height, feats.width) for i in others)
        return SamResult(full.cpu().numpy(), float(scores[chosen]), logits, alternatives)

    def _stable(self, logits: torch.Tensor) -> bool:
        delta = _DECODER_EXTRA["dynamic_multimask_stability_delta"]
        inner = int((logits > delta).sum())
        outer = int((logits > -delta).sum())
        score = inner / outer if outer > 0 else 1.0
        return score >= _DECODER_EXTRA["dynamic_multimask_stability_thresh"]

    def _prompts(self, feats: _Features, points_pos, points_neg, box):
        """Validated prompts in SAM's 1024 space: coords 1xNx2, labels 1xN (box corners first)."""
        h, w = feats.height, feats.width
        coords, labels = [], []
        if box is not None:
            b = [float(v) for v in np.asarray(box, dtype=np.float64).reshape(-1)]
            if len(b) != 4:
                raise SamError(f"a SAM box is (x0, y0, x1, y1); got {len(b)} numbers")
            x0, x1 = sorted((b[0], b[2]))
            y0, y1 = sorted((b[1], b[3]))
            self._check_inside((x0, y0), h, w, "box corner")
            self._check_inside((x1, y1), h, w, "box corner")
            coords += [(x0, y0), (x1, y1)]
            labels += [2, 3]
        for label, points in ((1, points_pos), (0, points_neg)):
            for p in (points or ()):
                p = tuple(float(v) for v in p)
                if len(p) != 2:
                    raise SamError(f"a SAM click is (x, y); got {p}")
                self._check_inside(p, h, w, "click")
                coords.append(p)
                labels.append(label)
        if not coords:
            raise SamError("SAM needs at least one click or a box")
        model_coords = to_model_coords(coords, h, w)
        return (torch.from_numpy(model_coords)[None].to(self.device),
                torch.tensor([labels], dtype=torch.int, device=self.device))

    @staticmethod
    def _check_inside(p, h, w, what):
        if not (0 <= p[0] <= w and 0 <= p[1] <= h):
            raise SamError(f"SAM {what} at ({p[0]:g}, {p[1]:g}) is outside the {w}x{h} frame")

    def _decode(self, feats: _Features, points_pos, points_neg, box, previous_logits):
        """All four mask answers: low-res logits 4x256x256 and predicted IoUs (4,)."""
        coords, labels = self._prompts(feats, points_pos, points_neg, box)
        mask_input = None
        if previous_logits is not None:
            prev = torch.as_tensor(np.asarray(previous_logits, dtype=np.float32), device=self.device)
            if prev.numel() != LOW_RES * LOW_RES:
                raise SamError(f"previous SAM logits must be {LOW_RES}x{LOW_RES}; got shape {tuple(prev.shape)}")
            mask_input = prev.reshape(1, 1, LOW_RES, LOW_RES)
        with self._lock:
            if self._dense_pe is None:
                self._dense_pe = self.model.sam_prompt_encoder.get_dense_pe()
            sparse, dense = self.model.sam_prompt_encoder(points=(coords, labels), boxes=None, masks=mask_input)
            low, iou, _, _ = self.model.sam_mask_decoder.predict_masks(
                image_embeddings=feats.image_embed, image_pe=self._dense_pe,
                sparse_prompt_embeddings=sparse, dense_prompt_embeddings=dense,
                repeat_image=False, high_res_features=feats.high_res)
        return low[0], iou[0], int(labels.shape[1] - (1 if box is not None else 0))

    @staticmethod
    def _upscale(low: torch.Tensor, height: int, width: int) -> torch.Tensor:
        """Low-res logits Kx256x256 -> K x H x W at plate resolution (bilinear, as sam2 does)."""
        return F.interpolate(low[None].float(), (height, width), mode="bilinear", align_corners=False)[0]
