"""Checks shared by the recipe tests (tests/test_configs_recipe_*.py)."""


def pipeline_types(pipeline):
    return [t['type'] for t in pipeline]


def assert_weak_geometric(pipeline, dataset, crop):
    """The iMAS/U2PL weak geometry: Cityscapes (1024, 2048) x U[0.5, 2.0];
    VOC a factor in [0.5, 2.0] of the image's own size (issue 17; mmseg's
    RandomResize(scale=(2048, 512)) would make images ~1.37x larger); then
    one random crop and a flip."""
    types = pipeline_types(pipeline)
    i = types.index('RandomCrop')
    scale, crop_t, flip = pipeline[i - 1], pipeline[i], pipeline[i + 1]
    if dataset == 'cityscapes':
        assert dict(scale) == dict(
            type='RandomResize',
            scale=(2048, 1024),
            ratio_range=(0.5, 2.0),
            keep_ratio=True)
    else:
        assert dict(scale) == dict(
            type='RandomRescale', ratio_range=(0.5, 2.0))
        assert 'RandomResize' not in types
    assert tuple(crop_t.crop_size) == tuple(crop)
    assert crop_t.get('cat_max_ratio', 1.) == 1.
    assert dict(flip) == dict(type='RandomFlip', prob=0.5)
    assert types.count('RandomCrop') == 1


def assert_imas_style_evaluation(cfg, seg, dataset,
                                 cityscapes_mode='slide'):
    """Evaluation as the iMAS/U2PL-family recipes: Cityscapes slide 769 with
    stride 512 (= int(769 * 2 / 3)) at full size, VOC the whole image at its
    own size; val/test one image per batch, no resize/crop/flip, on
    val.txt. ``cityscapes_mode``: ``'slide_official'`` for the configs of
    the official iMAS code (its ``validate_citys``, train_semi.py:693-720:
    windows cut at the border, softmax summed), ``'slide'`` (mmseg's) for
    ESL, which has no code."""
    if dataset == 'cityscapes':
        assert dict(seg.test_cfg) == dict(
            mode=cityscapes_mode, crop_size=(769, 769), stride=(512, 512))
    else:
        assert dict(seg.test_cfg) == dict(mode='whole')
    for key in ('val_dataloader', 'test_dataloader'):
        dl = cfg[key]
        assert dl.batch_size == 1
        assert pipeline_types(dl.dataset.pipeline) == [
            'LoadImageFromFile', 'LoadAnnotations', 'PackSegInputs'
        ]
        assert dl.dataset.ann_file.endswith('/val.txt')


def network_of_variant(base_cfg, variant_cfg, helper_prefix, model_key):
    """A network variant (``*_official-arch``, ``*_mmseg-arch``) against the
    config it varies: everything outside ``model[model_key]`` (or the whole
    ``model`` when ``model_key`` is None) must be equal, apart from the
    variant's top-level building blocks named ``<helper_prefix>*``.

    Returns:
        tuple[dict, dict]: the base's and the variant's network dicts.
    """
    base = base_cfg.to_dict()
    variant = {
        k: v
        for k, v in variant_cfg.to_dict().items()
        if not k.startswith(helper_prefix)
    }
    if model_key is None:
        net_b, net_v = base.pop('model'), variant.pop('model')
    else:
        net_b = base['model'].pop(model_key)
        net_v = variant['model'].pop(model_key)
    assert variant == base
    return net_b, net_v
