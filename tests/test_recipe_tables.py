"""The recipe tables are the source of the configs' values (issue 25,
point 16): every backticked claim of an ``ours`` cell
(``key=value``, ``Type(k=v)``) must hold in every main config the row is
about. Grammar and scope: ``tests/_recipe_table.py``."""
import pytest

from tests import _recipe_table as T

METHODS = ('imas', 'mean_teacher', 'unimatch', 'dars', 'esl', 'three_stage',
           'unimatch_v2')


@pytest.mark.parametrize('method', METHODS)
def test_every_claim_of_the_recipe_table_holds(method):
    rows = T.recipe_rows(method)
    names = T.main_configs(method)
    assert names, f'no main config in configs/{method}'
    settings = T.model_settings_from_snapshot(method)
    configs = {n: T.resolved_config(method, n) for n in names}
    failures, checked = [], 0
    for row in rows:
        for scopes, claim in T.claims(row):
            about = [n for n in names
                     if all(T.in_scope(n, s) for s in scopes)]
            if not about:
                failures.append(f"[{row['setting']}] {claim}: no config "
                                f'of {scopes}')
            for name in about:
                checked += 1
                why = T.check_claim(claim, configs[name], settings[name])
                if why:
                    failures.append(f"[{row['setting']}] {name}: {why}")
    assert not failures, (
        f'configs/{method}/README.md recipe table disagrees with the '
        'configs:\n' + '\n'.join(failures))
    # a table whose claims were all lost (e.g. backticks dropped) is a drift
    assert checked >= 5 * len(names), checked


def test_claim_grammar():
    assert T.parse_claim("unsup_weight=3.0") == ('value', 'unsup_weight',
                                                 3.0)
    assert T.parse_claim("test_cfg=dict(mode='whole')") == (
        'value', 'test_cfg', dict(mode='whole'))
    assert T.parse_claim('RandomFlip(prob=0.5)') == ('type', 'RandomFlip',
                                                     dict(prob=0.5))
    # prose, expressions and positional calls are not claims
    for text in ('DeepStemResNet', 'max_epochs=80 / 240', 'x == 1',
                 'RandomFlip(0.5)', 'cfg[1]=2', 'a=b', 'mmsss/models'):
        assert T.parse_claim(text) is None, text


def test_claim_scope_follows_the_dataset_words():
    row = dict(setting='τ', paper='', note='',
               ours='VOC `conf_thresh=0.95`, Cityscapes `conf_thresh=0.7`; '
               '`cutmix.prob=0.5`')
    row['official code (file:line)'] = ''
    voc, city = ('voc', 'voc_blended'), ('cityscapes', )
    got = T.claims(row)
    assert got == [((None, voc), ('value', 'conf_thresh', 0.95)),
                   ((None, city), ('value', 'conf_thresh', 0.7)),
                   ((None, city), ('value', 'cutmix.prob', 0.5))]
    row['setting'] = 'crop, Cityscapes'
    row['ours'] = '`crop_size=(769, 769)`'
    assert T.claims(row) == [((city, None),
                              ('value', 'crop_size', (769, 769)))]
    # setting and cell narrow together: Cityscapes DeepLabV2 configs only
    row['setting'] = 'DeepLabV2 round 0'
    row['ours'] = 'Cityscapes: `epoch_over=1`'
    [(scopes, _)] = T.claims(row)
    names = ['cityscapes_1-8_deeplabv2_r101_361', 'voc_1464_deeplabv2_r101',
             'cityscapes_1-8_pspnet50_713']
    assert [n for n in names if all(T.in_scope(n, s) for s in scopes)] == [
        'cityscapes_1-8_deeplabv2_r101_361']


def test_check_claim_sees_a_drift():
    config = dict(
        model=dict(type='X', semi_train_cfg=dict(unsup_weight=1.0),
                   test_cfg=dict(mode='whole')),
        train_dataloader=dict(batch_size=4, dataset=dict(pipeline=[
            dict(type='RandomCrop', crop_size=(321, 321)),
            dict(type='RandomFlip', prob=0.5)])),
        val_dataloader=dict(batch_size=1),
        test_cfg=dict(type='TestLoop'))
    settings = dict(segmentor=dict(semi_train_cfg=dict(conf_thresh=0.95)))
    ok = [('value', 'unsup_weight', 1.0), ('value', 'conf_thresh', 0.95),
          ('value', 'test_cfg', dict(mode='whole')),
          ('value', 'train_dataloader.batch_size', 4),
          ('value', 'crop_size', [321, 321]),
          ('type', 'RandomFlip', dict(prob=0.5))]
    for claim in ok:
        assert T.check_claim(claim, config, settings) is None, claim
    bad = [(('value', 'unsup_weight', 3.0), 'semi_train_cfg.unsup_weight=1.0'),
           (('value', 'conf_thresh', 0.7), 'conf_thresh=0.95'),
           (('value', 'batch_size', 4), 'val_dataloader.batch_size=1'),
           (('value', 'no_such_key', 1), 'names nothing'),
           (('type', 'RandomFlip', dict(prob=1.0)), 'no RandomFlip'),
           (('type', 'RandomCrop', dict(cat_max_ratio=0.75)), 'no RandomCrop')]
    for claim, why in bad:
        assert why in (T.check_claim(claim, config, settings) or ''), claim


def test_recipe_rows_refuse_a_broken_table(tmp_path, monkeypatch):
    (tmp_path / 'configs' / 'm').mkdir(parents=True)
    readme = tmp_path / 'configs' / 'm' / 'README.md'
    head = ('| setting | paper | official code (file:line) | ours | note |\n'
            '| --- | --- | --- | --- | --- |\n')
    readme.write_text(head + '| a | b | c | `x=1` `y=a|b` | e |\n')
    monkeypatch.setattr(T, 'ROOT', str(tmp_path))
    assert T.recipe_rows('m')[0]['ours'] == '`x=1` `y=a|b`'
    readme.write_text(head + '| a | b | c | d |\n')
    with pytest.raises(AssertionError, match='4 cells'):
        T.recipe_rows('m')
    readme.write_text('no table\n')
    with pytest.raises(AssertionError, match='found 0'):
        T.recipe_rows('m')
