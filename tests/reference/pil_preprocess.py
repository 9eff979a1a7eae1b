"""Reference chest X-ray preprocessing with PIL, for tests/features/image_test.ts.

Implements what torchvision's Resize(256) -> CenterCrop(224) -> ToTensor() -> Normalize(ImageNet)
does to a PIL image (torchvision itself is not needed): convert("RGB"), resize the shorter side to
256 with Image.BILINEAR (long side int(256 * long / short)), crop 224 at int(round((h - 224) / 2)),
divide by 255 and normalize in float32.

Usage:
  python3 pil_preprocess.py OUT_DIR IMAGE...
    writes OUT_DIR/<i>.f32 (raw little-endian float32, CHW 3x224x224) for the i-th image and
    prints one JSON line {"n": N, "seconds": S};
  python3 pil_preprocess.py --synth OUT_DIR
    writes synthetic PNG and JPEG variants (seeded) to OUT_DIR and prints their names as JSON.
"""
import json
import sys
import time

import numpy as np
from PIL import Image

RESIZE = 256
CROP = 224
MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)


def preprocess(path: str) -> np.ndarray:
    img = Image.open(path).convert("RGB")
    w, h = img.size
    short, long = (w, h) if w <= h else (h, w)
    new_short, new_long = RESIZE, int(RESIZE * long / short)
    size = (new_short, new_long) if w <= h else (new_long, new_short)
    if size != (w, h):
        img = img.resize(size, Image.BILINEAR)
    w, h = img.size
    top = int(round((h - CROP) / 2.0))
    left = int(round((w - CROP) / 2.0))
    img = img.crop((left, top, left + CROP, top + CROP))
    x = np.asarray(img, dtype=np.float32) / np.float32(255)  # (H, W, 3)
    x = (x - MEAN) / STD
    return np.ascontiguousarray(x.transpose(2, 0, 1), dtype="<f4")  # (3, H, W)


def synth(out_dir: str) -> None:
    rng = np.random.default_rng(7)

    def content(w: int, h: int, channels: int) -> np.ndarray:
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
        base = 128 + 60 * np.sin(xx / 37.0) * np.cos(yy / 23.0) + 40 * (xx / w - yy / h)
        planes = [base + 25 * np.sin((xx + 40 * c) / (11.0 + 7 * c)) + rng.normal(0, 6, (h, w)) for c in range(channels)]
        return np.clip(np.stack(planes, -1), 0, 255).astype(np.uint8)

    names = []

    def save(name: str, img: Image.Image, **kw) -> None:
        img.save(f"{out_dir}/{name}", **kw)
        names.append(name)

    save("gray_301x517.png", Image.fromarray(content(301, 517, 1)[..., 0], "L"))
    save("rgb_1000x333.png", Image.fromarray(content(1000, 333, 3), "RGB"))
    save("rgb_small_100x80.png", Image.fromarray(content(100, 80, 3), "RGB"))
    save("gray_256x300.png", Image.fromarray(content(256, 300, 1)[..., 0], "L"))
    save("gray_interlaced_333x280.png", Image.fromarray(content(333, 280, 1)[..., 0], "L"), interlace=1)
    save("la_200x150.png", Image.fromarray(content(200, 150, 2), "LA"))
    save("rgba_150x230.png", Image.fromarray(content(150, 230, 4), "RGBA"))
    save("palette_240x180.png", Image.fromarray(content(240, 180, 3), "RGB").quantize(200))
    rgb16 = (content(180, 260, 3).astype(np.uint16) * 257 + rng.integers(0, 256, (260, 180, 3))).astype(">u2")
    png16 = f"{out_dir}/rgb16_180x260.png"
    import zlib, struct
    raw = b"".join(b"\x00" + row.tobytes() for row in rgb16)
    def chunk(t: bytes, d: bytes) -> bytes:
        return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xFFFFFFFF)
    with open(png16, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 180, 260, 16, 2, 0, 0, 0))
                + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))
    names.append("rgb16_180x260.png")
    save("gray_q90_640x480.jpg", Image.fromarray(content(640, 480, 1)[..., 0], "L"), quality=90)
    save("rgb444_500x400.jpg", Image.fromarray(content(500, 400, 3), "RGB"), quality=90, subsampling=0)
    save("rgb422_333x517.jpg", Image.fromarray(content(333, 517, 3), "RGB"), quality=85, subsampling=1)
    save("rgb420_517x333.jpg", Image.fromarray(content(517, 333, 3), "RGB"), quality=80, subsampling=2)
    save("rgb420_progressive_401x299.jpg", Image.fromarray(content(401, 299, 3), "RGB"), quality=85, subsampling=2, progressive=True)
    save("gray_progressive_300x300.jpg", Image.fromarray(content(300, 300, 1)[..., 0], "L"), quality=75, progressive=True)
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90": PIL and torchvision ignore it, and so must we
    save("rgb_exif_rotated_300x200.jpg", Image.fromarray(content(300, 200, 3), "RGB"), quality=90, exif=exif.tobytes())
    print(json.dumps(names))


def main() -> None:
    if sys.argv[1] == "--synth":
        synth(sys.argv[2])
        return
    out_dir, paths = sys.argv[1], sys.argv[2:]
    start = time.perf_counter()
    for i, path in enumerate(paths):
        preprocess(path).tofile(f"{out_dir}/{i}.f32")
    print(json.dumps({"n": len(paths), "seconds": time.perf_counter() - start}))


if __name__ == "__main__":
    main()
