#!/usr/bin/env python3
"""Writes the tiny NIfTI fixtures in nifti/testdata/ with nibabel, and expected.json with
what nibabel itself reads back from each file (shape, datatype, zooms, best affine, axis
codes, scaled values in x-fastest order): the independent reference for the Go tests.

Run from the repository root with Debian's nibabel (apt-get install python3-nibabel):
    /usr/bin/python3 nifti/testdata/gen/gen.py
Produced with Debian 12: Python 3.11, numpy 1.24.2, nibabel 5.0.0.
"""
import json
import math
import os

import nibabel as nib
import numpy as np

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
expected = {}


def rot_z(deg):
    t = math.radians(deg)
    return np.array([[math.cos(t), -math.sin(t), 0], [math.sin(t), math.cos(t), 0], [0, 0, 1]])


def affine(r, zooms, offset):
    a = np.eye(4)
    a[:3, :3] = r @ np.diag(zooms)
    a[:3, 3] = offset
    return a


def record(name):
    img = nib.load(os.path.join(OUT, name))
    h = img.header
    data = img.get_fdata(dtype=np.float64)
    expected[name] = {
        "shape": list(img.shape),
        "datatype": int(h["datatype"]),
        "zooms": [float(z) for z in h.get_zooms()],
        "affine": img.affine.tolist(),
        "axcodes": "".join(nib.aff2axcodes(img.affine)),
        "qform_code": int(h["qform_code"]),
        "sform_code": int(h["sform_code"]),
        "values": [float(v) for v in data.ravel(order="F")],  # x fastest, as on disk
        "big_endian": h.endianness == ">",
    }


vals = np.arange(60).reshape(5, 4, 3, order="F")

# Big-endian NIfTI-1, int16 with slope/intercept, rotated qform with qfac -1, no sform.
hdr = nib.Nifti1Header(endianness=">")
a = affine(rot_z(30), [1.5, 2.0, 2.5], [10, -20, 30])
a[:3, 2] *= -1  # left-handed: stored as qfac = -1
img = nib.Nifti1Image((vals * 37 - 900).astype(">i2"), a, header=hdr)
img.set_qform(a, code=1)
img.set_sform(None, code=0)
img.set_data_dtype(">i2")
img.header.set_slope_inter(0.25, -3.0)
nib.save(img, os.path.join(OUT, "be_int16_qform.nii"))
record("be_int16_qform.nii")

# Big-endian NIfTI-2, float64, 4-D, oblique sform (code 2), gzip-compressed.
hdr2 = nib.Nifti2Header(endianness=">")
a2 = affine(rot_z(-15), [0.8, 0.8, 1.2], [-5, 6, -7])
d4 = (np.arange(48, dtype=np.float64).reshape(3, 4, 2, 2, order="F") - 20) / 3
img2 = nib.Nifti2Image(d4.astype(">f8"), a2, header=hdr2)
img2.set_data_dtype(">f8")
img2.set_sform(a2, code=2)
img2.set_qform(None, code=0)
nib.save(img2, os.path.join(OUT, "be_nifti2_f64.nii.gz"))
record("be_nifti2_f64.nii.gz")

# One little-endian file per remaining datatype.
small = np.arange(12).reshape(3, 2, 2, order="F")
base = affine(np.eye(3), [1, 1, 1], [0, 0, 0])
for dt, scale, shift in [("uint16", 5000, 0), ("int32", -100000, 7), ("uint32", 300000000, 0),
                         ("int8", -10, 5), ("int64", -(2**40), 3), ("uint64", 2**50, 0),
                         ("float32", 0.125, -1)]:
    d = (small * scale + shift).astype(dt)
    im = nib.Nifti1Image(d, base, dtype=d.dtype)
    im.set_sform(base, code=1)
    name = f"le_{dt}.nii"
    nib.save(im, os.path.join(OUT, name))
    record(name)

# Neither qform nor sform: nibabel's fallback affine (centred, x flipped).
im = nib.Nifti1Image(small.astype(np.uint8), None)
im.header.set_zooms((2.0, 3.0, 4.0))
im.set_qform(None, code=0)
im.set_sform(None, code=0)
nib.save(im, os.path.join(OUT, "noform.nii"))
record("noform.nii")

# NaN slope means no scaling; a header extension moves vox_offset past 352.
im = nib.Nifti1Image(small.astype(np.int16) - 6, base)
im.set_sform(base, code=1)
im.header.extensions.append(nib.nifti1.Nifti1Extension("comment", b"aisam test extension"))
nib.save(im, os.path.join(OUT, "ext_nanslope.nii"))
raw = bytearray(open(os.path.join(OUT, "ext_nanslope.nii"), "rb").read())
raw[112:116] = np.array([np.nan], "<f4").tobytes()  # scl_slope
raw[116:120] = np.array([1000], "<f4").tobytes()  # scl_inter, ignored with a NaN slope
open(os.path.join(OUT, "ext_nanslope.nii"), "wb").write(bytes(raw))
record("ext_nanslope.nii")

# Two-file pair (.hdr + .img, magic ni1).
pair = nib.Nifti1Pair(small.astype(np.uint8) * 3, base)
pair.set_sform(base, code=1)
nib.save(pair, os.path.join(OUT, "pair.hdr"))
record("pair.hdr")

with open(os.path.join(OUT, "expected.json"), "w") as fp:
    json.dump(expected, fp, indent=1, sort_keys=True)
    fp.write("\n")
