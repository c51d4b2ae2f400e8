#!/usr/bin/env python3
"""Kaggle-style HappyWhaleModel checkpoints (timm backbone + GeM + neck + ArcFace) → one WhaleID pack.

    python models/tools/export_happywhale.py --out PACK_DIR --name NAME \\
        --checkpoint fold0.pth --model-name tf_efficientnet_b6 --image-size 512 512 \\
        --checkpoint fold1.pth --model-name eca_nfnet_l1     --image-size 448 448 \\
        [--backbone-name effb6_f0 --backbone-name nfl1_f1] [--classes classes.csv] \\
        [--s 30 --m 0.5] [--threshold 0.5] [--flip-tta] [--detector-from OTHER_PACK]
        [--resize-filter {opencv-linear,antialiased}]

Each `--checkpoint` is one backbone of the ensemble (models x folds), paired in
order with a `--model-name` (timm name) and an `--image-size H W`. The
checkpoint is a state_dict of the Kaggle `HappyWhaleModel` (see happywhale.py):
`model.*` (timm trunk), `pooling.p` (GeM), `embedding.*` (BatchNorm1d+Linear as
`embedding.0/1`, or a plain Linear), `fc.weight` (ArcMarginProduct). Each one
becomes
  <name>.onnx              trunk + GeM → [N, F]  (opset 17, IR 9, dynamic batch)
  <name>.neck.safetensors  bn.* and linear.* (a plain-Linear neck gets an identity BN)
  <name>.head.safetensors  arcface.weight [C, D]
and the heads share `classes.txt` (from --classes: a CSV with columns index and
individual_id in either order, a JSON list in index order, a JSON object
{index: id} or {id: index}, or a text file with one id per line; without it,
placeholder ids class_00000... are written and a warning printed).

--resize-filter (written to every [[backbones]] of pack.toml) is how WhaleID
resamples a crop to the input size. The default here is `opencv-linear`: the
Kaggle Happywhale notebooks trained on crops cut as img[y1:y2, x1:x2] and
resized with cv2.resize(..., interpolation=cv2.INTER_LINEAR), which does not
antialias, and WhaleID reproduces that bit for bit. Use `antialiased` (the
default of the pack format, and what export_generic.py's ImageNet pack keeps)
only for checkpoints trained on antialiased resizes (PIL, torchvision).

    --random-init-demo OUTDIR
builds randomly initialised HappyWhaleModels of three timm families
(tf_efficientnet_b0, tf_efficientnetv2_b0, eca_nfnet_l0), saves their state_dicts
under OUTDIR/checkpoints/, and exports one pack per family plus one ensemble pack
of all three under OUTDIR/ (for tests; never commit them).
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import shutil
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import packlib  # noqa: E402
from happywhale import BackboneGeM, HappyWhaleModel, load_happywhale  # noqa: E402

PRODUCER = "whaleid/models/tools/export_happywhale.py"


# --------------------------------------------------------------------------
# classes


def read_classes(path: Path | None, num_classes: int) -> list[str]:
    if path is None:
        print(f"  warning: no --classes; writing placeholder ids class_00000..class_{num_classes - 1:05d}")
        return [f"class_{i:05d}" for i in range(num_classes)]
    text = path.read_text(encoding="utf-8-sig")
    by_index: dict[int, str] = {}
    if path.suffix.lower() == ".json":
        obj = json.loads(text)
        if isinstance(obj, list):
            by_index = dict(enumerate(map(str, obj)))
        elif isinstance(obj, dict):
            keys_int = all(re.fullmatch(r"-?\d+", str(k)) for k in obj)
            vals_int = all(isinstance(v, int) or re.fullmatch(r"-?\d+", str(v)) for v in obj.values())
            if keys_int and not vals_int:
                by_index = {int(k): str(v) for k, v in obj.items()}
            elif vals_int:
                by_index = {int(v): str(k) for k, v in obj.items()}
            else:
                raise ValueError(f"{path}: JSON object must map index → id or id → index")
        else:
            raise ValueError(f"{path}: expected a JSON list or object")
    elif path.suffix.lower() in (".csv", ".tsv"):
        rows = list(csv.reader(text.splitlines(), delimiter="\t" if path.suffix.lower() == ".tsv" else ","))
        rows = [r for r in rows if r and any(c.strip() for c in r)]
        if rows and not any(re.fullmatch(r"-?\d+", c.strip()) for c in rows[0]):
            rows = rows[1:]  # header
        for r in rows:
            if len(r) < 2:
                raise ValueError(f"{path}: need two columns (index, individual_id), got {r}")
            a, b = r[0].strip(), r[1].strip()
            if re.fullmatch(r"-?\d+", a) and not re.fullmatch(r"-?\d+", b):
                by_index[int(a)] = b
            elif re.fullmatch(r"-?\d+", b):
                by_index[int(b)] = a
            else:
                raise ValueError(f"{path}: no integer index column in row {r}")
    else:  # one id per line, in index order
        by_index = dict(enumerate(line.strip() for line in text.splitlines() if line.strip()))
    if sorted(by_index) != list(range(num_classes)):
        raise ValueError(f"{path}: has {len(by_index)} classes with indices "
                         f"{min(by_index, default=None)}..{max(by_index, default=None)}; "
                         f"the checkpoint's ArcFace head has {num_classes}")
    ids = [by_index[i] for i in range(num_classes)]
    bad = [i for i in ids if not i or "\n" in i or i != i.strip()]
    if bad:
        raise ValueError(f"{path}: unusable ids {bad[:5]}")
    return ids


# --------------------------------------------------------------------------
# export


def sanitize(name: str) -> str:
    return re.sub(r"[^a-z0-9_-]+", "_", name.lower()).strip("_") or "backbone"


def export_backbone(hw: HappyWhaleModel, name: str, size: tuple[int, int], folder: Path,
                    seed: int = 0) -> dict:
    """Write <name>.onnx, .neck.safetensors, .head.safetensors; return measured diffs."""
    import onnxruntime as ort

    h, w = size
    onnx_path = folder / f"{name}.onnx"
    net = BackboneGeM(hw).eval()
    with torch.no_grad():
        torch.onnx.export(
            net, (torch.zeros(1, 3, h, w),), str(onnx_path),
            input_names=["input"], output_names=["features"],
            dynamic_axes={"input": {0: "N"}, "features": {0: "N"}},
            opset_version=packlib.OPSET, do_constant_folding=True, dynamo=False,
        )
    packlib.pin_ir_version(onnx_path, PRODUCER)
    packlib.check_onnx(onnx_path)

    emb = hw.embedding
    if isinstance(emb, torch.nn.Sequential):
        bn, lin = emb[0], emb[1]
        gamma, beta = bn.weight, bn.bias
        mean, var, eps = bn.running_mean, bn.running_var, float(bn.eps)
        gamma = gamma if gamma is not None else torch.ones_like(mean)
        beta = beta if beta is not None else torch.zeros_like(mean)
        bn_t = [t.detach().numpy() for t in (gamma, beta, mean, var)]
    else:
        lin, eps = emb, 1e-5
        bn_t = list(packlib.identity_bn(lin.in_features, eps))
    lin_b = lin.bias.detach().numpy() if lin.bias is not None else np.zeros(lin.out_features, np.float32)
    packlib.save_safetensors(folder / f"{name}.neck.safetensors",
                             packlib.neck_tensors(*bn_t, lin.weight.detach().numpy(), lin_b))
    packlib.save_safetensors(folder / f"{name}.head.safetensors",
                             {"arcface.weight": hw.fc.weight.detach().numpy()})

    # ORT vs PyTorch on a random batch of 2: features, and features → neck vs extract().
    x = np.random.default_rng(seed).standard_normal((2, 3, h, w)).astype(np.float32)
    sess = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    feats = sess.run(None, {"input": x})[0]
    with torch.no_grad():
        want_f = hw.features(torch.from_numpy(x)).numpy()
        want_e = hw.extract(torch.from_numpy(x)).numpy()
    g, b, mu, var = (t.astype(np.float64) for t in bn_t)
    bnx = (feats.astype(np.float64) - mu) / np.sqrt(var + eps) * g + b
    emb_ort = bnx @ lin.weight.detach().numpy().astype(np.float64).T + lin_b
    d_feat = float(np.abs(feats - want_f).max())
    d_emb = float(np.abs(emb_ort - want_e).max())
    print(f"  {name}.onnx: [N,3,{h},{w}] → [N,{feats.shape[1]}]; ORT vs PyTorch max abs diff: "
          f"features {d_feat:.3g} (max |f| {np.abs(want_f).max():.3g}), "
          f"embedding {d_emb:.3g} (max |e| {np.abs(want_e).max():.3g})")
    return {"features": d_feat, "embedding": d_emb, "eps": eps, "feature_dim": int(feats.shape[1]),
            "embedding_dim": int(lin.out_features), "num_classes": int(hw.fc.weight.shape[0])}


def export_pack(out: Path, pack_name: str, specs: list[dict], classes: Path | None, s: float, m: float,
                threshold: float, flip_tta: bool, version: str = "1.0.0", description: str = "",
                licence: str = "", resize: str = "stretch", detector_from: Path | None = None,
                head: bool = True, resize_filter: str = "opencv-linear") -> dict:
    """specs: [{checkpoint, model_name, image_size (h, w), name}] → pack in `out`."""
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    names = [sp["name"] for sp in specs]
    if len(set(names)) != len(names):
        raise SystemExit(f"backbone names must be unique: {names}")
    entries, results, num_classes = [], {}, None
    for sp in specs:
        print(f"{sp['name']}: {sp['checkpoint']} ({sp['model_name']}, {sp['image_size'][0]}x{sp['image_size'][1]})")
        hw = load_happywhale(Path(sp["checkpoint"]), sp["model_name"], s=s, m=m)
        r = export_backbone(hw, sp["name"], tuple(sp["image_size"]), out)
        results[sp["name"]] = r
        if num_classes is not None and r["num_classes"] != num_classes and head:
            raise SystemExit(f"{sp['checkpoint']}: {r['num_classes']} classes, earlier checkpoints have "
                             f"{num_classes}; export heads separately or use --no-head")
        num_classes = r["num_classes"]
        entry = {
            "name": sp["name"],
            "file": f"{sp['name']}.onnx",
            "input_size": list(sp["image_size"]),
            "resize": resize,
            "resize_filter": resize_filter,
            "mean": packlib.IMAGENET_MEAN,
            "std": packlib.IMAGENET_STD,
            "feature_dim": r["feature_dim"],
            "neck": {"file": f"{sp['name']}.neck.safetensors", "embedding_dim": r["embedding_dim"],
                     "bn_eps": r["eps"]},
        }
        if head:
            entry["head"] = {"file": f"{sp['name']}.head.safetensors", "classes": "classes.txt", "s": s, "m": m}
        else:
            (out / f"{sp['name']}.head.safetensors").unlink()
        entries.append(entry)
    if head:
        ids = read_classes(classes, num_classes)
        (out / "classes.txt").write_text("".join(i + "\n" for i in ids), encoding="utf-8")
    manifest = {
        "format": 1,
        "pack": {
            "name": pack_name,
            "version": version,
            "description": description or "HappyWhaleModel ensemble: " + ", ".join(
                f"{sp['model_name']} {sp['image_size'][0]}x{sp['image_size'][1]}" for sp in specs),
            "licence": licence,
        },
        "backbones": entries,
        "ensemble": {"order": names, "flip_tta": flip_tta},
        "match": {"new_individual_threshold": threshold},
    }
    if detector_from is not None:
        import tomllib

        with open(detector_from / "pack.toml", "rb") as f:
            det = tomllib.load(f)["detector"]
        shutil.copyfile(detector_from / det["file"], out / det["file"])
        manifest["detector"] = det
    packlib.write_pack(out, manifest)
    print(f"wrote {out}/pack.toml")
    return results


# --------------------------------------------------------------------------
# random-init demo

DEMO_FAMILIES = [
    # (timm name, image size, neck variant, checkpoint wrapping)
    ("tf_efficientnet_b0", (128, 128), "bn", "bare"),
    ("tf_efficientnetv2_b0", (96, 128), "linear", "state_dict"),  # plain-Linear neck, {'state_dict': ...}
    ("eca_nfnet_l0", (96, 96), "bn", "module"),  # DataParallel 'module.' prefixes
]
DEMO_CLASSES = 7


def make_demo_checkpoint(model_name: str, neck: str, wrap: str, path: Path, seed: int) -> None:
    """A randomly initialised HappyWhaleModel saved like a training checkpoint.

    BatchNorm running statistics, the neck BN and GeM p are randomised too so
    that nothing in the export is an identity by accident.
    """
    torch.manual_seed(seed)
    hw = HappyWhaleModel(model_name, DEMO_CLASSES, 512, bn_neck=(neck == "bn"))
    g = torch.Generator().manual_seed(seed + 1)
    with torch.no_grad():
        for mod in hw.modules():
            if isinstance(mod, (torch.nn.BatchNorm1d, torch.nn.BatchNorm2d)):
                n = mod.num_features
                mod.running_mean.copy_(torch.randn(n, generator=g) * 0.1)
                mod.running_var.copy_(torch.rand(n, generator=g) * 1.5 + 0.5)
                if mod.weight is not None:
                    mod.weight.copy_(torch.rand(n, generator=g) * 0.5 + 0.75)
                    mod.bias.copy_(torch.randn(n, generator=g) * 0.1)
        hw.pooling.p.fill_(3.0 + 0.37 * (seed % 3))
    sd = hw.state_dict()
    if wrap == "state_dict":
        obj = {"state_dict": sd, "epoch": 3}
    elif wrap == "module":
        obj = {"module." + k: v for k, v in sd.items()}
    else:
        obj = sd
    torch.save(obj, str(path))


def random_init_demo(outdir: Path) -> None:
    ck = outdir / "checkpoints"
    ck.mkdir(parents=True, exist_ok=True)
    classes = ck / "classes.csv"
    classes.write_text("individual_id,label\n" + "".join(f"demo{i:03d}ab,{i}\n" for i in range(DEMO_CLASSES)))
    specs = []
    for i, (model_name, size, neck, wrap) in enumerate(DEMO_FAMILIES):
        path = ck / f"{model_name}.pth"
        make_demo_checkpoint(model_name, neck, wrap, path, seed=1000 + i)
        specs.append({"checkpoint": str(path), "model_name": model_name, "image_size": size,
                      "name": sanitize(model_name)})
    summary = {}
    for sp in specs:
        summary[sp["name"]] = export_pack(outdir / sp["name"], sanitize("demo-" + sp["name"]), [sp], classes,
                                          30.0, 0.5, 0.5, False, version="0.0.1",
                                          licence="none (random weights)")[sp["name"]]
    export_pack(outdir / "ensemble", "demo-ensemble", specs, classes, 30.0, 0.5, 0.5, True,
                version="0.0.1", licence="none (random weights)")
    print("\nsummary (ORT vs PyTorch, max abs diff, random input batch of 2):")
    for name, r in summary.items():
        print(f"  {name:24s} features {r['features']:.3g}  embedding {r['embedding']:.3g}")
    print("\nparity commands (after `whaleid embed ... --dump`):")
    for sp in specs:
        print(f"  parity.py --dump DUMP --backbone {sp['name']} --checkpoint {sp['checkpoint']} "
              f"--model-name {sp['model_name']}")


# --------------------------------------------------------------------------


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, help="pack folder to (re)create")
    ap.add_argument("--name", help="pack name, [a-z0-9_-]+")
    ap.add_argument("--version", default="1.0.0")
    ap.add_argument("--description", default="")
    ap.add_argument("--licence", default="")
    ap.add_argument("--checkpoint", action="append", default=[], help="repeat: one per backbone")
    ap.add_argument("--model-name", action="append", default=[], help="repeat: timm name per checkpoint")
    ap.add_argument("--image-size", action="append", nargs=2, type=int, default=[], metavar=("H", "W"),
                    help="repeat: input height and width per checkpoint")
    ap.add_argument("--backbone-name", action="append", default=[],
                    help="repeat (optional): backbone names; default <model-name>_f<i>")
    ap.add_argument("--classes", type=Path, help="CSV / JSON / txt mapping class index → individual_id")
    ap.add_argument("--no-head", action="store_true", help="leave out the ArcFace heads")
    ap.add_argument("--s", type=float, default=30.0)
    ap.add_argument("--m", type=float, default=0.5)
    ap.add_argument("--threshold", type=float, default=0.5, help="match.new_individual_threshold")
    ap.add_argument("--flip-tta", action="store_true")
    ap.add_argument("--resize", choices=["stretch", "letterbox"], default="stretch")
    ap.add_argument("--resize-filter", choices=list(packlib.RESIZE_FILTERS), default="opencv-linear",
                    help="how WhaleID resamples crops for these backbones (default opencv-linear: "
                         "cv2.resize INTER_LINEAR, what the Kaggle notebooks trained on; "
                         "antialiased is for checkpoints trained on antialiased resizes, and is what "
                         "export_generic.py's pack keeps)")
    ap.add_argument("--detector-from", type=Path, help="copy [detector] and its file from this pack")
    ap.add_argument("--random-init-demo", type=Path, metavar="OUTDIR")
    args = ap.parse_args()
    torch.set_num_threads(2)

    if args.random_init_demo:
        random_init_demo(args.random_init_demo)
        return
    n = len(args.checkpoint)
    if not (args.out and args.name and n):
        ap.error("--out, --name and at least one --checkpoint are required")
    if len(args.model_name) != n or len(args.image_size) != n:
        ap.error("give one --model-name and one --image-size per --checkpoint, in the same order")
    if args.backbone_name and len(args.backbone_name) != n:
        ap.error("give --backbone-name for every --checkpoint or for none")
    if not re.fullmatch(r"[a-z0-9_-]+", args.name):
        ap.error("--name must be lowercase letters, digits, - and _")
    names = args.backbone_name or [f"{sanitize(mn)}_f{i}" for i, mn in enumerate(args.model_name)]
    specs = [{"checkpoint": c, "model_name": mn, "image_size": tuple(sz), "name": nm}
             for c, mn, sz, nm in zip(args.checkpoint, args.model_name, args.image_size, names)]
    export_pack(args.out, args.name, specs, args.classes, args.s, args.m, args.threshold, args.flip_tta,
                version=args.version, description=args.description, licence=args.licence,
                resize=args.resize, detector_from=args.detector_from, head=not args.no_head,
                resize_filter=args.resize_filter)


if __name__ == "__main__":
    main()
