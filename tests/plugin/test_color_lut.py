"""The viewer's baked display/view LUT against OCIO's exact processor.

Error figures are in 8-bit display code values (1/255), the precision the viewer shows.
"""
import time

import numpy as np
import PyOpenColorIO as ocio
import pytest

from plugin import color, color_lut

STUDIO = "ocio://studio-config-latest"
CODE = 1.0 / 255.0


@pytest.fixture
def force_lut(monkeypatch):
    """The LUT even where the exact processor is as fast (cheap views), to test the LUT itself."""
    monkeypatch.setattr(color_lut, "LUT_MIN_SPEEDUP", 0.0)
    color_lut._bake.cache_clear()
    yield
    color_lut._bake.cache_clear()


def _exact(frame, colourspace, **kw):
    return color.display_frame(frame, colourspace, exact=True, **kw)[0]


def _fast(frame, colourspace, **kw):
    return color.display_frame(frame, colourspace, **kw)[0]


def _scene_frame(shape, chroma_stops, seed=0):
    """Scene-linear pixels: log-normal brightness around mid-grey (2.5 stops sigma) times a
    per-channel tint of `chroma_stops` sigma."""
    rng = np.random.default_rng(seed)
    lum = 0.18 * np.exp2(rng.normal(0.0, 2.5, shape[:2] + (1,)))
    return (lum * np.exp2(rng.normal(0.0, chroma_stops, shape))).astype(np.float32)


def _grey_ramp():
    """Black to 2^12 x mid-grey (past the shaper's 2^10 top), log-spaced, plus a linear 0..1 ramp: grey pixels."""
    t = np.linspace(0.0, 1.0, 2048)
    values = np.concatenate([0.18 * (np.exp2(-12.0 + 24.0 * t) - 2.0 ** -12), t])
    return np.repeat(values.astype(np.float32)[None, :, None], 3, axis=2)


def test_grey_ramp_within_a_fraction_of_a_code_value():
    ramp = _grey_ramp()
    err = np.abs(_fast(ramp, "ACEScg") - _exact(ramp, "ACEScg"))
    assert err.max() < 0.5 * CODE, err.max() / CODE
    assert _exact(ramp, "ACEScg").max() > 0.9     # the ramp really reaches the top of the view


def test_random_scene_frame_error():
    # Near-neutral pixels (what most of a plate is): under one code value everywhere.
    frame = _scene_frame((160, 200, 3), 0.15)
    err = np.abs(_fast(frame, "ACEScg") - _exact(frame, "ACEScg"))
    assert err.max() < CODE, err.max() / CODE
    assert err.mean() < 0.25 * CODE
    # Strongly tinted pixels (0.4 stops sigma per channel): ACES 2.0's gamut compression bends
    # between grid points, a few code values at worst, well under one on average.
    frame = _scene_frame((160, 200, 3), 0.4, seed=1)
    err = np.abs(_fast(frame, "ACEScg") - _exact(frame, "ACEScg"))
    assert err.mean() < 0.5 * CODE
    assert np.quantile(err, 0.999) < 4 * CODE
    assert err.max() < 12 * CODE, err.max() / CODE


def test_saturated_colours_keep_their_channels():
    # Catches a LUT laid out in the wrong order (red and blue swapped): primaries stay apart.
    prim = np.array([[[1.0, 0.02, 0.02], [0.02, 1.0, 0.02], [0.02, 0.02, 1.0], [0.5, 0.25, 0.05]]], np.float32)
    fast, exact = _fast(prim, "ACEScg"), _exact(prim, "ACEScg")
    np.testing.assert_allclose(fast, exact, atol=3 * CODE)
    assert fast[0, 0, 0] > fast[0, 0, 2] + 0.3 and fast[0, 2, 2] > fast[0, 2, 0] + 0.3


@pytest.mark.parametrize("colourspace, display, view", [
    ("ACEScct", None, None), ("ARRI LogC4", None, None), ("ACEScct", "sRGB - Display", "Un-tone-mapped")])
def test_log_plates_use_a_range_shaper(colourspace, display, view, force_lut):
    baked = color.baked_display(colourspace, display=display, view=view)
    assert baked.kind == "range" and baked.low <= 0.0 and baked.high >= 1.0
    encoded = color.convert(_grey_ramp(), "ACEScg", colourspace)
    kw = {"display": display, "view": view}
    err = np.abs(_fast(encoded, colourspace, **kw) - _exact(encoded, colourspace, **kw))
    assert err.max() < CODE, err.max() / CODE
    tinted = color.convert(_scene_frame((80, 100, 3), 0.15, seed=2), "ACEScg", colourspace)
    err = np.abs(_fast(tinted, colourspace, **kw) - _exact(tinted, colourspace, **kw))
    assert err.max() < 1.5 * CODE and err.mean() < 0.25 * CODE


@pytest.mark.parametrize("colourspace, exposure, gamma", [("ACEScg", 1.5, 2.2), ("ACEScg", -3.0, 1.0),
                                                          ("ACEScct", -1.0, 1.0), ("ACEScct", 2.0, 0.8)])
def test_exposure_and_gamma_are_exact_outside_the_lut(colourspace, exposure, gamma):
    frame = _scene_frame((60, 80, 3), 0.15, seed=3)
    if colourspace != "ACEScg":
        frame = color.convert(frame, "ACEScg", colourspace)
    fast = _fast(frame, colourspace, exposure=exposure, gamma=gamma)
    exact = _exact(frame, colourspace, exposure=exposure, gamma=gamma)
    err = np.abs(fast - exact)
    assert err.max() < 1.5 * CODE, err.max() / CODE
    assert not np.allclose(fast, _fast(frame, colourspace), atol=0.02)   # the controls really act


def test_hand_known_value_on_another_view(force_lut):
    grey = np.full((1, 1, 3), 0.18, np.float32)
    got = _fast(grey, "lin_rec709", display="sRGB - Display", view="Un-tone-mapped")
    assert got[0, 0, 0] == pytest.approx(1.055 * 0.18 ** (1 / 2.4) - 0.055, abs=0.5 * CODE)


def test_network_input_stays_exact_and_fast_is_opt_in():
    frame = _scene_frame((40, 50, 3), 0.3, seed=4)
    cpu = color.display_processor("ACEScg")
    want = frame.copy()
    cpu.applyRGB(want)
    np.testing.assert_array_equal(color.to_network_input(frame, "ACEScg"), np.clip(want, 0.0, 1.0))
    fast = color.to_network_input(frame, "ACEScg", fast=True)
    assert not np.array_equal(fast, np.clip(want, 0.0, 1.0))
    np.testing.assert_allclose(fast, np.clip(want, 0.0, 1.0), atol=12 * CODE)


def test_exact_flag_is_ocio_itself():
    frame = _scene_frame((30, 40, 3), 0.3, seed=5)
    cpu = color.display_processor("ACEScg", exposure=1.0, gamma=2.0)
    want = frame.copy()
    cpu.applyRGB(want)
    np.testing.assert_array_equal(_exact(frame, "ACEScg", exposure=1.0, gamma=2.0), np.clip(want, 0.0, 1.0))


def test_bake_is_cached_per_view_and_input_untouched(force_lut):
    a = color.baked_display("ACEScg")
    assert color.baked_display("lin_ap1") is a                     # alias: same bake
    b = color.baked_display("ACEScg", display="sRGB - Display", view="Un-tone-mapped")
    assert b is not a and a.kind == b.kind == "scene-linear" and a.size == color.LUT_SIZE
    frame = _scene_frame((20, 30, 3), 0.3, seed=6)
    copy = frame.copy()
    _fast(frame, "ACEScg", exposure=2.0)
    np.testing.assert_array_equal(frame, copy)


def test_non_finite_and_negative_pixels():
    frame = np.array([[[np.nan, 0.1, 0.1], [np.inf, 0.0, 0.0], [-np.inf, -1.0, -0.05], [-0.02, 0.3, 0.3]]],
                     np.float32)
    got = _fast(frame, "ACEScg")
    assert np.all(np.isfinite(got)) and got.min() >= 0.0 and got.max() <= 1.0
    # A slightly negative channel (out-of-gamut colour) stays close to the exact answer.
    np.testing.assert_allclose(got[0, 3], _exact(frame[:, 3:], "ACEScg")[0, 0], atol=4 * CODE)


def test_unknown_display_view_still_errors():
    from plugin.errors import ColorError
    with pytest.raises(ColorError, match="display 'Nope'"):
        color.display_frame(np.zeros((2, 2, 3), np.float32), "ACEScg", display="Nope")


def _config_without_encodings(path):
    """A hand-made config: no colourspace declares an encoding (the linearity probe decides)."""
    cfg = ocio.Config.CreateRaw()
    cfg.setVersion(2, 0)
    lin = ocio.ColorSpace(ocio.REFERENCE_SPACE_SCENE, "lin")
    wide = ocio.ColorSpace(ocio.REFERENCE_SPACE_SCENE, "lin_wide")
    wide.setTransform(ocio.MatrixTransform([0.8, 0.15, 0.05, 0, 0.1, 0.85, 0.05, 0, 0.02, 0.08, 0.9, 0,
                                            0, 0, 0, 1]), ocio.COLORSPACE_DIR_TO_REFERENCE)
    log = ocio.ColorSpace(ocio.REFERENCE_SPACE_SCENE, "log")
    log_tf = ocio.LogAffineTransform()
    log_tf.setBase(2.0)
    log_tf.setLinSideOffsetValue([0.001] * 3)
    log_tf.setLogSideSlopeValue([1.0 / 16.0] * 3)
    log_tf.setLogSideOffsetValue([10.0 / 16.0] * 3)
    log.setTransform(log_tf, ocio.COLORSPACE_DIR_FROM_REFERENCE)
    out = ocio.ColorSpace(ocio.REFERENCE_SPACE_SCENE, "gamma_out")
    out.setTransform(ocio.GroupTransform([ocio.RangeTransform(0.0, 1.0, 0.0, 1.0),
                                          ocio.ExponentTransform([1 / 2.2, 1 / 2.2, 1 / 2.2, 1.0])]),
                     ocio.COLORSPACE_DIR_FROM_REFERENCE)
    for cs in (lin, wide, log, out):
        cfg.addColorSpace(cs)
    cfg.setRole("scene_linear", "lin")
    cfg.setRole("default", "lin")
    cfg.addDisplayView("Monitor", "Gamma", "gamma_out")
    cfg.validate()
    path.write_text(cfg.serialize())
    return str(path)


def test_config_without_encodings(tmp_path, force_lut):
    config = _config_without_encodings(tmp_path / "plain.ocio")
    assert color.baked_display("lin_wide", config=config).kind == "scene-linear"
    log = color.baked_display("log", config=config)
    assert log.kind == "range" and log.high >= 1.0
    view = {"config": config, "display": "Monitor", "view": "Gamma"}
    ramp = _grey_ramp() * np.float32(0.01)          # mostly below 1.0, where the view does not clip
    for cs in ("lin_wide", "log"):
        frame = ramp if cs == "lin_wide" else color.convert(ramp, "lin", "log", config=config)
        err = np.abs(_fast(frame, cs, **view) - _exact(frame, cs, **view))
        # Scene-linear: 1.0, where this view clips, is a grid point. Log: the clip falls between
        # grid points (up to ~2 code values next to it; the studio config's log spaces stay < 1).
        assert err.max() < (CODE if cs == "lin_wide" else 2 * CODE), (cs, err.max() / CODE)
        assert err.mean() < 0.1 * CODE
    grey = color.convert(np.full((1, 1, 3), 0.18, np.float32), "lin", "log", config=config)
    assert _fast(grey, "log", exposure=1.0, **view)[0, 0, 0] == pytest.approx(0.36 ** (1 / 2.2), abs=0.5 * CODE)
    frame = color.convert(ramp, "lin", "log", config=config)
    err = np.abs(_fast(frame, "log", exposure=1.0, **view) - _exact(frame, "log", exposure=1.0, **view))
    assert err.max() < CODE   # exposure on a log plate: exactly to scene_linear, then the linear LUT


def test_cheap_views_stay_exact_and_aces2_uses_the_lut():
    color_lut._bake.cache_clear()
    cheap = color.baked_display("ACEScg", display="sRGB - Display", view="Un-tone-mapped")
    assert not cheap.uses_lut and cheap.cpu is color.display_processor(
        "ACEScg", display="sRGB - Display", view="Un-tone-mapped")
    # Saturated highlights of an un-clamped view: a LUT would be far off; exact is what is shown.
    frame = _scene_frame((60, 80, 3), 0.4, seed=8)
    kw = {"display": "sRGB - Display", "view": "Un-tone-mapped"}
    np.testing.assert_array_equal(_fast(frame, "ACEScg", **kw), _exact(frame, "ACEScg", **kw))
    aces = color.baked_display("ACEScg")
    assert aces.uses_lut and aces.speedup > LUT_MIN_FOR_ACES2, aces


LUT_MIN_FOR_ACES2 = 3.0


def test_lut_is_much_faster_than_the_exact_aces2_view():
    frame = _scene_frame((270, 480, 3), 0.3, seed=7)
    cpu_exact, baked = color.display_processor("ACEScg"), color.baked_display("ACEScg")

    def best(cpu):
        times = []
        for _ in range(3):
            buf = frame.copy()
            start = time.perf_counter()
            cpu.applyRGB(buf)
            times.append(time.perf_counter() - start)
        return min(times)

    exact_s, lut_s = best(cpu_exact), best(baked.cpu)
    assert lut_s * 3 < exact_s, (exact_s, lut_s)   # measured ~10-15x on one core; 3x leaves room for noise
