"""Files given as weights that are not checkpoints (issue 21, defect 15): each is one line that
says what the file is, without PyTorch's own paragraphs or warnings."""
import os
import warnings

import numpy as np
import pytest
import torch

from matanyone_engine import load_network
from matanyone_engine.errors import UnsafeCheckpointError, WeightsError
from matanyone_engine.weights import missing_message, registry, resolve

NOT_A_CHECKPOINT = "is not a PyTorch or safetensors checkpoint"


class _Code:
    def __reduce__(self):
        return (os.getcwd, ())        # harmless, but code all the same


def _random(path):
    path.write_bytes(np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8).tobytes())


def _pickle_protocol_garbage(path):      # what triggered torch's "pickle protocol 165" warning
    path.write_bytes(b"\x80\x02" + bytes(range(256)) * 4)


@pytest.mark.parametrize("make, expected", [
    (_random, NOT_A_CHECKPOINT),
    (lambda p: p.write_text("these are not weights\n" * 40), NOT_A_CHECKPOINT),
    (lambda p: p.write_text("e" * 10), NOT_A_CHECKPOINT),
    (_pickle_protocol_garbage, NOT_A_CHECKPOINT),
    (lambda p: p.write_bytes(b""), "is empty (0 bytes)"),
    (lambda p: torch.save({"x": torch.zeros(1), "hook": _Code()}, p), "holds pickled code or objects (posix.getcwd"),
    (lambda p: torch.save({"x": np.zeros(3)}, p), "holds pickled code or objects (numpy"),
    (lambda p: p.mkdir(), "is a folder"),
], ids=["random bytes", "text", "short text", "pickle garbage", "empty", "code", "numpy", "folder"])
def test_a_file_that_is_not_weights_is_one_clear_line(tmp_path, capfd, make, expected):
    path = tmp_path / "matanyone.pth"
    make(path)
    with warnings.catch_warnings():
        warnings.simplefilter("error")             # a warning reaching the user is a failure too
        with pytest.raises(WeightsError) as info:
            load_network(str(path), device="cpu")
    msg = str(info.value)
    assert expected in msg and str(path) in msg, msg
    assert "\n" not in msg and "PyTorch 2.6" not in msg and "weights_only" not in msg and len(msg) < 300
    assert isinstance(info.value, UnsafeCheckpointError) == ("pickled code" in expected)
    assert capfd.readouterr().err == ""


def test_a_folder_as_the_weights_setting_says_folder(tmp_path):
    with pytest.raises(WeightsError, match="is a folder"):
        resolve(str(tmp_path))


@pytest.mark.parametrize("offline", [True, False])
def test_checkpoint_not_found_is_under_300_characters(offline):
    entry = registry()["matanyone"]
    from pathlib import Path
    msg = missing_message(entry, cache=Path("/home/artist/.cache/matanyone-plugin/weights"), offline=offline)
    assert len(msg) < 300 and entry.url in msg and "matanyone.pth" in msg, (len(msg), msg)
