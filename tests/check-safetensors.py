#!/usr/bin/env python3
# check-safetensors.py: reads a safetensors file with only the stdlib and numpy, to check that DLEN's files interoperate.
"""Usage: check-safetensors.py FILE...

Parses the layout independently of the C reader (8-byte little-endian header length, JSON
header, little-endian data), checks what the format requires (F32 only here, offsets that
tile the data section exactly) and prints the metadata and every tensor. Exits 1 on any
problem. Not part of the test suite: run it by hand on a file the engine wrote.
"""

import json
import struct
import sys

import numpy as np

MAX_HEADER = 100_000_000


def _no_duplicates(pairs):
    obj = {}
    for key, value in pairs:
        if key in obj:
            raise ValueError(f"duplicate key {key!r}")
        obj[key] = value
    return obj


def load(path):
    with open(path, "rb") as f:
        blob = f.read()
    if len(blob) < 8:
        raise ValueError(f"file is {len(blob)} bytes, shorter than the header length")
    (n,) = struct.unpack("<Q", blob[:8])
    if n == 0 or n > MAX_HEADER or n > len(blob) - 8:
        raise ValueError(f"bad header length {n} for a {len(blob)}-byte file")
    header = json.loads(blob[8 : 8 + n].decode("utf-8"), object_pairs_hook=_no_duplicates)
    if not isinstance(header, dict):
        raise ValueError("header is not a JSON object")
    data = blob[8 + n :]
    metadata = header.pop("__metadata__", {})
    if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
        raise ValueError("__metadata__ is not an object of strings")

    tensors = {}
    spans = []
    for name, info in header.items():
        if set(info) != {"dtype", "shape", "data_offsets"}:
            raise ValueError(f"{name}: fields {sorted(info)}")
        if info["dtype"] != "F32":
            raise ValueError(f"{name}: dtype {info['dtype']}")
        shape = info["shape"]
        begin, end = info["data_offsets"]
        if not all(isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape):
            raise ValueError(f"{name}: shape {shape}")
        if not (isinstance(begin, int) and isinstance(end, int) and 0 <= begin <= end <= len(data)):
            raise ValueError(f"{name}: data_offsets {[begin, end]} for {len(data)} data bytes")
        if end - begin != 4 * int(np.prod(shape, dtype=np.int64)):
            raise ValueError(f"{name}: {end - begin} bytes for shape {shape}")
        spans.append((begin, end, name))
        tensors[name] = np.frombuffer(data, dtype="<f4", count=(end - begin) // 4, offset=begin).reshape(shape)

    covered = 0
    for begin, end, name in sorted(spans):
        if begin != covered:
            raise ValueError(f"{name}: starts at {begin}, expected {covered} (gap or overlap)")
        covered = end
    if covered != len(data):
        raise ValueError(f"tensors cover {covered} of {len(data)} data bytes")
    return 8 + n, metadata, tensors


def main(argv):
    if len(argv) < 2:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    status = 0
    np.set_printoptions(precision=6, threshold=20)
    for path in argv[1:]:
        try:
            data_start, metadata, tensors = load(path)
        except (OSError, ValueError, UnicodeDecodeError) as e:
            print(f"{path}: INVALID: {e}", file=sys.stderr)
            status = 1
            continue
        print(f"{path}: data section at byte {data_start} (8-aligned: {data_start % 8 == 0}), "
              f"{len(tensors)} tensors")
        for key, value in metadata.items():
            print(f"  meta {key!r} = {value!r}")
        for name, array in tensors.items():
            print(f"  {name!r} shape {list(array.shape)}: {array}")
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv))
