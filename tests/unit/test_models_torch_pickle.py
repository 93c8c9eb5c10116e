"""The restricted PyTorch state-dict reader: real file, hand-made files, hostile files."""

from __future__ import annotations

import collections
import io
import pickle
import struct
import subprocess
import sys
import types
import zipfile

import numpy as np
import pytest

from indexer.models import torch_pickle
from indexer.models.efficientnet_lite import weights_path
from lookalike.errors import ModelError


@pytest.fixture
def fake_torch(monkeypatch):
    """Just enough of a ``torch`` module for ``pickle`` to name its globals (no torch here)."""
    torch = types.ModuleType("torch")
    utils = types.ModuleType("torch._utils")

    def _rebuild_tensor_v2(*args):  # never called: only its name is pickled
        raise AssertionError

    _rebuild_tensor_v2.__module__ = "torch._utils"
    _rebuild_tensor_v2.__qualname__ = "_rebuild_tensor_v2"
    utils._rebuild_tensor_v2 = _rebuild_tensor_v2
    storages = {}
    for name in ("FloatStorage", "LongStorage"):
        storages[name] = type(name, (), {"__module__": "torch"})
        setattr(torch, name, storages[name])
    torch._utils = utils
    monkeypatch.setitem(sys.modules, "torch", torch)
    monkeypatch.setitem(sys.modules, "torch._utils", utils)
    return types.SimpleNamespace(rebuild=_rebuild_tensor_v2, **storages)


class _Tensor:
    def __init__(self, fake, key, storage_type, numel, offset, size, stride):
        self.args = (fake, key, storage_type, numel, offset, size, stride)

    def __reduce__(self):
        fake, key, storage_type, numel, offset, size, stride = self.args
        ref = _StorageRef(storage_type, key, numel)
        return fake.rebuild, (ref, offset, size, stride, False, collections.OrderedDict())


class _StorageRef:
    def __init__(self, storage_type, key, numel):
        self.pid = ("storage", storage_type, key, "cpu", numel, None)


class _Pickler(pickle.Pickler):
    def persistent_id(self, obj):
        return obj.pid if isinstance(obj, _StorageRef) else None


def _dumps(obj) -> bytes:
    buf = io.BytesIO()
    _Pickler(buf, protocol=2).dump(obj)
    return buf.getvalue()


def _state(fake):
    """Two tensors: a 2x3 float matrix stored transposed (non-contiguous), an int vector."""
    base = np.arange(6, dtype=np.float32)  # storage of a 3x2 matrix; the tensor is its transpose
    state = collections.OrderedDict(
        w=_Tensor(fake, "k0", fake.FloatStorage, 6, 0, (2, 3), (1, 2)),
        n=_Tensor(fake, "k1", fake.LongStorage, 4, 1, (3,), (1,)),
    )
    raw = {"k0": base, "k1": np.array([9, 8, 7, 6], dtype=np.int64)}
    expected = {"w": base.reshape(3, 2).T, "n": np.array([8, 7, 6])}
    return state, raw, expected


def _legacy_bytes(fake) -> tuple[bytes, dict]:
    state, raw, expected = _state(fake)
    out = io.BytesIO()
    for header in (torch_pickle.LEGACY_MAGIC, torch_pickle.LEGACY_PROTOCOL, {"little_endian": True}):
        pickle.dump(header, out, protocol=2)
    out.write(_dumps(state))
    pickle.dump(list(raw), out, protocol=2)
    for array in raw.values():
        out.write(struct.pack("<q", array.size) + array.tobytes())
    return out.getvalue(), expected


def test_reads_a_legacy_file(tmp_path, fake_torch):
    data, expected = _legacy_bytes(fake_torch)
    path = tmp_path / "legacy.pth"
    path.write_bytes(data)
    state = torch_pickle.load_state_dict(path)
    assert set(state) == set(expected)
    for key, value in expected.items():
        np.testing.assert_array_equal(state[key], value)
    assert state["w"].dtype == np.float32 and state["n"].dtype == np.int64


def test_reads_a_zip_file(tmp_path, fake_torch):
    state, raw, expected = _state(fake_torch)
    path = tmp_path / "new.pth"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("archive/data.pkl", _dumps(state))
        for key, array in raw.items():
            archive.writestr(f"archive/data/{key}", array.tobytes())
    loaded = torch_pickle.load_state_dict(path)
    for key, value in expected.items():
        np.testing.assert_array_equal(loaded[key], value)


def test_truncated_file_is_a_model_error(tmp_path, fake_torch):
    data, _ = _legacy_bytes(fake_torch)
    path = tmp_path / "short.pth"
    path.write_bytes(data[:-5])
    with pytest.raises(ModelError, match="ends in the middle"):
        torch_pickle.load_state_dict(path)


def test_refuses_any_other_global(tmp_path):
    marker = tmp_path / "pwned"
    hostile = _HostileState(str(marker))
    out = io.BytesIO()
    for header in (torch_pickle.LEGACY_MAGIC, torch_pickle.LEGACY_PROTOCOL, {"little_endian": True}):
        pickle.dump(header, out, protocol=2)
    pickle.dump(hostile, out, protocol=2)
    path = tmp_path / "hostile.pth"
    path.write_bytes(out.getvalue())
    with pytest.raises(ModelError, match=r"asks for (posix|os)\.system"):
        torch_pickle.load_state_dict(path)
    assert not marker.exists()


class _HostileState:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        import os

        return os.system, (f"touch {self.marker}",)


def test_reads_the_shipped_efficientnet_weights_without_torch():
    code = (
        "import sys\n"
        "from indexer.models.torch_pickle import load_state_dict\n"
        "from indexer.models.efficientnet_lite import weights_path\n"
        "sd = load_state_dict(weights_path())\n"
        "print(len(sd), sd['_conv_stem.weight'].shape, sd['_fc.weight'].shape, 'torch' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["296", "(32,", "3,", "3,", "3)", "(1000,", "1280)", "False"]


def test_shipped_file_is_the_legacy_layout():
    assert not zipfile.is_zipfile(weights_path())
