#!/usr/bin/python3
"""Writes small Pillow resize references for sam/pilresize_test.go.

Run with Debian bookworm's python3-pil (Pillow 9.4.0) and python3-numpy:
    /usr/bin/python3 gen_pil.py
Each case is src_<name>.npy (uint8 HWC input) and out_<name>_<filter>.npy (Pillow's
Image.resize result); cases.txt lists "name filter in_h in_w out_h out_w channels".
"""
import os

import numpy as np
import PIL
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))


def source(h, w, c, seed):
    # Gradients plus noise plus a hard edge: smooth regions, full-range jumps (bicubic
    # overshoot is clipped) and every grey level near 0 and 255.
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w]
    base = np.stack([(x * 255.0 / max(w - 1, 1)), (y * 255.0 / max(h - 1, 1)),
                     ((x + y) * 127.0 / max(h + w - 2, 1))], axis=-1)[..., :c]
    img = base + rng.integers(-40, 41, size=(h, w, c))
    img[h // 3:h // 2, w // 4:w // 2] = 255
    img[h // 2:, 3 * w // 4:] = 0
    return np.clip(img, 0, 255).astype(np.uint8)


CASES = [
    # name, in (h, w), out (h, w), channels
    ("down_strong", (97, 83), (11, 9), 3),
    ("down_mild", (61, 47), (53, 41), 3),
    ("up", (13, 11), (40, 29), 3),
    ("mixed", (31, 64), (57, 19), 3),
    ("odd_prime", (37, 41), (23, 29), 3),
    ("gray_down", (45, 35), (17, 13), 1),
    ("width_only", (9, 50), (9, 21), 3),
]
FILTERS = {"bilinear": Image.BILINEAR, "bicubic": Image.BICUBIC}


def main():
    assert PIL.__version__ == "9.4.0", PIL.__version__
    lines = []
    for i, (name, (h, w), (oh, ow), c) in enumerate(CASES):
        src = source(h, w, c, seed=i + 1)
        np.save(os.path.join(HERE, "src_%s.npy" % name), src)
        im = Image.fromarray(src[..., 0] if c == 1 else src, "L" if c == 1 else "RGB")
        for fname, flt in FILTERS.items():
            out = np.asarray(im.resize((ow, oh), flt))
            out = out.reshape(oh, ow, c)
            np.save(os.path.join(HERE, "out_%s_%s.npy" % (name, fname)), out)
            lines.append("%s %s %d %d %d %d %d" % (name, fname, h, w, oh, ow, c))
    with open(os.path.join(HERE, "cases.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
