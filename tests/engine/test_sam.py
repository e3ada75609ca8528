"""SAM2 assist: torch-only preprocessing, equality with sam2's own predictor, caching, plumbing.

No SAM2 weights can be downloaded here, so the real sam2 model runs on stand-in weights: the
tiny model built from its packaged config with seeded random init.
"""
from __future__ import annotations

import sys
import time
import types

import numpy as np
import pytest
import torch
import torch.nn as nn

from matanyone_engine import sam as samod
from matanyone_engine import weights
from matanyone_engine.errors import UnsafeCheckpointError, WeightsError
from matanyone_engine.sam import SamAssist, SamError, preprocess, resize, to_model_coords

MEAN = np.array(samod.PIXEL_MEAN, np.float32)
STD = np.array(samod.PIXEL_STD, np.float32)


@pytest.fixture(scope="module")
def stand_in():
    return SamAssist.create("stand-in")


def fresh(stand_in, cache_size=4):
    """A new assistant (own cache) on the shared stand-in model."""
    return SamAssist(stand_in.model, stand_in.model_id, "cpu", cache_size=cache_size)


# --- preprocessing: hand-checked values and independent references ---------------------------

def test_resize_shrinking_by_two_hand_checked():
    ramp = torch.arange(2048, dtype=torch.float32).repeat(1, 1, 4, 1)   # 1x1x4x2048, value = x
    out = resize(ramp, (4, 1024))[0, 0]
    # First output: centre 1.0; input centres 0.5, 1.5, 2.5 weigh 0.75, 0.75, 0.25 (triangle of half-width 2).
    assert out[0, 0].item() == pytest.approx((0 * 0.75 + 1 * 0.75 + 2 * 0.25) / 1.75, abs=1e-5)
    # Inside: a symmetric window over a ramp gives the centre's value, 2j + 0.5.
    assert out[0, 100].item() == pytest.approx(200.5, abs=1e-4)
    # Last output: centre 2047; inputs 2045, 2046, 2047 weigh 0.25, 0.75, 0.75.
    assert out[0, 1023].item() == pytest.approx((2045 * 0.25 + 2046 * 0.75 + 2047 * 0.75) / 1.75, abs=1e-3)
    assert torch.equal(out[0], out[3])  # the unchanged axis is untouched


def test_resize_growing_by_two_hand_checked():
    ramp = torch.arange(512, dtype=torch.float32).repeat(1, 1, 2, 1)
    out = resize(ramp, (2, 1024))[0, 0, 0]
    # Growing: plain bilinear, source x = (j + 0.5) / 2 - 0.5, clamped at the edges.
    assert out[:4].tolist() == pytest.approx([0.0, 0.25, 0.75, 1.25])
    assert out[-1].item() == 511.0


def _triangle_matrix(n_in, n_out):
    """Out x In weights of an antialiased bilinear resize, built from its definition (float64)."""
    scale = n_in / n_out
    support = max(scale, 1.0)
    centres = (np.arange(n_out) + 0.5) * scale
    x = np.arange(n_in) + 0.5
    w = np.clip(1.0 - np.abs(x[None, :] - centres[:, None]) / support, 0.0, None)
    return w / w.sum(axis=1, keepdims=True)


def _pil_resize(chw: np.ndarray, size) -> np.ndarray:
    from PIL import Image

    return np.stack([np.asarray(Image.fromarray(np.ascontiguousarray(c), mode="F").resize(
        (size[1], size[0]), Image.Resampling.BILINEAR)) for c in chw])


def test_preprocess_at_1080p_matches_pil_and_a_numpy_reference():
    rng = np.random.default_rng(3)
    image = rng.random((1080, 1920, 3), dtype=np.float32)
    ours = preprocess(image)[0].numpy()
    chw = image.transpose(2, 0, 1)
    pil = (_pil_resize(chw, (1024, 1024)) - MEAN[:, None, None]) / STD[:, None, None]
    wy, wx = _triangle_matrix(1080, 1024), _triangle_matrix(1920, 1024)
    ref = np.stack([wy @ c.astype(np.float64) @ wx.T for c in chw])
    ref = (ref - MEAN[:, None, None]) / STD[:, None, None]
    assert ours.shape == (3, 1024, 1024) and ours.dtype == np.float32
    assert np.abs(ours - pil).max() < 1e-5
    assert np.abs(ours - ref).max() < 1e-5
    # Without antialias the answer is clearly different: the filter matters.
    plain = torch.nn.functional.interpolate(torch.from_numpy(chw)[None], (1024, 1024), mode="bilinear",
                                            align_corners=False)[0].numpy()
    assert np.abs((plain - MEAN[:, None, None]) / STD[:, None, None] - ours).max() > 0.1


def test_preprocess_normalises_with_imagenet_statistics():
    mean_image = np.broadcast_to(MEAN, (20, 30, 3)).astype(np.float32)
    assert np.abs(preprocess(mean_image).numpy()).max() < 1e-6
    white = preprocess(np.ones((20, 30, 3), np.float32))[0, :, 0, 0].numpy()
    assert white == pytest.approx((1 - MEAN) / STD, abs=1e-6)
    assert torch.equal(preprocess(np.full((20, 30, 3), 255, np.uint8)), preprocess(np.ones((20, 30, 3), np.float32)))
    with pytest.raises(SamError, match="HxWx3"):
        preprocess(np.zeros((20, 30), np.float32))


def test_to_model_coords():
    pts = to_model_coords([(48, 16), (96, 64), (0, 0)], height=64, width=96)
    assert pts.tolist() == [[512.0, 256.0], [1024.0, 1024.0], [0.0, 0.0]]


# --- equality with sam2's own image predictor --------------------------------------------------

def _fake_torchvision():
    """torchvision's three transforms, written independently (PIL resize, numpy maths)."""
    tv = types.ModuleType("torchvision")
    tvt = types.ModuleType("torchvision.transforms")

    class ToTensor:
        def __call__(self, a):
            a = np.asarray(a)
            t = a.transpose(2, 0, 1)
            return torch.from_numpy(t.astype(np.float32) / np.float32(255) if a.dtype == np.uint8 else t.astype(np.float32))

    class Resize(nn.Module):
        def __init__(self, size):
            super().__init__()
            self.size = size

        def forward(self, x):
            return torch.from_numpy(_pil_resize(x.numpy(), self.size))

    class Normalize(nn.Module):
        def __init__(self, mean, std):
            super().__init__()
            self.mean = np.array(mean, np.float32)[:, None, None]
            self.std = np.array(std, np.float32)[:, None, None]

        def forward(self, x):
            return torch.from_numpy((x.numpy() - self.mean) / self.std)

    tvt.ToTensor, tvt.Resize, tvt.Normalize = ToTensor, Resize, Normalize
    tv.transforms = tvt
    return tv, tvt


@pytest.fixture
def official_predictor_class(monkeypatch):
    tv, tvt = _fake_torchvision()
    monkeypatch.setitem(sys.modules, "torchvision", tv)
    monkeypatch.setitem(sys.modules, "torchvision.transforms", tvt)
    monkeypatch.setattr(torch.jit, "script", lambda module: module)  # our fakes are plain Python
    for name in ("sam2.sam2_image_predictor", "sam2.utils.transforms"):
        sys.modules.pop(name, None)
    from sam2.sam2_image_predictor import SAM2ImagePredictor
    yield SAM2ImagePredictor
    for name in ("sam2.sam2_image_predictor", "sam2.utils.transforms"):
        sys.modules.pop(name, None)


def test_logits_equal_sam2_predictor_with_independent_transforms(stand_in, official_predictor_class):
    rng = np.random.default_rng(1)
    u8 = (rng.random((270, 480, 3)) * 255).astype(np.uint8)
    ours = fresh(stand_in)
    official = official_predictor_class(stand_in.model)

    t0 = time.perf_counter()
    handle = ours.embed(u8.astype(np.float32) / np.float32(255))
    t1 = time.perf_counter()
    again = ours.embed(u8.astype(np.float32) / np.float32(255))
    t_hit = time.perf_counter() - t1
    assert again == handle and ours.cache_hits == 1 and ours.cache_misses == 1  # the same frame: a cache hit
    official.set_image(u8)
    feats = ours._cache[handle.key]

    # One click: the three multi-mask answers, low-res and at plate resolution, and their scores.
    click = (200.0, 100.0)
    masks, ious, low = official.predict(point_coords=np.array([click]), point_labels=np.array([1]),
                                        multimask_output=True, return_logits=True)
    with torch.inference_mode():
        our_low, our_iou, _ = ours._decode(feats, [click], [], None, None)
        our_full = ours._upscale(our_low[1:], 270, 480).numpy()
    assert np.abs(our_low[1:].clamp(-32, 32).numpy() - low).max() < 1e-5
    assert np.abs(our_full - masks).max() < 1e-5
    assert np.abs(our_iou[1:].numpy() - ious).max() < 1e-6
    t2 = time.perf_counter()
    result = ours.mask(handle, [click], [])
    t3 = time.perf_counter()
    best = int(np.argmax(ious))
    assert np.array_equal(result.mask, masks[best] > 0)
    assert result.score == pytest.approx(float(ious[best]), abs=1e-6)
    assert np.abs(result.logits - low[best]).max() < 1e-5
    others = sorted((i for i in range(3) if i != best), key=lambda i: -ious[i])
    assert [a.score for a in result.alternatives] == pytest.approx([float(ious[i]) for i in others], abs=1e-6)
    for alt, i in zip(result.alternatives, others):
        assert np.array_equal(alt.mask, masks[i] > 0)
        assert np.abs(alt.logits - low[i]).max() < 1e-5

    # Clicks, a box and the previous answer: sam2's single-mask path (with its stability fallback).
    pos, neg, box = [(200.0, 100.0)], [(50.0, 60.0)], (10.0, 20.0, 400.0, 250.0)
    masks2, ious2, low2 = official.predict(
        point_coords=np.array(pos + neg), point_labels=np.array([1, 0]), box=np.array(box),
        mask_input=low[best][None], multimask_output=False, return_logits=True)
    result2 = ours.mask(handle, pos, neg, box=box, previous_logits=result.logits)
    assert np.array_equal(result2.mask, masks2[0] > 0)
    assert result2.score == pytest.approx(float(ious2[0]), abs=1e-6)
    assert np.abs(result2.logits - low2[0]).max() < 1e-5
    print(f"\nSAM stand-in tiny, CPU, 270x480: embed {t1 - t0:.2f} s, cached embed {1000 * t_hit:.1f} ms, "
          f"click {1000 * (t3 - t2):.0f} ms; "
          f"logit scale {np.abs(masks).max():.3f}")


# --- caching ----------------------------------------------------------------------------------

def _fake_encode(calls):
    def encode(array):
        calls.append(array.shape)
        g = torch.Generator().manual_seed(len(calls))
        return samod._Features(torch.randn(1, 256, 64, 64, generator=g),
                               [torch.randn(1, 32, 256, 256, generator=g), torch.randn(1, 64, 128, 128, generator=g)],
                               array.shape[0], array.shape[1])
    return encode


def test_embedding_cache_hits_and_evicts(stand_in, monkeypatch):
    assist = fresh(stand_in, cache_size=2)
    calls = []
    monkeypatch.setattr(assist, "_encode", _fake_encode(calls))
    frames = [np.full((64, 96, 3), v, np.float32) for v in (0.1, 0.2, 0.3)]
    h0 = assist.embed(frames[0])
    again = assist.embed(frames[0].copy())          # same pixels, another array: a hit
    assert again == h0 and len(calls) == 1 and assist.cache_hits == 1 and assist.cache_misses == 1
    assert (h0.height, h0.width) == (64, 96)
    h1 = assist.embed(frames[1])
    assist.embed(frames[0])                           # refresh frame 0: frame 1 is now the oldest
    h2 = assist.embed(frames[2])
    assert len(calls) == 3 and assist.cached_keys == (h0.key, h2.key)
    with pytest.raises(SamError, match="embed the frame again"):
        assist.mask(h1, [(10, 10)])
    named = assist.embed(frames[1], key="sh010.1001")
    assert named.key == "sh010.1001" and assist.embed(frames[2], key="sh010.1001") == named  # the key wins
    assert len(calls) == 4
    assist.mask("sh010.1001", [(10, 10)])            # a key works as a handle (the worker's way)


# --- prompt and output plumbing ---------------------------------------------------------------

@pytest.fixture
def spied(stand_in, monkeypatch):
    assist = fresh(stand_in)
    monkeypatch.setattr(assist, "_encode", _fake_encode([]))
    seen = []
    encoder = assist.model.sam_prompt_encoder
    original = encoder.forward

    def spy(points, boxes, masks):
        seen.append((points[0].clone(), points[1].clone(), boxes, None if masks is None else masks.clone()))
        return original(points, boxes, masks)

    monkeypatch.setattr(encoder, "forward", spy)
    handle = assist.embed(np.zeros((64, 96, 3), np.float32))
    return assist, handle, seen


def test_clicks_and_box_reach_sam_in_its_1024_space(spied):
    assist, handle, seen = spied
    result = assist.mask(handle, [(30, 20)], [(90, 60)], box=(80, 50, 10, 5))  # corners in any order
    coords, labels, boxes, masks = seen[-1]
    assert labels.tolist() == [[2, 3, 1, 0]]
    expected = [[10 * 1024 / 96, 5 * 16], [80 * 1024 / 96, 50 * 16], [30 * 1024 / 96, 20 * 16],
                [90 * 1024 / 96, 60 * 16]]
    np.testing.assert_allclose(coords[0].numpy(), np.array(expected, np.float32), rtol=1e-6)
    assert boxes is None and masks is None
    assert result.mask.shape == (64, 96) and result.mask.dtype == bool
    assert result.logits.shape == (1, 256, 256) and result.logits.dtype == np.float32
    assert len(result.alternatives) == 2
    assert all(a.mask.shape == (64, 96) for a in result.alternatives)
    scores = [a.score for a in result.alternatives]
    assert scores == sorted(scores, reverse=True)
    assist.mask(handle, [(30, 20)], previous_logits=result.logits)
    assert torch.equal(seen[-1][3][0], torch.from_numpy(result.logits))


def test_single_click_picks_the_best_of_three(spied):
    assist, handle, _ = spied
    result = assist.mask(handle, [(30, 20)])
    assert all(result.score >= a.score for a in result.alternatives)


def test_low_res_answer_lands_on_the_right_plate_pixels(spied, monkeypatch):
    assist, handle, _ = spied
    low = torch.full((4, 256, 256), -10.0)
    low[:, :128, :64] = 10.0                     # top half, left quarter
    monkeypatch.setattr(assist, "_decode", lambda *a: (low, torch.tensor([0.1, 0.9, 0.5, 0.2]), 1))
    result = assist.mask(handle, [(1, 1)])
    assert result.score == pytest.approx(0.9)
    rows, cols = np.nonzero(result.mask)
    assert rows.max() == 31 and cols.max() == 23 and rows.min() == 0 and cols.min() == 0  # 64x96 plate


def test_bad_prompts_are_one_line_errors(spied):
    assist, handle, _ = spied
    for kwargs, match in (({}, "at least one click"),
                          ({"points_pos": [(97, 10)]}, r"outside the 96x64 frame"),
                          ({"points_pos": [(10, 10)], "box": (0, 0, 5)}, r"\(x0, y0, x1, y1\)"),
                          ({"points_pos": [(10, 10)], "previous_logits": np.zeros((64, 64))}, "256x256")):
        with pytest.raises(SamError, match=match) as info:
            assist.mask(handle, **kwargs)
        assert "\n" not in str(info.value) and info.value.user_error


# --- checkpoints ------------------------------------------------------------------------------

def test_pickled_code_is_refused(tmp_path):
    evil = tmp_path / "sam2.1_hiera_tiny.pt"
    torch.save({"model": {"w": torch.zeros(1)}, "hook": SamError("x")}, evil)
    with pytest.raises(UnsafeCheckpointError, match="pickled code") as info:
        SamAssist.create(str(evil))
    assert "\n" not in str(info.value)


def test_not_a_sam_checkpoint(tmp_path):
    other = tmp_path / "other.pt"
    torch.save({"weights": torch.zeros(1)}, other)
    with pytest.raises(WeightsError, match="not a SAM2 checkpoint"):
        SamAssist.create(str(other))
    with pytest.raises(SamError, match="neither"):
        SamAssist.create(str(tmp_path / "missing.pt"))


def test_missing_registry_checkpoint_names_the_file():
    with pytest.raises(WeightsError) as info:
        SamAssist.create("tiny")
    assert "sam2.1_hiera_tiny.pt" in str(info.value) and "weights get sam2.1-tiny" in str(info.value)


@pytest.fixture(scope="module")
def tiny_checkpoint(stand_in, tmp_path_factory):
    """The stand-in tiny model saved as an official checkpoint ({"model": state dict}), ~156 MB."""
    path = tmp_path_factory.mktemp("sam") / "sam2.1_hiera_tiny.pt"
    torch.save({"model": stand_in.model.state_dict()}, path)
    return path


@pytest.mark.slow
def test_checkpoint_file_loads_strictly_and_matches_the_stand_in(stand_in, tiny_checkpoint):
    loaded = SamAssist.create(str(tiny_checkpoint))
    for key, value in stand_in.model.state_dict().items():
        assert torch.equal(loaded.model.state_dict()[key], value), key
    assert loaded.model_id.startswith("sam2.1_hiera_tiny.pt:")


@pytest.mark.slow
def test_checkpoint_with_a_missing_key_is_refused_naming_it(stand_in, tmp_path):
    state = dict(stand_in.model.state_dict())
    del state["sam_mask_decoder.iou_token.weight"]
    broken = tmp_path / "broken.pt"
    torch.save({"model": state}, broken)
    with pytest.raises(WeightsError, match="iou_token.weight") as info:
        SamAssist.create(str(broken))
    assert "1 missing" in str(info.value)


@pytest.mark.slow
def test_studio_checkpoint_verified_by_the_registry_check(tiny_checkpoint):
    result = weights.verify("sam2.1-tiny", weights_dir=tiny_checkpoint.parent)
    assert result.layout == "ok" and result.path == tiny_checkpoint
    assist = SamAssist.create("tiny", weights_dir=tiny_checkpoint.parent)
    assert assist.model_id.startswith("sam2.1_hiera_tiny.pt:")
