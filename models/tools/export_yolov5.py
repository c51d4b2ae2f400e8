#!/usr/bin/env python3
"""YOLOv5 detection checkpoint (.pt) → ONNX detector, optionally added to a pack.

    python models/tools/export_yolov5.py WEIGHTS.pt --out detector.onnx \\
        [--imgsz 640] [--dynamic-shape] \\
        [--pack PACK_DIR [--file detector.onnx] [--crop-classes fin] [--confidence 0.25] \\
         [--iou 0.45] [--max-detections 20] [--crop-margin 0.1]]

    python models/tools/export_yolov5.py --random-init-demo OUTDIR [--cfg yolov5n.yaml]

Needs the `yolov5` PyPI package (ultralytics/yolov5 v7 code: models/yolo.py,
common.py and the yaml configs). The checkpoint is loaded like yolov5's
`attempt_load` (the 'ema' model, else 'model', as float32, Conv+BN fused, eval)
and exported like yolov5's export.py `export_onnx`: Detect in export mode, so
the single output `output0` is the Detect layer's concatenated inference
output [N, boxes, 5 + nc] = (cx, cy, w, h, objectness, class scores), sigmoids
applied, in input pixels. Opset 17, IR version 9, dynamic batch; with
--dynamic-shape also dynamic height and width (the pack then says
dynamic_shape = true and WhaleID pads only to a multiple of the stride).

Checkpoints are pickles of whole model objects: load only files you trust.
With --pack, the ONNX file is copied into the pack as --file and its
[detector] table (classes from the checkpoint's names) and checksum are
written into the pack's pack.toml.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from copy import deepcopy
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
import packlib  # noqa: E402

PRODUCER = "whaleid/models/tools/export_yolov5.py"


_ALIASED = ("models", "models.yolo", "models.common", "models.experimental")


def yolov5_root() -> Path:
    """Make the pickled module paths of YOLOv5 checkpoints resolve.

    Checkpoints trained with the ultralytics/yolov5 repository pickle their
    modules as `models.yolo.DetectionModel`, `models.common.Conv`, ...; the
    PyPI package names them `yolov5.models.*`. Aliasing `models.*` to the
    package's modules keeps one class per layer type (so `fuse()` and the
    isinstance checks see them), whichever way a checkpoint was written.
    """
    import importlib

    import yolov5

    for name in _ALIASED:
        sys.modules[name] = importlib.import_module("yolov5." + name)
    return Path(yolov5.__file__).resolve().parent


def load_checkpoint(path: Path) -> nn.Module:
    """yolov5 models/experimental.py::attempt_load for one file, without downloads."""
    yolov5_root()
    from models.yolo import Detect, Model  # noqa: F401  (registers the classes for unpickling)

    ckpt = torch.load(str(path), map_location="cpu", weights_only=False)
    model = (ckpt.get("ema") or ckpt["model"]).float()
    if not hasattr(model, "stride"):
        model.stride = torch.tensor([32.0])
    if hasattr(model, "names") and isinstance(model.names, (list, tuple)):
        model.names = dict(enumerate(model.names))
    model = model.fuse().eval() if hasattr(model, "fuse") else model.eval()
    for m in model.modules():
        t = type(m)
        if t in (nn.Hardswish, nn.LeakyReLU, nn.ReLU, nn.ReLU6, nn.SiLU, Detect, Model):
            m.inplace = True
            if t is Detect and not isinstance(m.anchor_grid, list):
                delattr(m, "anchor_grid")
                setattr(m, "anchor_grid", [torch.zeros(1)] * m.nl)
        elif t is nn.Upsample and not hasattr(m, "recompute_scale_factor"):
            m.recompute_scale_factor = None
    return model


def class_names(model: nn.Module) -> list[str]:
    names = getattr(model, "names", None)
    nc = model.model[-1].nc
    if isinstance(names, dict):
        names = [names[i] for i in range(len(names))]
    if not names or len(names) != nc:
        names = [f"class{i}" for i in range(nc)]
    return [str(n) for n in names]


def export(weights: Path, out: Path, imgsz: int, dynamic_shape: bool) -> dict:
    yolov5_root()
    from models.yolo import Detect

    model = load_checkpoint(weights)
    stride = int(max(model.stride))
    if imgsz % stride:
        raise SystemExit(f"--imgsz {imgsz} must be a multiple of the model stride {stride}")
    for m in model.modules():
        if isinstance(m, Detect):
            m.inplace = True
            m.dynamic = dynamic_shape
            m.export = True
    im = torch.zeros(1, 3, imgsz, imgsz)
    with torch.no_grad():
        for _ in range(2):
            model(im)  # dry runs, as export.py
        dyn = {"images": {0: "batch"}, "output0": {0: "batch"}}
        if dynamic_shape:
            dyn = {"images": {0: "batch", 2: "height", 3: "width"}, "output0": {0: "batch", 1: "anchors"}}
        out.parent.mkdir(parents=True, exist_ok=True)
        torch.onnx.export(model, im, str(out), verbose=False, opset_version=packlib.OPSET,
                          do_constant_folding=True, input_names=["images"], output_names=["output0"],
                          dynamic_axes=dyn, dynamo=False)
    import onnx

    m = onnx.load(str(out))
    names = class_names(model)
    for k, v in {"stride": str(stride), "names": str(dict(enumerate(names)))}.items():
        meta = m.metadata_props.add()
        meta.key, meta.value = k, v
    onnx.save(m, str(out))
    packlib.pin_ir_version(out, PRODUCER)
    packlib.check_onnx(out)

    # ONNX Runtime vs PyTorch on a random batch of 2 (and a smaller image when dynamic).
    import onnxruntime as ort

    sess = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(0)
    sizes = [(imgsz, imgsz)] + ([(imgsz // 2, imgsz - stride)] if dynamic_shape else [])
    diffs = []
    for h, w in sizes:
        x = rng.random((2, 3, h, w), dtype=np.float32)
        got = sess.run(None, {"images": x})[0]
        with torch.no_grad():
            want = model(torch.from_numpy(x))[0].numpy()
        assert got.shape == want.shape == (2, want.shape[1], 5 + len(names)), (got.shape, want.shape)
        d = float(np.abs(got - want).max())
        diffs.append(d)
        print(f"{out.name}: images [2,3,{h},{w}] → output0 {list(got.shape)}; ORT vs PyTorch max abs diff {d:.3g} "
              f"(boxes up to {np.abs(want[..., :4]).max():.3g} px; scores max diff "
              f"{float(np.abs(got[..., 4:] - want[..., 4:]).max()):.3g})")
    return {"stride": stride, "names": names, "diffs": diffs, "bytes": out.stat().st_size}


def add_to_pack(pack: Path, onnx_file: Path, file: str, info: dict, imgsz: int, dynamic_shape: bool,
                crop_classes: list[str] | None, confidence: float, iou: float, max_det: int,
                crop_margin: float) -> None:
    names = info["names"]
    crop = crop_classes or names
    unknown = [c for c in crop if c not in names]
    if unknown:
        raise SystemExit(f"--crop-classes {unknown} are not among the model's classes {names}")
    if onnx_file.resolve() != (pack / file).resolve():
        shutil.copyfile(onnx_file, pack / file)
    section = {
        "file": file,
        "input_size": imgsz,
        "stride": info["stride"],
        "dynamic_shape": dynamic_shape,
        "classes": names,
        "crop_classes": crop,
        "confidence": confidence,
        "iou": iou,
        "max_detections": max_det,
        "crop_margin": crop_margin,
    }
    packlib.add_to_pack(pack, "detector", section)
    print(f"added [detector] ({file}, classes {names}, crop {crop}) to {pack}/pack.toml")


def random_init_demo(outdir: Path, cfg: str) -> Path:
    """A randomly initialised YOLOv5 (from its yaml, no weights) saved like a training checkpoint."""
    root = yolov5_root()
    from models.yolo import DetectionModel

    outdir.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(0)
    model = DetectionModel(str(root / "models" / cfg), ch=3, nc=2)
    model.names = {0: "fin", 1: "fullbody"}
    model.nc = 2
    ckpt = {"epoch": -1, "best_fitness": None, "model": deepcopy(model).half(), "ema": None,
            "updates": None, "optimizer": None, "opt": {}, "git": None, "date": "random-init-demo"}
    path = outdir / f"{Path(cfg).stem}-random.pt"
    # Pickle the classes under the repository's module names (models.yolo.*,
    # models.common.*), as a checkpoint from ultralytics/yolov5's train.py.
    renamed = []
    for name in _ALIASED[1:]:
        mod = sys.modules[name]
        for obj in vars(mod).values():
            if isinstance(obj, type) and obj.__module__ == "yolov5." + name:
                renamed.append(obj)
                obj.__module__ = name
    try:
        torch.save(ckpt, str(path))
    finally:
        for obj in renamed:
            obj.__module__ = "yolov5." + obj.__module__
    print(f"wrote {path} (random {cfg}, nc=2)")
    return path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("weights", nargs="?", type=Path, help="YOLOv5 .pt checkpoint")
    ap.add_argument("--out", type=Path, help="ONNX file to write (default: next to the weights)")
    ap.add_argument("--imgsz", type=int, default=640, help="square input size (pack input_size)")
    ap.add_argument("--dynamic-shape", action="store_true", help="dynamic height/width; pack dynamic_shape = true")
    ap.add_argument("--pack", type=Path, help="pack folder whose pack.toml gets the [detector] table")
    ap.add_argument("--file", default="detector.onnx", help="file name inside the pack")
    ap.add_argument("--crop-classes", nargs="+", help="classes that become crops (default: all)")
    ap.add_argument("--confidence", type=float, default=0.25)
    ap.add_argument("--iou", type=float, default=0.45)
    ap.add_argument("--max-detections", type=int, default=20)
    ap.add_argument("--crop-margin", type=float, default=0.1)
    ap.add_argument("--random-init-demo", type=Path, metavar="OUTDIR",
                    help="save a random model from --cfg to OUTDIR and export it there")
    ap.add_argument("--cfg", default="yolov5n.yaml", help="yaml config for --random-init-demo")
    args = ap.parse_args()
    torch.set_num_threads(2)

    if args.random_init_demo:
        args.weights = random_init_demo(args.random_init_demo, args.cfg)
        args.out = args.out or args.random_init_demo / "detector.onnx"
    if not args.weights:
        ap.error("give a checkpoint or --random-init-demo")
    out = args.out or args.weights.with_suffix(".onnx")
    info = export(args.weights, out, args.imgsz, args.dynamic_shape)
    print(f"wrote {out} ({info['bytes'] / 1e6:.1f} MB), stride {info['stride']}, classes {info['names']}")
    if args.pack:
        add_to_pack(args.pack, out, args.file, info, args.imgsz, args.dynamic_shape, args.crop_classes,
                    args.confidence, args.iou, args.max_detections, args.crop_margin)


if __name__ == "__main__":
    main()
