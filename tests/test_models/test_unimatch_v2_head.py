"""UniMatchV2DPTHead against a test-only re-writing of the official DPT
head (LiheYoung/UniMatch-V2 ``model/semseg/dpt.py:10-108`` and
``model/util/blocks.py``, written here from those files, with their module
names), its weights renamed by
``tools/model_converters/unimatch_v2_to_mmsss.py``; the whole converted
network (official DINOv2 forward of tests/test_models/test_dinov2.py + this
head) against UniMatchV2Segmentor; ``test_cfg=dict(mode='resize_multiple')``
against a hand computation (``supervised.py:70-81``); the converter's
refusals.
"""
import importlib.util
import os.path as osp

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.config import ConfigDict
from mmseg.registry import MODELS

import mmsss  # noqa: F401
from mmsss.utils.official_weights import OfficialWeightsError
from tests._tiny import NUM_CLASSES, make_sample, tiny_semi_model

pytestmark = pytest.mark.usefixtures('mmseg_scope_one_thread')

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def _load(path, name):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _tool():
    return _load(
        osp.join(REPO, 'tools', 'model_converters',
                 'unimatch_v2_to_mmsss.py'), '_uv2_tool')


# official DINOv2 weights and forward (float64), re-written there
dino_ref = _load(osp.join(REPO, 'tests', 'test_models', 'test_dinov2.py'),
                 '_dinov2_refs')


# ---------------------------------------------------------------------------
# the official head, re-written (blocks.py / dpt.py names and call order)


class RefRCU(nn.Module):
    """blocks.py ResidualConvUnit, bn=False, activation nn.ReLU(False)."""

    def __init__(self, f):
        super().__init__()
        self.conv1 = nn.Conv2d(f, f, 3, 1, 1, bias=True)
        self.conv2 = nn.Conv2d(f, f, 3, 1, 1, bias=True)
        self.activation = nn.ReLU(False)

    def forward(self, x):
        out = self.conv2(self.activation(self.conv1(self.activation(x))))
        return out + x


class RefFusion(nn.Module):
    """blocks.py FeatureFusionBlock(deconv=False, bn=False, expand=False,
    align_corners=True)."""

    def __init__(self, f):
        super().__init__()
        self.out_conv = nn.Conv2d(f, f, 1, 1, 0, bias=True)
        self.resConfUnit1 = RefRCU(f)
        self.resConfUnit2 = RefRCU(f)

    def forward(self, *xs, size=None):
        output = xs[0]
        if len(xs) == 2:
            output = output + self.resConfUnit1(xs[1])
        output = self.resConfUnit2(output)
        modifier = {'scale_factor': 2} if size is None else {'size': size}
        output = F.interpolate(output, **modifier, mode='bilinear',
                               align_corners=True)
        return self.out_conv(output)


class RefDPTHead(nn.Module):
    """dpt.py DPTHead(nclass, in_channels, features, use_bn=False,
    out_channels)."""

    def __init__(self, nclass, in_channels, features, out_channels):
        super().__init__()
        self.projects = nn.ModuleList(
            [nn.Conv2d(in_channels, c, 1, 1, 0) for c in out_channels])
        oc = out_channels
        self.resize_layers = nn.ModuleList([
            nn.ConvTranspose2d(oc[0], oc[0], 4, 4, 0),
            nn.ConvTranspose2d(oc[1], oc[1], 2, 2, 0),
            nn.Identity(),
            nn.Conv2d(oc[3], oc[3], 3, 2, 1),
        ])
        self.scratch = nn.Module()
        for i in range(4):
            setattr(self.scratch, f'layer{i + 1}_rn',
                    nn.Conv2d(oc[i], features, 3, 1, 1, bias=False))
        for i in range(4):
            setattr(self.scratch, f'refinenet{i + 1}', RefFusion(features))
        self.scratch.output_conv = nn.Sequential(
            nn.Conv2d(features, features, 3, 1, 1), nn.ReLU(True),
            nn.Conv2d(features, nclass, 1, 1, 0))

    def forward(self, tokens, patch_h, patch_w):
        out = []
        for i, x in enumerate(tokens):
            x = x.permute(0, 2, 1).reshape(x.shape[0], x.shape[-1], patch_h,
                                           patch_w)
            out.append(self.resize_layers[i](self.projects[i](x)))
        s = self.scratch
        l1, l2, l3, l4 = (getattr(s, f'layer{i + 1}_rn')(out[i])
                          for i in range(4))
        p4 = s.refinenet4(l4, size=l3.shape[2:])
        p3 = s.refinenet3(p4, l3, size=l2.shape[2:])
        p2 = s.refinenet2(p3, l2, size=l1.shape[2:])
        p1 = s.refinenet1(p2, l1)
        return s.output_conv(p1)


def _randomise(module, seed, keep=False):
    """Random weights (``keep``: added to the initial ones)."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            noise = torch.randn(p.shape, generator=gen)
            p.copy_(p + noise * 0.3 if keep else noise * 0.2)


EMBED, FEATURES, LEVELS = 24, 8, (6, 8, 10, 12)


def _ours(num_classes=5):
    return MODELS.build(
        dict(type='UniMatchV2DPTHead', in_channels=EMBED, channels=FEATURES,
             level_channels=LEVELS, num_classes=num_classes)).eval()


@pytest.mark.parametrize('patches', [(5, 3), (4, 4)])
def test_head_matches_official_after_conversion(patches):
    ph, pw = patches
    ref = RefDPTHead(5, EMBED, FEATURES, LEVELS).eval()
    _randomise(ref, 0)
    state, dropped = _tool().convert_head_state_dict(ref.state_dict())
    assert sorted(dropped) == [
        f'scratch.refinenet4.resConfUnit1.conv{i}.{p}' for i in (1, 2)
        for p in ('bias', 'weight')
    ]
    head = _ours()
    head.load_state_dict(state, strict=True)
    gen = torch.Generator().manual_seed(1)
    tokens = [torch.randn(2, ph * pw, EMBED, generator=gen) for _ in range(4)]
    maps = [t.permute(0, 2, 1).reshape(2, EMBED, ph, pw) for t in tokens]
    with torch.no_grad():
        # official dpt.py:169-170: logits upsampled to 14 x patches
        expected = F.interpolate(ref(tokens, ph, pw), (ph * 14, pw * 14),
                                 mode='bilinear', align_corners=True)
        logits = head(maps)
        assert logits.shape[2:] == (8 * ph, 8 * pw)
        metas = [dict(img_shape=(ph * 14, pw * 14))]
        ours = head.predict_by_feat(logits, metas)
    scale = expected.abs().max()
    assert scale > 1e-2
    assert (ours - expected).abs().max() <= 1e-5 * scale
    # a changed weight is seen (the comparison can fail)
    with torch.no_grad():
        head.fusion_blocks[2].lateral_unit.conv1.bias.add_(0.5)
        assert (head.predict_by_feat(head(maps), metas) -
                expected).abs().max() > 1e-3 * scale


def test_head_init_is_pytorch_default_and_no_dropout():
    head = _ours()
    head.init_weights()
    assert head.dropout is None
    # PyTorch's conv default: U(-1/sqrt(fan_in), 1/sqrt(fan_in)); mmseg's
    # conv_seg init would be N(0, 0.01)
    bound = 1 / FEATURES**0.5
    w = head.conv_seg.weight
    assert w.abs().max() <= bound and w.std() > 0.1
    assert head.level_convs[0].bias is None
    assert head.fusion_blocks[3].lateral_unit is None


def test_head_rejects_bad_levels():
    with pytest.raises(ValueError, match='level_channels'):
        MODELS.build(
            dict(type='UniMatchV2DPTHead', in_channels=EMBED, channels=8,
                 level_channels=(4, 8, 16), num_classes=3))


# ---------------------------------------------------------------------------
# resize_multiple


def _net(seg, img):
    """The network's logits at the input size (``model(img)``)."""
    logits = seg.decode_head.forward(seg.extract_feat(img))
    return F.interpolate(logits, img.shape[2:], mode='bilinear',
                         align_corners=seg.decode_head.align_corners)


# (input size, hand-rounded multiple of 14: int(s / 14 + 0.5) * 14)
#   45 / 14 = 3.21 -> 42; 61 / 14 = 4.36 -> 56
#   21 / 14 = 1.5 (half up) -> 28; 47 / 14 = 3.36 -> 42
#   28 -> 28 (unchanged); 35 / 14 = 2.5 -> 42
SIZES = [((45, 61), (42, 56)), ((21, 47), (28, 42)), ((28, 35), (28, 42))]


@pytest.mark.parametrize('size, multiple', SIZES)
def test_resize_multiple_matches_hand_computation(size, multiple):
    model = tiny_semi_model()
    model.teacher.test_cfg = ConfigDict(mode='resize_multiple',
                                        size_divisor=14)
    _randomise(model.teacher, 2, keep=True)
    model.eval()
    img = torch.randn(1, 3, *size, generator=torch.Generator().manual_seed(3))
    seen = []
    encode_decode = model.teacher.encode_decode

    def spy(x, metas):
        seen.append((tuple(x.shape[2:]), tuple(metas[0]['img_shape'])))
        return encode_decode(x, metas)

    model.teacher.encode_decode = spy
    with torch.no_grad():
        out = model.predict(img, [make_sample(size=size)])[0]
        x = F.interpolate(img, multiple, mode='bilinear', align_corners=True)
        ref = F.interpolate(_net(model.teacher, x), size, mode='bilinear',
                            align_corners=True)[0]
    assert seen == [(multiple, multiple)]
    assert out.seg_logits.data.shape == (NUM_CLASSES, *size)
    assert torch.allclose(out.seg_logits.data, ref, atol=1e-5)
    assert torch.equal(out.pred_sem_seg.data[0], ref.argmax(0))
    assert ref.std(dim=(1, 2)).min() > 1e-2  # logits vary over the image
    if multiple != size:  # mmseg's whole mode is another result
        model.teacher.test_cfg = ConfigDict(mode='whole')
        with torch.no_grad():
            whole = model.predict(img, [make_sample(size=size)])[0]
        assert not torch.allclose(whole.seg_logits.data, ref, atol=1e-3)


def test_resize_multiple_in_self_training_segmentor():
    """The same dispatch serves SelfTrainingSegmentor.inference."""
    import copy
    from tests._tiny import TINY_SEGMENTOR
    cfg = copy.deepcopy(TINY_SEGMENTOR)
    cfg.update(type='SelfTrainingSegmentor',
               test_cfg=dict(mode='resize_multiple', size_divisor=14))
    seg = MODELS.build(ConfigDict(cfg))
    _randomise(seg, 4, keep=True)
    seg.eval()
    img = torch.randn(1, 3, 45, 61, generator=torch.Generator().manual_seed(5))
    with torch.no_grad():
        out = seg.predict(img, [make_sample(size=(45, 61))])[0]
        x = F.interpolate(img, (42, 56), mode='bilinear', align_corners=True)
        ref = F.interpolate(_net(seg, x), (45, 61), mode='bilinear',
                            align_corners=True)[0]
    assert torch.allclose(out.seg_logits.data, ref, atol=1e-5)


@pytest.mark.parametrize('cfg, match', [
    (dict(mode='resize_multiple', size_divisor=0), 'size_divisor'),
    (dict(mode='resize_multiple', size_divisor=14.), 'size_divisor'),
    (dict(mode='resize_multiple', crop_size=14), 'unknown keys'),
])
def test_resize_multiple_bad_cfg(cfg, match):
    from mmsss.models.utils.resize_inference import check_resize_multiple_cfg
    with pytest.raises(ValueError, match=match):
        check_resize_multiple_cfg(cfg)


# ---------------------------------------------------------------------------
# converter refusals


def _fails(argv, *expected):
    with pytest.raises(SystemExit) as exc:
        _tool().main(argv)
    msg = str(exc.value.code)
    assert msg.startswith('error: '), msg
    for text in expected:
        assert text in msg, (text, msg)


def _official_head_state(nclass=5):
    ref = RefDPTHead(nclass, EMBED, FEATURES, LEVELS)
    return {f'module.head.{k}': v for k, v in ref.state_dict().items()}


def test_converter_refuses_files_that_do_not_fit(tmp_path):
    dst = str(tmp_path / 'out.pth')
    # not a UniMatch V2 DPT: DeepLabV3+ keys of UniMatch V1
    src = str(tmp_path / 'v1.pth')
    torch.save({'model': {'module.backbone.conv1.0.weight': torch.zeros(1),
                          'module.classifier.weight': torch.zeros(1)}}, src)
    _fails([src, dst], 'not a UniMatch V2 DPT', 'classifier.weight')
    # a head with a foreign layer
    state = _official_head_state()
    state['module.head.scratch.refinenet5.out_conv.weight'] = torch.zeros(1)
    state['module.backbone.cls_token'] = torch.zeros(1, 1, EMBED)
    torch.save({'model': state}, src)
    _fails([src, dst], "not those of UniMatch V2's DPTHead",
           'scratch.refinenet5.out_conv.weight')
    # a backbone of no released DINOv2 size (the tiny ViT)
    state = _official_head_state()
    tiny_vit = dino_ref.official_dinov2_state(EMBED, 4)
    state.update({f'module.backbone.{k}': v for k, v in tiny_vit.items()})
    torch.save({'model': state}, src)
    _fails([src, dst], 'none of the released DINOv2 sizes')
    # both networks asked for, the file has no model_ema
    _fails([src, dst, '--model', 'both'], "no 'model_ema'")
    # no state dict at all
    torch.save({'epoch': 3}, src)
    _fails([src, dst], "no 'model' state dict")
    assert not osp.exists(dst)


def test_converter_head_mapping_refuses_unknown_key():
    state = {k[len('module.head.'):]: v
             for k, v in _official_head_state().items()}
    state['scratch.output_conv.4.weight'] = torch.zeros(1)
    with pytest.raises(OfficialWeightsError,
                       match='scratch.output_conv.4.weight'):
        _tool().convert_head_state_dict(state)


# ---------------------------------------------------------------------------
# the whole converted network


def _official_dpt(seed, nclass=NUM_CLASSES):
    """Random official ``DPT`` weights (``backbone.*`` + ``head.*``, DDP
    prefix) of the tiny ViT: (state dict, head module)."""
    head = RefDPTHead(nclass, EMBED, FEATURES, LEVELS).eval()
    _randomise(head, seed)
    backbone = dino_ref.official_dinov2_state(EMBED, 4, seed=seed)
    state = {f'module.backbone.{k}': v for k, v in backbone.items()}
    state.update({f'module.head.{k}': v for k, v in head.state_dict().items()})
    return state, backbone, head


def _official_forward(backbone, head, img):
    """dpt.py:141-172 without Complementary Dropout: taps (float64
    reference), head, logits upsampled to 14 x patches."""
    ph, pw = img.shape[2] // 14, img.shape[3] // 14
    taps = dino_ref.ref_dinov2_forward(backbone, img, (0, 1, 2, 3),
                                       dino_ref.TINY['num_heads'])
    tokens = [t.float().flatten(2).transpose(1, 2) for t in taps]
    out = head(tokens, ph, pw)
    return F.interpolate(out, (ph * 14, pw * 14), mode='bilinear',
                         align_corners=True)


def test_converted_network_matches_official(tmp_path):
    """model / model_ema -> student. / teacher. of UniMatchV2Segmentor;
    each predicts the official logits (<= 1e-5 relative)."""
    student, s_backbone, s_head = _official_dpt(seed=0)
    ema, e_backbone, e_head = _official_dpt(seed=1)
    tool = _tool()
    arch = dict(dino_ref.TINY)
    state, info = tool.convert_unimatch_v2(
        {'model': student, 'model_ema': ema}, 'best.pth', arch=arch)
    assert info['model'] == 'both' and info['num_classes'] == NUM_CLASSES
    seg = dict(
        type='EncoderDecoder',
        data_preprocessor=dict(type='SegDataPreProcessor'),
        backbone=dict(type='DINOv2ViT', arch=arch, out_indices=(0, 1, 2, 3)),
        decode_head=dict(info['model_cfg']['decode_head']),
        test_cfg=dict(mode='whole'))
    model = MODELS.build(
        ConfigDict(
            type='UniMatchV2Segmentor',
            segmentor=seg,
            data_preprocessor=dict(
                type='MultiBranchSegDataPreProcessor',
                data_preprocessor=seg['data_preprocessor'])))
    model.load_state_dict(state, strict=True)
    model.eval()
    img = torch.randn(1, 3, 70, 42, generator=torch.Generator().manual_seed(7))
    sample = make_sample(size=(70, 42))
    with torch.no_grad():
        for name, backbone, head in (('teacher', e_backbone, e_head),
                                     ('student', s_backbone, s_head)):
            model.semi_test_cfg['predict_on'] = name
            ours = model.predict(img, [sample])[0].seg_logits.data
            ref = _official_forward(backbone, head, img)[0]
            err = (ours - ref).abs().max() / ref.abs().max()
            assert err <= 1e-5, (name, float(err))
    # the two networks differ (each side was compared with its own)
    assert (ours - _official_forward(e_backbone, e_head, img)[0]).abs().max() \
        > 1e-3


def test_converter_cli_writes_loadable_checkpoints(tmp_path, monkeypatch):
    """The tool's files: student./teacher. keys by default (model_ema
    present), plain keys with --model ema; official scores kept in meta."""
    from mmengine.runner import load_checkpoint
    student, _, _ = _official_dpt(seed=0, nclass=21)
    ema, _, _ = _official_dpt(seed=1, nclass=21)
    src = str(tmp_path / 'best.pth')
    torch.save({'model': student, 'model_ema': ema, 'epoch': 59,
                'previous_best': 80.5, 'previous_best_ema': 81.25}, src)
    tool = _tool()
    # the tiny ViT stands for a released size (the CLI detects only those)
    monkeypatch.setattr(tool, 'dinov2_arch_of',
                        lambda state: dict(dino_ref.TINY))
    both, ema_only = str(tmp_path / 'both.pth'), str(tmp_path / 'ema.pth')
    tool.main([src, both])
    tool.main([src, ema_only, '--model', 'ema'])
    ckpt = torch.load(both, weights_only=True)
    assert ckpt['meta']['official_previous_best_ema'] == 81.25
    assert ckpt['meta']['official_model'] == 'both'
    assert len(ckpt['meta']['dataset_meta']['classes']) == 21  # VOC
    keys = set(ckpt['state_dict'])
    assert {k.split('.')[0] for k in keys} == {'student', 'teacher'}
    plain = torch.load(ema_only, weights_only=True)['state_dict']
    assert set(plain) == {k[len('teacher.'):] for k in keys
                          if k.startswith('teacher.')}
    for k, v in plain.items():
        assert torch.equal(v, ckpt['state_dict']['teacher.' + k])
    head = dict(type='UniMatchV2DPTHead', in_channels=EMBED,
                channels=FEATURES, level_channels=LEVELS, num_classes=21)
    net = MODELS.build(
        dict(type='EncoderDecoder',
             backbone=dict(type='DINOv2ViT', arch=dict(dino_ref.TINY),
                           out_indices=(0, 1, 2, 3)),
             decode_head=head))
    load_checkpoint(net, ema_only, strict=True)
    assert torch.equal(net.decode_head.conv_seg.weight,
                       ema['module.head.scratch.output_conv.2.weight'])


# ---------------------------------------------------------------------------
# UniMatch V2's Cityscapes sliding window is slide_official window='shift'


def ref_unimatch_v2_slide(seg, img, grid):
    """UniMatch-V2 supervised.py:47-63: windows at 0, s, 2s, ... and a last
    one shifted back to the border (``min(col + s, w - grid)``), softmax
    summed."""
    b, _, h, w = img.shape
    final = torch.zeros(b, NUM_CLASSES, h, w)
    row = 0
    while row < h:
        col = 0
        while col < w:
            pred = _net(seg, img[:, :, row:row + grid, col:col + grid])
            final[:, :, row:row + grid, col:col + grid] += pred.softmax(1)
            if col == w - grid:
                break
            col = min(col + int(grid * 2 / 3), w - grid)
        if row == h - grid:
            break
        row = min(row + int(grid * 2 / 3), h - grid)
    return final


def test_unimatch_v2_windows_by_hand():
    from mmsss.models.utils.slide_inference import window_starts

    # Cityscapes 1024 x 2048, 798 / 532: the last window ends at the border
    assert window_starts(1024, 798, 532, 'shift') == [(0, 798), (226, 1024)]
    assert window_starts(2048, 798, 532, 'shift') == [
        (0, 798), (532, 1330), (1064, 1862), (1250, 2048)]
    # 'truncate' would cut a 492-row window (no multiple of 14)
    assert window_starts(1024, 798, 532, 'truncate')[-1] == (532, 1024)


@pytest.mark.parametrize('size', [(45, 61), (21, 50)])
def test_slide_official_shift_matches_unimatch_v2_loop(size):
    crop = 21
    model = tiny_semi_model()
    _randomise(model.teacher, 6, keep=True)
    model.eval()
    img = torch.randn(1, 3, *size, generator=torch.Generator().manual_seed(8))

    def predict(**test_cfg):
        model.teacher.test_cfg = ConfigDict(
            mode='slide_official', crop_size=crop, stride=int(crop * 2 / 3),
            **test_cfg)
        with torch.no_grad():
            out = model.predict(img, [make_sample(size=size)])[0]
        return out.seg_logits.data.softmax(0), out.pred_sem_seg.data[0]

    with torch.no_grad():
        ref = ref_unimatch_v2_slide(model.teacher, img, crop)[0]
    probs, pred = predict(window='shift', flip=False)
    assert torch.equal(pred, ref.argmax(0))
    assert torch.allclose(probs, ref / ref.sum(0, keepdim=True), atol=1e-5)
    truncated, _ = predict(window='truncate')
    assert not torch.allclose(truncated, ref / ref.sum(0, keepdim=True),
                              atol=1e-3)
