"""Loading checkpoints: paths, safetensors, mappings, stand-in; refusals with clear messages."""
import pickle

import pytest
import torch

from matanyone_engine import load_network
from matanyone_engine.errors import EngineError, UnsafeCheckpointError, WeightsError, WeightsLayoutError


@pytest.fixture(scope="module")
def standin_sd():
    return load_network("stand-in:load-tests", device="cpu").state_dict()


def test_path_and_weights_id(standin_sd, tmp_path):
    path = tmp_path / "matanyone.pth"
    torch.save(standin_sd, path)
    net = load_network(str(path), device="cpu")
    import hashlib
    assert net.weights_id == f"matanyone.pth sha256:{hashlib.sha256(path.read_bytes()).hexdigest()}"
    assert torch.equal(net.state_dict()["key_proj.key_proj.weight"], standin_sd["key_proj.key_proj.weight"])
    assert net.device == torch.device("cpu") and not net.training


def test_safetensors_and_mapping(standin_sd, tmp_path):
    from safetensors.torch import save_file
    path = tmp_path / "m.safetensors"
    save_file({k: v.contiguous() for k, v in standin_sd.items()}, str(path))
    net = load_network(path, device="cpu")
    assert net.weights_id.startswith("m.safetensors sha256:")
    net2 = load_network(dict(standin_sd), device="cpu")
    assert net2.weights_id.startswith("state-dict sha256:")
    for k, v in standin_sd.items():
        assert torch.equal(net.state_dict()[k], v) and torch.equal(net2.state_dict()[k], v)


def test_standin_names_its_salt():
    assert load_network("stand-in", device="cpu").weights_id == "stand-in:demo"


def test_wrong_layout_names_file_and_keys(standin_sd, tmp_path):
    sd = dict(standin_sd)
    del sd["temp_sparity.bn1.weight"]
    sd["extra.layer.weight"] = torch.zeros(3)
    path = tmp_path / "other.pth"
    torch.save(sd, path)
    with pytest.raises(WeightsLayoutError) as info:
        load_network(path, device="cpu")
    msg = str(info.value)
    assert "other.pth" in msg and "temp_sparity.bn1.weight" in msg and "extra.layer.weight" in msg
    assert "\n" not in msg and info.value.user_error

    sd = dict(standin_sd)
    sd["pix_feat_proj.weight"] = torch.zeros(256, 512, 1, 1)
    torch.save(sd, path)
    with pytest.raises(WeightsLayoutError, match=r"pix_feat_proj.weight has shape \(256, 512, 1, 1\)"):
        load_network(path, device="cpu")


def test_unreadable_and_missing_files(tmp_path):
    bad = tmp_path / "broken.pth"
    bad.write_bytes(b"not a checkpoint at all")
    with pytest.raises(WeightsError, match="broken.pth"):
        load_network(bad, device="cpu")
    with pytest.raises(WeightsError, match="does not exist"):
        load_network(tmp_path / "nothing.pth", device="cpu")
    with pytest.raises(WeightsError):
        load_network(42, device="cpu")
    trunc = tmp_path / "trunc.safetensors"
    trunc.write_bytes(b"\x10\x00")
    with pytest.raises(WeightsError, match="trunc.safetensors"):
        load_network(trunc, device="cpu")


class _Payload:
    """Unpickling this would create a file: the test that no code runs."""

    def __init__(self, target):
        self.target = str(target)

    def __reduce__(self):
        return (open, (self.target, "w"))


@pytest.mark.parametrize("writer", ["torch", "pickle"])
def test_pickle_with_code_is_never_executed(tmp_path, writer):
    marker = tmp_path / "pwned.txt"
    path = tmp_path / "evil.pth"
    payload = {"pixel_encoder.conv1.weight": torch.zeros(1), "x": _Payload(marker)}
    if writer == "torch":
        torch.save(payload, path)
    else:
        with open(path, "wb") as f:
            pickle.dump(payload, f)
    # prove the payload works when unpickled unsafely (so the test can fail)
    proof = tmp_path / "proof.pth"
    with open(proof, "wb") as f:
        pickle.dump(_Payload(tmp_path / "proof.txt"), f)
    pickle.loads(proof.read_bytes())
    assert (tmp_path / "proof.txt").exists()
    with pytest.raises(UnsafeCheckpointError, match="evil.pth") as info:
        load_network(path, device="cpu")
    assert not marker.exists()
    assert isinstance(info.value, EngineError) and info.value.user_error
