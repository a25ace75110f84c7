"""The official networks, re-built here from their published layer lists,
against our mmseg modules after conversion of their checkpoints.

The ``Ref*`` modules below are written for this test from the architecture
descriptions (module names as the official code's, so their
``state_dict()`` has the official keys): the deep-stem ResNet of CPS/U2PL/
iMAS/UniMatch (3x3 stem 64-64-128 as ``conv1`` Sequential + ``bn1``,
torchvision dilation rules, iMAS multi-grid 2/2/4, max-pool ``ceil_mode``),
semseg's deep-base ResNet and PSPNet, iMAS's and UniMatch's DeepLabV3+ and
iMAS's auxiliary module. Each is filled with random weights and BN
statistics, saved as the official training script saves it, converted by
``tools/model_converters/*2mmseg.py`` and loaded strictly into the model our
config builds; logits must agree to 1e-5 (fp32, eval) at an odd size
(65: the official crops 321/513/769/801 are 8k+1) and at an even size (64,
where the max-pool's ``ceil_mode`` changes the feature size).
"""
import copy
import importlib.util
import os.path as osp

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.config import Config
from mmengine.model.utils import revert_sync_batchnorm
from mmseg.registry import MODELS

import mmsss  # noqa: F401
from mmsss.utils.checkpoint import load_checkpoint_checked
from mmsss.utils.official_weights import official_deeplabv3plus_cfg

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIGS = osp.join(REPO, 'configs')
ATOL = 1e-5
MAX_DIFF = {}  # network -> max |logit difference| (printed with -s)


def _tool(name):
    spec = importlib.util.spec_from_file_location(
        f'_conv_{name}', osp.join(REPO, 'tools', 'model_converters',
                                  f'{name}.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# ------------------------------------------------------------------ official
def _cbr(cin, cout, k=1, d=1, bias=False):
    return [nn.Conv2d(cin, cout, k, padding=d * (k // 2), dilation=d,
                      bias=bias), nn.BatchNorm2d(cout), nn.ReLU()]


class RefBottleneck(nn.Module):
    """1x1 - 3x3 (stride, dilation) - 1x1, shortcut 1x1/stride + BN."""

    def __init__(self, inplanes, planes, stride, dilation, shortcut):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride, dilation,
                               dilation, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, planes * 4, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * 4)
        if shortcut:
            self.downsample = nn.Sequential(
                nn.Conv2d(inplanes, planes * 4, 1, stride, bias=False),
                nn.BatchNorm2d(planes * 4))
        else:
            self.downsample = None

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = F.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        idt = x if self.downsample is None else self.downsample(x)
        return F.relu(out + idt)


class RefDeepStemResNet(nn.Module):
    """torchvision ResNet with the 64-64-128 stem.

    ``stem='cps'``: ``conv1`` = Sequential(conv, bn, relu, conv, bn, relu,
    conv) + ``bn1`` (CPS/U2PL/iMAS/UniMatch); ``stem='semseg'``: ``conv1
    bn1 conv2 bn2 conv3 bn3`` (+ ``fc``). ``dilate``: torchvision
    ``replace_stride_with_dilation`` (a dilated stage's first block keeps
    the previous rate); ``multi_grid``: iMAS grids 2/2/4 on the last stage.
    ``psp``: semseg's PSPNet edit (every 3x3 of layer3/4 at rate 2/4,
    strides 1).
    """

    def __init__(self, layers, dilate=(False, False, True),
                 multi_grid=False, ceil_mode=True, stem='cps', psp=False):
        super().__init__()
        self.stem_type = stem
        if stem == 'cps':
            self.conv1 = nn.Sequential(
                nn.Conv2d(3, 64, 3, 2, 1, bias=False), nn.BatchNorm2d(64),
                nn.ReLU(), nn.Conv2d(64, 64, 3, 1, 1, bias=False),
                nn.BatchNorm2d(64), nn.ReLU(),
                nn.Conv2d(64, 128, 3, 1, 1, bias=False))
            self.bn1 = nn.BatchNorm2d(128)
        else:
            self.conv1 = nn.Conv2d(3, 64, 3, 2, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(64)
            self.conv2 = nn.Conv2d(64, 64, 3, 1, 1, bias=False)
            self.bn2 = nn.BatchNorm2d(64)
            self.conv3 = nn.Conv2d(64, 128, 3, 1, 1, bias=False)
            self.bn3 = nn.BatchNorm2d(128)
            self.fc = nn.Linear(2048, 10)
        self.maxpool = nn.MaxPool2d(3, 2, 1, ceil_mode=ceil_mode)
        inplanes, rate = 128, 1
        for i, (planes, n) in enumerate(zip((64, 128, 256, 512), layers)):
            stride = 1 if i == 0 else 2
            prev = rate
            if i > 0 and dilate[i - 1]:
                rate, stride = rate * 2, 1
            grids = [2, 2, 4] if (multi_grid and i == 3) else [1] * n
            rates = [prev * grids[0]] + [rate * g for g in grids[1:]]
            if psp and i >= 2:
                rates, stride = [2 ** (i - 1)] * n, 1
            blocks = []
            for b in range(n):
                blocks.append(RefBottleneck(
                    inplanes, planes, stride if b == 0 else 1, rates[b],
                    b == 0 and (stride != 1 or inplanes != planes * 4)))
                inplanes = planes * 4
            setattr(self, f'layer{i + 1}', nn.Sequential(*blocks))

    def forward(self, x):
        if self.stem_type == 'cps':
            x = F.relu(self.bn1(self.conv1(x)))
        else:
            x = F.relu(self.bn1(self.conv1(x)))
            x = F.relu(self.bn2(self.conv2(x)))
            x = F.relu(self.bn3(self.conv3(x)))
        x = self.maxpool(x)
        outs = []
        for i in range(1, 5):
            x = getattr(self, f'layer{i}')(x)
            outs.append(x)
        return outs


def _up(x, size):
    return F.interpolate(x, size, mode='bilinear', align_corners=True)


class RefImasASPP(nn.Module):
    """conv1 = pooling branch, conv2 = 1x1, conv3-5 = 3x3 dilated; concat
    in that order."""

    def __init__(self, cin, c, rates):
        super().__init__()
        self.conv1 = nn.Sequential(nn.AdaptiveAvgPool2d(1), *_cbr(cin, c))
        self.conv2 = nn.Sequential(*_cbr(cin, c))
        for i, r in enumerate(rates):
            setattr(self, f'conv{i + 3}', nn.Sequential(*_cbr(cin, c, 3, r)))

    def forward(self, x):
        feats = [_up(self.conv1(x), x.shape[2:])]
        feats += [getattr(self, f'conv{i}')(x) for i in range(2, 6)]
        return torch.cat(feats, 1)


class RefImasDecoder(nn.Module):
    """low_conv (1x1 with bias) | ASPP -> head 1x1 -> up; cat(low, high);
    classifier = 3x3, 3x3, 1x1 (no dropout)."""

    def __init__(self, num_classes, rates=(6, 12, 18)):
        super().__init__()
        self.low_conv = nn.Sequential(*_cbr(256, 48, bias=True))
        self.aspp = RefImasASPP(2048, 256, rates)
        self.head = nn.Sequential(*_cbr(1280, 256))
        self.classifier = nn.Sequential(
            *_cbr(304, 256, 3), *_cbr(256, 256, 3),
            nn.Conv2d(256, num_classes, 1))

    def forward(self, feats):
        low = self.low_conv(feats[0])
        high = _up(self.head(self.aspp(feats[3])), low.shape[2:])
        return self.classifier(torch.cat([low, high], 1))


class RefImasModel(nn.Module):
    """iMAS ModelBuilder: encoder, decoder, auxor (3x3 256 + 1x1 on
    layer3); outputs upsampled with align_corners=True."""

    def __init__(self, num_classes, layers=(3, 4, 6, 3), os8=False):
        super().__init__()
        self.encoder = RefDeepStemResNet(
            layers, dilate=(False, os8, True), multi_grid=True)
        self.decoder = RefImasDecoder(
            num_classes, (12, 24, 36) if os8 else (6, 12, 18))
        self.auxor = nn.Module()
        self.auxor.aux = nn.Sequential(*_cbr(1024, 256, 3),
                                       nn.Conv2d(256, num_classes, 1))

    def forward(self, x):
        feats = self.encoder(x)
        low_res = self.decoder(feats)
        aux = self.auxor.aux(feats[2])
        return low_res, aux, _up(low_res, x.shape[2:])


class RefU2PLModel(RefImasModel):
    """U2PL's variant (u2pl/models/decoder.py): low_conv 256 -> 256 with
    bias; head 3x3 + Dropout2d; classifier with biased convs and a
    Dropout2d after each ReLU (indices 0,1 / 4,5 / 8); a training-only
    ``representation`` head; auxor with a biased 3x3 conv and dropout."""

    def __init__(self, num_classes, layers=(3, 4, 6, 3)):
        super().__init__(num_classes, layers)
        d = self.decoder
        d.low_conv = nn.Sequential(*_cbr(256, 256, bias=True))
        d.head = nn.Sequential(*_cbr(1280, 256, 3), nn.Dropout2d(0.1))
        d.classifier = nn.Sequential(
            *_cbr(512, 256, 3, bias=True), nn.Dropout2d(0.1),
            *_cbr(256, 256, 3, bias=True), nn.Dropout2d(0.1),
            nn.Conv2d(256, num_classes, 1))
        d.representation = nn.Sequential(
            *_cbr(512, 256, 3, bias=True), nn.Dropout2d(0.1),
            *_cbr(256, 256, 3, bias=True), nn.Dropout2d(0.1),
            nn.Conv2d(256, 256, 1))
        self.auxor.aux = nn.Sequential(*_cbr(1024, 256, 3, bias=True),
                                       nn.Dropout2d(0.1),
                                       nn.Conv2d(256, num_classes, 1))


class RefUniMatch(nn.Module):
    """UniMatch DeepLabV3Plus: backbone (no ceil_mode), head.b0 1x1,
    b1-b3 3x3, b4.gap pooling, project 1x1 over cat(b0..b4); reduce
    (1x1, no bias); fuse 3x3, 3x3; classifier."""

    def __init__(self, num_classes, layers=(3, 4, 6, 3), rates=(6, 12, 18)):
        super().__init__()
        self.backbone = RefDeepStemResNet(layers, ceil_mode=False)
        self.head = nn.Module()
        self.head.b0 = nn.Sequential(*_cbr(2048, 256))
        for i, r in enumerate(rates):
            setattr(self.head, f'b{i + 1}',
                    nn.Sequential(*_cbr(2048, 256, 3, r)))
        self.head.b4 = nn.Module()
        self.head.b4.gap = nn.Sequential(nn.AdaptiveAvgPool2d(1),
                                         *_cbr(2048, 256))
        self.head.project = nn.Sequential(*_cbr(1280, 256))
        self.reduce = nn.Sequential(*_cbr(256, 48))
        self.fuse = nn.Sequential(*_cbr(304, 256, 3), *_cbr(256, 256, 3))
        self.classifier = nn.Conv2d(256, num_classes, 1)

    def forward(self, x):
        c1, _, _, c4 = self.backbone(x)
        h = self.head
        feats = [getattr(h, f'b{i}')(c4) for i in range(4)]
        feats.append(_up(h.b4.gap(c4), c4.shape[2:]))
        c4 = _up(h.project(torch.cat(feats, 1)), c1.shape[2:])
        low_res = self.classifier(self.fuse(torch.cat([self.reduce(c1), c4],
                                                      1)))
        return low_res, None, _up(low_res, x.shape[2:])


class RefPSPNet(nn.Module):
    """semseg PSPNet: layer0 = (conv1 bn1 relu conv2 bn2 relu conv3 bn3 relu
    maxpool), ppm.features (pool, 1x1 512, BN, ReLU) for bins 1/2/3/6,
    cls (3x3 512, BN, ReLU, drop, 1x1), aux on layer3."""

    def __init__(self, num_classes, layers=(3, 4, 6, 3)):
        super().__init__()
        r = RefDeepStemResNet(layers, ceil_mode=False, stem='semseg',
                              psp=True)
        self.layer0 = nn.Sequential(r.conv1, r.bn1, nn.ReLU(), r.conv2, r.bn2,
                                    nn.ReLU(), r.conv3, r.bn3, nn.ReLU(),
                                    r.maxpool)
        self.layer1, self.layer2 = r.layer1, r.layer2
        self.layer3, self.layer4 = r.layer3, r.layer4
        self.ppm = nn.Module()
        self.ppm.features = nn.ModuleList(
            nn.Sequential(nn.AdaptiveAvgPool2d(b), *_cbr(2048, 512))
            for b in (1, 2, 3, 6))
        self.cls = nn.Sequential(*_cbr(4096, 512, 3), nn.Dropout2d(0.1),
                                 nn.Conv2d(512, num_classes, 1))
        self.aux = nn.Sequential(*_cbr(1024, 256, 3), nn.Dropout2d(0.1),
                                 nn.Conv2d(256, num_classes, 1))

    def forward(self, x):
        x3 = self.layer3(self.layer2(self.layer1(self.layer0(x))))
        x4 = self.layer4(x3)
        ppm = [x4] + [_up(f(x4), x4.shape[2:]) for f in self.ppm.features]
        low_res = self.cls(torch.cat(ppm, 1))
        return low_res, self.aux(x3), _up(low_res, x.shape[2:])


def _randomize(module, seed):
    """Random weights and BN statistics, damped so that logits stay O(1)."""
    g = torch.Generator().manual_seed(seed)
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            fan_in = m.weight[0].numel()
            m.weight.data = torch.randn(m.weight.shape, generator=g) * \
                (1.0 / fan_in) ** 0.5
            if m.bias is not None:
                m.bias.data = torch.randn(m.bias.shape, generator=g) * 0.1
        elif isinstance(m, nn.BatchNorm2d):
            n = m.num_features
            m.weight.data = torch.rand(n, generator=g) * 0.5 + 0.5
            m.bias.data = torch.randn(n, generator=g) * 0.1
            m.running_mean = torch.randn(n, generator=g) * 0.1
            m.running_var = torch.rand(n, generator=g) + 0.5
            m.num_batches_tracked = torch.tensor(7)
    for m in module.modules():
        if isinstance(m, RefBottleneck):
            m.bn3.weight.data *= 0.3  # keep 16-33 residual sums bounded
    return module.eval()


def _module_state(model):
    return {f'module.{k}': v for k, v in model.state_dict().items()}


def _our_model(cfg):
    cfg = copy.deepcopy(cfg)
    cfg.pop('pretrained', None)
    cfg.pop('init_cfg', None)
    cfg['backbone'].pop('init_cfg', None)
    cfg['data_preprocessor'] = None
    return revert_sync_batchnorm(MODELS.build(cfg)).eval()


def _compare(name, ref, ours, sizes=(65, 64), aux=True):
    """Low-res logits, aux logits and full-size logits of both models."""
    worst = 0.
    for size in sizes:
        x = torch.randn(1, 3, size, size,
                        generator=torch.Generator().manual_seed(size))
        with torch.no_grad():
            r_low, r_aux, r_full = ref(x)
            feats = ours.extract_feat(x)
            o_low = ours.decode_head.forward(feats)
            meta = [dict(img_shape=(size, size), ori_shape=(size, size))]
            o_full = ours.encode_decode(x, meta)
            pairs = [(r_low, o_low), (r_full, o_full)]
            if aux:
                pairs.append((r_aux, ours.auxiliary_head.forward(feats)))
        for r, o in pairs:
            assert r.shape == o.shape, (name, size, r.shape, o.shape)
            assert r.abs().max() > 1e-2  # not a degenerate all-zero output
            worst = max(worst, (r - o).abs().max().item())
            assert torch.allclose(r, o, atol=ATOL, rtol=0), (
                name, size, (r - o).abs().max().item())
    MAX_DIFF[name] = max(MAX_DIFF.get(name, 0.), worst)
    print(f'\n{name}: max |logit diff| {worst:.3g} over sizes {sizes}')
    return worst


@pytest.fixture(scope='module')
def imas_cityscapes(tmp_path_factory):
    """An iMAS Cityscapes R50 checkpoint (student and EMA teacher differ)."""
    tmp = tmp_path_factory.mktemp('imas')
    teacher = _randomize(RefImasModel(19), 1)
    student = _randomize(RefImasModel(19), 2)
    src = str(tmp / 'ckpt_best.pth')
    torch.save(
        dict(epoch=3, model_state=_module_state(student),
             optimizer_state=dict(state={}, param_groups=[dict(lr=0.01)]),
             teacher_state=_module_state(teacher), best_miou=0.5), src)
    return dict(src=src, teacher=teacher, student=student, tmp=tmp)


def test_imas_deeplabv3plus_r50_cityscapes_config_matches(imas_cityscapes):
    """iMAS Cityscapes (R50, OS16, multi-grid, aux 1024) -> our
    configs/imas/cityscapes_1-8_official-arch.py segmentor."""
    dst = str(imas_cityscapes['tmp'] / 'teacher_mmseg.pth')
    _tool('imas2mmseg').main([imas_cityscapes['src'], dst])
    cfg = Config.fromfile(
        osp.join(CONFIGS, 'imas', 'cityscapes_1-8_official-arch.py'))
    ours = _our_model(cfg.model.segmentor)
    ckpt = load_checkpoint_checked(ours, dst, strict=True)
    meta = ckpt['meta']['dataset_meta']
    assert meta['classes'][0] == 'road' and len(meta['palette']) == 19
    _compare('iMAS DeepLabV3+ R50 (OS16, multi-grid) + aux',
             imas_cityscapes['teacher'], ours)
    # output stride 8 (config_semi_os8.yaml): the same weights
    ref_os8 = RefImasModel(19, os8=True).eval()
    ref_os8.load_state_dict(imas_cityscapes['teacher'].state_dict())
    cfg = Config.fromfile(
        osp.join(CONFIGS, 'imas', 'cityscapes_1-8_os8_official-arch.py'))
    ours = _our_model(cfg.model.segmentor)
    load_checkpoint_checked(ours, dst, strict=True)
    _compare('iMAS DeepLabV3+ R50 (OS8, multi-grid) + aux', ref_os8, ours,
             sizes=(65, ))
    # --model student takes model_state, which is another network
    dst_s = str(imas_cityscapes['tmp'] / 'student_mmseg.pth')
    _tool('imas2mmseg').main([imas_cityscapes['src'], dst_s, '--model',
                              'student'])
    state = torch.load(dst_s, weights_only=True)['state_dict']
    student = imas_cityscapes['student'].state_dict()
    for ours_key, official_key in [
        ('decode_head.conv_seg.weight', 'decoder.classifier.6.weight'),
        ('backbone.stem.7.running_var', 'encoder.bn1.running_var'),
        ('auxiliary_head.conv_seg.bias', 'auxor.aux.3.bias'),
    ]:
        assert torch.equal(state[ours_key], student[official_key])
        assert not torch.equal(
            state[ours_key],
            imas_cityscapes['teacher'].state_dict()[official_key])


def test_u2pl_deeplabv3plus_r50_matches(tmp_path):
    """U2PL's decoder options (256-channel low level, 3x3 projection,
    biased fusion convs); its representation head is dropped and its
    biased auxiliary head needs --no-aux."""
    ref = _randomize(RefU2PLModel(21), 7)
    src = str(tmp_path / 'ckpt.pth')
    torch.save(dict(epoch=1, teacher_state=_module_state(ref),
                    model_state=_module_state(ref)), src)
    dst = str(tmp_path / 'u2pl_mmseg.pth')
    with pytest.raises(SystemExit, match='--no-aux'):
        _tool('imas2mmseg').main([src, dst])
    _tool('imas2mmseg').main([src, dst, '--no-aux'])
    ours = _our_model(official_deeplabv3plus_cfg(50, 21, 'u2pl',
                                                 c1_channels=256))
    load_checkpoint_checked(ours, dst, strict=True)
    _compare('U2PL DeepLabV3+ R50 (OS16, multi-grid)', ref, ours,
             sizes=(65, ), aux=False)


def test_unimatch_deeplabv3plus_r50_matches(tmp_path):
    """UniMatch (R50, no ceil_mode, no multi-grid, branch order
    b0..b3, pooling) -> the official_deeplabv3plus_r50_unimatch switch of
    configs/_base_/models/official_arch_overrides.py."""
    ref = _randomize(RefUniMatch(21), 3)
    src = str(tmp_path / 'best.pth')
    torch.save(dict(model=_module_state(ref), optimizer={}, epoch=5,
                    previous_best=71.5), src)
    dst = str(tmp_path / 'unimatch_mmseg.pth')
    _tool('unimatch2mmseg').main([src, dst])
    models = osp.join(CONFIGS, '_base_', 'models')
    cfg_file = tmp_path / 'unimatch_r50.py'
    cfg_file.write_text(
        f"_base_ = [{osp.join(models, 'deeplabv3plus_r50-d16.py')!r},\n"
        f"          {osp.join(models, 'official_arch_overrides.py')!r}]\n"
        'model = _base_.official_deeplabv3plus_r50_unimatch\n')
    ours = _our_model(Config.fromfile(str(cfg_file)).model)
    ckpt = load_checkpoint_checked(ours, dst, strict=True)
    assert ckpt['meta']['dataset_meta']['classes'][0] == 'background'
    assert ckpt['meta']['official_best_miou'] == 71.5
    _compare('UniMatch DeepLabV3+ R50', ref, ours, aux=False)


def test_semseg_pspnet50_dars_config_matches(tmp_path):
    """semseg/DARS PSPNet-50 (deep base, OS8 without contracted dilation,
    align_corners=True) -> configs/dars official-arch segmentor; and
    resnet50_v2.pth (with fc) -> its backbone."""
    ref = _randomize(RefPSPNet(21), 4)
    src = str(tmp_path / 'train_epoch_50.pth')
    torch.save(dict(epoch=50, state_dict=_module_state(ref),
                    optimizer={}), src)
    dst = str(tmp_path / 'pspnet_mmseg.pth')
    _tool('semseg_resnet2mmseg').main(['--pspnet', src, dst])
    cfg = Config.fromfile(
        osp.join(CONFIGS, 'dars', 'voc_1464_pspnet50_321_official-arch.py'))
    seg = cfg.model.get('segmentor', cfg.model)
    ours = _our_model(seg)
    load_checkpoint_checked(ours, dst, strict=True)
    _compare('semseg/DARS PSPNet-50', ref, ours, sizes=(65, ))

    # ImageNet resnet50_v2.pth layout: conv1 bn1 conv2 bn2 conv3 bn3 + fc;
    # every tensor must land on the stem/stage module named by hand here
    with torch.device('meta'):
        net = RefDeepStemResNet((3, 4, 6, 3), ceil_mode=False, stem='semseg')
    net = net.to_empty(device='cpu')
    official = net.state_dict()
    with torch.no_grad():
        for i, t in enumerate(official.values()):
            t.fill_(i)
    src = str(tmp_path / 'resnet50_v2.pth')
    torch.save(official, src)
    dst = str(tmp_path / 'resnet50_v2_mmseg.pth')
    _tool('semseg_resnet2mmseg').main([src, dst])
    state = torch.load(dst, weights_only=True)['state_dict']
    stem = dict(conv1='stem.0', bn1='stem.1', conv2='stem.3', bn2='stem.4',
                conv3='stem.6', bn3='stem.7')
    expected = {}
    for k, v in official.items():
        module, param = k.split('.', 1)
        if module == 'fc':
            continue
        expected[f'{stem.get(module, module)}.{param}'] = v
    assert sorted(state) == sorted(expected)
    assert all(torch.equal(state[k], v) for k, v in expected.items())
    with torch.device('meta'):
        backbone = MODELS.build(dict(seg.backbone, init_cfg=None))
    own = backbone.state_dict()
    assert sorted(own) == sorted(state)
    assert all(own[k].shape == state[k].shape for k in own)


def test_deepstem_imagenet_weights_r50_forward_and_r101_keys(tmp_path):
    """CPS/U2PL resnet50.pth/resnet101.pth (bare state dict, with fc) ->
    the backbone of the official-arch base configs (strict)."""
    net = _randomize(RefDeepStemResNet((3, 4, 6, 3), multi_grid=True), 6)
    net.fc = nn.Linear(2048, 1000)
    src = str(tmp_path / 'resnet50.pth')
    torch.save(net.state_dict(), src)
    dst = str(tmp_path / 'resnet50_deepstem_mmseg.pth')
    _tool('deepstem_resnet2mmseg').main([src, dst])
    cfg = Config.fromfile(osp.join(
        CONFIGS, '_base_', 'models', 'deeplabv3plus_r50-official.py'))
    assert cfg.model.backbone.init_cfg.checkpoint.endswith(
        'resnet50_deepstem_mmseg.pth')
    # loaded the way training loads it: init_cfg=Pretrained, init_weights()
    backbone = revert_sync_batchnorm(MODELS.build(
        dict(cfg.model.backbone,
             init_cfg=dict(type='Pretrained', checkpoint=dst))))
    backbone.init_weights()
    backbone.eval()
    state = torch.load(dst, weights_only=True)['state_dict']
    assert sorted(state) == sorted(backbone.state_dict())  # strict keys
    worst = 0.
    for size in (65, 64):
        x = torch.randn(1, 3, size, size,
                        generator=torch.Generator().manual_seed(size))
        with torch.no_grad():
            for r, o in zip(net(x), backbone(x)):
                assert r.shape == o.shape, (size, r.shape, o.shape)
                worst = max(worst, (r - o).abs().max().item())
    assert worst < ATOL
    MAX_DIFF['deep-stem R50 backbone (4 stages)'] = worst

    # ResNet-101: key layout only (a forward would double the test time)
    with torch.device('meta'):  # no init: one distinct value per tensor
        net101 = RefDeepStemResNet((3, 4, 23, 3))
    net101 = net101.to_empty(device='cpu')
    with torch.no_grad():
        for i, t in enumerate(net101.state_dict().values()):
            t.fill_(i)
    src = str(tmp_path / 'resnet101.pth')
    torch.save(net101.state_dict(), src)
    dst = str(tmp_path / 'resnet101_deepstem_mmseg.pth')
    _tool('deepstem_resnet2mmseg').main([src, dst])
    cfg = Config.fromfile(osp.join(
        CONFIGS, '_base_', 'models', 'deeplabv3plus_r101-official.py'))
    with torch.device('meta'):
        b101 = MODELS.build(dict(cfg.model.backbone, init_cfg=None))
    state = torch.load(dst, weights_only=True)['state_dict']
    own = b101.state_dict()
    assert sorted(own) == sorted(state)
    assert all(own[k].shape == state[k].shape for k in own)
    ref = net101.state_dict()
    assert torch.equal(state['stem.7.running_var'], ref['bn1.running_var'])
    assert torch.equal(state['stem.6.weight'], ref['conv1.6.weight'])
    assert torch.equal(state['layer3.22.conv2.weight'],
                       ref['layer3.22.conv2.weight'])


def test_deepstem_r101_forward_matches(tmp_path):
    """CPS/U2PL resnet101.pth -> the R-101 backbone of the official-arch
    configs: the same features as the official layers at an 8k+1 size
    (one size: the layers are R-50's, with 23 blocks in layer3)."""
    net = _randomize(RefDeepStemResNet((3, 4, 23, 3), multi_grid=True), 7)
    net.eval()
    src = str(tmp_path / 'resnet101.pth')
    torch.save(net.state_dict(), src)
    dst = str(tmp_path / 'resnet101_deepstem_mmseg.pth')
    _tool('deepstem_resnet2mmseg').main([src, dst])
    cfg = Config.fromfile(osp.join(
        CONFIGS, '_base_', 'models', 'deeplabv3plus_r101-official.py'))
    backbone = revert_sync_batchnorm(MODELS.build(
        dict(cfg.model.backbone,
             init_cfg=dict(type='Pretrained', checkpoint=dst))))
    backbone.init_weights()
    backbone.eval()
    x = torch.randn(1, 3, 65, 65, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        pairs = list(zip(net(x), backbone(x)))
    assert all(r.shape == o.shape for r, o in pairs)
    worst = max((r - o).abs().max().item() for r, o in pairs)
    assert worst < ATOL
    MAX_DIFF['deep-stem R101 backbone (4 stages)'] = worst
