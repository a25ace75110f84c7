# Copyright (c) mmsss contributors. All rights reserved.
"""Multi-branch wrapper for semi-supervised segmentation pipelines."""
import copy
from typing import Dict, List, Optional, Sequence, Union

from mmcv.transforms import BaseTransform, Compose

from mmseg.registry import TRANSFORMS

__all__ = ['MultiBranch']

_OUT_KEYS = ('inputs', 'data_samples')


@TRANSFORMS.register_module()
class MultiBranch(BaseTransform):
    """Produce several views of one sample, one per branch.

    Segmentation counterpart of mmdet 3.x's ``MultiBranch``. Every branch
    pipeline runs on its own deep copy of ``results`` (so photometric ops in
    one branch never leak into another), and must end with a packing
    transform (e.g. ``PackSemiSegInputs``). The output always has an entry for
    every name of ``branch_field``, ``None`` for branches this sample does not
    produce::

        {'inputs': {branch: Tensor | None},
         'data_samples': {branch: SegDataSample | None}}

    Geometric augmentation should run once *before* this transform so the
    branches stay pixel-aligned.

    Args:
        branch_field (list[str]): All branch names used by the dataset(s),
            e.g. ``['sup', 'unsup_weak', 'unsup_strong']``.
        **branch_pipelines: ``branch name -> pipeline`` (a list of transform
            configs/callables, or a single one) for the branches this sample
            produces. Each name must be in ``branch_field``.

    Example:
        >>> unsup = dict(
        ...     type='MultiBranch',
        ...     branch_field=['sup', 'unsup_weak', 'unsup_strong'],
        ...     unsup_weak=[dict(type='PackSemiSegInputs')],
        ...     unsup_strong=[dict(type='StrongIntensityAug', num_ops=2),
        ...                   dict(type='PackSemiSegInputs')])
    """

    def __init__(self, branch_field: Sequence[str],
                 **branch_pipelines: Union[dict, list]) -> None:
        super().__init__()
        if isinstance(branch_field, str) or not all(
                isinstance(b, str) for b in branch_field):
            raise ValueError('branch_field must be a list of branch names, '
                             f'got {branch_field!r}')
        if len(set(branch_field)) != len(branch_field):
            raise ValueError(
                f'branch_field has duplicate names: {list(branch_field)}')
        unknown = [b for b in branch_pipelines if b not in branch_field]
        if unknown:
            raise ValueError(f'Branch pipeline(s) {unknown} are not in '
                             f'branch_field {list(branch_field)}')
        if not branch_pipelines:
            raise ValueError('MultiBranch needs at least one branch pipeline')
        self.branch_field: List[str] = list(branch_field)
        self.branch_pipelines: Dict[str, Compose] = {
            branch: self._build_pipeline(pipeline)
            for branch, pipeline in branch_pipelines.items()
        }

    @staticmethod
    def _build_pipeline(pipeline: Union[dict, list]) -> Compose:
        # Build with the mmseg registry so mmsss/mmseg transforms resolve
        # even without a default scope (mmcv's Compose uses the root one).
        if not isinstance(pipeline, (list, tuple)):
            pipeline = [pipeline]
        transforms = [
            TRANSFORMS.build(t) if isinstance(t, dict) else t
            for t in pipeline
        ]
        return Compose(transforms)

    def transform(self, results: dict) -> Optional[dict]:
        """Run every branch pipeline on a deep copy of ``results``.

        Returns:
            dict | None: ``{'inputs': {...}, 'data_samples': {...}}`` keyed
            by every name of ``branch_field``; ``None`` if any branch
            pipeline returns ``None`` (the dataset then resamples).
        """
        out = {key: {b: None for b in self.branch_field} for key in _OUT_KEYS}
        for branch, pipeline in self.branch_pipelines.items():
            branch_results = pipeline(copy.deepcopy(results))
            if branch_results is None:
                return None
            missing = [k for k in _OUT_KEYS if k not in branch_results]
            if missing:
                raise ValueError(
                    f'MultiBranch branch {branch!r} produced no {missing}; '
                    'its pipeline must end with a packing transform such as '
                    'PackSemiSegInputs')
            for key in _OUT_KEYS:
                out[key][branch] = branch_results[key]
        return out

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(branch_field={self.branch_field}, '
                f'branch_pipelines={list(self.branch_pipelines)})')
