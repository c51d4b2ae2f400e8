"""Reference for benches/ingest.rs: a straightforward Python pipeline doing
the same model work on the same files (Pillow decode with EXIF orientation,
bilinear resize to the backbone input, numpy normalisation, onnxruntime on
batches, the pack's neck in numpy, L2 normalisation). Prints one JSON line.

Pillow decodes each JPEG with its DCT-scaled `draft()` at the smallest
scale still at least the backbone's input, as a competent pipeline would
for camera-size photos (a no-op for formats without it).

    python benches/ingest_reference.py PACK_DIR BATCH THREADS IMAGE...
"""
import json
import sys
import time
import tomllib

import numpy as np
import onnxruntime as ort
from PIL import Image, ImageOps
from safetensors.numpy import load_file


def main():
    pack, batch, threads, images = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4:]
    manifest = tomllib.load(open(f"{pack}/pack.toml", "rb"))
    b = manifest["backbones"][0]
    h, w = b["input_size"]
    mean = np.array(b["mean"], np.float32)[:, None, None]
    std = np.array(b["std"], np.float32)[:, None, None]
    neck = load_file(f"{pack}/{b['neck']['file']}")
    eps = b["neck"].get("bn_eps", 1e-5)
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    sess = ort.InferenceSession(f"{pack}/{b['file']}", opts, providers=["CPUExecutionProvider"])
    name = sess.get_inputs()[0].name
    start = time.perf_counter()
    done = 0
    for i in range(0, len(images), batch):
        tensors = []
        for path in images[i : i + batch]:
            img = Image.open(path)
            img.draft("RGB", (w, h))
            img = ImageOps.exif_transpose(img).convert("RGB").resize((w, h), Image.BILINEAR)
            x = np.asarray(img, np.float32).transpose(2, 0, 1) / 255.0
            tensors.append((x - mean) / std)
        feats = sess.run(None, {name: np.stack(tensors)})[0]
        x = (feats - neck["bn.running_mean"]) / np.sqrt(neck["bn.running_var"] + eps) * neck["bn.weight"] + neck["bn.bias"]
        e = x @ neck["linear.weight"].T + neck["linear.bias"]
        e /= np.linalg.norm(e, axis=1, keepdims=True)
        done += len(tensors)
    seconds = time.perf_counter() - start
    print(json.dumps({"photos": done, "seconds": seconds}))


if __name__ == "__main__":
    main()
