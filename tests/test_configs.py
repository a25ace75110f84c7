"""Every config in configs/ parses, and its model, transforms, loops, hooks
and sampler build from the registries (dataset paths aside); every method
config has a unique-name alias for mim that resolves to the same config."""
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


@pytest.mark.parametrize('path', CONFIGS, ids=lambda p: osp.relpath(p, ROOT))
def test_config_builds(path):
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    from mmseg.registry import (DATA_SAMPLERS, DATASETS, HOOKS, LOOPS,
                                MODELS, TRANSFORMS)
    import mmsss  # noqa: F401

    cfg = Config.fromfile(path)
    assert cfg.default_scope == 'mmseg'
    assert 'mmsss' in cfg.custom_imports.imports
    init_default_scope('mmseg')
    import torch
    with torch.device('meta'):  # the structure only: no memory, seconds less
        model = MODELS.build(cfg.model)
    classes = None
    for ds in _datasets(cfg) + [cfg.val_dataloader.dataset]:
        cls = DATASETS.get(ds.type)
        assert cls is not None, ds.type
        n = len(cls.METAINFO['classes'])
        assert classes in (None, n)
        classes = n
    seg = getattr(model, 'student', model)
    assert seg.decode_head.num_classes == classes, \
        f'{path}: num_classes {seg.decode_head.num_classes} != {classes}'
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
        assert hasattr(model, 'teacher') or not model.with_teacher


def test_aliases_exist_and_are_unique():
    out = subprocess.run(
        [sys.executable, osp.join(ROOT, 'tools', 'misc',
                                  'make_config_aliases.py'), '--check'],
        capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
    assert len(ALIASES) == len(CONFIGS)
    all_names = [osp.basename(p) for p in ALIASES]
    assert len(set(all_names)) == len(all_names)


def _resolved(path):
    from mmengine.config import Config
    cfg = Config.fromfile(path).to_dict()
    return cfg


@pytest.mark.parametrize('alias', ALIASES, ids=osp.basename)
def test_alias_resolves_to_its_config(alias):
    with open(alias) as f:
        f.readline()
        base = f.readline().split("'")[1]
    target = osp.join(osp.dirname(alias), base)
    assert osp.basename(alias) == \
        make_config_aliases.alias_name(target)
    assert _resolved(alias) == _resolved(target)


def test_alias_check_fails_on_duplicates_and_missing(tmp_path, monkeypatch):
    """--check catches a missing alias and a name that is not unique."""
    cfgs = tmp_path / 'configs'
    (cfgs / 'a').mkdir(parents=True)
    (cfgs / 'b').mkdir()
    (cfgs / 'a' / 'x.py').write_text('x = 1\n')
    (cfgs / 'b' / 'a_x.py').write_text('y = 1\n')  # same name as a's alias
    monkeypatch.setattr(make_config_aliases, 'ROOT', str(tmp_path))
    monkeypatch.setattr(make_config_aliases, 'CONFIGS', str(cfgs))
    orig = make_config_aliases.method_configs
    monkeypatch.setattr(make_config_aliases, 'method_configs',
                        lambda root=str(cfgs): orig(root))
    found = make_config_aliases.problems(make_config_aliases.plan())
    assert any(p.startswith('missing alias') for p in found), found
    assert make_config_aliases.main([]) == 1  # writes, still not unique
    found = make_config_aliases.problems(make_config_aliases.plan())
    assert found == ['a_x.py is not unique: configs/a/a_x.py, '
                     'configs/b/a_x.py'], found


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
