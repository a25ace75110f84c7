"""Fail before the first iteration when model and data disagree."""
from mmengine.hooks import Hook
from mmengine.model import BaseTTAModel
from mmseg.registry import HOOKS

from mmsss.datasets.semi_datasets import check_num_classes
from mmsss.utils.dist import unwrap_model

__all__ = ['NumClassesCheckHook']


def _heads(model):
    """(name, head) pairs whose ``num_classes`` must match the data."""
    model = unwrap_model(model)
    if isinstance(model, BaseTTAModel):  # `tools/test.py --tta`
        model = model.module
    seg = getattr(model, 'student', model)
    yield 'model.decode_head', seg.decode_head
    aux = getattr(seg, 'auxiliary_head', None)
    if aux is not None:
        for i, head in enumerate(aux if hasattr(aux, '__len__') else [aux]):
            yield f'model.auxiliary_head[{i}]', head


def _datasets(dataset):
    subs = getattr(dataset, 'datasets', None)
    if subs:
        for sub in subs:
            yield from _datasets(sub)
    else:
        yield dataset


@HOOKS.register_module()
class NumClassesCheckHook(Hook):
    """Check every head's ``num_classes`` against the classes of every
    train/val dataset (each source of a ``ConcatDataset``) before training,
    validation or testing starts."""

    priority = 'VERY_HIGH'

    def _check(self, runner, dataloader) -> None:
        for dataset in _datasets(dataloader.dataset):
            meta = getattr(dataset, 'metainfo', None)
            if not meta or 'classes' not in meta:
                continue
            name = getattr(dataset, 'ann_file', '') or type(dataset).__name__
            for where, head in _heads(runner.model):
                check_num_classes(meta, head.num_classes,
                                  f'{where} (dataset {name})')

    def before_train(self, runner) -> None:
        self._check(runner, runner.train_dataloader)

    def before_val(self, runner) -> None:
        self._check(runner, runner.val_dataloader)

    def before_test(self, runner) -> None:
        self._check(runner, runner.test_dataloader)
