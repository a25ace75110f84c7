"""The suite's config helpers (``tests/conftest.py``): remembered parses
(``_memoized_config_parsing``) give what a fresh parse gives (a changed
base or file is read again, a changed result does not leak into the next
parse, environment variables are read every time); the text without
yapf's layout (``_unformatted_config_text``) is the same config."""
from mmengine.config import Config


def test_changed_base_is_parsed_again(tmp_path):
    (tmp_path / 'base.py').write_text('a = 1\nb = dict(c=[1, 2])\n')
    child = tmp_path / 'child.py'
    child.write_text("_base_ = ['base.py']\nd = 3\n")
    first = Config.fromfile(str(child))
    assert (first.a, first.b.c, first.d) == (1, [1, 2], 3)
    for _ in range(2):  # a parse, then a remembered one
        Config.fromfile(str(child)).b.c.append(9)  # the caller's copy only
    assert Config.fromfile(str(child)).b.c == [1, 2]
    (tmp_path / 'base.py').write_text('a = 2\nb = dict(c=[1, 2])\n')
    assert Config.fromfile(str(child)).a == 2
    child.write_text("_base_ = ['base.py']\nd = 4\n")
    assert Config.fromfile(str(child)).d == 4


def test_environment_variables_are_read_every_time(tmp_path, monkeypatch):
    path = tmp_path / 'env.py'
    path.write_text("x = '{{$MMSSS_TEST_MEMO_VAR:none}}'\n")
    monkeypatch.setenv('MMSSS_TEST_MEMO_VAR', 'one')
    assert Config.fromfile(str(path)).x == 'one'
    monkeypatch.setenv('MMSSS_TEST_MEMO_VAR', 'two')
    assert Config.fromfile(str(path)).x == 'two'


def test_unformatted_config_text_is_the_same_config():
    """``_unformatted_config_text``: the text without yapf's layout reads
    back as the same config (what a dumped config or a checkpoint's meta
    is read for)."""
    import os.path as osp
    root = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
    cfg = Config.fromfile(osp.join(root, 'configs/dars/synthetic_1-8.py'))
    text = cfg.pretty_text
    assert Config.fromstring(text, '.py').to_dict() == cfg.to_dict()
