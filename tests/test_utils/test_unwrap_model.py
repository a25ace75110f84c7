"""``mmsss.utils.unwrap_model`` (mmsss/utils/dist.py) is the one place that
takes a model out of its DDP-style wrapper: it unwraps mmengine's registered
wrappers only, the call sites in mmsss/ and tools/ give the same answer for a
wrapped and a bare model, and no inline unwrap is left in the sources."""
import os
import os.path as osp
import re
from types import SimpleNamespace

import pytest
import torch.nn as nn

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


class _Head(nn.Module):

    def __init__(self, num_classes=3):
        super().__init__()
        self.num_classes = num_classes
        self.conv = nn.Conv2d(2, num_classes, 1)


class _TeacherStudent(nn.Module):

    def __init__(self):
        super().__init__()
        self.with_teacher = True
        self.student = nn.Module()
        self.student.decode_head = _Head()
        self.teacher = nn.Module()
        self.teacher.decode_head = _Head()


def _ddp(model):
    """An mmengine MMDistributedDataParallel around ``model`` without a
    process group (``__init__`` skipped): what is_model_wrapper sees."""
    from mmengine.model import MMDistributedDataParallel
    wrapper = MMDistributedDataParallel.__new__(MMDistributedDataParallel)
    nn.Module.__init__(wrapper)
    wrapper.module = model
    return wrapper


def test_unwrap_model_only_unwraps_registered_wrappers():
    from mmsss.utils import unwrap_model
    model = _TeacherStudent()
    assert unwrap_model(model) is model
    assert unwrap_model(_ddp(model)) is model
    # a plain module with a child called `module` is no wrapper (what
    # `hasattr(model, 'module')` got wrong)
    holder = nn.Module()
    holder.module = model
    assert unwrap_model(holder) is holder


def test_call_sites_see_through_the_wrapper():
    from mmsss.engine.hooks.data_check_hook import _heads
    from mmsss.engine.hooks.mean_teacher_hook import MeanTeacherHook
    from mmsss.engine.runner.stages import _f_theta_state
    from mmsss.pseudo_labels.generator import model_fingerprint
    model = _TeacherStudent()
    wrapped = _ddp(model)
    assert [h for _, h in _heads(wrapped)] == [model.student.decode_head]
    runner = SimpleNamespace(model=wrapped)
    assert MeanTeacherHook._unwrap(runner) is model
    assert _f_theta_state(wrapped, 'teacher').keys() == \
        model.teacher.state_dict().keys()
    assert model_fingerprint(wrapped) == model_fingerprint(model)
    with pytest.raises(TypeError, match='teacher'):
        MeanTeacherHook._unwrap(SimpleNamespace(model=_ddp(nn.Linear(1, 1))))


INLINE_UNWRAP = re.compile(
    r"is_model_wrapper\(|hasattr\([\w.]+, *\s*'module'\)"
    r"|getattr\([\w.]+, *'module'")


def test_no_inline_unwrap_left():
    """Every unwrap goes through mmsss.utils.unwrap_model."""
    found = []
    for top in ('mmsss', 'tools', 'projects'):
        for d, _, files in os.walk(osp.join(ROOT, top)):
            for f in files:
                path = osp.join(d, f)
                rel = osp.relpath(path, ROOT)
                if not f.endswith('.py') or rel == osp.join(
                        'mmsss', 'utils', 'dist.py'):
                    continue
                with open(path) as fh:
                    text = fh.read()
                found += [f'{rel}: {m.group(0)}'
                          for m in INLINE_UNWRAP.finditer(text)]
    assert found == [], found
