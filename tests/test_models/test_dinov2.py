"""DINOv2ViT against a test-only re-writing of the official DINOv2 forward.

The reference below follows LiheYoung/UniMatch-V2 ``model/backbone/
dinov2.py`` (``prepare_tokens_with_masks``, ``interpolate_pos_encoding``
with the 0.1 offset, ``get_intermediate_layers(norm=True)``) and its
``dinov2_layers`` (pre-norm blocks with LayerScale, MLP or SwiGLU FFN) in
float64 with plain tensor algebra: the patch embedding as a matmul over
unfolded patches, LayerNorm, GELU (erf), softmax attention written out, and
the bicubic pos-embed interpolation as an explicit separable weight matrix
(cubic kernel a = -0.75, source point ``(o + 0.5) / s - 0.5`` for a scale
factor ``s``, borders clamped). Random weights in the official key layout
go through ``convert_dinov2_state_dict``; the four normalised taps must agree
to 1e-5 relative (ours in float32).

``official_dinov2_state`` and ``ref_dinov2_forward`` are reused by
tests/test_tools/test_dinov2_converter.py.
"""
import math
from unittest import mock

import pytest
import torch

import mmsss  # noqa: F401
from mmsss.models.backbones import dinov2 as dinov2_module
from mmsss.models.backbones.dinov2 import (DINOv2ViT,
                                           convert_dinov2_state_dict)
from mmsss.utils.official_weights import OfficialWeightsError

RTOL = 1e-5
TINY = dict(embed_dims=24, num_layers=4, num_heads=2,
            feedforward_channels=96)
TINY_SWIGLU = dict(TINY, ffn_type='swiglu_fused')


def official_dinov2_state(embed, depth, grid=37, patch=14, hidden=None,
                          swiglu=False, chunks=0, seed=0):
    """Random weights with the keys of the official ``DinoVisionTransformer``
    (``block_chunks=chunks``; SwiGLU ``w12``/``w3`` for giant)."""
    g = torch.Generator().manual_seed(seed)

    def rnd(*shape, std=0.2, mean=0.):
        return mean + std * torch.randn(*shape, generator=g)

    hidden = hidden or 4 * embed
    if swiglu:  # SwiGLUFFNFused hidden width (dinov2_layers/swiglu_ffn.py)
        hidden = (int(hidden * 2 / 3) + 7) // 8 * 8
    state = {
        'cls_token': rnd(1, 1, embed, std=1.),
        'pos_embed': rnd(1, grid * grid + 1, embed, std=1.),
        'mask_token': rnd(1, embed),
        'patch_embed.proj.weight': rnd(embed, 3, patch, patch, std=0.05),
        'patch_embed.proj.bias': rnd(embed),
        'norm.weight': rnd(embed, mean=1.),
        'norm.bias': rnd(embed),
    }
    per_chunk = depth // chunks if chunks else depth
    std = embed**-0.5  # of the linear weights
    for i in range(depth):
        pre = (f'blocks.{i // per_chunk}.{i}.' if chunks else f'blocks.{i}.')
        state.update({
            pre + 'norm1.weight': rnd(embed, mean=1.),
            pre + 'norm1.bias': rnd(embed),
            pre + 'attn.qkv.weight': rnd(3 * embed, embed, std=std),
            pre + 'attn.qkv.bias': rnd(3 * embed),
            pre + 'attn.proj.weight': rnd(embed, embed, std=std),
            pre + 'attn.proj.bias': rnd(embed),
            pre + 'ls1.gamma': rnd(embed, mean=0.5),
            pre + 'norm2.weight': rnd(embed, mean=1.),
            pre + 'norm2.bias': rnd(embed),
            pre + 'ls2.gamma': rnd(embed, mean=0.5),
        })
        if swiglu:
            state.update({
                pre + 'mlp.w12.weight': rnd(2 * hidden, embed, std=std),
                pre + 'mlp.w12.bias': rnd(2 * hidden),
                pre + 'mlp.w3.weight': rnd(embed, hidden,
                                           std=hidden**-0.5),
                pre + 'mlp.w3.bias': rnd(embed),
            })
        else:
            state.update({
                pre + 'mlp.fc1.weight': rnd(hidden, embed, std=std),
                pre + 'mlp.fc1.bias': rnd(hidden),
                pre + 'mlp.fc2.weight': rnd(embed, hidden,
                                            std=hidden**-0.5),
                pre + 'mlp.fc2.bias': rnd(embed),
            })
    return state


def _cubic(d, a=-0.75):
    d = abs(d)
    if d <= 1:
        return (a + 2) * d**3 - (a + 3) * d**2 + 1
    if d < 2:
        return a * d**3 - 5 * a * d**2 + 8 * a * d - 4 * a
    return 0.


def _bicubic_matrix(n_in, n_out, scale):
    """(n_out, n_in) weights of a 1-D bicubic resampling by ``scale``."""
    mat = torch.zeros(n_out, n_in, dtype=torch.float64)
    for o in range(n_out):
        src = (o + 0.5) / scale - 0.5
        base = math.floor(src)
        for j in range(base - 1, base + 3):
            mat[o, min(max(j, 0), n_in - 1)] += _cubic(src - j)
    return mat


def _layer_norm(x, w, b, eps=1e-6):
    mean = x.mean(-1, keepdim=True)
    var = ((x - mean)**2).mean(-1, keepdim=True)
    return (x - mean) / torch.sqrt(var + eps) * w + b


def ref_dinov2_forward(state, x, taps, num_heads, patch=14, offset=0.1):
    """Official ``get_intermediate_layers(x, taps, norm=True)`` reshaped to
    ``(B, C, h, w)``, in float64 (see the module docstring)."""
    s = {}
    for k, v in state.items():  # chunked keys blocks.c.i.* -> blocks.i.*
        parts = k.split('.')
        if k.startswith('blocks.') and parts[2].isdigit():
            k = '.'.join(['blocks'] + parts[2:])
        s[k] = v.double()
    x = x.double()
    B, _, H, W = x.shape
    h, w = H // patch, W // patch
    C = s['cls_token'].shape[-1]
    patches = x.reshape(B, 3, h, patch, w, patch).permute(0, 2, 4, 1, 3, 5)
    tokens = patches.reshape(B, h * w, -1) @ \
        s['patch_embed.proj.weight'].reshape(C, -1).T + \
        s['patch_embed.proj.bias']
    tokens = torch.cat((s['cls_token'].expand(B, 1, C), tokens), dim=1)
    pos = s['pos_embed'][0]
    side = math.isqrt(pos.shape[0] - 1)
    if (h, w) != (side, side):
        grid = pos[1:].reshape(side, side, C)
        mat_h = _bicubic_matrix(side, h, (h + offset) / side)
        mat_w = _bicubic_matrix(side, w, (w + offset) / side)
        grid = torch.einsum('ij,jkc,lk->ilc', mat_h, grid, mat_w)
        pos = torch.cat((pos[:1], grid.reshape(h * w, C)))
    tokens = tokens + pos
    depth = 1 + max(int(k.split('.')[1]) for k in s if k.startswith('blocks.'))
    head_dim = C // num_heads
    outs = []
    for i in range(depth):
        p = f'blocks.{i}.'
        y = _layer_norm(tokens, s[p + 'norm1.weight'], s[p + 'norm1.bias'])
        qkv = y @ s[p + 'attn.qkv.weight'].T + s[p + 'attn.qkv.bias']
        q, k, v = qkv.reshape(B, -1, 3, num_heads, head_dim).permute(
            2, 0, 3, 1, 4)
        logits = (q * head_dim**-0.5) @ k.transpose(-2, -1)
        att = torch.exp(logits - logits.amax(-1, keepdim=True))
        att = att / att.sum(-1, keepdim=True)
        y = (att @ v).transpose(1, 2).reshape(B, -1, C)
        y = y @ s[p + 'attn.proj.weight'].T + s[p + 'attn.proj.bias']
        tokens = tokens + s[p + 'ls1.gamma'] * y
        y = _layer_norm(tokens, s[p + 'norm2.weight'], s[p + 'norm2.bias'])
        if p + 'mlp.w12.weight' in s:
            y = y @ s[p + 'mlp.w12.weight'].T + s[p + 'mlp.w12.bias']
            y1, y2 = y.chunk(2, dim=-1)
            y = y1 * torch.sigmoid(y1) * y2
            y = y @ s[p + 'mlp.w3.weight'].T + s[p + 'mlp.w3.bias']
        else:
            y = y @ s[p + 'mlp.fc1.weight'].T + s[p + 'mlp.fc1.bias']
            y = 0.5 * y * (1 + torch.erf(y / math.sqrt(2)))
            y = y @ s[p + 'mlp.fc2.weight'].T + s[p + 'mlp.fc2.bias']
        tokens = tokens + s[p + 'ls2.gamma'] * y
        if i in taps:
            outs.append(tokens)
    outs = [_layer_norm(o, s['norm.weight'], s['norm.bias'])[:, 1:] for o in
            outs]
    return [o.reshape(B, h, w, C).permute(0, 3, 1, 2) for o in outs]


def assert_taps_close(ours, ref, rtol=RTOL):
    assert len(ours) == len(ref)
    for a, b in zip(ours, ref):
        assert a.shape == b.shape, (a.shape, b.shape)
        err = (a.double() - b).abs().max() / b.abs().max()
        assert err <= rtol, f'relative difference {err:.2e} > {rtol}'


def _ours(arch, state, img_size=518, **kwargs):
    model = DINOv2ViT(arch=arch, img_size=img_size, **kwargs)
    model.load_state_dict(convert_dinov2_state_dict(state), strict=True)
    return model.eval()


def _image(b, h, w, seed=1):
    return torch.randn(b, 3, h, w, generator=torch.Generator().manual_seed(
        seed))


@pytest.mark.parametrize('size', [(518, 518), (560, 280)])
def test_taps_match_official_forward(size):
    """518 x 518 keeps the stored 37 x 37 grid; 560 x 280 (40 x 20 patches)
    interpolates it up in height and down in width."""
    state = official_dinov2_state(24, 4)
    x = _image(1 if size[0] == size[1] else 2, *size)
    model = _ours(TINY, state)
    ref = ref_dinov2_forward(state, x, (0, 1, 2, 3), 2)
    with torch.no_grad():
        assert_taps_close(model(x), ref)
        # the same maths, not only close: float64 to rounding (torch
        # interpolates the pos-embed in float32 with a float32 scale,
        # dinov2.py:185, ~1e-6 from the float64 hand resampling)
        assert_taps_close(model.double()(x.double()), ref,
                          rtol=1e-10 if size[0] == size[1] else RTOL)


def test_swiglu_chunked_official_layout():
    """Giant's SwiGLU FFN and a chunked official layout (blocks.c.i.*)."""
    state = official_dinov2_state(24, 4, grid=5, swiglu=True, chunks=2)
    assert 'blocks.1.3.mlp.w12.weight' in state
    x = _image(1, 84, 42)
    with torch.no_grad():
        ours = _ours(TINY_SWIGLU, state, img_size=70, out_indices=(1, 3))(x)
    assert_taps_close(ours, ref_dinov2_forward(state, x, (1, 3), 2))


def test_small_arch_official_taps():
    """DINOv2-S as released (dims, taps 2/5/8/11) on a small non-square
    input: the 37 x 37 grid interpolated down to 4 x 6."""
    state = official_dinov2_state(384, 12, seed=3)
    x = _image(1, 56, 84)
    model = _ours('small', state)
    assert model.out_indices == (2, 5, 8, 11)
    with torch.no_grad():
        ours = model(x)
    assert_taps_close(ours, ref_dinov2_forward(state, x, (2, 5, 8, 11), 6))


def test_offset_matters_and_unchanged_grid():
    """The 0.1-offset scale factor samples other points than an output size
    (mmpretrain's resize_pos_embed); the stored grid is used as it is."""
    model = DINOv2ViT(arch=TINY, img_size=70)
    model.init_weights()
    pe = model.pos_embed
    assert model.interpolate_pos_encoding((5, 5), torch.float32) is pe
    with_offset = model.interpolate_pos_encoding((7, 3), torch.float32)
    model.interpolate_offset = 0.
    by_size = model.interpolate_pos_encoding((7, 3), torch.float32)
    assert with_offset.shape == by_size.shape == (1, 22, 24)
    assert (with_offset - by_size).abs().max() > 1e-3


@pytest.mark.parametrize('arch,dims', [
    ('small', (384, 12, 6, 1536, (2, 5, 8, 11))),
    ('base', (768, 12, 12, 3072, (2, 5, 8, 11))),
    ('large', (1024, 24, 16, 4096, (4, 11, 17, 23))),
    ('giant', (1536, 40, 24, 4096, (9, 19, 29, 39))),
])
def test_released_sizes(arch, dims):
    """vit_small ... vit_giant2 (dinov2.py:341-397, giant's SwiGLU hidden
    width 4096) and the taps of model/semseg/dpt.py:123-128."""
    embed, depth, heads, hidden, taps = dims
    with torch.device('meta'):
        model = DINOv2ViT(arch=arch)
    assert model.out_indices == taps
    assert len(model.layers) == depth
    assert model.layers[0].attn.num_heads == heads
    assert model.pos_embed.shape == (1, 37 * 37 + 1, embed)
    fc1 = model.layers[0].ffn.w3 if arch == 'giant' else \
        model.layers[0].ffn.layers[1]
    assert tuple(fc1.weight.shape) == (embed, hidden)
    assert model.layers[0].attn.gamma1.weight.shape == (embed, )


def test_frozen_no_grad_and_eval():
    model = DINOv2ViT(arch=TINY, img_size=70, drop_path_rate=0.5,
                      frozen=True)
    model.init_weights()
    model.train()
    assert not any(m.training for m in model.modules())
    assert not any(p.requires_grad for p in model.parameters())
    x = _image(2, 70, 70)
    out1, out2 = model(x), model(x)
    assert not any(o.requires_grad for o in out1)
    for a, b in zip(out1, out2):  # drop path is off: eval mode
        assert torch.equal(a, b)
    free = DINOv2ViT(arch=TINY, img_size=70, drop_path_rate=0.5)
    free.load_state_dict(model.state_dict())
    free.train()
    assert all(m.training for m in free.modules())
    assert all(p.requires_grad for p in free.parameters())


def test_with_cp_same_outputs_and_grads():
    state = official_dinov2_state(24, 4, grid=5)
    x = _image(2, 42, 56)
    results = []
    for with_cp in (False, True):
        model = _ours(TINY, state, img_size=70, with_cp=with_cp).train()
        with mock.patch.object(dinov2_module.cp, 'checkpoint',
                               wraps=dinov2_module.cp.checkpoint) as spy:
            outs = model(x)
        assert spy.call_count == (4 if with_cp else 0)
        sum(o.square().sum() for o in outs).backward()
        results.append((outs, [p.grad for p in model.parameters()]))
    (o1, g1), (o2, g2) = results
    for a, b in zip(o1 + tuple(g1), o2 + tuple(g2)):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)


def test_pretrained_init_cfg_layouts(tmp_path):
    """init_cfg Pretrained loads the official file as it is and an
    mmpretrain-layout file (``backbone.`` keys), strictly."""
    state = official_dinov2_state(24, 4, grid=5)
    official = str(tmp_path / 'official.pth')
    torch.save(state, official)
    mmpre = str(tmp_path / 'mmpretrain.pth')
    torch.save({'state_dict': {f'backbone.{k}': v for k, v in
                               convert_dinov2_state_dict(state).items()},
                'meta': {}}, mmpre)
    x = _image(1, 70, 42)
    ref = ref_dinov2_forward(state, x, (0, 1, 2, 3), 2)
    for init_cfg in (dict(type='Pretrained', checkpoint=official),
                     dict(type='Pretrained', checkpoint=mmpre),
                     dict(type='Pretrained', checkpoint=mmpre,
                          prefix='backbone.')):
        model = DINOv2ViT(arch=TINY, img_size=70, init_cfg=init_cfg)
        model.init_weights()
        with torch.no_grad():
            assert_taps_close(model.eval()(x), ref)


def test_refusals(tmp_path):
    state = official_dinov2_state(24, 4, grid=5)
    path = str(tmp_path / 'official.pth')
    torch.save(state, path)
    model = DINOv2ViT(arch=TINY, img_size=84,
                      init_cfg=dict(type='Pretrained', checkpoint=path))
    with pytest.raises(OfficialWeightsError, match='img_size=84'):
        model.init_weights()
    model = DINOv2ViT(arch=dict(TINY, num_layers=3), img_size=70,
                      out_indices=(0, 1, 2),
                      init_cfg=dict(type='Pretrained', checkpoint=path))
    with pytest.raises(RuntimeError, match='layers.3'):
        model.init_weights()
    with pytest.raises(ValueError, match='multiple of the patch size 14'):
        DINOv2ViT(arch=TINY, img_size=70)(torch.zeros(1, 3, 70, 71))
    with pytest.raises(ValueError, match='arch must be one of'):
        DINOv2ViT(arch='dinov2-base')
    with pytest.raises(ValueError, match='out_indices'):
        DINOv2ViT(arch=TINY, out_indices=(2, 1))
    with pytest.raises(ValueError, match='out_indices'):
        DINOv2ViT(arch=TINY, out_indices=(0, 4))
