"""Every config in configs/ parses, and its model, transforms, loops, hooks
and sampler build from the registries (dataset paths aside); every method
config has a unique-name alias for mim (configs/_aliases_/) that resolves to
the same config."""
import os.path as osp
import subprocess
import sys

import pytest

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, osp.join(ROOT, 'tools', 'misc'))
import make_config_aliases  # noqa: E402

sys.path.pop(0)

CONFIGS = make_config_aliases.method_configs()
ALIASES = sorted(make_config_aliases.plan())


def _pipelines(cfg):
    """All (where, pipeline) pairs of the train/val/test dataloaders."""

    def walk(obj, where):
        if isinstance(obj, dict):
            if 'pipeline' in obj:
                yield where, obj['pipeline']
            for k, v in obj.items():
                if k != 'pipeline':
                    yield from walk(v, f'{where}.{k}')
        elif isinstance(obj, (list, tuple)):
            for i, v in enumerate(obj):
                yield from walk(v, f'{where}[{i}]')

    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        yield from walk(cfg.get(key), key)


def _datasets(cfg):
    ds = cfg.train_dataloader.dataset
    return ds.datasets if ds.type == 'ConcatDataset' else [ds]


def test_there_are_configs():
    assert len(CONFIGS) >= 5


# what test_config_builds reads of a built model, per distinct model config
# (configs share models: each is built once)
_BUILT_MODELS = {}


def _built_model_facts(model_cfg):
    """(decode_head.num_classes of the student or model, whether a model
    that says ``with_teacher`` has one) of ``model_cfg`` built on the meta
    device (the structure only: no memory, seconds less)."""
    import torch
    from mmseg.registry import MODELS
    key = repr(model_cfg.to_dict())
    if key not in _BUILT_MODELS:
        with torch.device('meta'):
            model = MODELS.build(model_cfg)
        seg = getattr(model, 'student', model)
        try:
            teacher_ok = hasattr(model, 'teacher') or not model.with_teacher
        except AttributeError:
            teacher_ok = False
        _BUILT_MODELS[key] = (seg.decode_head.num_classes, teacher_ok)
    return _BUILT_MODELS[key]


@pytest.mark.parametrize('path', CONFIGS, ids=lambda p: osp.relpath(p, ROOT))
def test_config_builds(path):
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    from mmseg.registry import (DATA_SAMPLERS, DATASETS, HOOKS, LOOPS,
                                TRANSFORMS)
    import mmsss  # noqa: F401

    cfg = Config.fromfile(path)
    assert cfg.default_scope == 'mmseg'
    assert 'mmsss' in cfg.custom_imports.imports
    init_default_scope('mmseg')
    num_classes, teacher_ok = _built_model_facts(cfg.model)
    classes = None
    for ds in _datasets(cfg) + [cfg.val_dataloader.dataset]:
        cls = DATASETS.get(ds.type)
        assert cls is not None, ds.type
        n = len(cls.METAINFO['classes'])
        assert classes in (None, n)
        classes = n
    assert num_classes == classes, \
        f'{path}: num_classes {num_classes} != {classes}'
    for where, pipeline in _pipelines(cfg):
        for t in pipeline:
            TRANSFORMS.build(t)
    assert LOOPS.get(cfg.train_cfg.type) is not None
    if cfg.val_cfg.type != 'ValLoop':
        assert LOOPS.get(cfg.val_cfg.type) is not None
    for h in cfg.get('custom_hooks', []):
        HOOKS.build(h)
    # exact resume (README): default hooks, so replacing custom_hooks
    # keeps them
    hook_types = {h.type for h in cfg.default_hooks.values() if h}
    assert {'RandomStateHook', 'AtomicCheckpointHook'} <= hook_types, path
    subsets = _datasets(cfg)
    if len(subsets) == 2:  # [labeled, unlabeled]
        assert subsets[0].get('is_labeled', True) is True
        assert subsets[1].get('is_labeled') is False, \
            f'{path}: the unlabeled dataset lacks is_labeled=False'
        assert subsets[1].ann_file.endswith('unlabeled.txt')
        assert subsets[0].ann_file.replace('labeled.txt', '') == \
            subsets[1].ann_file.replace('unlabeled.txt', '')
    if 'blended' in osp.basename(path):
        # UniMatch's own copies of the blended splits are named u2pl_<ratio>
        assert all('blended' in d.ann_file or '/u2pl_' in d.ann_file
                   for d in subsets)
    sampler = cfg.train_dataloader.sampler
    assert DATA_SAMPLERS.get(sampler.type) is not None
    if sampler.type == 'MultiSourceSampler':
        assert sampler.batch_size == cfg.train_dataloader.batch_size
        assert teacher_ok, f'{path}: with_teacher but no teacher'


def test_aliases_exist_and_are_unique():
    out = subprocess.run(
        [sys.executable, osp.join(ROOT, 'tools', 'misc',
                                  'make_config_aliases.py'), '--check'],
        capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
    assert len(ALIASES) == len(CONFIGS)
    all_names = [osp.basename(p) for p in ALIASES]
    assert len(set(all_names)) == len(all_names)
    # the method folders hold configs only; the aliases are in one folder
    assert {osp.dirname(p) for p in ALIASES} == {
        osp.join(ROOT, 'configs', '_aliases_')}


def _resolved(path):
    from mmengine.config import Config
    cfg = Config.fromfile(path).to_dict()
    return cfg


@pytest.mark.parametrize('alias', ALIASES, ids=osp.basename)
def test_alias_resolves_to_its_config(alias):
    with open(alias) as f:
        f.readline()
        base = f.readline().split("'")[1]
    target = osp.normpath(osp.join(osp.dirname(alias), base))
    assert target in CONFIGS, target
    assert osp.basename(alias) == \
        make_config_aliases.alias_name(target)
    assert _resolved(alias) == _resolved(target)


def _tmp_tree(tmp_path, monkeypatch):
    """configs/a/x.py, configs/a/sub/y.py, configs/_base_/b.py in a tmp
    root the script is pointed at."""
    cfgs = tmp_path / 'configs'
    (cfgs / 'a' / 'sub').mkdir(parents=True)
    (cfgs / '_base_').mkdir()
    (cfgs / 'a' / 'x.py').write_text('x = 1\n')
    (cfgs / 'a' / 'sub' / 'y.py').write_text('y = 1\n')
    (cfgs / '_base_' / 'b.py').write_text('b = 1\n')
    monkeypatch.setattr(make_config_aliases, 'ROOT', str(tmp_path))
    monkeypatch.setattr(make_config_aliases, 'CONFIGS', str(cfgs))
    return cfgs


def test_alias_generation_and_check_in_a_tmp_tree(tmp_path, monkeypatch):
    """Writing makes exactly configs/_aliases_/{a_x,a_y}.py (no alias of a
    _base_ file), which load as their configs; --check then passes."""
    cfgs = _tmp_tree(tmp_path, monkeypatch)
    assert make_config_aliases.main(['--check']) == 1  # both missing
    assert make_config_aliases.main([]) == 0
    aliases = cfgs / '_aliases_'
    assert sorted(p.name for p in aliases.iterdir()) == ['a_x.py', 'a_y.py']
    assert _resolved(str(aliases / 'a_y.py'))['y'] == 1
    assert _resolved(str(aliases / 'a_x.py'))['x'] == 1
    assert make_config_aliases.main(['--check']) == 0
    assert make_config_aliases.main([]) == 0  # idempotent


@pytest.mark.parametrize('damage, expected', [
    ('missing', ['missing alias configs/_aliases_/a_x.py']),
    ('stale', ['stale alias configs/_aliases_/a_x.py']),
    ('orphaned', ['orphaned alias configs/_aliases_/a_gone.py']),
    ('renamed config', ['missing alias configs/_aliases_/a_z.py',
                        'orphaned alias configs/_aliases_/a_x.py']),
    ('old layout', ['alias outside configs/_aliases_/: configs/a/a_y.py',
                    'a_y.py is not unique: configs/_aliases_/a_y.py, '
                    'configs/a/a_y.py']),
    ('same name', ['a_x.py is not unique: configs/_aliases_/a_x.py, '
                   'configs/b/a_x.py',
                   'missing alias configs/_aliases_/b_a_x.py']),
    ('same name as a tool', ['a_y.py is not unique: '
                             'configs/_aliases_/a_y.py, tools/a_y.py']),
])
def test_alias_check_catches(tmp_path, monkeypatch, damage, expected):
    """--check names each way the aliases can be wrong; writing repairs
    all of them but a clash with a file that is not an alias."""
    cfgs = _tmp_tree(tmp_path, monkeypatch)
    assert make_config_aliases.main([]) == 0
    aliases = cfgs / '_aliases_'
    if damage == 'missing':
        (aliases / 'a_x.py').unlink()
    elif damage == 'stale':
        (aliases / 'a_x.py').write_text("_base_ = '../a/sub/y.py'\n")
    elif damage == 'orphaned':
        (aliases / 'a_gone.py').write_text(
            (aliases / 'a_x.py').read_text().replace('x.py', 'gone.py'))
    elif damage == 'renamed config':
        (cfgs / 'a' / 'x.py').rename(cfgs / 'a' / 'z.py')
    elif damage == 'old layout':
        (cfgs / 'a' / 'a_y.py').write_text(
            "# Unique name of configs/a/sub/y.py for `mim train mmsss "
            "a_y.py`.\n_base_ = './sub/y.py'\n")
    elif damage == 'same name':
        (cfgs / 'b').mkdir()
        (cfgs / 'b' / 'a_x.py').write_text('y = 1\n')
    elif damage == 'same name as a tool':
        (tmp_path / 'tools').mkdir()
        (tmp_path / 'tools' / 'a_y.py').write_text('')
    found = make_config_aliases.problems(make_config_aliases.plan())
    assert found and all(any(f.startswith(e) for e in expected)
                         for f in found), found
    assert all(any(f.startswith(e) for f in found) for e in expected), found
    clash = damage.startswith('same name')
    assert make_config_aliases.main([]) == int(clash)
    assert (make_config_aliases.main(['--check']) == 0) != clash


@pytest.mark.parametrize('command', ['train', 'test'])
def test_mim_resolves_the_alias_name(command, tmp_path, monkeypatch):
    """openmim's own train()/test() (mim/commands/{train,test}.py), run
    in-process on a package laid out as an editable install leaves it
    (``mmsss/.mim/{configs,tools}`` links to the checkout), turn the bare
    name imas_voc_1-8.py into configs/_aliases_/imas_voc_1-8.py, which
    loads as configs/imas/voc_1-8.py; the bare voc_1-8.py is refused."""
    import importlib
    import os
    mod = importlib.import_module(f'mim.commands.{command}')
    pkg = tmp_path / 'site' / 'mmsss'
    (pkg / '.mim').mkdir(parents=True)
    for item in ('configs', 'tools'):
        os.symlink(osp.join(ROOT, item), pkg / '.mim' / item)
    calls = []

    class FakeSubprocess:
        @staticmethod
        def check_output(cmd, *args, **kwargs):
            return b''  # the script's -h

        @staticmethod
        def check_call(cmd, *args, **kwargs):
            calls.append(cmd)
            return 0

    monkeypatch.setattr(mod, 'module_full_name', lambda name: name)
    monkeypatch.setattr(mod, 'is_installed', lambda name: True)
    monkeypatch.setattr(mod, 'get_installed_path', lambda name: str(pkg))
    monkeypatch.setattr(mod, 'subprocess', FakeSubprocess)
    monkeypatch.chdir(tmp_path)
    run = getattr(mod, command)
    kwargs = dict(checkpoint='c.pth') if command == 'test' else {}
    ok, _ = run(package='mmsss', config='imas_voc_1-8.py', gpus=0,
                launcher='none', **kwargs)
    assert ok
    (cmd, ) = calls
    config = next(a for a in cmd if a.endswith('.py') and 'tools' not in a)
    assert config == osp.realpath(
        osp.join(ROOT, 'configs', '_aliases_', 'imas_voc_1-8.py'))
    assert _resolved(config) == _resolved(
        osp.join(ROOT, 'configs', 'imas', 'voc_1-8.py'))
    with pytest.raises(ValueError, match='multiple'):
        run(package='mmsss', config='voc_1-8.py', gpus=0, launcher='none',
            **kwargs)


def test_model_index_lists_every_method_and_configs_exist():
    """model-index.yml imports a metafile per method folder; every model's
    Config exists and is a unique name that mim can find alone."""
    import yaml
    with open(osp.join(ROOT, 'model-index.yml')) as f:
        imports = yaml.safe_load(f)['Import']
    methods = {make_config_aliases.method_of(p) for p in CONFIGS}
    assert {p.split('/')[1] for p in imports} == methods
    alias_names = {osp.basename(p) for p in ALIASES}
    names = []
    for meta in imports:
        with open(osp.join(ROOT, meta)) as f:
            models = yaml.safe_load(f)['Models']
        assert models, meta
        for m in models:
            assert osp.isfile(osp.join(ROOT, m['Config'])), m['Config']
            assert osp.basename(m['Config']) in alias_names, m['Config']
            names.append(m['Name'])
    assert len(names) == len(set(names))
