"""A small, independent GGUF reader for the NumPy reference: metadata, tensor infos, and the data
of the simple types (F32, F16, BF16, Q8_0, Q4_0). Other types are read from float32 dumps that the
C++ test writes next to the model (<dump_dir>/<tensor name>.f32)."""
import os
import struct

import numpy as np

GGUF_MAGIC = 0x46554747
SCALAR_FORMATS = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?",
                  10: "<Q", 11: "<q", 12: "<d"}
STRING, ARRAY = 8, 9
F32, F16, Q4_0, Q8_0, BF16 = 0, 1, 2, 8, 30
# (elements per block, bytes per block) of every type this reader can size
BLOCK = {F32: (1, 4), F16: (1, 2), BF16: (1, 2), Q4_0: (32, 18), 3: (32, 20), 6: (32, 22),
         7: (32, 24), Q8_0: (32, 34), 10: (256, 84), 11: (256, 110), 12: (256, 144),
         13: (256, 176), 14: (256, 210), 20: (32, 18), 23: (256, 136)}


class Reader:
    def __init__(self, data):
        self.data, self.pos = data, 0

    def scalar(self, fmt):
        v = struct.unpack_from(fmt, self.data, self.pos)[0]
        self.pos += struct.calcsize(fmt)
        return v

    def string(self):
        n = self.scalar("<Q")
        s = self.data[self.pos:self.pos + n].decode("utf-8")
        self.pos += n
        return s

    def value(self, vtype):
        if vtype == STRING:
            return self.string()
        if vtype == ARRAY:
            etype, n = self.scalar("<I"), self.scalar("<Q")
            return [self.value(etype) for _ in range(n)]
        return self.scalar(SCALAR_FORMATS[vtype])


class GGUF:
    def __init__(self, path, dump_dir=None):
        with open(path, "rb") as f:
            self.data = f.read()
        self.dump_dir = dump_dir
        r = Reader(self.data)
        assert r.scalar("<I") == GGUF_MAGIC, "not a GGUF file"
        assert r.scalar("<I") == 3, "only GGUF v3"
        n_tensors, n_kv = r.scalar("<Q"), r.scalar("<Q")
        self.meta = {}
        for _ in range(n_kv):
            key = r.string()
            self.meta[key] = r.value(r.scalar("<I"))
        self.infos = {}
        for _ in range(n_tensors):
            name = r.string()
            dims = [r.scalar("<Q") for _ in range(r.scalar("<I"))]
            ttype, offset = r.scalar("<I"), r.scalar("<Q")
            self.infos[name] = (dims, ttype, offset)
        align = self.meta.get("general.alignment", 32)
        self.data_start = (r.pos + align - 1) // align * align

    def has(self, name):
        return name in self.infos

    def tensor(self, name):
        """float64 array shaped like numpy expects: GGUF dims reversed (rows, cols)."""
        dims, ttype, offset = self.infos[name]
        n = int(np.prod(dims))
        block, block_bytes = BLOCK[ttype]
        raw = np.frombuffer(self.data, dtype=np.uint8, count=n // block * block_bytes,
                            offset=self.data_start + offset)
        if ttype == F32:
            flat = raw.view("<f4").astype(np.float64)
        elif ttype == F16:
            flat = raw.view("<f2").astype(np.float64)
        elif ttype == BF16:
            flat = (raw.view("<u2").astype(np.uint32) << 16).view("<f4").astype(np.float64)
        elif ttype == Q8_0:
            blocks = raw.reshape(-1, 34)
            d = blocks[:, :2].copy().view("<f2").astype(np.float64)
            q = blocks[:, 2:].copy().view(np.int8).astype(np.float64)
            flat = (d * q).reshape(-1)
        elif ttype == Q4_0:
            blocks = raw.reshape(-1, 18)
            d = blocks[:, :2].copy().view("<f2").astype(np.float64)
            qs = blocks[:, 2:]
            q = np.concatenate([qs & 0x0F, qs >> 4], axis=1).astype(np.float64) - 8.0
            flat = (d * q).reshape(-1)
        else:
            path = os.path.join(self.dump_dir or "", name + ".f32")
            flat = np.fromfile(path, dtype="<f4").astype(np.float64)
            assert flat.size == n, f"dump {path} has {flat.size} values, expected {n}"
        return flat.reshape(list(reversed(dims)))
