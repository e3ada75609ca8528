"""Session behaviour on small clips with stand-in weights: multi-object, corrections, joining
later, save/restore, bounded state, chunked readout, input errors."""
import numpy as np
import pytest
import torch

from matanyone_engine import EngineSettings, Session, matte_frames
from matanyone_engine.errors import InputError, StateError
from matanyone_engine.network import MatAnyoneNet

from .conftest import tiny_clip

SETTINGS = EngineSettings(warmup=2)


def _run(net, frames, masks_at: dict, settings=SETTINGS):
    """Step a session; masks_at: {frame_index: {obj_id: mask}}. Returns list of alpha dicts."""
    s = Session(net, settings)
    out = []
    for t, frame in enumerate(frames):
        if t in masks_at:
            s.add_mask(masks_at[t])
        out.append(s.step(frame))
    return out


def test_multi_object_equals_independent_runs(standin_net):
    frames, masks = tiny_clip(7)
    both = matte_frames(standin_net, frames, masks, warmup=2)
    for k in range(2):
        alone = matte_frames(standin_net, frames, masks[k:k + 1], warmup=2)
        assert np.array_equal(both[:, k], alone[:, 0]), f"object {k} differs from its own run"
    assert not np.array_equal(both[:, 0], both[:, 1])
    assert both.dtype == np.float32 and both.min() >= 0 and both.max() <= 1


def test_image_features_are_shared(standin_net, monkeypatch):
    frames, masks = tiny_clip(3)
    calls = []
    original = MatAnyoneNet.encode_image
    monkeypatch.setattr(MatAnyoneNet, "encode_image", lambda self, x: calls.append(1) or original(self, x))
    matte_frames(standin_net, frames, masks, warmup=2)
    assert len(calls) == len(frames)  # once per frame for both objects, warm-up included


def test_readout_chunked_equals_unchunked():
    g = torch.Generator().manual_seed(0)
    qk, qe = torch.randn(1, 64, 5, 7, generator=g), torch.rand(1, 64, 5, 7, generator=g)
    mk, ms = torch.randn(1, 64, 3 * 35, generator=g), 1 + torch.rand(1, 1, 3 * 35, generator=g)
    mv = torch.randn(1, 256, 3 * 35, generator=g)
    whole = MatAnyoneNet.read_memory(qk, qe, mk, ms, mv, top_k=30, chunk=None)
    for chunk in (1, 4, 13):
        part = MatAnyoneNet.read_memory(qk, qe, mk, ms, mv, top_k=30, chunk=chunk)
        torch.testing.assert_close(part, whole, rtol=1e-6, atol=1e-6)
    assert whole.shape == (1, 256, 5, 7)
    # the readout really is a top-k: 30 of 105 tokens
    few = MatAnyoneNet.read_memory(qk, qe, mk, ms, mv, top_k=1, chunk=None)
    assert not torch.allclose(few, whole)


def test_session_chunked_readout_same_alphas(standin_net):
    frames, masks = tiny_clip(7)
    whole = _run(standin_net, frames, {0: {1: masks[0]}})
    chunked = _run(standin_net, frames, {0: {1: masks[0]}}, EngineSettings(warmup=2, readout_chunk=3))
    for a, b in zip(whole, chunked):
        np.testing.assert_allclose(a[1], b[1], atol=1e-6, rtol=0)


def test_correction_changes_later_frames_only(standin_net):
    frames, masks = tiny_clip(8)
    plain = _run(standin_net, frames, {0: {1: masks[0]}})
    fix = np.zeros_like(masks[0])
    fix[10:40, 20:60] = 255
    corrected = _run(standin_net, frames, {0: {1: masks[0]}, 5: {1: fix}})
    for t in range(5):
        assert np.array_equal(plain[t][1], corrected[t][1]), f"frame {t} before the correction changed"
    np.testing.assert_array_equal(corrected[5][1], fix / 255.0)  # the keyframe's alpha is its mask
    for t in range(6, 8):
        assert np.abs(plain[t][1] - corrected[t][1]).max() > 1e-4, f"frame {t} ignored the correction"


def test_object_joining_later(standin_net):
    frames, masks = tiny_clip(7)
    s = Session(standin_net, SETTINGS)
    s.add_mask({"a": masks[0]})
    seen = []
    for t, frame in enumerate(frames):
        if t == 3:
            s.add_mask({"b": masks[1]})
        seen.append(s.step(frame))
    assert all(set(a) == {"a"} for a in seen[:3]) and all(set(a) == {"a", "b"} for a in seen[3:])
    alone_a = matte_frames(standin_net, frames, masks[:1], warmup=2)
    alone_b = matte_frames(standin_net, frames[3:], masks[1:2], warmup=2)  # warm-up runs on its first frame
    for t in range(7):
        assert np.array_equal(seen[t]["a"], alone_a[t, 0])
    for t in range(3, 7):
        assert np.array_equal(seen[t]["b"], alone_b[t - 3, 0])
    assert s.object_ids == ["a", "b"]
    s.remove_object("a")
    assert set(s.step(frames[0])) == {"b"}


def test_state_round_trip_bit_identical(standin_net, tmp_path):
    frames, masks = tiny_clip(9)
    full = _run(standin_net, frames, {0: {1: masks[0], 2: masks[1]}})
    s = Session(standin_net, SETTINGS)
    s.add_mask({1: masks[0], 2: masks[1]})
    for t in range(5):
        s.step(frames[t])
    s.add_mask({2: masks[1]})  # a pending correction is part of the state too
    torch.save(s.state_dict(), tmp_path / "state.pt")
    restored = Session(standin_net, SETTINGS)
    restored.load_state_dict(torch.load(tmp_path / "state.pt", weights_only=True))
    uninterrupted = _run(standin_net, frames, {0: {1: masks[0], 2: masks[1]}, 5: {2: masks[1]}})
    for t in range(5, 9):
        got = restored.step(frames[t])
        for k in (1, 2):
            assert np.array_equal(got[k], uninterrupted[t][k]), (t, k)
    assert not np.array_equal(uninterrupted[6][2], full[6][2])
    with pytest.raises(StateError):
        Session(standin_net, EngineSettings(warmup=3)).load_state_dict(s.state_dict())


def test_state_is_bounded(standin_net):
    frames, masks = tiny_clip(4, 32, 32)
    s = Session(standin_net, EngineSettings(warmup=0))
    s.add_mask({1: masks[0]})
    sizes = []
    for t in range(36):
        s.step(frames[t % 4])
        sizes.append(s.sizes())
    assert sizes[20] == sizes[35], (sizes[20], sizes[35])  # full after the 4th memory frame (step 20)
    assert sizes[35]["memory_frames"] == 5 and sizes[35]["cached_frames"] == 0
    assert sizes[35]["memory_tokens"] == 5 * 4
    assert sizes[19]["memory_frames"] == 4
    assert sizes[0]["memory_frames"] == 1


def test_bad_inputs(standin_net):
    frames, masks = tiny_clip(2)
    s = Session(standin_net, SETTINGS)
    with pytest.raises(InputError, match="object 7: the first mask"):
        s.add_mask({7: np.zeros_like(masks[0])})
    with pytest.raises(InputError, match="HxW"):
        s.add_mask({1: masks})
    s.add_mask({1: masks[0][:-1]})
    with pytest.raises(InputError, match="object 1: mask is"):
        s.step(frames[0])
    s.reset()
    with pytest.raises(InputError, match="HxWx3"):
        s.step(frames[0][..., :2])
    s.add_mask({1: masks[0]})
    s.step(frames[0])
    with pytest.raises(InputError, match="this shot is"):
        s.step(frames[0][:-2])
    err = InputError("x")
    assert err.user_error is True


def test_float_frames_and_masks_match_uint8(standin_net):
    frames, masks = tiny_clip(3)
    a = matte_frames(standin_net, frames, masks[:1], warmup=1)
    s = Session(standin_net, EngineSettings(warmup=1))
    s.add_mask({0: masks[0].astype(np.float32) / 255})
    b = [s.step(f.astype(np.float32) / 255)[0] for f in frames]
    np.testing.assert_array_equal(a[:, 0], np.stack(b))


def test_decoder_scratch_is_counted_and_freed_with_the_last_session(standin_net):
    """The decoder's reused buffers (~1 GB at 1080p) show in sizes() and go with the last session."""
    import gc
    frames, masks = tiny_clip(2, 64, 64)
    a, b = Session(standin_net, EngineSettings(warmup=0)), Session(standin_net, EngineSettings(warmup=0))
    a.add_mask({1: masks[0]})
    a.step(frames[0])
    held = standin_net.mask_decoder.scratch.nbytes
    if held == 0:
        pytest.skip("this build runs the decoder without the reused buffers (no oneDNN in-place add)")
    assert a.sizes()["scratch_bytes"] == held == b.sizes()["scratch_bytes"]
    del a
    gc.collect()
    assert standin_net.mask_decoder.scratch.nbytes == held  # b still uses the network
    del b
    gc.collect()
    assert standin_net.mask_decoder.scratch.nbytes == 0
