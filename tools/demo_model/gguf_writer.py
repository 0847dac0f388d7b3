"""A minimal GGUF v3 writer: metadata of the scalar, string and array types, and F32/F16 tensors.

Layout: magic "GGUF", version, tensor count, metadata count; each metadata entry as key string,
value type, value; each tensor as name, n_dims, dims (innermost first), type, offset into the data
section; padding to the alignment; then the tensor data, each tensor aligned."""
import struct

import numpy as np

ALIGNMENT = 32
UINT32, INT32, FLOAT32, BOOL, STRING, ARRAY, UINT64 = 4, 5, 6, 7, 8, 9, 10
GGML_F32, GGML_F16 = 0, 1


def _string(s):
    data = s.encode("utf-8")
    return struct.pack("<Q", len(data)) + data


def _scalar(vtype, v):
    return {UINT32: "<I", INT32: "<i", FLOAT32: "<f", BOOL: "<?", UINT64: "<Q"}[vtype], v


def _value(vtype, v):
    if vtype == STRING:
        return _string(v)
    fmt, v = _scalar(vtype, v)
    return struct.pack(fmt, v)


class Writer:
    def __init__(self):
        self.kv = []       # (key, bytes of type + value)
        self.tensors = []  # (name, array, ggml type)

    def add(self, key, vtype, value):
        self.kv.append((key, struct.pack("<I", vtype) + _value(vtype, value)))

    def add_string(self, key, value):
        self.add(key, STRING, value)

    def add_u32(self, key, value):
        self.add(key, UINT32, int(value))

    def add_f32(self, key, value):
        self.add(key, FLOAT32, float(value))

    def add_bool(self, key, value):
        self.add(key, BOOL, bool(value))

    def add_array(self, key, etype, values):
        body = struct.pack("<IQ", etype, len(values))
        if etype == STRING:
            body += b"".join(_string(v) for v in values)
        else:
            fmt = _scalar(etype, 0)[0]
            body += np.asarray(values, dtype=np.dtype(fmt)).tobytes()
        self.kv.append((key, struct.pack("<I", ARRAY) + body))

    def add_tensor(self, name, array, ggml_type):
        """`array` shaped as torch/numpy hold it (rows, cols); GGUF stores dims innermost first."""
        dtype = {GGML_F32: "<f4", GGML_F16: "<f2"}[ggml_type]
        self.tensors.append((name, np.ascontiguousarray(array, dtype=dtype), ggml_type))

    def write(self, path):
        head = bytearray(b"GGUF")
        head += struct.pack("<IQQ", 3, len(self.tensors), len(self.kv))
        for key, body in self.kv:
            head += _string(key) + body
        offset, offsets = 0, []
        for name, arr, gtype in self.tensors:
            offsets.append(offset)
            dims = list(reversed(arr.shape))
            head += _string(name) + struct.pack("<I", len(dims))
            head += b"".join(struct.pack("<Q", d) for d in dims)
            head += struct.pack("<IQ", gtype, offset)
            offset += (arr.nbytes + ALIGNMENT - 1) // ALIGNMENT * ALIGNMENT
        head += b"\0" * (-len(head) % ALIGNMENT)
        with open(path, "wb") as f:
            f.write(head)
            for (name, arr, _), off in zip(self.tensors, offsets):
                data = arr.tobytes()
                f.write(data + b"\0" * (-len(data) % ALIGNMENT))
