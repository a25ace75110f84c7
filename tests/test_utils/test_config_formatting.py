"""mmsss.utils.remember_config_formatting: the tools format each config
text with yapf once per process, to the text mmengine gives."""
from mmengine.config import Config
from mmengine.config import config as config_module

from mmsss.utils.config import remember_config_formatting


def test_same_text_as_mmengine_and_formatted_once(monkeypatch):
    cfg = Config(dict(model=dict(type='X', channels=[1, 2, 3]), lr=0.01))
    calls = []

    def counting_format_code(text, **kwargs):
        calls.append(text)
        return yapf_format_code(text, **kwargs)

    from yapf.yapflib.yapf_api import FormatCode as yapf_format_code
    monkeypatch.setattr(config_module, 'FormatCode', counting_format_code)
    want = cfg.pretty_text  # yapf itself
    assert len(calls) == 1
    remember_config_formatting()
    remember_config_formatting()  # idempotent: one layer
    assert cfg.pretty_text == want and cfg.pretty_text == want
    assert len(calls) == 2  # the first call after, then remembered
    cfg.lr = 0.02
    changed = cfg.pretty_text
    assert 'lr = 0.02' in changed and len(calls) == 3
    assert Config(dict(model=dict(type='X', channels=[1, 2, 3]),
                       lr=0.01)).pretty_text == want
    assert len(calls) == 3


def test_tools_load_configs_with_remembered_formatting(monkeypatch, tmp_path):
    import argparse

    from mmsss.utils import load_tool_config
    monkeypatch.setattr(config_module, 'FormatCode',
                        config_module.FormatCode)  # restored afterwards
    path = tmp_path / 'c.py'
    path.write_text('a = 1\n')
    args = argparse.Namespace(config=str(path), launcher='none',
                              cfg_options=None, work_dir=str(tmp_path))
    load_tool_config(args)
    assert getattr(config_module.FormatCode, 'remembers_texts', False)
