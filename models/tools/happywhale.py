"""The Kaggle Happywhale `HappyWhaleModel`, rebuilt for export and parity checks.

Mirrors the public Happywhale ArcFace notebooks (timm backbone, GeM pooling,
embedding neck, ArcMarginProduct head):

    features  = model(images)                 # timm trunk, no pooling, no classifier
    pooled    = GeM(features).flatten(1)      # p trainable (init 3), eps 1e-6
    embedding = embedding(pooled)             # BatchNorm1d(F) + Linear(F, 512), or a plain Linear
    logits    = fc(embedding, labels)         # ArcMarginProduct (training only)

`extract(images)` returns `embedding`, the vector WhaleID L2-normalises.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F


class GeM(nn.Module):
    def __init__(self, p: float = 3.0, eps: float = 1e-6):
        super().__init__()
        self.p = nn.Parameter(torch.ones(1) * p)
        self.eps = eps

    def forward(self, x):
        if torch.onnx.is_in_onnx_export():
            # Same value; a mean over H, W exports without shape-dependent kernel sizes.
            return x.clamp(min=self.eps).pow(self.p).mean(dim=(-2, -1), keepdim=True).pow(1.0 / self.p)
        return F.avg_pool2d(x.clamp(min=self.eps).pow(self.p), (x.size(-2), x.size(-1))).pow(1.0 / self.p)


class ArcMarginProduct(nn.Module):
    def __init__(self, in_features, out_features, s=30.0, m=0.50, easy_margin=False, ls_eps=0.0):
        super().__init__()
        self.in_features = in_features
        self.out_features = out_features
        self.s = s
        self.m = m
        self.ls_eps = ls_eps
        self.weight = nn.Parameter(torch.FloatTensor(out_features, in_features))
        nn.init.xavier_uniform_(self.weight)
        self.easy_margin = easy_margin
        self.cos_m = math.cos(m)
        self.sin_m = math.sin(m)
        self.th = math.cos(math.pi - m)
        self.mm = math.sin(math.pi - m) * m

    def forward(self, input, label):
        cosine = F.linear(F.normalize(input), F.normalize(self.weight))
        sine = torch.sqrt((1.0 - torch.pow(cosine, 2)).clamp(0, 1))
        phi = cosine * self.cos_m - sine * self.sin_m
        if self.easy_margin:
            phi = torch.where(cosine > 0, phi, cosine)
        else:
            phi = torch.where(cosine > self.th, phi, cosine - self.mm)
        one_hot = torch.zeros(cosine.size(), device=input.device)
        one_hot.scatter_(1, label.view(-1, 1).long(), 1)
        if self.ls_eps > 0:
            one_hot = (1 - self.ls_eps) * one_hot + self.ls_eps / self.out_features
        output = (one_hot * phi) + ((1.0 - one_hot) * cosine)
        return output * self.s


def make_trunk(model_name: str) -> tuple[nn.Module, int]:
    """timm model with classifier and global pooling removed; returns (trunk, feature_dim).

    `reset_classifier(0, '')` leaves EfficientNet / EfficientNetV2 / NFNet /
    most timm families with an identity classifier and no pooling, which is
    what the notebooks did by hand (`model.classifier = nn.Identity()`,
    `model.global_pool = nn.Identity()`, or `model.head.fc` / `model.head.global_pool`
    for NFNet); none of those leave parameters, so the state_dict keys agree.
    """
    import timm

    trunk = timm.create_model(model_name, pretrained=False)
    feature_dim = trunk.num_features
    trunk.reset_classifier(0, "")
    return trunk, feature_dim


class HappyWhaleModel(nn.Module):
    def __init__(self, model_name: str, num_classes: int, embedding_size: int = 512,
                 bn_neck: bool = True, s: float = 30.0, m: float = 0.5,
                 easy_margin: bool = False, ls_eps: float = 0.0):
        super().__init__()
        self.model, in_features = make_trunk(model_name)
        self.in_features = in_features
        self.pooling = GeM()
        if bn_neck:
            self.embedding = nn.Sequential(nn.BatchNorm1d(in_features), nn.Linear(in_features, embedding_size))
        else:
            self.embedding = nn.Linear(in_features, embedding_size)
        self.fc = ArcMarginProduct(embedding_size, num_classes, s=s, m=m, easy_margin=easy_margin, ls_eps=ls_eps)

    def features(self, images):
        """Backbone + GeM: what the ONNX file computes."""
        return self.pooling(self.model(images)).flatten(1)

    def forward(self, images, labels):
        return self.fc(self.extract(images), labels)

    def extract(self, images):
        return self.embedding(self.features(images))


class FrozenStdConv(nn.Module):
    """A timm (Scaled)StdConv2d(Same) with its standardised weight computed once.

    Weight standardisation is a function of the weights alone, so in eval mode
    it can be done before export; the ONNX graph then holds one plain Conv per
    layer instead of a BatchNormalization over the weights (which doubled the
    file size and is recomputed on every run).
    """

    def __init__(self, conv: nn.Conv2d):
        super().__init__()
        kw = {}
        if hasattr(conv, "gain"):
            kw["weight"] = (conv.gain * conv.scale).view(-1)
        with torch.no_grad():
            w = F.batch_norm(conv.weight.reshape(1, conv.out_channels, -1), None, None,
                             training=True, momentum=0.0, eps=conv.eps, **kw).reshape_as(conv.weight)
        self.weight = nn.Parameter(w.detach().clone(), requires_grad=False)
        self.bias = None if conv.bias is None else nn.Parameter(conv.bias.detach().clone(), requires_grad=False)
        self.same_pad = bool(getattr(conv, "same_pad", False))
        self.kernel_size, self.stride = conv.kernel_size, conv.stride
        self.padding, self.dilation, self.groups = conv.padding, conv.dilation, conv.groups

    def forward(self, x):
        if self.same_pad:
            from timm.layers.padding import pad_same

            x = pad_same(x, self.kernel_size, self.stride, self.dilation)
        return F.conv2d(x, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups)


def freeze_std_convs(module: nn.Module) -> int:
    """Replace every timm StdConv2d / ScaledStdConv2d(Same) in `module` by FrozenStdConv."""
    from timm.layers import std_conv

    kinds = tuple(getattr(std_conv, n) for n in ("StdConv2d", "StdConv2dSame", "ScaledStdConv2d", "ScaledStdConv2dSame")
                  if hasattr(std_conv, n))
    count = 0
    for name, child in list(module.named_children()):
        if isinstance(child, kinds):
            setattr(module, name, FrozenStdConv(child))
            count += 1
        else:
            count += freeze_std_convs(child)
    return count


class BackboneGeM(nn.Module):
    """The exported part: trunk → GeM → flatten → [N, F].

    Works on a deep copy, with weight-standardised convolutions frozen
    (see FrozenStdConv); the HappyWhaleModel passed in is left unchanged.
    """

    def __init__(self, hw: HappyWhaleModel):
        super().__init__()
        import copy

        self.model = copy.deepcopy(hw.model).eval()
        self.frozen_std_convs = freeze_std_convs(self.model)
        self.pooling = copy.deepcopy(hw.pooling)

    def forward(self, images):
        return self.pooling(self.model(images)).flatten(1)


# --------------------------------------------------------------------------
# checkpoints

_PREFIXES = ("module.", "_orig_mod.", "model_ema.", "ema.")


def read_state_dict(path: Path) -> dict[str, torch.Tensor]:
    """A checkpoint's state_dict: a bare state_dict, or one under 'state_dict' /
    'model_state_dict' / 'model' / 'state_dict_ema'; DataParallel and
    torch.compile prefixes are stripped."""
    try:
        obj = torch.load(str(path), map_location="cpu", weights_only=True)
    except Exception:  # older pickles with non-tensor objects (e.g. argparse namespaces)
        obj = torch.load(str(path), map_location="cpu", weights_only=False)
    if isinstance(obj, nn.Module):
        obj = obj.state_dict()
    for key in ("state_dict", "model_state_dict", "model", "state_dict_ema"):
        if isinstance(obj, dict) and key in obj and isinstance(obj[key], dict):
            obj = obj[key]
            break
    sd = {}
    for k, v in obj.items():
        if not torch.is_tensor(v):
            continue
        for p in _PREFIXES:
            if k.startswith(p):
                k = k[len(p):]
        sd[k] = v
    return sd


def describe_state_dict(sd: dict[str, torch.Tensor]) -> dict:
    """Infer the neck variant, embedding size and number of classes."""
    if "embedding.1.weight" in sd:
        bn_neck = True
        emb = sd["embedding.1.weight"]
    elif "embedding.weight" in sd:
        bn_neck = False
        emb = sd["embedding.weight"]
    else:
        raise ValueError("no embedding.1.weight (BatchNorm1d+Linear neck) or embedding.weight (Linear neck) in checkpoint")
    if "fc.weight" not in sd:
        raise ValueError("no fc.weight (ArcMarginProduct) in checkpoint")
    return {
        "bn_neck": bn_neck,
        "embedding_size": emb.shape[0],
        "in_features": emb.shape[1],
        "num_classes": sd["fc.weight"].shape[0],
    }


def load_happywhale(path: Path, model_name: str, s: float = 30.0, m: float = 0.5) -> HappyWhaleModel:
    """Build HappyWhaleModel for `model_name` and load the checkpoint strictly (eval mode).

    Keys of a classifier / pooling the notebook may have left in the checkpoint
    (e.g. `model.classifier.*`, `model.head.fc.*`) are dropped with a note.
    """
    sd = read_state_dict(path)
    info = describe_state_dict(sd)
    hw = HappyWhaleModel(model_name, info["num_classes"], info["embedding_size"], bn_neck=info["bn_neck"], s=s, m=m)
    if hw.in_features != info["in_features"]:
        raise ValueError(f"{path}: embedding expects {info['in_features']} features, "
                         f"timm {model_name} gives {hw.in_features}: wrong --model-name?")
    if "pooling.p" not in sd:
        print(f"  note: {path} has no pooling.p; using GeM p = 3")
        sd["pooling.p"] = torch.ones(1) * 3.0
    own = hw.state_dict()
    extra = [k for k in sd if k not in own]
    droppable = re.compile(r"^model\.(classifier|fc|head\.fc|head\.global_pool|global_pool)\.")
    dropped = [k for k in extra if droppable.match(k)]
    if dropped:
        print(f"  note: dropping classifier keys not used for embeddings: {dropped}")
        for k in dropped:
            del sd[k]
    hw.load_state_dict(sd, strict=True)
    return hw.eval()
