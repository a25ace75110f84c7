"""tools/infer.py on the synthetic configs: an image, a folder and a video;
teacher/student choice; plain configs with teacher-student checkpoints; the
errors. The expected label maps come from the model's own ``predict`` on
inputs resized here with ``mmcv.imrescale`` (not through the inferencer's
pipeline), with weights loaded by ``torch.nn.Module.load_state_dict``."""
import importlib.util
import os
import os.path as osp

import cv2
import mmcv
import numpy as np
import pytest
import torch

import mmsss  # noqa: F401

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
MT_CONFIG = osp.join(REPO, 'configs/mean_teacher/synthetic_1-16.py')
SYNTHETIC_SCALE = (64, 64)  # Resize(scale=(64, 64), keep_ratio=True)


def _load_tool():
    spec = importlib.util.spec_from_file_location(
        '_tools_infer', osp.join(REPO, 'tools', 'infer.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


infer = _load_tool()


def _infer(argv):
    """tools/infer.py on CPU, where the references are computed."""
    return infer.main(argv + ['--device', 'cpu'])


def _build(cfg_or_path):
    from mmengine.config import Config
    from mmseg.registry import MODELS
    from mmseg.utils import register_all_modules
    register_all_modules(init_default_scope=True)
    torch.manual_seed(0)  # the initial weights
    cfg = Config.fromfile(cfg_or_path) if isinstance(cfg_or_path,
                                                     str) else cfg_or_path
    return MODELS.build(cfg.model).eval()


def _randomize_classifiers(model, seed):
    """Batch-norm statistics of a few images and random classifiers (convs
    with num_classes outputs), so that an untrained net predicts several
    classes and two seeds predict differently."""
    g = torch.Generator().manual_seed(seed)
    bns = [m for m in model.modules()
           if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    for m in bns:
        m.reset_running_stats()
        m.momentum = None  # cumulative average
    was_training = {m: m.training for m in model.modules()}
    for m in bns:
        m.train()
    with torch.no_grad():
        for i in range(2):
            x = torch.from_numpy(_image(100 + i, 70, 70)).permute(
                2, 0, 1)[None].float()
            model.extract_feat((x - 120.) / 60.)  # 70: a multiple of 14
    for m, flag in was_training.items():
        m.train(flag)
    n = 0
    for m in model.modules():
        if isinstance(m, torch.nn.Conv2d) and m.out_channels == 7:
            with torch.no_grad():
                m.weight.copy_(torch.randn(m.weight.shape, generator=g))
                m.bias.normal_(0, 0.1, generator=g)
            n += 1
    assert n, 'no classifier found'


def _save(state, path, meta=None):
    torch.save(dict(meta=meta or {}, state_dict=state), path)
    return str(path)


def _image(seed, h=40, w=56):
    """Blocks of random colours (a smooth image gives several classes)."""
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 256, (5, 7, 3), dtype=np.uint8)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_NEAREST)


def _expected_labels(module, image_bgr, predict_on=None):
    """``module.predict`` on the image resized as the synthetic test
    pipeline does (keep-ratio rescale into 64x64); ``predict_on`` sets a
    teacher-student model's ``semi_test_cfg.predict_on`` first."""
    from mmseg.structures import SegDataSample
    if predict_on is not None:
        module.semi_test_cfg['predict_on'] = predict_on
    resized = mmcv.imrescale(image_bgr, SYNTHETIC_SCALE)
    x = torch.from_numpy(np.ascontiguousarray(resized)).permute(2, 0, 1)
    sample = SegDataSample(metainfo=dict(
        ori_shape=image_bgr.shape[:2], img_shape=resized.shape[:2]))
    with torch.no_grad():
        data = module.data_preprocessor(dict(inputs=[x],
                                             data_samples=[sample]), False)
        pred = module.predict(data['inputs'], data['data_samples'])[0]
    return pred.pred_sem_seg.data[0].numpy()


def _read_label(path):
    label = cv2.imread(path, cv2.IMREAD_UNCHANGED)
    assert label is not None, path
    assert label.dtype == np.uint8 and label.ndim == 2
    return label


@pytest.fixture(scope='module')
def mean_teacher(tmp_path_factory):
    """The mean-teacher synthetic model, teacher and student with other
    classifiers, saved as an mmengine checkpoint."""
    tmp = tmp_path_factory.mktemp('infer_mt')
    model = _build(MT_CONFIG)
    _randomize_classifiers(model.teacher, 1)
    _randomize_classifiers(model.student, 2)
    ckpt = _save(model.state_dict(), tmp / 'iter_1500.pth')
    return dict(model=model, ckpt=ckpt, tmp=tmp)


def test_image_label_and_overlay_teacher_then_student(mean_teacher):
    tmp, model = mean_teacher['tmp'], mean_teacher['model']
    img = _image(0)
    src = str(tmp / 'one.jpg')
    cv2.imwrite(src, img, [cv2.IMWRITE_JPEG_QUALITY, 100])
    img = cv2.imread(src)  # what the pipeline reads (JPEG-decoded)
    out = str(tmp / 'out_image')
    assert _infer([MT_CONFIG, mean_teacher['ckpt'], src, '--out-dir',
                       out, '--opacity', '0.3', '--no-progress']) == 1
    label = _read_label(osp.join(out, 'pred', 'one.png'))
    want = _expected_labels(model, img, 'teacher')
    assert label.shape == img.shape[:2]
    assert len(np.unique(want)) > 1
    np.testing.assert_array_equal(label, want)
    # overlay: (1 - a) image + a colour, colours of the synthetic palette
    from mmsss.datasets.synthetic import SYNTHETIC_PALETTE
    vis = cv2.imread(osp.join(out, 'vis', 'one.png'))
    colour = np.asarray(SYNTHETIC_PALETTE, np.float64)[label][..., ::-1]
    blend = 0.7 * img.astype(np.float64) + 0.3 * colour
    assert np.abs(vis.astype(np.float64) - blend).max() <= 0.5 + 1e-9

    # --model student: the student's prediction, which differs here
    out_s = str(tmp / 'out_student')
    _infer([MT_CONFIG, mean_teacher['ckpt'], src, '--out-dir', out_s,
                '--model', 'student', '--opacity', '0', '--no-progress'])
    label_s = _read_label(osp.join(out_s, 'pred', 'one.png'))
    np.testing.assert_array_equal(label_s,
                                  _expected_labels(model, img, 'student'))
    assert (label_s != label).any()
    # opacity 0: the overlay is the input itself
    np.testing.assert_array_equal(
        cv2.imread(osp.join(out_s, 'vis', 'one.png')), img)


def test_folder_recursive_batched(mean_teacher):
    tmp, model = mean_teacher['tmp'], mean_teacher['model']
    folder = tmp / 'folder'
    (folder / 'sub').mkdir(parents=True)
    (folder / '.hidden').mkdir()
    images = {'a': _image(1), 'sub/b': _image(2, 48, 32),
              'sub/c': _image(3, 30, 60)}
    for rel, arr in images.items():
        cv2.imwrite(str(folder / f'{rel}.png'), arr)
    cv2.imwrite(str(folder / '.hidden' / 'x.png'), images['a'])
    (folder / 'notes.txt').write_text('not an image')
    out = str(tmp / 'out_folder')
    assert _infer([MT_CONFIG, mean_teacher['ckpt'], str(folder),
                       '--out-dir', out, '--batch-size', '2',
                       '--no-progress']) == 3
    for rel, arr in images.items():
        np.testing.assert_array_equal(
            _read_label(osp.join(out, 'pred', rel + '.png')),
            _expected_labels(model, arr, 'teacher'), err_msg=rel)
        assert cv2.imread(osp.join(out, 'vis', rel + '.png')).shape == \
            arr.shape
    assert not osp.exists(osp.join(out, 'pred', '.hidden'))


def test_video_overlay_and_frame_labels(mean_teacher):
    tmp, model = mean_teacher['tmp'], mean_teacher['model']
    video = str(tmp / 'clip.avi')
    writer = cv2.VideoWriter(video, cv2.VideoWriter_fourcc(*'MJPG'), 5,
                             (56, 40))
    for i in range(3):
        writer.write(_image(10 + i))
    writer.release()
    cap = cv2.VideoCapture(video)  # frames as decoded, for the reference
    frames = list(infer._frames(cap))
    cap.release()
    assert len(frames) == 3
    out = str(tmp / 'out_video')
    assert _infer([MT_CONFIG, mean_teacher['ckpt'], video, '--out-dir',
                       out, '--batch-size', '2', '--no-progress']) == 3
    for i, frame in enumerate(frames):
        np.testing.assert_array_equal(
            _read_label(osp.join(out, 'pred', 'clip', f'{i:06d}.png')),
            _expected_labels(model, frame, 'teacher'), err_msg=str(i))
    cap = cv2.VideoCapture(osp.join(out, 'vis', 'clip.mp4'))
    vis = list(infer._frames(cap))
    cap.release()
    assert len(vis) == 3 and vis[0].shape == frames[0].shape
    assert not [f for f in os.listdir(osp.join(out, 'vis'))
                if f.startswith('.')]  # no temporary file left


def _plain_and_semi_configs(work_dir):
    from mmengine.config import Config

    from mmsss.engine.runner.stages import build_stage_config
    three = Config.fromfile(
        osp.join(REPO, 'configs/three_stage/synthetic_1-8.py'))
    three.work_dir = str(work_dir)
    return three, build_stage_config(three, 2, pseudo_dir='unused')


@pytest.mark.parametrize('config', [
    'configs/unimatch/synthetic_1-16.py',  # teacher-free, student predicts
    'configs/esl/synthetic_1-16.py',  # projector etc. not used to predict
    'configs/imas/synthetic_1-16.py',
    'configs/unimatch_v2/synthetic_1-16.py',  # resize_multiple
    'configs/dars/synthetic_1-8.py',  # SelfTrainingSegmentor
    'configs/supervised/synthetic_1-16.py',  # plain EncoderDecoder
])
def test_other_methods_predict_as_their_model(config, tmp_path):
    path = osp.join(REPO, config)
    model = _build(path)
    _randomize_classifiers(model, 3)
    ckpt = _save(model.state_dict(), tmp_path / 'model.pth')
    img = _image(4)
    src = str(tmp_path / 'img.png')
    cv2.imwrite(src, img)
    _infer([path, ckpt, src, '--out-dir', str(tmp_path / 'out'),
                '--no-progress'])
    want = _expected_labels(model, img)  # its own predict_on
    assert len(np.unique(want)) > 1
    np.testing.assert_array_equal(
        _read_label(str(tmp_path / 'out' / 'pred' / 'img.png')), want)


def test_plain_config_takes_a_half_of_a_three_stage_checkpoint(tmp_path):
    """Three-stage: the top-level (stage-1, plain) config with a stage-3
    ThreeStageSegmentor checkpoint: the teacher by default, --model
    student on request; the pseudo-mask branch is not used."""
    three, stage3 = _plain_and_semi_configs(tmp_path)
    semi = _build(stage3)
    _randomize_classifiers(semi.teacher, 5)
    _randomize_classifiers(semi.student, 6)
    ckpt = _save(semi.state_dict(), tmp_path / 'iter_1200.pth')
    cfg_path = str(tmp_path / 'three_stage.py')
    three.dump(cfg_path)
    img = _image(5)
    src = str(tmp_path / 'img.png')
    cv2.imwrite(src, img)
    for which in ('teacher', 'student'):
        out = str(tmp_path / which)
        _infer([cfg_path, ckpt, src, '--out-dir', out, '--no-progress'] +
                   (['--model', 'student'] if which == 'student' else []))
        np.testing.assert_array_equal(
            _read_label(osp.join(out, 'pred', 'img.png')),
            _expected_labels(semi, img, which), err_msg=which)


def test_plain_checkpoint_into_teacher_student_config(mean_teacher,
                                                      tmp_path):
    """A converted/exported plain checkpoint (no teacher./student.) fills
    the predicting model of a teacher-student config."""
    from mmsss.utils.export import plain_segmentor_state_dict
    model = mean_teacher['model']
    state = torch.load(mean_teacher['ckpt'], weights_only=True)['state_dict']
    plain = _save(plain_segmentor_state_dict(state, 'student'),
                  tmp_path / 'plain.pth')
    img = _image(6)
    src = str(tmp_path / 'img.png')
    cv2.imwrite(src, img)
    _infer([MT_CONFIG, plain, src, '--out-dir', str(tmp_path / 'o'),
                '--no-progress'])
    np.testing.assert_array_equal(
        _read_label(str(tmp_path / 'o' / 'pred' / 'img.png')),
        _expected_labels(model, img, 'student'))


def test_palette_sources():
    """The test dataset's metainfo, else its class's METAINFO (through a
    wrapper), else the checkpoint's meta; extended to num_classes."""
    from mmengine.config import ConfigDict
    from mmseg.datasets import PascalVOCDataset

    def cfg(dataset):
        return ConfigDict(test_dataloader=dict(dataset=dataset))

    custom = dict(type='BaseSegDataset', metainfo=dict(
        classes=('bg', 'cat'), palette=[[1, 2, 3], [4, 5, 6]]))
    assert infer.dataset_meta(cfg(custom), None, 2)['palette'] == [
        [1, 2, 3], [4, 5, 6]]
    wrapped = dict(type='SemiSplitDataset', dataset=custom)
    assert infer.dataset_meta(cfg(wrapped), None, 2)['classes'] == [
        'bg', 'cat']
    voc = infer.dataset_meta(cfg(dict(type='SemiVOCDataset')), None, 21)
    assert voc['palette'] == [list(c) for c in
                              PascalVOCDataset.METAINFO['palette']]
    saved = dict(dataset_meta=dict(classes=('a', 'b'),
                                   palette=[[9, 9, 9], [8, 8, 8]]))
    meta = infer.dataset_meta(cfg(dict(type='BaseSegDataset')), saved, 3)
    assert meta['palette'][:2] == [[9, 9, 9], [8, 8, 8]]
    assert len(meta['palette']) == 3  # a generated colour for class 2


def test_clear_errors(mean_teacher, tmp_path):
    ckpt, src = mean_teacher['ckpt'], str(tmp_path / 'img.png')
    cv2.imwrite(src, _image(7))
    out = ['--out-dir', str(tmp_path / 'out'), '--no-progress']
    with pytest.raises(FileNotFoundError, match='nope.pth'):
        _infer([MT_CONFIG, str(tmp_path / 'nope.pth'), src] + out)
    with pytest.raises(FileNotFoundError, match='missing.jpg'):
        _infer([MT_CONFIG, ckpt, str(tmp_path / 'missing.jpg')] + out)
    empty = tmp_path / 'empty'
    empty.mkdir()
    (empty / 'readme.txt').write_text('x')
    with pytest.raises(ValueError, match='no images'):
        _infer([MT_CONFIG, ckpt, str(empty)] + out)
    with pytest.raises(ValueError, match='neither an image'):
        _infer([MT_CONFIG, ckpt, str(empty / 'readme.txt')] + out)
    state = torch.load(ckpt, weights_only=True)['state_dict']
    # a weight of the predicting model missing: named
    lacking = {k: v for k, v in state.items()
               if k != 'teacher.decode_head.conv_seg.weight'}
    with pytest.raises(KeyError, match='decode_head.conv_seg.weight'):
        _infer([MT_CONFIG, _save(lacking, tmp_path / 'l.pth'), src] +
                   out)
    # other num_classes
    other = dict(state)
    other['teacher.decode_head.conv_seg.weight'] = torch.zeros(3, 16, 1, 1)
    with pytest.raises(ValueError, match='conv_seg.weight: checkpoint'):
        _infer([MT_CONFIG, _save(other, tmp_path / 'o.pth'), src] + out)
    # no teacher weights (a UniMatch checkpoint in a mean-teacher config)
    student_only = {k: v for k, v in state.items()
                    if k.startswith('student.')}
    with pytest.raises(KeyError, match='use --model student'):
        _infer([MT_CONFIG, _save(student_only, tmp_path / 's.pth'),
                    src] + out)
    # teacher-free method
    with pytest.raises(ValueError, match='teacher-free'):
        _infer([osp.join(REPO, 'configs/unimatch/synthetic_1-16.py'),
                    ckpt, src, '--model', 'teacher'] + out)
    # weights-only: a pickled object outside the allow-list is refused
    import argparse
    torch.save(dict(state_dict=state, meta=argparse.Namespace(a=1)),
               str(tmp_path / 'unsafe.pth'))
    import pickle
    with pytest.raises(pickle.UnpicklingError):
        _infer([MT_CONFIG, str(tmp_path / 'unsafe.pth'), src] + out)
    assert not osp.exists(str(tmp_path / 'out'))


def test_progress_bar(mean_teacher, tmp_path, capfd):
    """The default shows mmengine's progress bar (N/N) and what predicts
    (in-process: a subprocess would spend ~20 s importing on 2 cores)."""
    src = str(tmp_path / 'img.png')
    cv2.imwrite(src, _image(8))
    _infer([MT_CONFIG, mean_teacher['ckpt'], src, '--out-dir',
                str(tmp_path / 'out'), '--device', 'cpu'])
    printed = capfd.readouterr().out
    assert 'predicting with MeanTeacherSegmentor.teacher on cpu' in printed
    assert '1/1' in printed
    assert osp.isfile(str(tmp_path / 'out' / 'pred' / 'img.png'))
