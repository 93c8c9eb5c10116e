"""Read a PyTorch ``state_dict`` file into numpy arrays without importing torch.

``torch.save`` writes pickles, and unpickling an untrusted pickle can run any code. This
module never calls ``pickle.load`` with the default class lookup: :class:`_TensorUnpickler`
resolves only the few globals a state dict needs (``collections.OrderedDict``,
``torch._utils._rebuild_tensor_v2`` and the typed storage classes), each mapped to a numpy
constructor of our own, and refuses every other global with a :class:`ModelError`.

Both file layouts are read:

* the legacy stream (PyTorch < 1.6): magic number, protocol version, system info, the
  state dict pickle (storages referenced by persistent ids), the list of storage keys,
  then each storage as an int64 element count followed by its raw little-endian bytes;
* the zip archive (PyTorch >= 1.6): ``<prefix>/data.pkl`` and ``<prefix>/data/<key>``.
"""

from __future__ import annotations

import collections
import io
import pickle
import struct
import zipfile
from pathlib import Path
from typing import BinaryIO

import numpy as np

from lookalike.errors import ModelError

LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
LEGACY_PROTOCOL = 1001

# torch storage class name -> numpy dtype
_STORAGE_DTYPES = {
    "FloatStorage": np.float32,
    "DoubleStorage": np.float64,
    "HalfStorage": np.float16,
    "LongStorage": np.int64,
    "IntStorage": np.int32,
    "ShortStorage": np.int16,
    "CharStorage": np.int8,
    "ByteStorage": np.uint8,
    "BoolStorage": np.bool_,
}


class _Storage:
    """A flat buffer that a storage's bytes are filled into once they are read."""

    def __init__(self, dtype: np.dtype, numel: int):
        self.dtype = np.dtype(dtype)
        self.numel = numel
        self.array: np.ndarray | None = None


class _StorageType:
    """Stands for ``torch.FloatStorage`` and friends inside the pickle."""

    def __init__(self, name: str):
        self.name = name
        self.dtype = np.dtype(_STORAGE_DTYPES[name])


class _PendingTensor:
    """A tensor whose storage bytes may not have been read yet (legacy layout)."""

    def __init__(self, storage: _Storage, offset: int, size: tuple, stride: tuple):
        self.storage, self.offset, self.size, self.stride = storage, offset, tuple(size), tuple(stride)

    def materialise(self) -> np.ndarray:
        flat = self.storage.array
        if flat is None:
            raise ModelError("corrupt weights file: a tensor's storage was never written")
        itemsize = flat.dtype.itemsize
        needed = self.offset + sum((n - 1) * s for n, s in zip(self.size, self.stride)) + 1
        if self.size and min(self.size) > 0 and needed > flat.size:
            raise ModelError("corrupt weights file: a tensor reaches past the end of its storage")
        view = np.lib.stride_tricks.as_strided(
            flat[self.offset :],
            shape=self.size,
            strides=tuple(s * itemsize for s in self.stride),
            writeable=False,
        )
        return np.array(view, copy=True)


def _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad=False, backward_hooks=None, metadata=None):
    if not isinstance(storage, _Storage):
        raise ModelError("corrupt weights file: a tensor without a storage")
    return _PendingTensor(storage, storage_offset, size, stride)


def _ordered_dict(*args):
    return collections.OrderedDict(*args)


class _TensorUnpickler(pickle.Unpickler):
    """An unpickler that can build tensors and ordered dicts, and nothing else."""

    def __init__(self, file: BinaryIO, load_storage):
        super().__init__(file)
        self._load_storage = load_storage
        self.storages: dict[str, _Storage] = {}

    def find_class(self, module: str, name: str):
        if module == "collections" and name == "OrderedDict":
            return _ordered_dict
        if module == "torch._utils" and name == "_rebuild_tensor_v2":
            return _rebuild_tensor_v2
        if module == "torch" and name in _STORAGE_DTYPES:
            return _StorageType(name)
        raise ModelError(
            f"refusing to load the weights file: it asks for {module}.{name}, "
            "and only tensors and ordered dicts are allowed"
        )

    def persistent_load(self, pid):
        if not isinstance(pid, tuple) or not pid:
            raise ModelError(f"corrupt weights file: unexpected persistent id {pid!r}")
        if pid[0] == "module":  # legacy files may embed module source; never used
            return None
        if pid[0] != "storage" or len(pid) < 5:
            raise ModelError(f"refusing to load the weights file: persistent id {pid[0]!r}")
        storage_type, key, _location, numel = pid[1:5]
        view_metadata = pid[5] if len(pid) > 5 else None
        if not isinstance(storage_type, _StorageType):
            raise ModelError("corrupt weights file: a storage of unknown type")
        if view_metadata is not None:
            raise ModelError("weights files with storage views are not supported")
        key = str(key)
        if key not in self.storages:
            self.storages[key] = _Storage(storage_type.dtype, int(numel))
            self._load_storage(key, self.storages[key])
        return self.storages[key]


def _finish(obj) -> dict[str, np.ndarray]:
    if not isinstance(obj, dict):
        raise ModelError("the weights file does not hold a state dict")
    out: dict[str, np.ndarray] = {}
    for name, value in obj.items():
        if isinstance(value, _PendingTensor):
            out[str(name)] = value.materialise()
    return out


def _read_exact(f: BinaryIO, n: int) -> bytes:
    data = f.read(n)
    if len(data) != n:
        raise ModelError("corrupt weights file: it ends in the middle of a tensor")
    return data


def _load_legacy(f: BinaryIO) -> dict[str, np.ndarray]:
    # The three header pickles hold only ints and dicts of ints and strings.
    header = _TensorUnpickler(f, lambda k, s: None)
    if header.load() != LEGACY_MAGIC:
        raise ModelError("not a PyTorch weights file (bad magic number)")
    if _TensorUnpickler(f, lambda k, s: None).load() != LEGACY_PROTOCOL:
        raise ModelError("unsupported PyTorch file protocol version")
    sys_info = _TensorUnpickler(f, lambda k, s: None).load()
    if not sys_info.get("little_endian", True):
        raise ModelError("big-endian PyTorch weights files are not supported")
    body = _TensorUnpickler(f, lambda k, s: None)
    state = body.load()
    keys = _TensorUnpickler(f, lambda k, s: None).load()
    for key in keys:
        storage = body.storages.get(str(key))
        if storage is None:
            raise ModelError(f"corrupt weights file: storage {key} was never referenced")
        (numel,) = struct.unpack("<q", _read_exact(f, 8))
        if numel != storage.numel:
            raise ModelError(f"corrupt weights file: storage {key} has {numel} elements, expected {storage.numel}")
        raw = _read_exact(f, numel * storage.dtype.itemsize)
        storage.array = np.frombuffer(raw, dtype=storage.dtype.newbyteorder("<"))
    return _finish(state)


def _load_zip(path: Path) -> dict[str, np.ndarray]:
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        pkl = next((n for n in names if n.endswith("/data.pkl") or n == "data.pkl"), None)
        if pkl is None:
            raise ModelError(f"{path}: zip file without data.pkl, not a PyTorch weights file")
        prefix = pkl[: -len("data.pkl")]

        def load_storage(key: str, storage: _Storage) -> None:
            try:
                raw = archive.read(f"{prefix}data/{key}")
            except KeyError as err:
                raise ModelError(f"corrupt weights file: storage {key} is missing") from err
            if len(raw) != storage.numel * storage.dtype.itemsize:
                raise ModelError(f"corrupt weights file: storage {key} has the wrong length")
            storage.array = np.frombuffer(raw, dtype=storage.dtype.newbyteorder("<"))

        return _finish(_TensorUnpickler(io.BytesIO(archive.read(pkl)), load_storage).load())


def load_state_dict(path: str | Path) -> dict[str, np.ndarray]:
    """Read a PyTorch state dict file into ``{name: numpy array}``; tensors only, no code."""
    path = Path(path)
    try:
        if zipfile.is_zipfile(path):
            return _load_zip(path)
        with open(path, "rb") as f:
            return _load_legacy(f)
    except ModelError:
        raise
    except (OSError, pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError) as err:
        raise ModelError(f"cannot read weights file {path}: {err}") from err
