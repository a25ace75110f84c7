"""Every method config, resolved, equals its reviewed snapshot
(``tests/config_snapshots``; issue 25, point 16): a changed base file,
class default or network default fails here until
``python tools/misc/snapshot_configs.py`` rewrites the snapshot, and the
rewritten lines show in review."""
import functools
import os.path as osp
import sys

import pytest

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, osp.join(ROOT, 'tools', 'misc'))
import snapshot_configs as S  # noqa: E402


def test_every_config_equals_its_snapshot(monkeypatch):
    # many configs share a model (and the class signatures): build each
    # distinct model config once on the meta device; the lines depend on
    # the model config and the code only
    model_lines, lines_of = S.model_lines, {}

    def model_lines_once(model_cfg):
        key = repr(model_cfg.to_dict())
        if key not in lines_of:
            lines_of[key] = model_lines(model_cfg)
        return lines_of[key]

    monkeypatch.setattr(S, 'model_lines', model_lines_once)
    monkeypatch.setattr(S, '_signature_defaults',
                        functools.lru_cache(maxsize=None)(
                            S._signature_defaults))
    found = S.differences(S.snapshots())
    assert not found, (
        'resolved configs differ from tests/config_snapshots; if the '
        'change is intended, run python tools/misc/snapshot_configs.py and '
        'review the diff:\n' + '\n'.join(found)[:20000])


def test_snapshot_sees_class_defaults_and_layers(monkeypatch):
    """What no config names still shows: a segmentor class default and a
    layer of the network."""
    import mmsss  # noqa: F401
    from mmengine.registry import init_default_scope
    from mmsss.models.segmentors import mean_teacher
    init_default_scope('mmseg')
    path = osp.join(ROOT, 'configs', 'mean_teacher', 'synthetic_1-16.py')
    before = S.snapshot_of(path)
    assert '@model.segmentor.semi_train_cfg.sup_weight = ' in before
    monkeypatch.setitem(mean_teacher._DEFAULTS, 'sup_weight', 0.5)
    after = S.snapshot_of(path)
    assert '@model.segmentor.semi_train_cfg.sup_weight = 0.5' in after
    monkeypatch.undo()

    import torch.nn as nn
    monkeypatch.setattr(nn.Dropout2d, 'extra_repr', lambda self: 'changed')
    digest = [l for l in S.snapshot_of(path).splitlines()
              if 'module_tree_sha1' in l]
    assert digest and digest[0] not in before


@pytest.mark.parametrize('value, lines', [
    (dict(a=1, b=[dict(type='X', c=(1, 2))]), ['a = 1', "b.0.type = 'X'",
                                                'b.0.c = (1, 2)']),
    (dict(p=[1, 2], q={}), ['p = [1, 2]', 'q = {}']),
])
def test_flatten(value, lines):
    assert [f'{k} = {v}' for k, v in S.flatten(value)] == lines
