#!/usr/bin/env python3
"""Write the tiny committed test packs under tests/packs/.

    python models/tools/make_test_packs.py [--out tests/packs]

Needs numpy, onnx (onnx.helper builds the graphs by hand), safetensors, and
onnxruntime + pillow for the self-checks; no torch. Deterministic: fixed seeds,
and rerunning rewrites byte-identical files.

tiny/              detector + backbones "a" and "b" (ensemble) + ArcFace heads
tiny-nodetector/   backbone "a" only, no detector, no head

See tests/packs/README.md (written by this script) for what each model computes.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

sys.path.insert(0, str(Path(__file__).resolve().parent))
import packlib  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
PRODUCER = "whaleid/models/tools/make_test_packs.py"

# Detector constants.
DARK_THRESHOLD = 0.7  # darkness = 1 - mean(RGB); YOLOv5's grey padding 114/255 has darkness 0.553
BIG = 1.0e6  # for min() via max(): min(x) = BIG - max(BIG - x); exact in float32 for x < 2^24 - BIG
DET_INPUT = 128
EXPAND_PX = 3.0  # row 1: the box grown by 3 px on each side
EXPAND_FRAC = 0.1  # row 2: the box grown by 10 % of its size (5 % on each side)

# Backbones: name → (input [h, w], conv out channels, resize, seed)
BACKBONES = {
    "a": ([32, 32], 8, "stretch", 101),
    "b": ([48, 40], 12, "letterbox", 202),
}
EMBED_DIM = 16
BN_EPS = 1e-5
CLASSES = ["whale_a", "whale_b", "whale_c"]


# --------------------------------------------------------------------------
# graph helpers


def _const(name: str, value, dtype=np.float32) -> onnx.NodeProto:
    arr = np.asarray(value, dtype=dtype)
    return helper.make_node("Constant", [], [name], value=numpy_helper.from_array(arr, name))


def _model(nodes, inputs, outputs, initializers, name: str) -> onnx.ModelProto:
    graph = helper.make_graph(nodes, name, inputs, outputs, initializer=initializers)
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", packlib.OPSET)],
        ir_version=packlib.IR_VERSION,
        producer_name=PRODUCER,
    )
    onnx.checker.check_model(model, full_check=True)
    return model


# --------------------------------------------------------------------------
# detector


def build_detector() -> onnx.ModelProto:
    """'Dark shape on a bright background' → three rows in YOLOv5's output layout.

    images [N,3,H,W] (RGB 0..1) → output [N,3,7] = (cx, cy, w, h, obj, fin, fullbody)
    in input pixels. A pixel is dark when 1 - mean(RGB) > 0.7. The box spans the
    dark columns / rows: x1 = first dark column, x2 = last dark column + 1 (pixel
    edges), likewise for y.
    """
    n = []
    c = lambda name, v, dt=np.float32: n.append(_const(name, v, dt))  # noqa: E731
    op = lambda t, i, o, **kw: n.append(helper.make_node(t, i, [o], **kw))  # noqa: E731

    c("one", 1.0)
    c("thr", DARK_THRESHOLD)
    c("big", BIG)
    c("half", 0.5)
    c("zero", 0.0)
    c("i0", 0, np.int64)
    c("i1", 1, np.int64)
    c("idx_h", [2], np.int64)
    c("idx_w", [3], np.int64)

    # Mask of dark pixels, [N,1,H,W] then projections onto columns [N,W] and rows [N,H].
    op("ReduceMean", ["images"], "mean_rgb", axes=[1], keepdims=1)
    op("Sub", ["one", "mean_rgb"], "darkness")
    op("Greater", ["darkness", "thr"], "dark_bool")
    op("Cast", ["dark_bool"], "mask", to=TensorProto.FLOAT)
    op("ReduceMax", ["mask"], "cols", axes=[1, 2], keepdims=0)  # [N,W]
    op("ReduceMax", ["mask"], "rows", axes=[1, 3], keepdims=0)  # [N,H]
    op("ReduceMax", ["cols"], "any", axes=[1], keepdims=1)  # [N,1]: 1 if any dark pixel

    # Pixel indices 0..W-1 and 0..H-1 as float.
    op("Shape", ["images"], "shape")
    for axis, idx in (("w", "idx_w"), ("h", "idx_h")):
        op("Gather", ["shape", idx], f"dim_{axis}1", axis=0)
        op("Squeeze", [f"dim_{axis}1"], f"dim_{axis}")
        op("Range", ["i0", f"dim_{axis}", "i1"], f"range_{axis}")
        op("Cast", [f"range_{axis}"], f"pos_{axis}", to=TensorProto.FLOAT)

    # Edges: hi = max(mask * (i + 1)); lo = (BIG - max(mask * (BIG - i))) * any.
    for proj, axis, lo, hi in (("cols", "w", "x1", "x2"), ("rows", "h", "y1", "y2")):
        op("Add", [f"pos_{axis}", "one"], f"pos1_{axis}")
        op("Mul", [proj, f"pos1_{axis}"], f"{hi}_all")
        op("ReduceMax", [f"{hi}_all"], hi, axes=[1], keepdims=1)
        op("Sub", ["big", f"pos_{axis}"], f"rev_{axis}")
        op("Mul", [proj, f"rev_{axis}"], f"{lo}_all")
        op("ReduceMax", [f"{lo}_all"], f"{lo}_rev", axes=[1], keepdims=1)
        op("Sub", ["big", f"{lo}_rev"], f"{lo}_raw")
        op("Mul", [f"{lo}_raw", "any"], lo)

    # Row 0: the box itself.
    op("Add", ["x1", "x2"], "sx")
    op("Mul", ["sx", "half"], "cx")
    op("Add", ["y1", "y2"], "sy")
    op("Mul", ["sy", "half"], "cy")
    op("Sub", ["x2", "x1"], "bw")
    op("Sub", ["y2", "y1"], "bh")

    def column(name: str, value: float) -> str:
        """[N,1] filled with value (shaped like `any`)."""
        c(f"{name}_v", value)
        op("Mul", ["any", "zero"], f"{name}_z")
        op("Add", [f"{name}_z", f"{name}_v"], name)
        return name

    def objectness(name: str, value: float) -> str:
        """value when a dark pixel exists, else 0.001."""
        c(f"{name}_a", value - 0.001)
        c(f"{name}_b", 0.001)
        op("Mul", ["any", f"{name}_a"], f"{name}_m")
        op("Add", [f"{name}_m", f"{name}_b"], name)
        return name

    row0 = ["cx", "cy", "bw", "bh", objectness("obj0", 0.95), column("fin0", 0.9), column("full0", 0.05)]

    # Row 1: grown by 3 px on each side; same class, lower score → NMS suppresses it.
    c("grow", 2 * EXPAND_PX)
    op("Add", ["bw", "grow"], "bw1")
    op("Add", ["bh", "grow"], "bh1")
    row1 = ["cx", "cy", "bw1", "bh1", objectness("obj1", 0.9), column("fin1", 0.8), column("full1", 0.05)]

    # Row 2: grown by 10 %, class fullbody → kept by class-aware NMS.
    c("scale", 1.0 + EXPAND_FRAC)
    op("Mul", ["bw", "scale"], "bw2")
    op("Mul", ["bh", "scale"], "bh2")
    row2 = ["cx", "cy", "bw2", "bh2", objectness("obj2", 0.9), column("fin2", 0.05), column("full2", 0.85)]

    op("Concat", row0 + row1 + row2, "flat", axis=1)  # [N,21]
    c("out_shape", [-1, 3, 7], np.int64)
    op("Reshape", ["flat", "out_shape"], "output")

    inp = helper.make_tensor_value_info("images", TensorProto.FLOAT, ["N", 3, "H", "W"])
    out = helper.make_tensor_value_info("output", TensorProto.FLOAT, ["N", 3, 7])
    return _model(n, [inp], [out], [], "tiny_dark_shape_detector")


# --------------------------------------------------------------------------
# backbones


def build_backbone(name: str, size: list[int], channels: int, seed: int) -> onnx.ModelProto:
    """Conv(3→C, k3, s2, p1) → ReLU → GeM(p=3, eps=1e-6) → Flatten → features [N,C]."""
    rng = np.random.default_rng(seed)
    w = (rng.standard_normal((channels, 3, 3, 3)) / np.sqrt(27.0)).astype(np.float32)
    b = (rng.standard_normal(channels) * 0.1).astype(np.float32)
    inits = [numpy_helper.from_array(w, "conv.weight"), numpy_helper.from_array(b, "conv.bias")]
    n = [
        _const("eps", 1e-6),
        _const("p", 3.0),
        _const("inv_p", 1.0 / 3.0),
        helper.make_node("Conv", ["input", "conv.weight", "conv.bias"], ["conv"],
                         kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["conv"], ["relu"]),
        helper.make_node("Clip", ["relu", "eps"], ["clamped"]),
        helper.make_node("Pow", ["clamped", "p"], ["cubed"]),
        helper.make_node("GlobalAveragePool", ["cubed"], ["pooled"]),
        helper.make_node("Pow", ["pooled", "inv_p"], ["gem"]),
        helper.make_node("Flatten", ["gem"], ["features"], axis=1),
    ]
    inp = helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", 3, size[0], size[1]])
    out = helper.make_tensor_value_info("features", TensorProto.FLOAT, ["N", channels])
    return _model(n, [inp], [out], inits, f"tiny_backbone_{name}")


def neck_and_head(name: str, feature_dim: int, seed: int):
    rng = np.random.default_rng(seed + 1)
    neck = packlib.neck_tensors(
        gamma=rng.uniform(0.5, 1.5, feature_dim),
        beta=rng.normal(0.0, 0.1, feature_dim),
        mean=rng.normal(0.0, 0.1, feature_dim),
        var=rng.uniform(0.5, 2.0, feature_dim),
        weight=rng.normal(0.0, 1.0 / np.sqrt(feature_dim), (EMBED_DIM, feature_dim)),
        bias=rng.normal(0.0, 0.01, EMBED_DIM),
    )
    head = {"arcface.weight": rng.normal(0.0, 1.0, (len(CLASSES), EMBED_DIM))}
    return neck, head


# --------------------------------------------------------------------------
# packs


def backbone_entry(name: str, with_head: bool) -> dict:
    size, channels, resize, _ = BACKBONES[name]
    entry = {
        "name": name,
        "file": f"{name}.onnx",
        "input_size": size,
        "resize": resize,
        "mean": packlib.IMAGENET_MEAN,
        "std": packlib.IMAGENET_STD,
        "feature_dim": channels,
        "neck": {"file": f"{name}.neck.safetensors", "embedding_dim": EMBED_DIM, "bn_eps": BN_EPS},
    }
    if with_head:
        entry["head"] = {
            "file": f"{name}.head.safetensors",
            "classes": f"{name}.classes.txt",
            "s": 30.0,
            "m": 0.5,
        }
    return entry


def write_backbone_files(folder: Path, name: str, with_head: bool) -> None:
    size, channels, _, seed = BACKBONES[name]
    onnx.save(build_backbone(name, size, channels, seed), str(folder / f"{name}.onnx"))
    neck, head = neck_and_head(name, channels, seed)
    packlib.save_safetensors(folder / f"{name}.neck.safetensors", neck)
    if with_head:
        packlib.save_safetensors(folder / f"{name}.head.safetensors", head)
        (folder / f"{name}.classes.txt").write_text("".join(c + "\n" for c in CLASSES))


def fresh(folder: Path) -> Path:
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    return folder


def make_tiny(out: Path) -> Path:
    folder = fresh(out / "tiny")
    onnx.save(build_detector(), str(folder / "detector.onnx"))
    for name in BACKBONES:
        write_backbone_files(folder, name, with_head=True)
    manifest = {
        "format": 1,
        "pack": {
            "name": "tiny",
            "version": "0.1.0",
            "description": "Test pack: hand-built dark-shape detector and two tiny GeM backbones (ensemble)",
            "licence": "Apache-2.0",
        },
        "detector": {
            "file": "detector.onnx",
            "input_size": DET_INPUT,
            "stride": 32,
            "dynamic_shape": False,
            "classes": ["fin", "fullbody"],
            "crop_classes": ["fin"],
            "confidence": 0.25,
            "iou": 0.45,
            "max_detections": 20,
            "crop_margin": 0.1,
        },
        "backbones": [backbone_entry(name, with_head=True) for name in BACKBONES],
        "ensemble": {"order": list(BACKBONES), "flip_tta": False},
        "match": {"new_individual_threshold": 0.5},
    }
    packlib.write_pack(folder, manifest)
    return folder


def make_tiny_nodetector(out: Path) -> Path:
    folder = fresh(out / "tiny-nodetector")
    write_backbone_files(folder, "a", with_head=False)
    manifest = {
        "format": 1,
        "pack": {
            "name": "tiny-nodetector",
            "version": "0.1.0",
            "description": "Test pack: one tiny GeM backbone, no detector, no head",
            "licence": "Apache-2.0",
        },
        "backbones": [backbone_entry("a", with_head=False)],
        "ensemble": {"order": ["a"], "flip_tta": False},
        "match": {"new_individual_threshold": 0.5},
    }
    packlib.write_pack(folder, manifest)
    return folder


# --------------------------------------------------------------------------
# self-checks (onnxruntime, pillow)


def letterbox(img, size: int, stride: int = 32, auto: bool = False):
    """YOLOv5 letterbox (grey 114), as src/detect/letterbox.rs; returns (array HWC 0..1, r, left, top)."""
    from PIL import Image

    w, h = img.size
    r = min(size / h, size / w)
    nw, nh = max(round(w * r), 1), max(round(h * r), 1)
    dw, dh = size - nw, size - nh
    if auto:
        dw, dh = dw % stride, dh % stride
    dw, dh = dw / 2, dh / 2
    top, bottom = round(dh - 0.1), round(dh + 0.1)
    left, right = round(dw - 0.1), round(dw + 0.1)
    resized = np.asarray(img.resize((nw, nh), Image.BILINEAR), np.float32) / 255.0
    canvas = np.full((nh + top + bottom, nw + left + right, 3), 114 / 255.0, np.float32)
    canvas[top : top + nh, left : left + nw] = resized
    return canvas, r, left, top


def decode_nms(rows: np.ndarray, conf: float, iou: float):
    """src/detect/decode.rs in numpy: [(class, score, x1, y1, x2, y2)] after class-aware NMS."""
    dets = []
    for r in rows:
        if not r[4] > conf:
            continue
        scores = r[5:] * r[4]
        k = int(np.argmax(scores))
        if not scores[k] > conf:
            continue
        dets.append((k, float(scores[k]), r[0] - r[2] / 2, r[1] - r[3] / 2, r[0] + r[2] / 2, r[1] + r[3] / 2))
    dets.sort(key=lambda d: -d[1])

    def iou_of(a, b):
        iw = max(0.0, min(a[4], b[4]) - max(a[2], b[2]))
        ih = max(0.0, min(a[5], b[5]) - max(a[3], b[3]))
        inter = iw * ih
        union = (a[4] - a[2]) * (a[5] - a[3]) + (b[4] - b[2]) * (b[5] - b[3]) - inter
        return inter / union if union > 0 else 0.0

    kept = []
    for d in dets:
        if not any(k[0] == d[0] and iou_of(k, d) > iou for k in kept):
            kept.append(d)
    return kept


def self_check(tiny: Path, nodet: Path) -> None:
    import onnxruntime as ort
    from PIL import Image, ImageDraw

    def session(path: Path):
        packlib.check_onnx(path)
        return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])

    # Detector on a letterboxed synthetic photo: white 200x150, black rectangle.
    photo_w, photo_h = 200, 150
    rect = (50, 40, 130, 90)  # x1, y1, x2, y2 in photo pixels (exclusive right/bottom)
    img = Image.new("RGB", (photo_w, photo_h), (255, 255, 255))
    ImageDraw.Draw(img).rectangle([rect[0], rect[1], rect[2] - 1, rect[3] - 1], fill=(0, 0, 0))
    lb, r, left, top = letterbox(img, DET_INPUT)
    assert lb.shape == (DET_INPUT, DET_INPUT, 3), lb.shape
    blank, _, _, _ = letterbox(Image.new("RGB", (photo_w, photo_h), (255, 255, 255)), DET_INPUT)
    batch = np.stack([lb, blank]).transpose(0, 3, 1, 2).copy()  # N=2: shape, no shape

    det = session(tiny / "detector.onnx")
    out = det.run(None, {"images": batch})[0]
    print(f"detector.onnx: input {list(batch.shape)} -> output {list(out.shape)}")
    assert out.shape == (2, 3, 7), out.shape
    want = [rect[0] * r + left, rect[1] * r + top, rect[2] * r + left, rect[3] * r + top]
    kept = decode_nms(out[0], 0.25, 0.45)
    print(f"  expected box (input px) {np.round(want, 2).tolist()}")
    for k in kept:
        print(f"  kept: class {['fin', 'fullbody'][k[0]]} score {k[1]:.3f} box {np.round(k[2:], 2).tolist()}")
    assert [k[0] for k in kept] == [0, 1], "want one fin box then one fullbody box after NMS"
    err = np.max(np.abs(np.array(kept[0][2:]) - np.array(want)))
    print(f"  fin box max error {err:.2f} px")
    assert err <= 1.0, err
    assert decode_nms(out[1], 0.25, 0.45) == [], "blank image must give no detections"
    # Dynamic H, W (dynamic_shape packs): a 96x128 input also works.
    out2 = det.run(None, {"images": batch[:1, :, 16:112, :]})[0]
    assert np.allclose(out2[0, 0, :4], out[0, 0, :4] - np.array([0, 16, 0, 0])), out2[0, 0, :4]

    # Backbones, batch of 2.
    rng = np.random.default_rng(0)
    for folder, names in ((tiny, ["a", "b"]), (nodet, ["a"])):
        for name in names:
            (h, w), ch, _, _ = BACKBONES[name]
            s = session(folder / f"{name}.onnx")
            x = rng.standard_normal((2, 3, h, w)).astype(np.float32)
            f = s.run(None, {s.get_inputs()[0].name: x})[0]
            print(f"{folder.name}/{name}.onnx: input {list(x.shape)} -> features {list(f.shape)}")
            assert f.shape == (2, ch) and np.all(np.isfinite(f)) and np.all(f > 0)
            # GeM reference in numpy.
            conv = _np_conv(x, s, folder / f"{name}.onnx")
            ref = np.mean(np.maximum(conv, 1e-6) ** 3, axis=(2, 3)) ** (1 / 3)
            assert np.allclose(f, ref, rtol=1e-4, atol=1e-6), np.abs(f - ref).max()


def _np_conv(x: np.ndarray, _session, path: Path) -> np.ndarray:
    """ReLU(Conv k3 s2 p1) in numpy, from the ONNX file's initializers."""
    m = onnx.load(str(path))
    init = {t.name: numpy_helper.to_array(t) for t in m.graph.initializer}
    w, b = init["conv.weight"], init["conv.bias"]
    n, _, h, wd = x.shape
    xp = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    oh, ow = (h + 2 - 3) // 2 + 1, (wd + 2 - 3) // 2 + 1
    out = np.zeros((n, w.shape[0], oh, ow), np.float64)
    for i in range(3):
        for j in range(3):
            patch = xp[:, :, i : i + 2 * oh : 2, j : j + 2 * ow : 2]
            out += np.einsum("nchw,oc->nohw", patch, w[:, :, i, j])
    return np.maximum(out + b[None, :, None, None], 0.0)


README = """\
# Test packs

Tiny model packs (a few kilobytes) for WhaleID's tests, in the format of
`models/PACK-FORMAT.md`. They are generated, not trained; regenerate them with

    python models/tools/make_test_packs.py

(numpy, onnx, safetensors; onnxruntime and pillow for the built-in checks; no
torch). The script is deterministic (fixed seeds): rerunning it rewrites the
same bytes, so `pack.toml` checksums stay stable. ONNX opset {opset}, IR version {ir}.

## `tiny/`: detector + two-backbone ensemble + ArcFace heads

* `detector.onnx`: input `images` `[N,3,H,W]` (RGB 0..1, N/H/W dynamic),
  output `output` `[N,3,7]` in YOLOv5's layout (cx, cy, w, h, objectness,
  score `fin`, score `fullbody`) in input pixels. It finds a *dark shape on a
  bright background*: a pixel is dark when `1 - mean(R,G,B) > {thr}` (YOLOv5's
  grey letterbox padding, 114/255, has darkness 0.553 and does not count). The
  box spans the dark columns and rows (row/column projections with ReduceMax;
  the minimum via `BIG - max(BIG - index)`); x1 is the first dark column, x2 the
  last dark column + 1 (pixel edges), likewise y.
  * row 0: that box, objectness 0.95 (0.001 if no pixel is dark), fin 0.9, fullbody 0.05 → fin, score 0.855;
  * row 1: the box grown by {px:g} px on each side, objectness 0.9, fin 0.8 → fin, 0.72, which
    class-aware NMS at IoU 0.45 suppresses (for boxes larger than about 25x25 px);
  * row 2: the box grown by 10 % (same centre), objectness 0.9, fullbody 0.85 → fullbody, 0.765,
    kept because it is another class.

  Manifest: input_size 128, stride 32, dynamic_shape false, classes
  `["fin","fullbody"]`, crop_classes `["fin"]`, confidence 0.25, iou 0.45,
  crop_margin 0.1. Checked by the script: a white 200x150 photo with a black
  rectangle (50,40)-(130,90), letterboxed to 128, gives after NMS one fin box
  within 1 px of the rectangle and one fullbody box; a blank photo gives none.
* `a.onnx`: input `input` `[N,3,32,32]`, resize `stretch`; `b.onnx`: input
  `[N,3,48,40]` (h, w), resize `letterbox`. Each is Conv(3→8 resp. 3→12,
  kernel 3, stride 2, pad 1, seeded weights) → ReLU → GeM (clip min 1e-6, pow 3,
  GlobalAveragePool, pow 1/3) → Flatten → `features` `[N,8]` resp. `[N,12]`.
  ImageNet mean/std.
* `a.neck.safetensors`, `b.neck.safetensors`: BatchNorm1d + Linear to 16-d
  (seeded random; running_var in [0.5, 2]); bn_eps 1e-5.
* `a.head.safetensors`, `b.head.safetensors`: `arcface.weight` `[3,16]`,
  classes `whale_a`, `whale_b`, `whale_c` (`a.classes.txt`, `b.classes.txt`); s 30, m 0.5.
* ensemble order `["a","b"]`, flip_tta false, new_individual_threshold 0.5.

## `tiny-nodetector/`

Backbone `a` (the same files as in `tiny/`) with its neck, no detector, no head.
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=REPO / "tests" / "packs")
    ap.add_argument("--no-check", action="store_true", help="skip the onnxruntime checks")
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    tiny = make_tiny(args.out)
    nodet = make_tiny_nodetector(args.out)
    (args.out / "README.md").write_text(
        README.format(opset=packlib.OPSET, ir=packlib.IR_VERSION, thr=DARK_THRESHOLD, px=EXPAND_PX)
    )
    if not args.no_check:
        self_check(tiny, nodet)
    for folder in (tiny, nodet):
        size = sum(p.stat().st_size for p in folder.iterdir())
        print(f"wrote {folder} ({size} bytes)")


if __name__ == "__main__":
    main()
