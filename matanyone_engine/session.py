"""The streaming inference session: the official step state machine, warm-up and memory rules.

Each object runs exactly as an independent official single-object run (its own counters,
memory, sensory and last-frame state); all objects of a frame share the image encoder.
Call order per frame: `add_mask(...)` (optional, applies to the next step), then `step(image)`.
"""
from __future__ import annotations

import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from .device import autocast, check_precision
from .errors import Cancelled, InputError, StateError
from .features import FrameFeatures
from .memory import MemoryFrame, ObjectState, PixelMemory
from .network import ImageFeatures, MatAnyoneNet
from .objects import ObjectTable, PendingMask

STAGGER_UPDATES = 5  # official `stagger_updates`: sensory updated when 1 <= ti - last_mem_ti <= 5
STATE_VERSION = 1


@dataclass(frozen=True)
class EngineSettings:
    """Inference settings; the defaults are the official ones.

    warmup: extra refinements of an object's first frame (more: steadier start, each costs ~1 frame).
    mem_every: a memory frame every N frames (fewer: adapts faster, costs a little more).
    max_mem_frames: permanent frame + FIFO frames read per step (more: longer memory, slower readout).
    top_k: memory affinities kept per pixel (official 30; changes the result).
    readout_chunk: query pixels per readout chunk; None = automatic (bounds memory at 4K, exact).
    precision: "fp32" (exact), "official-mixed", "bf16" or "fp16" autocast (faster on GPUs, alpha
        differs slightly); see device.py.
    max_permanent_frames: permanent memory frames kept (first frame + permanent corrections).
    """

    warmup: int = 10
    mem_every: int = 5
    max_mem_frames: int = 5
    top_k: int = 30
    readout_chunk: int | None = None
    precision: str = "fp32"
    max_permanent_frames: int = 4


_AUTO_CHUNK_ELEMENTS = 1 << 24  # similarity elements per readout chunk (64 MB in fp32)


def _session_gone(network) -> None:
    network._sessions_alive -= 1
    if network._sessions_alive <= 0:
        network.mask_decoder.scratch.release()


def _pad_amounts(h: int, w: int, d: int = 16):
    ph = (d - h % d) % d
    pw = (d - w % d) % d
    return ph // 2, ph - ph // 2, pw // 2, pw - pw // 2  # top, bottom, left, right (floor top/left)


class Session:
    """Matte one shot, frame by frame.

    Args:
        network: from `load_network`.
        settings: EngineSettings (defaults: the official configuration).
    """

    def __init__(self, network: MatAnyoneNet, settings: EngineSettings | None = None):
        self.network = network
        self.settings = settings or EngineSettings()
        check_precision(self.settings.precision)
        if self.settings.warmup < 0 or self.settings.mem_every < 1 or self.settings.max_mem_frames < 1 \
                or self.settings.top_k < 1:
            raise InputError(f"engine settings out of range: {self.settings}")
        self.device = network.device
        self._features = FrameFeatures(network)
        self._objects = ObjectTable()
        self._states: dict = {}
        self._steps = 0
        self._size: tuple | None = None
        self._trace: Callable | None = None  # debugging: called as trace(name, tensor)
        # The decoder's scratch buffers (~1 GB at 1080p) live on the network, shared by its
        # sessions: freed when the last session using this network is gone.
        network._sessions_alive = getattr(network, "_sessions_alive", 0) + 1
        weakref.finalize(self, _session_gone, network)

    # ------------------------------------------------------------ public verbs
    @torch.inference_mode()
    def add_mask(self, masks: Mapping, permanent: bool = False) -> None:
        """Give masks for the next step.

        Args:
            masks: {object_id: HxW mask}, uint8 0..255, bool, or float 0..1. A new object joins
                at the next step (warm-up runs there); a known object gets a correction keyframe.
            permanent: keep the correction in permanent memory (else it enters the FIFO).
        """
        checked = {}
        for obj_id, mask in masks.items():
            t = self._mask_tensor(obj_id, mask)
            if obj_id not in self._states and not bool((t > 0).any()):
                raise InputError(f"object {obj_id}: the first mask (step {self._steps}) is empty; "
                                 f"paint the object on its first frame")
            checked[obj_id] = t
        for obj_id, t in checked.items():
            self._objects.pending[obj_id] = PendingMask(t, bool(permanent))

    @torch.inference_mode()
    def step(self, image, *, cancel: Callable[[], bool] | None = None) -> dict:
        """Matte the next frame.

        Args:
            image: HxWx3 float32 RGB in [0,1] (network-input colour); uint8 is divided by 255.
            cancel: returns True to stop; asked before each warm-up refinement of a joining
                object (a first frame can take minutes), so a stop comes within one refinement.
        Returns:
            {object_id: HxW float32 alpha in [0,1]} for every joined object.
        Raises:
            Cancelled: `cancel` returned True during a warm-up. The joining object has not joined
                and its mask still waits, but objects stepped before it have advanced: to resume
                exactly, restore a `state_dict()` taken before the step.
        """
        padded = self._image_tensor(image)
        pending = {i: self._pad_mask(i, p.mask) for i, p in self._objects.pending.items()}
        alphas = {}
        try:
            with autocast(self.device, self.settings.precision):
                for obj_id in self._objects.ids_to_step():
                    given = self._objects.pending.pop(obj_id, None)
                    feats = self._features.get(padded)
                    if obj_id not in self._states:
                        try:
                            alpha = self._join(obj_id, feats, pending[obj_id], cancel)
                        except Cancelled:
                            self._objects.pending[obj_id] = given
                            raise
                    elif given is not None:
                        alpha = self._correct(self._states[obj_id], feats, pending[obj_id], given.permanent)
                    else:
                        alpha = self._advance(self._states[obj_id], feats)
                    alphas[obj_id] = alpha
        finally:
            self._features.drop()
        self._steps += 1
        # Downloads last: each waits for the device, so every object's work is queued before the first.
        return {obj_id: self._unpad(alpha) for obj_id, alpha in alphas.items()}

    def remove_object(self, obj_id) -> None:
        """Forget an object (its memory is freed)."""
        self._objects.remove(obj_id)
        self._states.pop(obj_id, None)

    def reset(self) -> None:
        """Forget every object and the step count."""
        self._objects.clear()
        self._states.clear()
        self._features.drop()
        self._steps = 0
        self._size = None

    @property
    def object_ids(self) -> list:
        return self._objects.ids

    @property
    def steps(self) -> int:
        return self._steps

    def sizes(self) -> dict:
        """What the session holds (for boundedness checks): memory frames/tokens/bytes, cache."""
        states = list(self._states.values())
        return {
            "objects": len(states),
            "memory_frames": sum(s.memory.num_frames for s in states),
            "memory_tokens": sum(s.memory.num_tokens for s in states),
            "state_bytes": sum(s.nbytes() for s in states),
            "cached_frames": self._features.cached_frames,
            "pending_masks": len(self._objects.pending),
            "scratch_bytes": self.network.mask_decoder.scratch.nbytes,  # shared with the network's other sessions
        }

    # ------------------------------------------------------------ save / restore
    def state_dict(self) -> dict:
        """Everything recurrent (memories, sensory, last-frame state, counters, pending masks)."""
        return {
            "version": STATE_VERSION,
            "steps": self._steps,
            "size": list(self._size) if self._size else [],
            "settings": dict(vars(self.settings)),
            "weights_id": self.network.weights_id,
            "object_ids": list(self._objects.ids),
            "objects": {i: self._states[i].to_dict() for i in self._objects.ids},
            "pending": {i: {"mask": p.mask.clone(), "permanent": int(p.permanent)}
                        for i, p in self._objects.pending.items()},
        }

    def load_state_dict(self, state: Mapping) -> None:
        """Restore a `state_dict()`; later alphas are bit-identical to an uninterrupted run."""
        if state.get("version") != STATE_VERSION:
            raise StateError(f"saved engine state has version {state.get('version')}, expected {STATE_VERSION}")
        if dict(state["settings"]) != dict(vars(self.settings)):
            raise StateError("saved engine state was made with other engine settings; re-run from the start")
        if state.get("weights_id") != self.network.weights_id:
            raise StateError(f"saved engine state was made with weights {state.get('weights_id')}, "
                             f"not {self.network.weights_id}; re-run from the start")
        self.reset()
        s = self.settings
        self._steps = int(state["steps"])
        self._size = tuple(state["size"]) or None
        for obj_id in state["object_ids"]:
            self._objects.join(obj_id)
            self._states[obj_id] = ObjectState.from_dict(state["objects"][obj_id], s.max_mem_frames,
                                                         s.max_permanent_frames, self.device)
        for obj_id, p in state["pending"].items():
            self._objects.pending[obj_id] = PendingMask(p["mask"].to(self.device).clone(), bool(p["permanent"]))

    # ------------------------------------------------------------ inputs
    def _image_tensor(self, image) -> torch.Tensor:
        t = torch.as_tensor(np.asarray(image)) if not isinstance(image, torch.Tensor) else image
        if t.ndim != 3 or t.shape[-1] != 3:
            raise InputError(f"step {self._steps}: image must be HxWx3 RGB, got shape {tuple(t.shape)}")
        if t.dtype == torch.uint8:
            t = t.float() / 255
        elif not t.dtype.is_floating_point:
            raise InputError(f"step {self._steps}: image must be float32 in [0,1] or uint8, got {t.dtype}")
        h, w = t.shape[:2]
        if self._size is None:
            self._size = (h, w)
        elif (h, w) != self._size:
            raise InputError(f"step {self._steps}: image is {w}x{h} but this shot is {self._size[1]}x{self._size[0]}")
        t = t.to(self.device, torch.float32).permute(2, 0, 1).unsqueeze(0)
        top, bottom, left, right = _pad_amounts(h, w)
        return F.pad(t, (left, right, top, bottom))

    def _mask_tensor(self, obj_id, mask) -> torch.Tensor:
        t = torch.as_tensor(np.asarray(mask)) if not isinstance(mask, torch.Tensor) else mask
        if t.ndim == 3 and t.shape[-1] == 1:
            t = t[..., 0]
        if t.ndim != 2:
            raise InputError(f"object {obj_id}: mask must be HxW, got shape {tuple(t.shape)}")
        if t.dtype == torch.bool:
            t = t.float()
        elif t.dtype == torch.uint8:
            t = t.float() / 255
        elif t.dtype.is_floating_point:
            t = t.float().clamp(0, 1)
        else:
            raise InputError(f"object {obj_id}: mask must be uint8 0..255, bool or float 0..1, got {t.dtype}")
        return t.to(self.device)

    def _pad_mask(self, obj_id, mask: torch.Tensor) -> torch.Tensor:
        h, w = self._size
        if tuple(mask.shape) != (h, w):
            raise InputError(f"object {obj_id}: mask is {mask.shape[1]}x{mask.shape[0]} "
                             f"but step {self._steps} image is {w}x{h}")
        top, bottom, left, right = _pad_amounts(h, w)
        return F.pad(mask.view(1, 1, h, w), (left, right, top, bottom))

    def _unpad(self, alpha: torch.Tensor) -> np.ndarray:
        h, w = self._size
        top, _, left, _ = _pad_amounts(h, w)
        return alpha[0, 0, top:top + h, left:left + w].float().cpu().numpy().copy()

    # ------------------------------------------------------------ the state machine
    def _emit(self, name: str, value) -> None:
        if self._trace is not None:
            self._trace(name, value)

    def _join(self, obj_id, feats: ImageFeatures, mask: torch.Tensor, cancel=None) -> torch.Tensor:
        """The official first frame: a mask step, then warmup + 1 refinements of the same frame."""
        s = self.settings
        state = ObjectState(memory=PixelMemory(s.max_mem_frames, s.max_permanent_frames))
        state.curr_ti = 0
        state.last_mem_ti = 0
        state.last_mask = mask
        state.last_pix_feat = feats.pix_feat
        h, w = feats.pix_feat.shape[-2:]
        state.sensory = torch.zeros((1, 256, h, w), device=self.device, dtype=torch.float32)
        self._memorise(state, feats, mask, permanent=True)
        alpha = mask
        for _ in range(s.warmup + 1):
            if cancel is not None and cancel():
                raise Cancelled(f"object {obj_id}: warm-up cancelled")
            state.curr_ti = 0
            state.last_mem_ti = 0
            pixel = self.network.pixel_fuse(feats.pix_feat, state.last_value, state.sensory, state.last_mask)
            self._emit("pixel_fuser", pixel)
            alpha = self._segment(state, feats, pixel, update_sensory=True)
            state.memory.clear()
            state.summaries = None
            self._memorise(state, feats, alpha, permanent=True)
        self._objects.join(obj_id)
        self._states[obj_id] = state
        return alpha

    def _correct(self, state: ObjectState, feats: ImageFeatures, mask: torch.Tensor, permanent: bool):
        """A correction keyframe: the mask is the output and becomes memory."""
        state.curr_ti += 1
        state.last_mask = mask
        state.last_pix_feat = feats.pix_feat
        self._memorise(state, feats, mask, permanent=permanent)
        return mask

    def _advance(self, state: ObjectState, feats: ImageFeatures) -> torch.Tensor:
        """A normal frame: top-k readout + uncertainty fusion, segment, then memory or value."""
        s = self.settings
        net = self.network
        state.curr_ti += 1
        since = state.curr_ti - state.last_mem_ti
        is_mem = since >= s.mem_every
        update_sensory = 1 <= since <= STAGGER_UPDATES
        mk, ms, mv = state.memory.tensors()
        chunk = s.readout_chunk
        if chunk is None:
            chunk = max(1, _AUTO_CHUNK_ELEMENTS // max(1, mk.shape[-1]))
        readout = net.read_memory(feats.key, feats.selection, mk, ms, mv, s.top_k, chunk)
        u_logits = net.uncertainty(state.last_pix_feat, feats.pix_feat, state.last_mask, readout - state.last_value)
        self._emit("temp_sparity", u_logits)
        u = torch.sigmoid(u_logits)
        fused = readout * u + state.last_value * (1 - u)
        pixel = net.pixel_fuse(feats.pix_feat, fused, state.sensory, state.last_mask)
        self._emit("pixel_fuser", pixel)
        alpha = self._segment(state, feats, pixel, update_sensory=update_sensory)
        if is_mem:
            self._memorise(state, feats, alpha, permanent=False)
        else:
            state.last_value = net.encode_value(feats, alpha)
        return alpha

    def _segment(self, state: ObjectState, feats: ImageFeatures, pixel: torch.Tensor, update_sensory: bool):
        net = self.network
        if self._trace is not None:
            p16, aux = net.transform_objects(pixel, state.summaries, keep_aux=True)
            self._emit("object_transformer", (p16, aux))
        else:
            p16 = net.transform_objects(pixel, state.summaries)
        sensory, logits = net.decode(feats, p16, state.sensory, update_sensory)
        self._emit("mask_decoder", (sensory, logits))
        state.sensory = sensory
        alpha = logits.clamp(0, 1)
        state.last_mask = alpha
        state.last_pix_feat = feats.pix_feat
        return alpha

    def _memorise(self, state: ObjectState, feats: ImageFeatures, alpha: torch.Tensor, permanent: bool):
        """Official `_add_memory`: value + deep sensory update + summaries, into the memory bank."""
        net = self.network
        self._emit("pixel_encoder", feats)
        value = net.encode_value(feats, alpha)
        sensory = net.update_sensory_from_value(value, state.sensory)
        self._emit("mask_encoder", (value, sensory))
        summaries = net.summarize(alpha, value)
        self._emit("object_summarizer", summaries)
        state.memory.add(MemoryFrame(feats.key.flatten(2), feats.shrinkage.flatten(2), value.flatten(2)), permanent)
        state.add_summaries(summaries)
        state.sensory = sensory
        state.last_mem_ti = state.curr_ti
        state.last_value = value
