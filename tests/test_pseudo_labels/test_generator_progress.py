"""Progress with ETA on the pseudo-label passes: the output is byte-identical
with and without it; a bar on a terminal, log lines otherwise, nothing on
other ranks. Also the DARS round-boundary pictures of PseudoLabelVisHook on
generated pseudo-labels."""
import filecmp
import io
import json
import os
import os.path as osp
from unittest import mock

import cv2
import numpy as np
import pytest
from PIL import Image

from mmsss.pseudo_labels import LIST_FILE, SUMMARY_FILE, PseudoLabelGenerator
from mmsss.utils.progress import Progress, track
from tests.test_pseudo_labels.test_generator import FakeSegmentor, build_sets


class _TTY(io.StringIO):

    def isatty(self):
        return True


@pytest.fixture(scope='module')
def generated(synthetic_voc_root, tmp_path_factory):
    """DARS (every pass: predict, two exact-sampling passes, write) with
    progress on a terminal and with progress off."""
    unlabeled, labeled = build_sets(synthetic_voc_root)
    root = tmp_path_factory.mktemp('progress')
    outs, streams = {}, {}
    for progress in (True, False):
        out = str(root / f'progress_{progress}')
        stream = _TTY()
        with mock.patch('sys.stdout', stream):
            PseudoLabelGenerator(
                mode='DARS', label_ratio=0.5, seed=3, round_idx=1,
                progress=progress).generate(FakeSegmentor(), unlabeled, out,
                                            labeled)
        outs[progress], streams[progress] = out, stream.getvalue()
    return unlabeled, outs, streams


def test_progress_does_not_change_the_output(generated):
    _, outs, _ = generated
    on, off = outs[True], outs[False]
    names = sorted(os.listdir(osp.join(on, 'labels')))
    assert names == sorted(os.listdir(osp.join(off, 'labels')))
    assert len(names) > 10
    for name in names:
        assert filecmp.cmp(
            osp.join(on, 'labels', name),
            osp.join(off, 'labels', name),
            shallow=False), name
    with open(osp.join(on, LIST_FILE)) as f1, open(osp.join(
            off, LIST_FILE)) as f2:
        assert f1.read().replace(on, off) == f2.read()
    summaries = []
    for out in (on, off):
        with open(osp.join(out, SUMMARY_FILE)) as f:
            s = json.load(f)
        s.pop('seconds')
        summaries.append(s)
    assert summaries[0] == summaries[1]


def test_bar_on_a_terminal_and_silent_when_off(generated):
    unlabeled, _, streams = generated
    text = streams[True]
    for what in ('predicting', 'exact sampling, high key digits',
                 'exact sampling, low key digits', 'writing'):
        assert f'pseudo-labels (DARS): {what}' in text, what
    n = len(unlabeled)
    # mmengine's ProgressBar: done/total with an ETA
    assert f'{n}/{n}' in text and 'ETA' in text
    assert streams[False] == ''


def test_log_lines_when_not_a_terminal_and_quiet_on_other_ranks():
    with mock.patch('mmsss.utils.progress.print_log') as log:
        items = list(track(range(5), 5, 'job', file=io.StringIO(),
                           log_interval=0.))
        assert items == list(range(5))
        lines = [c.args[0] for c in log.call_args_list]
        assert len(lines) == 5
        assert lines[0].startswith('job: 1/5 (20%)') and 'ETA' in lines[0]
        assert lines[-1].startswith('job: 5/5 (100%)')
        log.reset_mock()
        # a long interval: only the final line
        list(track(range(5), 5, 'job', file=io.StringIO()))
        assert log.call_count == 1
        log.reset_mock()
        stream = _TTY()
        with mock.patch('mmengine.dist.get_rank', return_value=1):
            p = Progress(5, 'job', file=stream, log_interval=0.)
            for _ in range(5):
                p.update()
        assert log.call_count == 0 and stream.getvalue() == ''


def test_round_boundary_pictures(generated, tmp_path):
    """PseudoLabelVisHook draws image | pseudo-label | ground truth of a few
    generated pseudo-labels at a round start."""
    from mmengine.logging import MessageHub
    from mmengine.visualization import Visualizer
    from mmseg.visualization import SegLocalVisualizer

    from mmsss.engine.hooks import PseudoLabelVisHook
    from mmsss.engine.hooks.pseudo_label_vis_hook import CHECKER, HEADER, SEP
    from mmsss.engine.runner.self_training_loop import PSEUDO_LABEL_LIST_KEY

    unlabeled, outs, _ = generated
    out = outs[True]

    class _RoundHook:
        round_dir = None

        def unlabeled_dataset(self):
            return unlabeled

    class _Runner:
        iter = 7
        hooks = [_RoundHook()]
        message_hub = MessageHub.get_instance('test_round_pictures')
        visualizer = (SegLocalVisualizer.get_instance(
            'test_round_pictures',
            vis_backends=[dict(type='LocalVisBackend')],
            save_dir=str(tmp_path)) if not Visualizer.check_instance_created(
                'test_round_pictures') else
                      SegLocalVisualizer.get_instance('test_round_pictures'))

        class train_dataloader:
            dataset = unlabeled

    runner = _Runner()
    runner.message_hub.update_info(PSEUDO_LABEL_LIST_KEY,
                                   osp.join(out, LIST_FILE))
    hook = PseudoLabelVisHook(round_num_images=3, min_panel_size=1)
    hook.before_train_round(runner, 0, {})
    assert hook.written == []  # round 0 has no pseudo-labels
    hook.before_train_round(runner, 1, {})
    assert hook.written == [f'pseudo_labels_round1_{n}_7' for n in range(3)]
    palette = np.asarray(unlabeled.metainfo['palette'], np.uint8)
    with open(osp.join(out, LIST_FILE)) as f:
        entries = [ln.split() for ln in f if ln.strip()]
    picks = [int(i * len(entries) / 3) for i in range(3)]
    for n, idx in enumerate(picks):
        path = osp.join(str(tmp_path), 'vis_data', 'vis_image',
                        f'pseudo_labels_round1_{n}_7.png')
        grid = cv2.imread(path)[..., ::-1]
        pseudo = np.asarray(Image.open(entries[idx][1]))
        h, w = pseudo.shape
        assert grid.shape == (HEADER + h, 3 * w + 2 * SEP, 3)
        img = cv2.imread(unlabeled.get_data_info(idx)['img_path'])[..., ::-1]
        assert np.array_equal(grid[HEADER:, :w], img)
        panel = grid[HEADER:, w + SEP:2 * w + SEP]
        kept = pseudo != 255
        assert kept.any() and (~kept).any()
        assert np.array_equal(panel[kept], palette[pseudo[kept]])
        assert all(tuple(c) in CHECKER for c in panel[~kept])
