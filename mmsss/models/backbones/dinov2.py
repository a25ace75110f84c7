"""DINOv2 ViT encoder (patch 14, LayerScale, no registers) for dense heads.

A thin wrapper on mmpretrain 1.2.0's ``VisionTransformer`` (same module
names, so the OpenMMLab-hosted mmpretrain DINOv2 checkpoints load as they
are) that closes its two gaps with the DINOv2 forward UniMatch V2 uses
(LiheYoung/UniMatch-V2 ``model/backbone/dinov2.py``):

* every tap goes through the final LayerNorm (``get_intermediate_layers``
  with ``norm=True``, ``dinov2.py:297-321``; mmpretrain normalises only the
  last layer's output), class token dropped;
* the position embeddings are interpolated as DINOv2's
  ``interpolate_pos_encoding`` (``dinov2.py:179-210``; facebookresearch/
  dinov2 ``dinov2/models/vision_transformer.py:180-212``): bicubic with a
  *scale factor* ``(n + 0.1) / M`` from the stored ``M x M`` grid, which
  samples other points than mmpretrain's ``resize_pos_embed`` (an output
  *size*, ``mmpretrain/models/utils/embed.py``).

The official sizes are ``DINOv2(model_name)`` (``dinov2.py:341-417``:
img_size 518, patch 14, ``init_values=1.0``, MLP FFN except SwiGLU for
giant, no registers, offset 0.1) and the taps of ``model/semseg/dpt.py:123-
128``. Attention is mmpretrain's ``MultiheadAttention``, which calls
``F.scaled_dot_product_attention`` on torch >= 2.0
(``mmpretrain/models/utils/attention.py:51-52,594``).

Official checkpoints (``dinov2_vit{s,b,l,g}14_pretrain.pth``, keys
``blocks.i.norm1`` ...) are renamed by :func:`convert_dinov2_state_dict`;
``init_cfg=dict(type='Pretrained', checkpoint=...)`` accepts the official
file, an mmpretrain file and a converted file, and loads strictly.
"""
import math
import re
from typing import Dict, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.utils.checkpoint as cp
from mmengine.logging import print_log
from mmengine.model.weight_init import trunc_normal_
from mmpretrain.models.backbones import VisionTransformer
from mmseg.registry import MODELS

from mmsss.utils.official_weights import (OfficialWeightsError, _listing,
                                          strip_prefixes)

# Sizes of LiheYoung/UniMatch-V2 model/backbone/dinov2.py:341-397 (vit_small
# ... vit_giant2, mlp_ratio 4; giant's SwiGLU hidden width is computed from
# 4 x 1536 by SwiGLUFFNFused as in swiglu_ffn.py), with the taps of
# model/semseg/dpt.py:123-128.
DINOV2_ARCHS = {
    'small': dict(embed_dims=384, num_layers=12, num_heads=6,
                  feedforward_channels=384 * 4, ffn_type='origin'),
    'base': dict(embed_dims=768, num_layers=12, num_heads=12,
                 feedforward_channels=768 * 4, ffn_type='origin'),
    'large': dict(embed_dims=1024, num_layers=24, num_heads=16,
                  feedforward_channels=1024 * 4, ffn_type='origin'),
    'giant': dict(embed_dims=1536, num_layers=40, num_heads=24,
                  feedforward_channels=1536 * 4, ffn_type='swiglu_fused'),
}
DINOV2_OUT_INDICES = {
    'small': (2, 5, 8, 11),
    'base': (2, 5, 8, 11),
    'large': (4, 11, 17, 23),
    'giant': (9, 19, 29, 39),
}
_FFN_TYPES = ('origin', 'swiglu_fused')


@MODELS.register_module()
class DINOv2ViT(VisionTransformer):
    """DINOv2 ViT returning normalised patch-token maps of some blocks.

    Args:
        arch (str | dict): ``'small'``, ``'base'``, ``'large'``, ``'giant'``
            (:data:`DINOV2_ARCHS`) or a dict with ``embed_dims``,
            ``num_layers``, ``num_heads``, ``feedforward_channels`` and
            optionally ``ffn_type`` (``'origin'`` MLP or ``'swiglu_fused'``).
        out_indices (Sequence[int], optional): 0-based blocks whose outputs
            are returned, increasing. Default: the official taps
            (:data:`DINOV2_OUT_INDICES`); for a dict arch the ends of its
            four quarters (``n/4 - 1, n/2 - 1, 3n/4 - 1, n - 1``).
        img_size (int): Size of the stored position-embedding grid
            (``img_size / patch_size`` per side). Default: 518 (official;
            a checkpoint of another grid is refused, not resized). Inputs
            of any multiple of ``patch_size`` are interpolated at run time.
        patch_size (int): Default: 14.
        drop_path_rate (float): Stochastic depth, linear over the blocks
            (mmpretrain's per-sample ``DropPath``; the official block drops
            a random subset of the batch when the rate is > 0.1,
            ``dinov2_layers/block.py``; UniMatch V2 uses 0). Default: 0.
        with_cp (bool): Activation checkpointing of each block in training.
            Default: False.
        frozen (bool): ``requires_grad=False`` on every parameter and the
            encoder kept in eval mode (UniMatch V2 ``lock_backbone``,
            ``model/semseg/dpt.py:137-139``, which only sets
            ``requires_grad``; train and eval modes differ only by drop
            path). Default: False.
        layer_scale_init_value (float): LayerScale init of a random start
            (``init_values=1.0``, ``dinov2.py:411``). Default: 1.0.
        interpolate_offset (float): Added to the patch counts before the
            scale factor of the pos-embed interpolation (``dinov2.py:194``).
            0 interpolates to the size instead (DINOv2 with registers).
            Default: 0.1.
        init_cfg (dict, optional): ``dict(type='Pretrained',
            checkpoint=..., prefix=None)``: an official, mmpretrain or
            converted DINOv2 file, loaded strictly after
            :func:`convert_dinov2_state_dict`. None: the official random
            init (``dinov2.py:172-177,333-338``).
    """

    def __init__(self,
                 arch: Union[str, dict] = 'base',
                 out_indices: Optional[Sequence[int]] = None,
                 img_size: int = 518,
                 patch_size: int = 14,
                 drop_path_rate: float = 0.,
                 with_cp: bool = False,
                 frozen: bool = False,
                 layer_scale_init_value: float = 1.0,
                 interpolate_offset: float = 0.1,
                 init_cfg: Optional[dict] = None):
        settings = self._arch_settings(arch)
        num_layers = settings['num_layers']
        if out_indices is None:
            if isinstance(arch, str):
                out_indices = DINOV2_OUT_INDICES[arch]
            else:
                if num_layers < 4:
                    raise ValueError(
                        f'DINOv2ViT: arch has {num_layers} layers; give '
                        'out_indices explicitly (default: four quarters)')
                out_indices = tuple(num_layers * q // 4 - 1
                                    for q in (1, 2, 3, 4))
        out_indices = tuple(int(i) for i in out_indices)
        if (not out_indices or any(
                b <= a for a, b in zip(out_indices, out_indices[1:]))
                or out_indices[0] < 0 or out_indices[-1] >= num_layers):
            raise ValueError(
                f'DINOv2ViT: out_indices must be increasing block indices in '
                f'[0, {num_layers - 1}], got {out_indices}')
        super().__init__(
            arch={k: settings[k] for k in settings if k != 'ffn_type'},
            img_size=img_size,
            patch_size=patch_size,
            out_indices=list(out_indices),
            drop_path_rate=drop_path_rate,
            qkv_bias=True,
            norm_cfg=dict(type='LN', eps=1e-6),
            final_norm=True,
            out_type='featmap',
            with_cls_token=True,
            interpolate_mode='bicubic',
            layer_scale_init_value=layer_scale_init_value,
            layer_cfgs=dict(ffn_type=settings['ffn_type']),
            init_cfg=init_cfg)
        self.out_indices = out_indices
        self.patch_size = patch_size
        self.with_cp = with_cp
        self.frozen = frozen
        self.interpolate_offset = interpolate_offset
        if frozen:
            for param in self.parameters():
                param.requires_grad = False
            self.train(False)

    @staticmethod
    def _arch_settings(arch: Union[str, dict]) -> dict:
        if isinstance(arch, str):
            if arch not in DINOV2_ARCHS:
                raise ValueError(f'DINOv2ViT: arch must be one of '
                                 f'{sorted(DINOV2_ARCHS)} or a dict, got '
                                 f'{arch!r}')
            return dict(DINOV2_ARCHS[arch])
        need = {'embed_dims', 'num_layers', 'num_heads',
                'feedforward_channels'}
        if not isinstance(arch, dict) or not need <= set(arch):
            raise ValueError(f'DINOv2ViT: a custom arch is a dict with keys '
                             f'{sorted(need)} (+ ffn_type), got {arch!r}')
        settings = dict(arch)
        settings.setdefault('ffn_type', 'origin')
        if settings['ffn_type'] not in _FFN_TYPES:
            raise ValueError(f'DINOv2ViT: arch ffn_type must be one of '
                             f'{_FFN_TYPES}, got {settings["ffn_type"]!r}')
        return settings

    def train(self, mode: bool = True):
        """A frozen encoder stays in eval mode."""
        super().train(mode and not self.frozen)
        return self

    # ------------------------------------------------------------------
    # weights

    def init_weights(self):
        cfg = self.init_cfg
        if isinstance(cfg, dict) and cfg.get('type') == 'Pretrained':
            self._load_pretrained(cfg['checkpoint'], cfg.get('prefix'))
        elif cfg is None:
            # dinov2.py:172-177 and init_weights_vit_timm (:333-338).
            trunc_normal_(self.pos_embed, std=0.02)
            nn.init.normal_(self.cls_token, std=1e-6)
            for m in self.modules():
                if isinstance(m, nn.Linear):
                    trunc_normal_(m.weight, std=0.02)
                    if m.bias is not None:
                        nn.init.zeros_(m.bias)
        else:
            super().init_weights()
            return
        self._is_init = True

    def _load_pretrained(self, filename: str, prefix: Optional[str]):
        from mmengine.runner.checkpoint import CheckpointLoader
        ckpt = CheckpointLoader.load_checkpoint(filename, map_location='cpu')
        state = ckpt.get('state_dict', ckpt) if isinstance(ckpt, dict) \
            else ckpt
        if not isinstance(state, dict):
            raise OfficialWeightsError(
                f'{filename}: expected a state dict, got '
                f'{type(state).__name__}')
        if prefix:
            state = {k[len(prefix):]: v for k, v in state.items()
                     if k.startswith(prefix)}
            if not state:
                raise OfficialWeightsError(
                    f'{filename}: no key starts with prefix {prefix!r}')
        state = convert_dinov2_state_dict(state, filename)
        self.load_state_dict(state, strict=True)
        print_log(f'DINOv2ViT: loaded {len(state)} tensors from {filename}',
                  logger='current')

    def _prepare_pos_embed(self, state_dict, prefix, *args, **kwargs):
        """Refuse another pos-embed grid (mmpretrain would resize it at load
        time, the official model interpolates the stored grid per input)."""
        name = prefix + 'pos_embed'
        if name in state_dict and \
                state_dict[name].shape != self.pos_embed.shape:
            raise OfficialWeightsError(
                f'DINOv2ViT: checkpoint {name} has shape '
                f'{tuple(state_dict[name].shape)}, the model '
                f'{tuple(self.pos_embed.shape)} (img_size={self.img_size[0]},'
                f' patch_size={self.patch_size}); keep img_size at the '
                'checkpoint\'s grid (518 for the released DINOv2): inputs of '
                'other sizes are interpolated at run time')

    # ------------------------------------------------------------------
    # forward

    def interpolate_pos_encoding(self, hw: Tuple[int, int],
                                 dtype: torch.dtype) -> torch.Tensor:
        """Position embeddings for an ``hw`` patch grid
        (``dinov2.py:179-210``): the stored grid unchanged when it is the
        same, else bicubic from it with scale factors ``(h + offset) / M``,
        ``(w + offset) / M`` (no antialias), in float32."""
        num_grid = self.pos_embed.shape[1] - 1
        side = int(math.sqrt(num_grid))
        if side * side != num_grid:
            raise ValueError(f'DINOv2ViT: pos_embed holds {num_grid} patch '
                             'positions, not a square grid')
        if tuple(hw) == (side, side):
            return self.pos_embed
        pos_embed = self.pos_embed.float()
        grid = pos_embed[:, 1:].reshape(1, side, side, -1).permute(0, 3, 1, 2)
        if self.interpolate_offset:
            kwargs = dict(scale_factor=(
                (hw[0] + self.interpolate_offset) / side,
                (hw[1] + self.interpolate_offset) / side))
        else:
            kwargs = dict(size=tuple(hw))
        grid = F.interpolate(grid, mode='bicubic', antialias=False, **kwargs)
        if tuple(grid.shape[-2:]) != tuple(hw):
            raise RuntimeError(f'DINOv2ViT: pos-embed interpolation gave '
                               f'{tuple(grid.shape[-2:])}, expected {hw}')
        grid = grid.flatten(2).transpose(1, 2)
        return torch.cat((pos_embed[:, :1], grid), dim=1).to(dtype)

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        """Returns one ``(B, C, H / p, W / p)`` map per ``out_indices``, each
        block output through the final LayerNorm, class token dropped."""
        B, _, H, W = x.shape
        p = self.patch_size
        if H % p or W % p:
            raise ValueError(f'DINOv2ViT: input size {H}x{W} is not a '
                             f'multiple of the patch size {p}')
        x, hw = self.patch_embed(x)
        x = torch.cat((self.cls_token.expand(B, -1, -1), x), dim=1)
        x = x + self.interpolate_pos_encoding(hw, x.dtype)
        x = self.pre_norm(self.drop_after_pos(x))
        taps = []
        for i, layer in enumerate(self.layers):
            if self.with_cp and self.training and torch.is_grad_enabled():
                x = cp.checkpoint(layer, x, use_reentrant=False)
            else:
                x = layer(x)
            if i in self.out_indices:
                taps.append(x)
            if i == self.out_indices[-1]:
                break
        outs = []
        for tap in taps:
            tap = self.ln1(tap)[:, self.num_extra_tokens:]
            outs.append(tap.transpose(1, 2).reshape(B, -1, *hw).contiguous())
        return tuple(outs)


# ----------------------------------------------------------------------
# checkpoint layouts

# official DinoVisionTransformer module -> mmpretrain VisionTransformer
# module (per block; dinov2_layers/block.py, mlp.py, swiglu_ffn.py).
_BLOCK_RULES = (
    (r'norm1\.(weight|bias)', r'ln1.\1'),
    (r'attn\.qkv\.(weight|bias)', r'attn.qkv.\1'),
    (r'attn\.proj\.(weight|bias)', r'attn.proj.\1'),
    (r'ls1\.gamma', r'attn.gamma1.weight'),
    (r'norm2\.(weight|bias)', r'ln2.\1'),
    (r'mlp\.fc1\.(weight|bias)', r'ffn.layers.0.0.\1'),
    (r'mlp\.fc2\.(weight|bias)', r'ffn.layers.1.\1'),
    (r'mlp\.w12\.(weight|bias)', r'ffn.w12.\1'),
    (r'mlp\.w3\.(weight|bias)', r'ffn.w3.\1'),
    (r'ls2\.gamma', r'ffn.gamma2.weight'),
)
_TOP_RULES = {
    'cls_token': 'cls_token',
    'pos_embed': 'pos_embed',
    'patch_embed.proj.weight': 'patch_embed.projection.weight',
    'patch_embed.proj.bias': 'patch_embed.projection.bias',
    'norm.weight': 'ln1.weight',
    'norm.bias': 'ln1.bias',
}
# official keys without a counterpart (the iBOT mask token of training)
_DROPPED = ('mask_token', )
# block keys: blocks.<i>.<rest> or, chunked (block_chunks > 0,
# dinov2.py:153-160), blocks.<chunk>.<i>.<rest>
_OFFICIAL_BLOCK = re.compile(r'blocks\.(?:\d+\.)?(\d+)\.(.+)')
_OURS_KEY = re.compile(
    r'(cls_token|pos_embed|patch_embed\.projection\.(weight|bias)|'
    r'ln1\.(weight|bias)|layers\.\d+\.(ln[12]\.(weight|bias)|'
    r'attn\.(qkv|proj)\.(weight|bias)|attn\.gamma1\.weight|'
    r'ffn\.(layers\.0\.0|layers\.1|w12|w3)\.(weight|bias)|'
    r'ffn\.gamma2\.weight))')


def convert_dinov2_state_dict(state_dict: Dict[str, torch.Tensor],
                              filename: str = 'state dict'
                              ) -> Dict[str, torch.Tensor]:
    """Official DINOv2 or mmpretrain DINOv2 weights -> :class:`DINOv2ViT`
    keys (no ``backbone.`` prefix).

    Accepted layouts: the official ``DinoVisionTransformer`` state dict
    (``blocks.i.norm1`` ..., also chunked ``blocks.c.i.*``; ``mask_token``
    dropped), an mmpretrain ``VisionTransformer`` state dict (``layers.i.*``,
    what :class:`DINOv2ViT` holds; returned as it is), each maybe with
    ``module.`` and ``backbone.`` prefixes on every key.

    Raises:
        OfficialWeightsError: registers, a whole segmentor, keys of
            neither layout, or blocks with missing weights (``filename`` and
            the keys named).
    """
    state = strip_prefixes(dict(state_dict), ('module.', ))
    if state and all(k.startswith('backbone.') for k in state):
        state = {k[len('backbone.'):]: v for k, v in state.items()}
    keys = list(state)
    if not keys:
        raise OfficialWeightsError(f'{filename}: empty state dict')
    if any(k.startswith('backbone.') for k in keys):
        raise OfficialWeightsError(
            f'{filename} is a whole network (backbone.* with '
            f'{sorted({k.split(".")[0] for k in keys} - {"backbone"})}), not '
            'a DINOv2 encoder: convert UniMatch V2 checkpoints with '
            'tools/model_converters/unimatch_v2_to_mmsss.py, or give the '
            'encoder prefix (init_cfg prefix=...)')
    if 'register_tokens' in state:
        raise OfficialWeightsError(
            f'{filename} is a DINOv2 with registers '
            f'({state["register_tokens"].shape[1]} register '
            'tokens); UniMatch V2 and DINOv2ViT use the models without '
            'registers (dinov2_vit{s,b,l,g}14_pretrain.pth)')
    not_tensors = [k for k in keys if not isinstance(state[k], torch.Tensor)]
    if not_tensors:
        raise OfficialWeightsError(
            f'{filename}: {len(not_tensors)} entries are not tensors:'
            f'{_listing(not_tensors)}')
    if any(k.startswith('layers.') for k in keys):
        out, unmapped = state, [k for k in keys if not _OURS_KEY.fullmatch(k)]
        layout = 'an mmpretrain/DINOv2ViT encoder (layers.i.*, ln1)'
    else:
        out, unmapped = {}, []
        layout = ('an official DINOv2 encoder (blocks.i.*, norm, '
                  'patch_embed.proj, cls_token, pos_embed)')
        for key, value in state.items():
            if key in _TOP_RULES:
                out[_TOP_RULES[key]] = value
                continue
            if key in _DROPPED:
                continue
            m = _OFFICIAL_BLOCK.fullmatch(key)
            for pattern, repl in _BLOCK_RULES if m else ():
                if re.fullmatch(pattern, m.group(2)):
                    out[f'layers.{m.group(1)}.'
                        f'{re.sub(pattern, repl, m.group(2))}'] = value
                    break
            else:
                unmapped.append(key)
    if unmapped:
        raise OfficialWeightsError(
            f'{filename} is not {layout}: {len(unmapped)} keys could not be '
            f'mapped:{_listing(unmapped)}')
    _check_blocks(out, filename)
    return out


def _check_blocks(state: dict, filename: str) -> None:
    """Every block has the same weights, the top-level ones exist."""
    missing = [k for k in ('cls_token', 'pos_embed',
                           'patch_embed.projection.weight', 'ln1.weight')
               if k not in state]
    blocks: Dict[int, set] = {}
    for k in state:
        m = re.match(r'layers\.(\d+)\.(.+)', k)
        if m:
            blocks.setdefault(int(m.group(1)), set()).add(m.group(2))
    if not blocks:
        missing.append('layers.0.* (blocks.0.*)')
    else:
        union = set.union(*blocks.values())
        for i in range(max(blocks) + 1):
            missing += [f'layers.{i}.{n}'
                        for n in sorted(union - blocks.get(i, set()))]
    if missing:
        raise OfficialWeightsError(
            f'{filename}: {len(missing)} DINOv2 weights missing:'
            f'{_listing(missing)}')


def dinov2_arch_of(state: Dict[str, torch.Tensor]) -> Optional[str]:
    """The released size (``'small'`` ... ``'giant'``) whose width, depth
    and FFN type the converted ``state`` has, else None (the number of
    heads is not in the weights: shapes are checked against the arch)."""
    width = state['cls_token'].shape[-1]
    depth = 1 + max(int(k.split('.')[1]) for k in state
                    if k.startswith('layers.'))
    ffn = 'swiglu_fused' if 'layers.0.ffn.w12.weight' in state else 'origin'
    for name, arch in DINOV2_ARCHS.items():
        if (arch['embed_dims'], arch['num_layers'],
                arch['ffn_type']) == (width, depth, ffn):
            return name
    return None
