"""Initialise the ESL part prototypes before the first iteration."""
from typing import List, Optional

import torch
from mmengine.dataset import ConcatDataset, pseudo_collate
from mmengine.dist import (all_gather_object, broadcast, get_dist_info,
                           is_main_process)
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmseg.registry import HOOKS
from torch.utils.data import DataLoader, Subset

from ...utils.dist import unwrap_model

__all__ = ['PrototypeInitHook']


@HOOKS.register_module()
class PrototypeInitHook(Hook):
    """K-means part prototypes of ESL from the labeled set.

    Before training, the teacher encoder runs over the labeled images (each
    rank a shard); features of labeled pixels are grouped by ground-truth
    class, subsampled, gathered on rank 0, clustered there with a seeded
    spherical K-means (K = ``model.num_parts``) and the prototypes are
    broadcast to all ranks. The centres are unit-norm: the prototype EMA of
    Eq. 12 (``ema_update_prototypes``) keeps them on the unit sphere.
    Skipped when the model's ``prototypes_initialized`` buffer is set
    (resumed runs) or when the model has no contrastive branch (K = 0).

    Runs after ``MeanTeacherHook.before_train`` (lower priority), so the
    teacher already equals the student of a fresh run.

    Args:
        batch_size (int): Images per forward pass. Defaults to 4.
        max_pixels_per_image (int, optional): At most this many random pixels
            per class and image (feature-map resolution). Defaults to 64.
        max_samples_per_class (int, optional): At most this many samples per
            class enter K-means (random subset). Defaults to 4096.
        max_images (int, optional): Use only the first images of the labeled
            set. Defaults to None (all).
        seed (int): Seed of the subsampling and of K-means. Defaults to 0.
        dataset_index (int, optional): Which dataset of the training
            ``ConcatDataset`` is the labeled one; None: the first with
            ``is_labeled=True``.
        num_workers (int): Data loader workers. Defaults to 0.
    """

    priority = 'LOW'

    def __init__(self,
                 batch_size: int = 4,
                 max_pixels_per_image: Optional[int] = 64,
                 max_samples_per_class: Optional[int] = 4096,
                 max_images: Optional[int] = None,
                 seed: int = 0,
                 dataset_index: Optional[int] = None,
                 num_workers: int = 0) -> None:
        if batch_size < 1:
            raise ValueError(f'batch_size must be >= 1, got {batch_size}')
        self.batch_size = batch_size
        self.max_pixels_per_image = max_pixels_per_image
        self.max_samples_per_class = max_samples_per_class
        self.max_images = max_images
        self.seed = seed
        self.dataset_index = dataset_index
        self.num_workers = num_workers

    def _labeled_dataset(self, runner):
        dataset = runner.train_dataloader.dataset
        if not isinstance(dataset, ConcatDataset):
            return dataset
        subsets = dataset.datasets
        if self.dataset_index is not None:
            return subsets[self.dataset_index]
        for d in subsets:
            if getattr(d, 'is_labeled', False):
                return d
        raise ValueError('PrototypeInitHook: no dataset with is_labeled=True '
                         'in train_dataloader.dataset.datasets; set '
                         'dataset_index')

    def before_train(self, runner) -> None:
        model = unwrap_model(runner.model)
        if not getattr(model, 'use_contrast', False):
            return
        if bool(model.prototypes_initialized):
            print_log('PrototypeInitHook: prototypes already initialised '
                      '(resumed), skipping', logger='current')
            return
        class_features = self.collect(model, self._labeled_dataset(runner))
        if is_main_process():
            model.init_prototypes(class_features, seed=self.seed)
            counts = [len(f) for f in class_features]
            print_log(f'PrototypeInitHook: K-means of {sum(counts)} labeled '
                      f'pixel features (per class {counts})',
                      logger='current')
        broadcast(model.prototypes, 0)
        model.prototypes_initialized.fill_(True)

    @torch.no_grad()
    def collect(self, model, dataset) -> Optional[List[torch.Tensor]]:
        """Per-class features of this rank's shard, gathered to rank 0
        (None elsewhere)."""
        rank, world_size = get_dist_info()
        indices = list(range(len(dataset)))
        if self.max_images is not None:
            indices = indices[:self.max_images]
        loader = DataLoader(
            Subset(dataset, indices[rank::world_size]),
            batch_size=self.batch_size,
            shuffle=False,
            num_workers=self.num_workers,
            collate_fn=pseudo_collate)
        generator = torch.Generator().manual_seed(self.seed + rank)
        per_class = [[] for _ in range(model.num_classes)]
        for batch in loader:
            data = model.data_preprocessor(batch, True)
            inputs, samples = data['inputs'], data['data_samples']
            if isinstance(inputs, dict):  # multi-branch layout
                inputs, samples = inputs['sup'], samples['sup']
            labels = torch.stack(
                [s.gt_sem_seg.data.squeeze(0) for s in samples]).to(
                    inputs.device)
            feats = model.prototype_samples(inputs, labels,
                                            self.max_pixels_per_image,
                                            generator)
            for c, f in enumerate(feats):
                per_class[c].append(f)
        gathered = all_gather_object(
            [self._subsample(torch.cat(f), generator) for f in per_class])
        if rank != 0:
            return None
        return [
            self._subsample(torch.cat([g[c] for g in gathered]), generator)
            for c in range(model.num_classes)
        ]

    def _subsample(self, feats: torch.Tensor,
                   generator: torch.Generator) -> torch.Tensor:
        cap = self.max_samples_per_class
        if cap is None or feats.shape[0] <= cap:
            return feats
        return feats[torch.randperm(feats.shape[0], generator=generator)[:cap]]
