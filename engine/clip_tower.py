"""The image tower of the embedded tiny CLIP (issue 16): a small convolutional network.

open_clip's ``CLIP`` class builds the text tower and the contrastive head; its image tower
(``model.visual``) is replaced by :class:`ConvTower` when the model folder's
``open_clip_config.json`` has a ``"gsl_vision"`` entry (see :func:`engine.clip.load_clip` and
``scripts/train_tiny_clip.py``). Everything else (tokenizer, ``encode_text``, ``logit_scale``)
is open_clip's.

Why a CNN: on the wide training distribution (objects from 8 % to 90 % of the frame, outline
and sketch styles, any rotation) a 64 x 64 ViT with 8 x 8 patches learned count and colour
but not shape within the 2-core training budget; convolutions see a shape's edges at every
position and scale from the first step.

Architecture (input 3 x S x S, S = ``image_size``, divisible by 8)::

    stage k = 1..4:  conv3x3(c_{k-1} -> c_k) - BN - ReLU,  conv3x3(c_k -> c_k, stride s_k) - BN - ReLU
                     with s = (2, 2, 2, 1), c_0 = 3          ->  c_4 x S/8 x S/8 feature map
    pool:            attention pooling (Radford et al. 2021, the ResNet CLIP's ``AttentionPool2d``):
                     the mean token, with a learned positional embedding, attends over the
                     (S/8)^2 tokens and is projected to ``output_dim``.
    symmetry (views = |G| > 1, inference): E_G(x) = 1/|G| sum_{g in G} E(g x), with G the
                     rotations by multiples of 90 degrees (C4, views = 4) or those and their
                     mirror images (the dihedral group D4, views = 8); see :func:`dihedral_views`.

Why the symmetry average: a scene's count, colour and shape do not change when the image is
rotated by 90 degrees or mirrored (the training renderer draws every rotation and both fish
directions), so the average over G is a tower that is exactly invariant to them; it reads
shapes better than one view (issue 16, held-out shape with one view / eight, same weights: the
shipped model 98.35 / 98.65 %, the model before it 96.8 / 97.8 %). Training uses one view (``views=1``); the shipped config
names the views used at inference (``"views"`` in its ``gsl_vision`` entry).
"""

from __future__ import annotations

import torch
from torch import nn

#: Default channel widths of the four stages.
WIDTHS: tuple[int, int, int, int] = (24, 48, 96, 128)
#: Allowed sizes of the symmetry average: no average, C4, D4.
VIEWS: tuple[int, ...] = (1, 4, 8)


def dihedral_views(x: torch.Tensor, views: int = 8) -> list[torch.Tensor]:
    """g x for the first ``views`` elements g of D4, for a batch x (n, C, H, W) with H = W: the
    rotations by 0, 90, 180, 270 degrees (``torch.rot90`` over (H, W)), then their left-right
    mirror images; so 1 is the identity alone, 4 the group C4 and 8 the group D4.
    Raises ValueError unless ``views`` is in :data:`VIEWS`."""
    if views not in VIEWS:
        raise ValueError(f"views must be one of {VIEWS}, got {views}")
    rot = [x] + [torch.rot90(x, k, dims=(2, 3)) for k in (1, 2, 3)]
    return (rot + [torch.flip(r, dims=(3,)) for r in rot])[:views]


def _conv_bn_relu(c_in: int, c_out: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False), nn.BatchNorm2d(c_out),
                         nn.ReLU(inplace=True))


class ConvTower(nn.Module):
    """Image tower: pixels (n, 3, S, S) -> image embedding (n, output_dim). See the module docstring.

    Parameters
    ----------
    image_size : S, the side of the (square) input; a multiple of 8.
    widths : channels of the four stages.
    output_dim : the CLIP embedding size (the text tower's projection size).
    heads : heads of the attention pooling (``widths[-1]`` must be divisible by it).
    views : size of the symmetry average (see the module docstring); 1 for training.
    """

    def __init__(self, image_size: int = 64, widths: tuple[int, ...] = WIDTHS, output_dim: int = 96, heads: int = 4,
                 views: int = 1):
        super().__init__()
        from open_clip.modified_resnet import AttentionPool2d

        if image_size % 8:
            raise ValueError(f"image_size must be a multiple of 8, got {image_size}")
        if len(widths) != 4:
            raise ValueError(f"widths must have 4 entries, got {widths}")
        if views not in VIEWS:
            raise ValueError(f"views must be one of {VIEWS}, got {views}")
        self.views = int(views)
        a, b, c, d = (int(w) for w in widths)
        self.image_size = (image_size, image_size)
        self.output_dim = output_dim
        self.stages = nn.ModuleList([
            nn.Sequential(_conv_bn_relu(3, a), _conv_bn_relu(a, a, 2)),
            nn.Sequential(_conv_bn_relu(a, b), _conv_bn_relu(b, b, 2)),
            nn.Sequential(_conv_bn_relu(b, c), _conv_bn_relu(c, c, 2)),
            nn.Sequential(_conv_bn_relu(c, d), _conv_bn_relu(d, d)),
        ])
        self.attnpool = AttentionPool2d(image_size // 8, d, heads, output_dim)

    def _stack(self, x: torch.Tensor) -> torch.Tensor:
        """The ``views`` images g x of each image as one batch: rows [v*n, (v+1)*n) are view v."""
        return torch.cat(dihedral_views(x, self.views)) if self.views > 1 else x

    def _average(self, f: torch.Tensor, n: int) -> torch.Tensor:
        """Rows [v*n, (v+1)*n) of f are view v of the n images: their mean over v."""
        return f.view(self.views, n, -1).mean(dim=0) if self.views > 1 else f

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """E_G(x), (n, output_dim): all views in one batch."""
        n = x.shape[0]
        h = self._stack(x)
        for stage in self.stages:
            h = stage(h)
        return self._average(self.attnpool(h), n)

    def forward_intermediates(self, x: torch.Tensor, output_fmt: str = "NLC", **_: object) -> dict:
        """``{"image_features": (n, output_dim), "image_intermediates": [stage outputs]}``; the
        features are E_G(x) as :meth:`forward` gives them, the intermediates those of the
        identity view, (n, H*W, C) tokens for ``output_fmt="NLC"`` (as open_clip's ViT gives
        them), else (n, C, H, W)."""
        n = x.shape[0]
        h = self._stack(x)
        feats = []
        for stage in self.stages:
            h = stage(h)
            own = h[:n]
            feats.append(own.flatten(2).transpose(1, 2) if output_fmt == "NLC" else own)
        return {"image_features": self._average(self.attnpool(h), n), "image_intermediates": feats}

    def lock(self, **_: object) -> None:  # open_clip API: freeze the tower
        for p in self.parameters():
            p.requires_grad_(False)

    def set_grad_checkpointing(self, enable: bool = True) -> None:  # open_clip API; nothing to do
        del enable


def build(spec: dict, output_dim: int) -> ConvTower:
    """The tower described by a config's ``"gsl_vision"`` entry, e.g.
    ``{"type": "conv", "image_size": 64, "widths": [24, 48, 96, 128], "heads": 4, "views": 8}``
    (``views`` defaults to 1)."""
    kind = spec.get("type", "conv")
    if kind != "conv":
        raise ValueError(f"unknown gsl_vision type {kind!r}; known: 'conv'")
    return ConvTower(int(spec.get("image_size", 64)), tuple(spec.get("widths", WIDTHS)), output_dim,
                     int(spec.get("heads", 4)), int(spec.get("views", 1)))
