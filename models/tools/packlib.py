"""Shared helpers for writing WhaleID model packs (see models/PACK-FORMAT.md).

Needs only the standard library, numpy and safetensors (onnx for
`check_onnx`), so it works in both the tools and the torch environments.

A manifest is built as a plain dict in the layout of PACK-FORMAT.md, without
the [checksums] table; `write_pack` hashes every file the manifest names,
adds [checksums] and writes pack.toml.
"""

from __future__ import annotations

import hashlib
import json
import re
import tomllib
from pathlib import Path

import numpy as np

OPSET = 17
IR_VERSION = 9
IMAGENET_MEAN = [0.485, 0.456, 0.406]
IMAGENET_STD = [0.229, 0.224, 0.225]

# [[backbones]] resize_filter values (PACK-FORMAT.md). The first is the default
# and is left out of the manifests we write, as WhaleID does: packs written
# before the field existed stay byte-identical when regenerated.
RESIZE_FILTERS = ("antialiased", "opencv-linear")

# Top-level tables, in the order PACK-FORMAT.md shows them.
_TOP_ORDER = ["format", "pack", "detector", "backbones", "ensemble", "match", "checksums"]


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


# --------------------------------------------------------------------------
# safetensors


def save_safetensors(path: Path, tensors: dict[str, np.ndarray]) -> None:
    """Write float32 tensors (C-contiguous, little endian) deterministically."""
    from safetensors.numpy import save

    clean = {k: np.ascontiguousarray(v, dtype="<f4") for k, v in tensors.items()}
    Path(path).write_bytes(save(clean))


def neck_tensors(gamma, beta, mean, var, weight, bias) -> dict[str, np.ndarray]:
    """The neck safetensors names of PACK-FORMAT.md."""
    return {
        "bn.weight": gamma,
        "bn.bias": beta,
        "bn.running_mean": mean,
        "bn.running_var": var,
        "linear.weight": weight,
        "linear.bias": bias,
    }


def identity_bn(feature_dim: int, eps: float = 1e-5) -> tuple[np.ndarray, ...]:
    """BatchNorm1d parameters that are the identity (as exactly as float32 allows).

    running_var = 1 - eps so that sqrt(var + eps) = 1 exactly; in float32
    1 - 1e-5 rounds to 0.99998999..., and 0.99999 + 1e-5 evaluated in f64 is
    1 within 1e-8 (the Rust loader folds the BN in f64).
    """
    return (
        np.ones(feature_dim, np.float32),
        np.zeros(feature_dim, np.float32),
        np.zeros(feature_dim, np.float32),
        np.full(feature_dim, 1.0 - eps, np.float32),
    )


# --------------------------------------------------------------------------
# TOML (the small subset pack.toml uses)

_BARE = re.compile(r"^[A-Za-z0-9_-]+$")


def _key(k: str) -> str:
    return k if _BARE.match(k) else json.dumps(k)


def _value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if not np.isfinite(v):
            raise ValueError(f"non-finite float {v} in manifest")
        r = repr(v)
        return r if any(c in r for c in ".eE") else r + ".0"
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_value(x) for x in v) + "]"
    raise TypeError(f"cannot write {type(v).__name__} to TOML")


def _is_table(v) -> bool:
    return isinstance(v, dict)


def _is_table_array(v) -> bool:
    return isinstance(v, list) and len(v) > 0 and all(isinstance(x, dict) for x in v)


def _emit_table(lines: list[str], path: list[str], table: dict, header: str | None) -> None:
    if header is not None:
        lines.append("")
        lines.append(header)
    for k, v in table.items():
        if v is None or _is_table(v) or _is_table_array(v):
            continue
        lines.append(f"{_key(k)} = {_value(v)}")
    for k, v in table.items():
        if _is_table(v):
            p = path + [k]
            _emit_table(lines, p, v, "[" + ".".join(_key(x) for x in p) + "]")
        elif _is_table_array(v):
            p = path + [k]
            for item in v:
                _emit_table(lines, p, item, "[[" + ".".join(_key(x) for x in p) + "]]")


def to_toml(manifest: dict) -> str:
    ordered = {k: manifest[k] for k in _TOP_ORDER if k in manifest}
    ordered.update({k: v for k, v in manifest.items() if k not in ordered})
    lines: list[str] = []
    _emit_table(lines, [], ordered, None)
    return "\n".join(lines).lstrip("\n") + "\n"


# --------------------------------------------------------------------------
# packs


def manifest_files(manifest: dict) -> list[str]:
    """Every file a manifest names, in manifest order."""
    files = []
    det = manifest.get("detector")
    if det:
        files.append(det["file"])
    for b in manifest["backbones"]:
        files.append(b["file"])
        files.append(b["neck"]["file"])
        if b.get("head"):
            files.append(b["head"]["file"])
            files.append(b["head"]["classes"])
    return files


def write_pack(folder: Path, manifest: dict) -> Path:
    """Add [checksums] for every named file and write folder/pack.toml."""
    folder = Path(folder)
    manifest = dict(manifest)
    manifest.pop("checksums", None)
    backbones = []
    for b in manifest["backbones"]:
        b = dict(b)
        f = b.get("resize_filter", RESIZE_FILTERS[0])
        if f not in RESIZE_FILTERS:
            raise ValueError(f"backbone {b.get('name')}: resize_filter {f!r} is not one of {RESIZE_FILTERS}")
        if f == RESIZE_FILTERS[0]:
            b.pop("resize_filter", None)
        backbones.append(b)
    manifest["backbones"] = backbones
    sums = {}
    for rel in manifest_files(manifest):
        p = Path(rel)
        if p.is_absolute() or ".." in p.parts:
            raise ValueError(f"{rel}: pack paths must stay inside the pack folder")
        sums[rel] = sha256_file(folder / rel)
    manifest["checksums"] = dict(sorted(sums.items()))
    text = to_toml(manifest)
    out = folder / "pack.toml"
    out.write_text(text, encoding="utf-8")
    check_pack(folder)
    return out


def add_to_pack(folder: Path, section: str, value) -> Path:
    """Read folder/pack.toml, set a top-level table (e.g. "detector"), rewrite it."""
    folder = Path(folder)
    with open(folder / "pack.toml", "rb") as f:
        manifest = tomllib.load(f)
    manifest[section] = value
    return write_pack(folder, manifest)


def check_pack(folder: Path) -> dict:
    """Re-read pack.toml and check what WhaleID's loader checks (no ONNX Runtime)."""
    from safetensors.numpy import load_file

    folder = Path(folder)
    with open(folder / "pack.toml", "rb") as f:
        m = tomllib.load(f)
    assert m["format"] == 1
    assert re.fullmatch(r"[a-z0-9_-]+", m["pack"]["name"]), m["pack"]["name"]
    for rel, want in m["checksums"].items():
        got = sha256_file(folder / rel)
        assert got == want, f"{rel}: sha256 {got} != {want}"
    for rel in manifest_files(m):
        assert rel in m["checksums"], f"{rel} has no checksum"
    names = [b["name"] for b in m["backbones"]]
    assert len(set(names)) == len(names), "duplicate backbone names"
    assert sorted(m["ensemble"]["order"]) == sorted(names), "ensemble.order"
    for b in m["backbones"]:
        assert b.get("resize_filter", RESIZE_FILTERS[0]) in RESIZE_FILTERS, b["resize_filter"]
        f, d = b["feature_dim"], b["neck"].get("embedding_dim", 512)
        t = load_file(str(folder / b["neck"]["file"]))
        want = {
            "bn.weight": (f,), "bn.bias": (f,), "bn.running_mean": (f,),
            "bn.running_var": (f,), "linear.weight": (d, f), "linear.bias": (d,),
        }
        for k, shape in want.items():
            assert k in t, f"{b['neck']['file']}: missing {k}"
            assert t[k].dtype == np.float32 and t[k].shape == shape, (k, t[k].dtype, t[k].shape)
        assert np.all(t["bn.running_var"].astype(np.float64) + b["neck"].get("bn_eps", 1e-5) > 0)
        if b.get("head"):
            classes = [
                line.strip()
                for line in (folder / b["head"]["classes"]).read_text(encoding="utf-8").splitlines()
                if line.strip()
            ]
            h = load_file(str(folder / b["head"]["file"]))
            assert h["arcface.weight"].shape == (len(classes), d), h["arcface.weight"].shape
            assert h["arcface.weight"].dtype == np.float32
    det = m.get("detector")
    if det:
        assert det["input_size"] % det["stride"] == 0
        assert set(det["crop_classes"]) <= set(det["classes"])
    assert -1.0 <= m["match"]["new_individual_threshold"] <= 1.0
    return m


def check_onnx(path: Path) -> None:
    """ONNX checker plus the opset / IR version the engine expects."""
    import onnx

    model = onnx.load(str(path))
    onnx.checker.check_model(model)
    opsets = {o.domain: o.version for o in model.opset_import}
    assert opsets.get("", opsets.get("ai.onnx")) == OPSET, f"{path}: opset {opsets}"
    assert model.ir_version == IR_VERSION, f"{path}: ir_version {model.ir_version}"


def pin_ir_version(path: Path, producer: str) -> None:
    """Rewrite an exported ONNX file with ir_version 9 (opset 17 is legal in IR 8 and 9)."""
    import onnx

    model = onnx.load(str(path))
    model.ir_version = IR_VERSION
    model.producer_name = producer
    model.producer_version = ""
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
