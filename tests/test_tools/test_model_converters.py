"""tools/model_converters/*2mmseg.py: refusals of files that do not fit,
and the converted checkpoint through ``tools/test.py`` and
``mmseg.apis.init_model``/``inference_model``.

The numerical equivalence of each official network with our model after
conversion is tested in tests/test_models/test_official_arch.py (whose
reference networks this file reuses).
"""
import importlib.util
import os.path as osp

import numpy as np
import pytest
import torch

import mmsss  # noqa: F401
from mmsss.utils.official_weights import (OfficialWeightsError,
                                          convert_deepstem_resnet,
                                          dataset_meta_for)

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def _load(path, name):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _tool(name):
    return _load(osp.join(REPO, 'tools', 'model_converters', f'{name}.py'),
                 f'_conv_{name}')


ref = _load(osp.join(REPO, 'tests', 'test_models', 'test_official_arch.py'),
            '_official_arch_refs')


def _fails(tool, argv, *expected):
    """The tool exits with an 'error: ...' message containing ``expected``."""
    with pytest.raises(SystemExit) as exc:
        _tool(tool).main(argv)
    msg = str(exc.value.code)
    assert msg.startswith('error: '), msg
    for text in expected:
        assert text in msg, (text, msg)
    return msg


@pytest.fixture(scope='module')
def r50_state():
    """Official key layout of the deep-stem ResNet-50 (+ fc)."""
    net = ref.RefDeepStemResNet((3, 4, 6, 3))
    net.fc = torch.nn.Linear(2048, 1000)
    return net.state_dict()


def test_truncated_and_missing_files_are_refused(tmp_path, r50_state):
    src = str(tmp_path / 'resnet50.pth')
    torch.save(r50_state, src)
    with open(src, 'rb') as f:
        head = f.read(4096)
    bad = str(tmp_path / 'resnet50_truncated.pth')
    with open(bad, 'wb') as f:
        f.write(head)
    dst = str(tmp_path / 'out.pth')
    _fails('deepstem_resnet2mmseg', [bad, dst], bad,
           'cannot be read as a weights-only torch checkpoint')
    _fails('deepstem_resnet2mmseg', [str(tmp_path / 'nope.pth'), dst],
           'no such file')
    assert not osp.exists(dst)


def test_weights_without_num_batches_tracked_are_completed(r50_state):
    """Old ImageNet weights (torch < 0.4.1) have no num_batches_tracked;
    the result still has every key of the model (strict loading)."""
    old = {k: v for k, v in r50_state.items()
           if not k.endswith('num_batches_tracked')}
    assert len(old) < len(r50_state)
    state, info = convert_deepstem_resnet(old, 'old.pth')
    assert info['depth'] == 50 and info['dropped'] == ['fc.weight', 'fc.bias']
    added = [k for k in state if k.endswith('num_batches_tracked')]
    assert len(added) == len(r50_state) - len(old)
    assert all(state[k].item() == 0 for k in added)
    assert len(state) == len(r50_state) - 2  # all but fc


def test_foreign_and_incomplete_backbones_are_refused(tmp_path, r50_state):
    dst = str(tmp_path / 'out.pth')
    # torchvision's ResNet-50 (7x7 stem conv1 + bn1): conv1.weight unmapped
    tv = {k: v for k, v in r50_state.items() if not k.startswith('conv1.')}
    tv['conv1.weight'] = torch.zeros(64, 3, 7, 7)
    src = str(tmp_path / 'torchvision_r50.pth')
    torch.save(tv, src)
    _fails('deepstem_resnet2mmseg', [src, dst], src,
           '1 keys could not be mapped', 'conv1.weight')
    # mmseg's own V1c weights are no official layout either
    torch.save(dict(state_dict={'stem.0.weight': torch.zeros(32, 3, 3, 3)}),
               src)
    _fails('deepstem_resnet2mmseg', [src, dst], 'stem.0.weight')
    # a block missing (truncated state dict): the missing keys are listed
    part = {k: v for k, v in r50_state.items()
            if not k.startswith('layer4.2.')}
    torch.save(part, src)
    msg = _fails('deepstem_resnet2mmseg', [src, dst], 'weights missing',
                 'layer4.2.conv1.weight')
    assert 'num_batches_tracked' not in msg  # those may be absent
    # one tensor of another shape (e.g. a 32-32-64 stem)
    wrong = dict(r50_state)
    wrong['conv1.6.weight'] = torch.zeros(64, 64, 3, 3)
    torch.save(wrong, src)
    _fails('deepstem_resnet2mmseg', [src, dst], 'weights of another shape',
           'stem.6.weight: (64, 64, 3, 3), expected (128, 64, 3, 3)')
    # no depth that exists
    odd = {k: v for k, v in r50_state.items()
           if not k.startswith('layer3.5.')}
    with pytest.raises(OfficialWeightsError, match='found 5 blocks'):
        convert_deepstem_resnet(odd, 'odd.pth')
    assert not osp.exists(dst)


def test_segmentor_converters_refuse_the_other_layouts(tmp_path):
    """Key-level refusals (a few small tensors with the official names)."""
    t = torch.zeros(2)
    uni = {f'module.{k}': t for k in (
        'backbone.conv1.0.weight', 'head.b0.0.weight', 'reduce.0.weight',
        'fuse.0.weight', 'classifier.weight', 'classifier.bias')}
    src_uni = str(tmp_path / 'unimatch_best.pth')
    torch.save(dict(model=uni, epoch=1, previous_best=70.), src_uni)
    dst = str(tmp_path / 'out.pth')
    # a UniMatch checkpoint holds no teacher_state / iMAS decoder
    _fails('imas2mmseg', [src_uni, dst], 'holds no teacher weights',
           'teacher_state', 'use --model student')
    _fails('imas2mmseg', [src_uni, dst, '--model', 'student'],
           'no decoder.classifier.6', 'not an iMAS/U2PL')
    # an iMAS checkpoint is no UniMatch one
    imas = {f'module.{k}': t for k in (
        'encoder.conv1.0.weight', 'encoder.bn1.weight',
        'decoder.low_conv.0.weight', 'decoder.classifier.6.weight',
        'auxor.aux.3.weight')}
    src_imas = str(tmp_path / 'imas_ckpt.pth')
    torch.save(dict(teacher_state=imas), src_imas)
    _fails('unimatch2mmseg', [src_imas, dst], "holds none of ['model'",
           'teacher_state')
    torch.save(imas, src_imas)  # a bare state dict: its keys are listed
    _fails('unimatch2mmseg', [src_imas, dst], '5 keys could not be mapped',
           'encoder.conv1.0.weight', 'decoder.low_conv.0.weight',
           'auxor.aux.3.weight')
    # semseg PSPNet keys are not a deep-stem (CPS) ResNet
    torch.save({'layer0.0.weight': t}, src_imas)
    _fails('deepstem_resnet2mmseg', [src_imas, dst], 'layer0.0.weight')
    assert not osp.exists(dst)
    with pytest.raises(OfficialWeightsError, match='pass the dataset'):
        dataset_meta_for(20)
    with pytest.raises(OfficialWeightsError,
                       match='cityscapes has 19 classes, the checkpoint 21'):
        dataset_meta_for(21, 'cityscapes')


def test_converted_imas_checkpoint_in_test_script_and_inference(
        tmp_path, tiny_cityscapes_root):
    """iMAS Cityscapes R50 teacher -> imas2mmseg -> tools/test.py and
    init_model/inference_model with configs/imas/cityscapes_1-8_official-
    arch.py (an IMASSegmentor: the plain checkpoint fills student and
    teacher) on a tiny Cityscapes; the inferred logits equal the reference
    network's."""
    from mmengine.config import Config
    from mmseg.apis import inference_model, init_model

    net = ref._randomize(ref.RefImasModel(19), 11)
    src = str(tmp_path / 'ckpt_best.pth')
    torch.save(dict(teacher_state=ref._module_state(net), epoch=240), src)
    ckpt = str(tmp_path / 'imas_cityscapes_r50_mmseg.pth')
    _tool('imas2mmseg').main([src, ckpt])

    cfg = Config.fromfile(osp.join(REPO, 'configs', 'imas',
                                   'cityscapes_1-8_official-arch.py'))
    cfg.test_dataloader.update(num_workers=0, persistent_workers=False)
    cfg.test_dataloader.dataset.update(data_root=tiny_cityscapes_root,
                                       ann_file='val.txt')
    # .json: mmengine formats .py dumps with yapf, seconds for this config
    cfg_path = str(tmp_path / 'imas_cityscapes_official_tiny.json')
    cfg.dump(cfg_path)

    test_tool = _load(osp.join(REPO, 'tools', 'test.py'), '_tools_test')
    metrics = test_tool.main([cfg_path, ckpt, '--work-dir',
                              str(tmp_path / 'work')])
    assert 0. <= metrics['mIoU'] <= 100.

    model = init_model(cfg_path, ckpt, device='cpu')
    assert model.dataset_meta['classes'][0] == 'road'
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 255, (33, 65, 3)).astype(np.uint8)
    result = inference_model(model, rgb[..., ::-1].copy())  # BGR in
    mean = torch.tensor([123.675, 116.28, 103.53]).view(1, 3, 1, 1)
    std = torch.tensor([58.395, 57.12, 57.375]).view(1, 3, 1, 1)
    x = (torch.from_numpy(rgb).permute(2, 0, 1)[None].float() - mean) / std
    with torch.no_grad():
        expected = net(x)[2][0]
    # the config evaluates with the official windows (slide_official, one
    # window here): its seg_logits are the log of the mean probabilities
    assert cfg.model.segmentor.test_cfg.mode == 'slide_official'
    diff = (result.seg_logits.data - expected.log_softmax(0)).abs().max()
    assert diff.item() < 1e-4, diff
    assert torch.equal(result.pred_sem_seg.data[0], expected.argmax(0))
