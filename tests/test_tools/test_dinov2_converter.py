"""tools/model_converters/dinov2_to_mmsss.py: an official DINOv2-S file
(random weights, official keys) converted, loaded strictly into
``DINOv2ViT('small')`` and compared with the test-only official forward of
tests/test_models/test_dinov2.py; the mmpretrain layout; refusals of files
that do not fit (each message names what was expected)."""
import importlib.util
import os.path as osp

import pytest
import torch

import mmsss  # noqa: F401
from mmsss.models.backbones import DINOv2ViT
from mmsss.models.backbones.dinov2 import convert_dinov2_state_dict
from mmsss.utils.official_weights import OfficialWeightsError

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def _load(path, name):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


tool = _load(
    osp.join(REPO, 'tools', 'model_converters', 'dinov2_to_mmsss.py'),
    '_conv_dinov2_to_mmsss')
ref = _load(osp.join(REPO, 'tests', 'test_models', 'test_dinov2.py'),
            '_dinov2_refs')


@pytest.fixture(scope='module')
def small_state():
    """DINOv2-S in the official layout (``dinov2_vits14_pretrain.pth``)."""
    return ref.official_dinov2_state(384, 12, seed=5)


def _fails(argv, *expected):
    with pytest.raises(SystemExit) as exc:
        tool.main(argv)
    msg = str(exc.value.code)
    assert msg.startswith('error: '), msg
    for text in expected:
        assert text in msg, (text, msg)


def test_official_file_converted_and_equal(tmp_path, small_state):
    src, dst = str(tmp_path / 'dinov2_vits14_pretrain.pth'), \
        str(tmp_path / 'out.pth')
    torch.save(small_state, src)
    tool.main([src, dst, '--arch', 'small'])
    ckpt = torch.load(dst, map_location='cpu', weights_only=True)
    assert ckpt['meta']['architecture'] == 'DINOv2ViT-small'
    assert 'mask_token' not in ckpt['state_dict']
    model = DINOv2ViT(arch='small')
    model.load_state_dict(ckpt['state_dict'], strict=True)
    x = ref._image(1, 42, 28)
    with torch.no_grad():
        ref.assert_taps_close(
            model.eval()(x),
            ref.ref_dinov2_forward(small_state, x, (2, 5, 8, 11), 6))


def test_mmpretrain_layout_passes_through(small_state):
    ours = convert_dinov2_state_dict(small_state)
    hosted = {'state_dict': {f'backbone.{k}': v for k, v in ours.items()},
              'meta': {'mmpretrain_version': '1.0.0rc8'}}
    state, arch = tool.convert(hosted, 'vit-small-p14_dinov2-pre.pth')
    assert arch == 'small'
    assert state.keys() == ours.keys()
    assert all(state[k] is ours[k] for k in ours)


def test_refusals(tmp_path, small_state):
    with pytest.raises(OfficialWeightsError, match='--arch is base'):
        tool.convert(small_state, 'vits14.pth', arch='base')
    # DINO v1 ViT-S/16: no LayerScale, 16 x 16 patches, 14 x 14 grid
    dino_v1 = {k: v for k, v in small_state.items() if '.ls' not in k}
    dino_v1['patch_embed.proj.weight'] = torch.zeros(384, 3, 16, 16)
    dino_v1['pos_embed'] = torch.zeros(1, 197, 384)
    with pytest.raises(OfficialWeightsError) as exc:
        tool.convert(dino_v1, 'dino_deitsmall16.pth')
    for text in ('dino_deitsmall16.pth does not fit', 'weights missing',
                 'layers.0.attn.gamma1.weight', 'patch_embed.projection.'
                 'weight: (384, 3, 16, 16), expected (384, 3, 14, 14)',
                 'pos_embed: (1, 197, 384), expected (1, 1370, 384)'):
        assert text in str(exc.value), (text, str(exc.value))
    tiny = ref.official_dinov2_state(24, 4, grid=5)
    with pytest.raises(OfficialWeightsError,
                       match='none of the released DINOv2 sizes'):
        tool.convert(tiny, 'tiny.pth')
    registers = dict(tiny, register_tokens=torch.zeros(1, 4, 24))
    with pytest.raises(OfficialWeightsError,
                       match='with registers \\(4 register tokens\\)'):
        tool.convert(registers, 'vits14_reg4.pth')
    whole = {'model': {f'module.backbone.{k}': v for k, v in tiny.items()}}
    whole['model']['module.head.scratch.output_conv.weight'] = torch.zeros(1)
    with pytest.raises(OfficialWeightsError,
                       match='whole network.*unimatch_v2_to_mmsss.py'):
        tool.convert(whole, 'best.pth')
    gap = {k: v for k, v in tiny.items() if k != 'blocks.2.norm2.weight'}
    with pytest.raises(OfficialWeightsError, match='layers.2.ln2.weight'):
        convert_dinov2_state_dict(gap, 'gap.pth')
    resnet = {'conv1.weight': torch.zeros(64, 3, 7, 7),
              'layer1.0.conv1.weight': torch.zeros(64, 64, 1, 1)}
    with pytest.raises(OfficialWeightsError,
                       match='(?s)resnet50.pth is not an official DINOv2 '
                       'encoder.*conv1.weight'):
        convert_dinov2_state_dict(resnet, 'resnet50.pth')
    missing = str(tmp_path / 'missing.pth')
    _fails([missing, str(tmp_path / 'o.pth')], missing, 'no such file')
    truncated = tmp_path / 'truncated.pth'
    torch.save(tiny, truncated)
    truncated.write_bytes(truncated.read_bytes()[:1000])
    _fails([str(truncated), str(tmp_path / 'o.pth')], 'cannot be read')
    assert not (tmp_path / 'o.pth').exists()
