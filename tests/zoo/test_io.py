"""Safe weight files: round trip, hash verification, pickles refused and never executed."""
import hashlib
import json
import pickle

import pytest
import torch

from advgen import io


def test_round_trip(tmp_path):
    t = {"a": torch.arange(6.0).view(2, 3), "b": torch.tensor([1, 2], dtype=torch.int64)}
    digest = io.save_weights(tmp_path / "w.safetensors", t, {"note": "x"})
    assert digest == hashlib.sha256((tmp_path / "w.safetensors").read_bytes()).hexdigest()
    got, meta = io.load_weights(tmp_path / "w.safetensors")
    assert meta["note"] == "x" and meta["sha256"] == digest
    assert all(torch.equal(got[k], t[k]) for k in t)
    assert not [p for p in tmp_path.iterdir() if p.suffix == ".tmp"]  # no temporary files left behind


def test_tampered_and_truncated(tmp_path):
    path = tmp_path / "w.safetensors"
    io.save_weights(path, {"a": torch.ones(100)})
    raw = bytearray(path.read_bytes())
    raw[-1] ^= 0xFF
    path.write_bytes(bytes(raw))
    with pytest.raises(io.WeightsError, match="does not match"):
        io.load_weights(path)
    path.write_bytes(bytes(raw[:50]))
    with pytest.raises(io.WeightsError, match="does not match"):
        io.load_weights(path)
    io.sidecar(path).unlink()
    with pytest.raises(io.WeightsError, match="sidecar is missing"):
        io.load_weights(path)


class Payload:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_pickle_refused_and_never_executed(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "w.safetensors"
    io.save_weights(path, {"a": torch.ones(2)})
    path.write_bytes(pickle.dumps(Payload(str(marker))))
    with pytest.raises(io.WeightsError, match="pickle"):
        io.load_weights(path)
    torch.save({"x": Payload(str(marker))}, path)
    with pytest.raises(io.WeightsError, match="pickle"):
        io.load_weights(path)
    assert not marker.exists()


def test_safetensors_whose_header_length_starts_with_0x80_is_not_taken_for_a_pickle(tmp_path):
    """The first 8 bytes are the header's length; a low byte of 0x80 once read as pickle's opcode."""
    from safetensors.torch import save

    for pad in range(256):
        data = save({"w": torch.zeros(3)}, metadata={"pad": "x" * pad})
        if data[0] == 0x80:
            break
    assert data[0] == 0x80 and not io.looks_like_pickle(data)
    io.save_weights(tmp_path / "w.safetensors", {"w": torch.zeros(3)})
    (tmp_path / "w.safetensors").write_bytes(data)
    meta = io.read_meta(tmp_path / "w.safetensors")
    meta["sha256"] = hashlib.sha256(data).hexdigest()
    (tmp_path / "w.safetensors.json").write_text(json.dumps(meta))
    tensors, _ = io.load_weights(tmp_path / "w.safetensors")
    assert torch.equal(tensors["w"], torch.zeros(3))
    assert io.looks_like_pickle(b"\x80\x04\x95" + b"\x00" * 20) and io.looks_like_pickle(b"PK\x03\x04")


# ------------------------------------------------------------------ what a file may ask for
def test_a_folder_where_the_weights_belong_is_a_weights_error(tmp_path):
    with pytest.raises(io.WeightsError, match="is a folder, not a file"):  # once a raw IsADirectoryError
        io.load_weights(tmp_path)


def _header(raw: bytes) -> bytes:
    return len(raw).to_bytes(8, "little") + raw


def test_header_and_tensor_caps(tmp_path, monkeypatch):
    path = tmp_path / "w.safetensors"
    io.save_weights(path, {"a": torch.ones(2), "b": torch.zeros(3), "c": torch.zeros(1)})
    assert io.check_safetensors(path.read_bytes(), path) == 3
    assert set(io.load_weights(path)[0]) == {"a", "b", "c"}
    monkeypatch.setattr(io, "MAX_TENSORS", 2)
    with pytest.raises(io.WeightsError, match=r"w.safetensors: the safetensors header holds 10 JSON objects and lists, "
                                              r"more than 2 tensors \(3 each\) need: advgen loads at most 2 tensors "
                                              r"\(advgen.io.MAX_TENSORS\)"):
        io.load_weights(path)  # counted before the header is parsed
    with pytest.raises(io.WeightsError, match=r"f: the safetensors header lists 3 tensors, more than the 2"):
        io.check_safetensors(_header(b'{"a": 1, "b": 2, "c": 3}'), "f")  # the exact count, after parsing
    with pytest.raises(io.WeightsError, match="more than 2 tensors"):
        io.check_safetensors(_header(b'{"a": {"b": [[[[[[[[]]]]]]]]}}'), "f")  # nested lists count
    monkeypatch.setattr(io, "MAX_TENSORS", 3)
    monkeypatch.setattr(io, "MAX_HEADER_BYTES", 64)
    with pytest.raises(io.WeightsError, match=r"w.safetensors: the safetensors header is \d+ bytes long, more than "
                                              r"the 64 advgen reads \(advgen.io.MAX_HEADER_BYTES\)"):
        io.load_weights(path)
    for data, what in ((b"\x01\x00", "its header length alone takes 8"),
                       (b"\x10" + b"\x00" * 7 + b"{}", "runs past"),
                       (b"\x02" + b"\x00" * 7 + b"[]", "must be a JSON object"),
                       (b"\x01" + b"\x00" * 7 + b"{", "JSON")):
        with pytest.raises(io.WeightsError, match=what):
            io.check_safetensors(data, "f")


def test_sidecar_cap_is_checked_before_it_is_read(tmp_path, monkeypatch):
    path = tmp_path / "w.safetensors"
    io.save_weights(path, {"a": torch.ones(2)}, {"note": "x" * 100})
    monkeypatch.setattr(io, "MAX_SIDECAR_BYTES", 64)
    with pytest.raises(io.WeightsError, match=r"w.safetensors.json: the metadata sidecar is larger than 64 bytes "
                                              r"\(advgen.io.MAX_SIDECAR_BYTES\)"):
        io.load_weights(path)
    io.sidecar(path).write_text("[" * 100_000)
    monkeypatch.setattr(io, "MAX_SIDECAR_BYTES", 2**20)
    with pytest.raises(io.WeightsError, match="nests its JSON too deeply"):  # once a RecursionError
        io.read_meta(path)
