"""plugin.color against OCIO's own processors and hand-known values."""
import subprocess
import sys

import numpy as np
import PyOpenColorIO as ocio
import pytest

from plugin import color, plates
from plugin import settings as plugin_settings
from plugin.errors import ColorError
from tests.plugin import media
from tests.plugin.media import plates_untouched  # noqa: F401 - autouse: every plate read stays byte-identical

STUDIO = "ocio://studio-config-latest"

# Known scene values: black, 18% grey, white, a highlight, a negative, saturated colours.
KNOWN = np.array([[[0.0, 0.0, 0.0], [0.18, 0.18, 0.18], [1.0, 1.0, 1.0], [4.0, 2.0, 1.0]],
                  [[-0.05, 0.1, 0.2], [0.9, 0.1, 0.05], [0.05, 0.6, 0.1], [0.02, 0.03, 0.7]]], np.float32)


def _ocio_reference(src, display=None, view=None):
    """OCIO's own answer, pixel by pixel, for the default display/view of the studio config."""
    cfg = ocio.Config.CreateFromFile(STUDIO)
    display = display or cfg.getDefaultDisplay()
    view = view or cfg.getDefaultView(display)
    cpu = cfg.getProcessor(ocio.DisplayViewTransform(src=src, display=display, view=view)).getDefaultCPUProcessor()
    out = np.empty_like(KNOWN)
    for idx in np.ndindex(KNOWN.shape[:2]):
        out[idx] = cpu.applyRGB([float(v) for v in KNOWN[idx]])
    return np.clip(out, 0.0, 1.0)


@pytest.mark.parametrize("colourspace", ["ACEScg", "Linear Rec.709 (sRGB)", "ARRI LogC4", "ACEScct"])
def test_scene_referred_matches_ocio_default_display_view(colourspace):
    got = color.to_network_input(KNOWN, colourspace)
    assert got.dtype == np.float32 and got.shape == KNOWN.shape
    np.testing.assert_allclose(got, _ocio_reference(colourspace), atol=1e-6)
    assert got.min() >= 0.0 and got.max() <= 1.0
    assert not np.allclose(got, np.clip(KNOWN, 0, 1), atol=1e-3)   # really converted


def test_aliases_and_roles_give_the_same_answer():
    a = color.to_network_input(KNOWN, "ACEScg")
    np.testing.assert_array_equal(a, color.to_network_input(KNOWN, "lin_ap1"))
    np.testing.assert_array_equal(a, color.to_network_input(KNOWN, "scene_linear"))


def test_srgb_and_video_plates_pass_through():
    for name in ("sRGB Encoded Rec.709 (sRGB)", "srgb_tx", "Rec.1886 Rec.709 - Display", "g24_rec709"):
        np.testing.assert_array_equal(color.to_network_input(KNOWN, name), np.clip(KNOWN, 0.0, 1.0))


def test_chosen_display_view_and_hand_known_value():
    grey = np.full((1, 1, 3), 0.18, np.float32)
    # Un-tone-mapped sRGB display of linear Rec.709 grey is the sRGB curve: 1.055 * 0.18^(1/2.4) - 0.055
    got = color.to_network_input(grey, "lin_rec709", display="sRGB - Display", view="Un-tone-mapped")
    assert got[0, 0, 0] == pytest.approx(1.055 * 0.18 ** (1 / 2.4) - 0.055, abs=1e-5)
    ref = _ocio_reference("ACEScg", "Rec.1886 Rec.709 - Display", "Video (colorimetric)")
    np.testing.assert_allclose(color.to_network_input(KNOWN, "ACEScg", display="Rec.1886 Rec.709 - Display",
                                                      view="Video (colorimetric)"), ref, atol=1e-6)
    # a display-referred plate stays as it is whatever display/view the shot names
    srgb = color.to_network_input(grey, "srgb_tx", display="Display P3 - Display")
    np.testing.assert_array_equal(srgb, grey)
    with pytest.raises(ColorError, match="'Nope'"):
        color.to_network_input(grey, "srgb_tx", display="Nope")


def test_logc4_grey_is_the_published_code_value():
    grey = np.full((1, 1, 3), 0.18, np.float32)
    logc = color.convert(grey, "Linear ARRI Wide Gamut 4", "ARRI LogC4")
    assert logc[0, 0, 0] == pytest.approx(0.2784, abs=2e-4)   # ARRI LogC4 18% grey


def test_unknown_colourspace_lists_close_matches():
    with pytest.raises(ColorError) as err:
        color.to_network_input(KNOWN, "acescgg")
    msg = str(err.value)
    assert "'acescgg'" in msg and "'ACEScg'" in msg and "\n" not in msg


def test_unknown_display_and_view():
    with pytest.raises(ColorError, match="display 'sRGB Dispaly'.*'sRGB - Display'"):
        color.to_network_input(KNOWN, "ACEScg", display="sRGB Dispaly")
    with pytest.raises(ColorError, match="view 'Film'"):
        color.to_network_input(KNOWN, "ACEScg", display="sRGB - Display", view="Film")


def test_processors_are_cached():
    p1 = color.display_processor("ACEScg")
    p2 = color.display_processor("lin_ap1")
    assert p1 is p2
    assert color.display_processor("ACEScg", exposure=1.0) is not p1


def _write_cg_config(path):
    cfg = ocio.Config.CreateFromFile("ocio://cg-config-latest")
    path.write_text(cfg.serialize())
    return str(path)


def test_config_order_argument_env_settings_builtin(tmp_path, monkeypatch):
    assert color.config_source() == (STUDIO, "built-in")
    settings_cfg = _write_cg_config(tmp_path / "settings.ocio")
    plugin_settings.save(plugin_settings.Settings(ocio_config=settings_cfg))
    assert color.config_source() == (settings_cfg, "settings")
    env_cfg = _write_cg_config(tmp_path / "env.ocio")
    monkeypatch.setenv("OCIO", env_cfg)                 # read at call time; the environment wins
    assert color.config_source() == (env_cfg, "$OCIO")
    assert color.get_config().getName().startswith("cg-config")
    assert color.config_source(STUDIO) == (STUDIO, "argument")
    assert color.get_config(STUDIO).getName().startswith("studio-config")


def test_bad_ocio_path_is_a_one_line_error(tmp_path, monkeypatch):
    monkeypatch.setenv("OCIO", str(tmp_path / "missing.ocio"))
    with pytest.raises(ColorError, match=r"missing\.ocio \(from \$OCIO\) does not exist"):
        color.to_network_input(KNOWN, "ACEScg")
    broken = tmp_path / "broken.ocio"
    broken.write_text("ocio_profile_version: 2\nroles: [this is not\n")
    with pytest.raises(ColorError, match=r"broken\.ocio \(from the shot file or --ocio-config\) cannot be loaded") as err:
        color.get_config(str(broken))
    assert "\n" not in str(err.value)


def test_import_reads_no_environment(tmp_path):
    code = ("import os; os.environ['OCIO'] = '/nonexistent.ocio'; import plugin.color, plugin.plates, "
            "plugin.writers; print('ok')")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr


def test_display_frame_exposure_gamma_and_views():
    frame = np.full((2, 2, 3), 0.09, np.float32)
    base, views = color.display_frame(frame * 2, "lin_rec709", "sRGB - Display", "Un-tone-mapped")
    up, _ = color.display_frame(frame, "lin_rec709", "sRGB - Display", "Un-tone-mapped", exposure=1.0)
    np.testing.assert_allclose(up, base, atol=1e-5)       # +1 stop == twice the light
    g, _ = color.display_frame(frame * 2, "lin_rec709", "sRGB - Display", "Un-tone-mapped", gamma=2.0)
    np.testing.assert_allclose(g, base ** 0.5, atol=1e-4)
    assert "sRGB - Display" == next(iter(views))
    assert "Un-tone-mapped" in views["sRGB - Display"]
    hot, _ = color.display_frame(np.full((1, 1, 3), 50.0, np.float32), "ACEScg", exposure=4)
    assert hot.max() <= 1.0


def test_whole_buffer_path_agrees_with_pixelwise():
    rng = np.random.default_rng(3)
    frame = rng.random((37, 53, 3), dtype=np.float32) * 2.0
    whole = color.to_network_input(frame, "ACEScg")
    cfg = ocio.Config.CreateFromFile(STUDIO)
    cpu = cfg.getProcessor(ocio.DisplayViewTransform(src="ACEScg", display=cfg.getDefaultDisplay(),
                                                     view=cfg.getDefaultView(cfg.getDefaultDisplay()))
                           ).getDefaultCPUProcessor()
    for y, x in [(0, 0), (36, 52), (10, 20)]:
        np.testing.assert_allclose(whole[y, x], np.clip(cpu.applyRGB([float(v) for v in frame[y, x]]), 0, 1),
                                   atol=1e-6)
    assert frame.max() > 1.0   # input untouched (converted a copy)


# --------------------------------------------------------------------------- guesses

def _guess(tmp_path, maker, **kw):
    pattern, _ = maker(tmp_path, frames=1, h=4, w=4, **kw)
    with plates.open(pattern) as plate:
        return plate.colourspace_guess


def test_guess_exr_scene_linear(tmp_path):
    assert _guess(tmp_path / "a", media.make_exr_sequence) == "ACEScg"   # the scene_linear role
    ap0 = (0.7347, 0.2653, 0.0, 1.0, 0.0001, -0.077, 0.32168, 0.33767)
    assert _guess(tmp_path / "b", media.make_exr_sequence,
                  attributes={"chromaticities": (ocio_type_chroma(), ap0)}) == "ACES2065-1"
    rec709 = (0.64, 0.33, 0.3, 0.6, 0.15, 0.06, 0.3127, 0.329)
    assert _guess(tmp_path / "c", media.make_exr_sequence,
                  attributes={"chromaticities": (ocio_type_chroma(), rec709)}) == "Linear Rec.709 (sRGB)"


def ocio_type_chroma():
    import OpenImageIO as oiio
    return oiio.TypeDesc("float[8]")


def test_guess_dpx_log(tmp_path):
    assert _guess(tmp_path / "a", media.make_dpx_sequence) == "ACEScct"  # the compositing_log role
    assert _guess(tmp_path / "b", media.make_dpx_sequence,
                  attributes={"dpx:Transfer": "Printing density"}) == "ADX10"


def test_guess_display_referred_stills_and_movies(tmp_path):
    assert _guess(tmp_path / "a", media.make_png_sequence) == "sRGB Encoded Rec.709 (sRGB)"
    assert _guess(tmp_path / "b", media.make_tiff_sequence) == "sRGB Encoded Rec.709 (sRGB)"
    assert _guess(tmp_path / "c", media.make_tiff_sequence, dtype="float") == "ACEScg"
    media.make_prores(tmp_path / "m.mov", frames=1, h=8, w=8)
    with plates.open(str(tmp_path / "m.mov")) as plate:
        assert color.is_display_referred(plate.colourspace_guess)


def test_guess_follows_the_config_in_use(tmp_path, monkeypatch):
    monkeypatch.setenv("OCIO", _write_cg_config(tmp_path / "cg.ocio"))
    guessed = _guess(tmp_path / "a", media.make_exr_sequence)
    assert guessed == color.get_config().getColorSpace("scene_linear").getName()


def test_parallel_bands_equal_one_pass(monkeypatch):
    frame = np.random.default_rng(5).random((300, 260, 3), dtype=np.float32) * 3.0
    cpu = color.display_processor("ACEScg")
    monkeypatch.setattr(color.os, "cpu_count", lambda: 4)
    banded = color._apply(cpu, frame)
    whole = frame.copy()
    cpu.applyRGB(whole)
    np.testing.assert_array_equal(banded, whole)
