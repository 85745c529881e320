#!/usr/bin/env python3
"""Writes the small HDF5 fixtures in hdf5/testdata/ with h5py, and expected.json with the
values numpy holds for every dataset (the independent reference the Go tests compare with).

Run from the repository root with Debian's h5py (apt-get install python3-h5py):
    /usr/bin/python3 hdf5/testdata/gen/gen.py
Produced with Debian 12: Python 3.11, numpy 1.24.2, h5py 3.7.0, HDF5 1.10.8.
Each file is a few KB; the output is deterministic except for HDF5's own metadata choices.
"""
import json
import math
import os

import h5py
import numpy as np

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
expected = {}


def record(fname, name, arr, **extra):
    arr = np.asarray(arr)
    e = {
        "descr": arr.dtype.str,
        "shape": list(arr.shape),
        "sum": math.fsum(float(v) for v in arr.ravel()),
        "values": [float(v) for v in arr.ravel()],  # C order
    }
    e.update(extra)
    expected.setdefault(fname, {})[name] = e


def low_level(f, name, arr, layout=None, chunks=None, alloc_early=False, filters=()):
    """Creates a dataset through the low-level API for layouts h5py's high level lacks."""
    dcpl = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
    if layout is not None:
        dcpl.set_layout(layout)
    if chunks is not None:
        dcpl.set_chunk(chunks)
    if alloc_early:
        dcpl.set_alloc_time(h5py.h5d.ALLOC_TIME_EARLY)
    for flt in filters:
        if flt == "shuffle":
            dcpl.set_shuffle()
        elif flt == "gzip":
            dcpl.set_deflate(6)
    space = h5py.h5s.create_simple(arr.shape)
    tid = h5py.h5t.py_create(arr.dtype)
    ds = h5py.h5d.create(f.id, name.encode(), tid, space, dcpl=dcpl)
    ds.write(h5py.h5s.ALL, h5py.h5s.ALL, np.ascontiguousarray(arr))


# --- latest.h5: superblock v3, OHDR v2, link messages, v4 layouts (fixed array, single,
# implicit chunk indexes), compact layout, shuffle and Fletcher-32, big-endian types.
fname = "latest.h5"
with h5py.File(os.path.join(OUT, fname), "w", libver="latest") as f:
    more = f.create_group("more")  # the root group may hold at most 8 links to stay compact
    a = (np.arange(24, dtype=np.float32) * 0.25 - 1).reshape(2, 3, 4)
    f.create_dataset("f4_contig", data=a)
    record(fname, "f4_contig", a, layout="contiguous")

    b = (np.arange(20, dtype=np.int64).reshape(4, 5) * 1234 - 9000).astype(">i2")
    f.create_dataset("i2_be", data=b)
    record(fname, "i2_be", b, layout="contiguous")

    c = (np.arange(15, dtype=np.uint8) * 17).reshape(3, 5)
    low_level(f, "u1_compact", c, layout=h5py.h5d.COMPACT)
    record(fname, "u1_compact", c, layout="compact")

    d = (np.sin(np.arange(210, dtype=np.float64)) * 1000).reshape(5, 7, 6)
    f.create_dataset("f8_shuffle_gzip", data=d, chunks=(2, 3, 4), shuffle=True, compression="gzip")
    record(fname, "f8_shuffle_gzip", d, layout="chunked", chunks=[2, 3, 4], filters=["shuffle", "deflate"])

    e = (np.arange(36, dtype=np.int32).reshape(6, 6) - 18) * 100000
    f.create_dataset("i4_single", data=e, chunks=(6, 6), compression="gzip")
    record(fname, "i4_single", e, layout="chunked", chunks=[6, 6], filters=["deflate"])

    g = (np.arange(30, dtype=np.uint16) * 2000).reshape(5, 6)
    low_level(more, "u2_implicit", g, chunks=(2, 4), alloc_early=True)
    record(fname, "more/u2_implicit", g, layout="chunked", chunks=[2, 4], filters=[])

    h = (np.arange(40, dtype=np.float32) / 8 - 2).reshape(8, 5)
    f.create_dataset("f4_fletcher", data=h, chunks=(3, 5), shuffle=True, compression="gzip", fletcher32=True)
    record(fname, "f4_fletcher", h, layout="chunked", chunks=[3, 5], filters=["shuffle", "deflate", "fletcher32"])

    # 40x40 one-byte chunks = 1600 > 1024 fixed-array entries, so the index is paged; only
    # one chunk on the second page is written, the rest reads as the fill value 2.
    p = more.create_dataset("u1_paged_fill", shape=(40, 40), dtype=np.uint8, chunks=(1, 1), fillvalue=2)
    p[39, 30] = 9
    full = np.full((40, 40), 2, dtype=np.uint8)
    full[39, 30] = 9
    record(fname, "more/u1_paged_fill", full, layout="chunked", chunks=[1, 1], filters=[])

    k = np.array([1.0, -0.5, 65504.0, 6.103515625e-05], dtype="<f2")
    more.create_dataset("f2", data=k)
    record(fname, "more/f2", k, layout="contiguous")

    more.create_dataset("scalar", data=np.float64(3.5))
    record(fname, "more/scalar", np.float64(3.5), layout="contiguous")

    more.create_dataset("bool", data=np.array([True, False, True]))
    record(fname, "more/bool", np.array([1, 0, 1], dtype=np.int8), layout="contiguous")

    i = np.array([-(2**62), -1, 0, 1, 2**53 + 2, 7], dtype=">i8")
    more.create_dataset("i8_be_chunked", data=i, chunks=(4,), compression="gzip")
    record(fname, "more/i8_be_chunked", i, layout="chunked", chunks=[4], filters=["deflate"])

    m = np.arange(6, dtype=np.float32).reshape(2, 3)
    f.create_group("grp").create_group("sub").create_dataset("data", data=m)
    record(fname, "grp/sub/data", m, layout="contiguous")

    # Features that must be refused by name (and a soft link, which is followed).
    bad = f["grp"]
    bad.create_dataset("compound", data=np.zeros(2, dtype=[("a", "<i4"), ("b", "<f4")]))
    bad.create_dataset("string", data=np.array([b"ab", b"cd"]))
    bad.create_dataset("lzf", data=np.arange(10, dtype=np.int32), chunks=(5,), compression="lzf")
    bad["soft"] = h5py.SoftLink("/f4_contig")

    # Resizable datasets: one unlimited dimension uses an extensible array chunk index
    # (300 one-byte chunks reach its secondary blocks), several a version-2 B-tree.
    ext = more.create_group("ext")
    q = (np.arange(300) % 251).astype(np.uint8)
    ext.create_dataset("ea_u1", data=q, chunks=(1,), maxshape=(None,))
    record(fname, "more/ext/ea_u1", q, layout="chunked", chunks=[1], filters=[])
    r = (np.arange(21, dtype=np.float32) * 1.25 - 4).reshape(7, 3)
    ext.create_dataset("ea_gzip", data=r, chunks=(2, 3), maxshape=(None, 3), compression="gzip")
    record(fname, "more/ext/ea_gzip", r, layout="chunked", chunks=[2, 3], filters=["deflate"])
    t2 = (np.arange(81, dtype=np.int16).reshape(9, 9) * 300 - 12000)
    ext.create_dataset("bt2_plain", data=t2, chunks=(2, 2), maxshape=(None, None))
    record(fname, "more/ext/bt2_plain", t2, layout="chunked", chunks=[2, 2], filters=[])
    u = np.cos(np.arange(30, dtype=np.float64)).reshape(5, 6)
    ext.create_dataset("bt2_gzip", data=u, chunks=(2, 4), maxshape=(None, 10), compression="gzip", shuffle=True)
    record(fname, "more/ext/bt2_gzip", u, layout="chunked", chunks=[2, 4], filters=["shuffle", "deflate"])
    # A fixed maximum larger than the shape: the fixed array numbers chunks over the maximum.
    w = np.arange(30, dtype=np.int32).reshape(5, 6) * 3 - 40
    ext.create_dataset("fa_gap", data=w, chunks=(2, 4), maxshape=(8, 10), compression="gzip")
    record(fname, "more/ext/fa_gap", w, layout="chunked", chunks=[2, 4], filters=["deflate"])

# --- v108.h5: superblock v2 after a 512-byte user block, OHDR v2, layout v3 (B-tree v1
# chunk index), big-endian float32 chunked with shuffle + deflate, unwritten chunks.
fname = "v108.h5"
with h5py.File(os.path.join(OUT, fname), "w", libver=("v108", "v108"), userblock_size=512) as f:
    a = (np.arange(60, dtype=np.float32).reshape(3, 4, 5) * -1.5 + 7).astype(">f4")
    f.create_dataset("f4_be_shuffle", data=a, chunks=(2, 2, 3), shuffle=True, compression="gzip")
    record(fname, "f4_be_shuffle", a, layout="chunked", chunks=[2, 2, 3], filters=["shuffle", "deflate"])
    s = f.create_dataset("sparse", shape=(6, 4), dtype="<i2", chunks=(2, 2), fillvalue=-7)
    s[2:4, 2:4] = np.array([[1, 2], [3, 4]], dtype="<i2")
    full = np.full((6, 4), -7, dtype="<i2")
    full[2:4, 2:4] = [[1, 2], [3, 4]]
    record(fname, "sparse", full, layout="chunked", chunks=[2, 2], filters=[])

# --- dense.h5: new-style groups with more than 8 links store them densely: link messages
# in a fractal heap, indexed by a v2 B-tree of name hashes. "big" has enough (soft) links
# for an indirect root block in the heap and a two-level B-tree.
fname = "dense.h5"
with h5py.File(os.path.join(OUT, fname), "w", libver="latest") as f:
    for n in range(10):
        f.create_dataset(f"d{n}", data=np.array([n], dtype=np.uint8))
        record(fname, f"d{n}", np.array([n], dtype=np.uint8), layout="contiguous")
    big = f.create_group("big")
    for n in range(600):
        big[f"s{n}"] = h5py.SoftLink(f"/d{n % 10}")
    record(fname, "big/s457", np.array([7], dtype=np.uint8), layout="contiguous")

with open(os.path.join(OUT, "expected.json"), "w") as fp:
    json.dump(expected, fp, indent=1, sort_keys=True)
    fp.write("\n")
