"""One list of precision names: the CLI offers exactly what the engine runs (issue 16: the CLI,
the shot check and the README offered `official-mixed`, which the engine refused)."""
import argparse

import numpy as np
import pytest
import torch

from matanyone_engine import EngineSettings, Session, load_network
from matanyone_engine.device import PRECISIONS as ENGINE_PRECISIONS
from plugin import protocol
from plugin.commands.run import add_engine_options


def _cli_choices(dest):
    parser = argparse.ArgumentParser()
    add_engine_options(parser)
    return tuple(next(a for a in parser._actions if a.dest == dest).choices)


def test_the_cli_offers_exactly_the_engines_precisions():
    assert set(_cli_choices("precision")) == set(ENGINE_PRECISIONS) == set(protocol.PRECISIONS)
    assert _cli_choices("direction") == protocol.DIRECTIONS


@pytest.mark.parametrize("precision", _cli_choices("precision"))
def test_every_offered_precision_runs_through_the_engine(precision):
    net = load_network("stand-in", device="cpu", precision=precision)
    session = Session(net, EngineSettings(warmup=1, precision=precision))
    rng = np.random.default_rng(0)
    mask = np.zeros((48, 64), np.uint8)
    mask[12:36, 16:48] = 255
    session.add_mask({1: mask})
    for _ in range(3):
        alphas = session.step(rng.random((48, 64, 3), dtype=np.float32))
        alpha = alphas[1]
        assert alpha.shape == (48, 64) and alpha.dtype == np.float32
        assert np.isfinite(alpha).all() and 0.0 <= alpha.min() and alpha.max() <= 1.0


def test_official_mixed_is_the_official_autocast():
    """Reference §9: the official drivers autocast to fp16 on CUDA, bf16 on CPU, nothing on MPS."""
    from matanyone_engine.device import autocast

    x = torch.ones(2, 2)
    with autocast(torch.device("cpu"), "official-mixed"):
        assert (x @ x).dtype == torch.bfloat16
    assert ENGINE_PRECISIONS["official-mixed"] == {"cuda": torch.float16, "cpu": torch.bfloat16}
