"""Per-branch normalisation and batching of semi-supervised data."""
import torch.nn.functional as F
from mmengine.model import BaseDataPreprocessor
from mmseg.registry import MODELS

__all__ = ['MultiBranchSegDataPreProcessor']


@MODELS.register_module()
class MultiBranchSegDataPreProcessor(BaseDataPreprocessor):
    """Run an ordinary ``SegDataPreProcessor`` on each branch separately.

    The segmentation counterpart of mmdet's ``MultiBranchDataPreprocessor``.
    In training, the collated batch is
    ``{'inputs': {branch: [Tensor | None]}, 'data_samples': {branch: [...]}}``
    (``None`` where a sample does not feed a branch: labeled samples only
    feed ``sup``). ``None`` entries are dropped, each branch is normalised and
    padded on its own, and the result keeps the same two-level layout. In
    testing the wrapped preprocessor is used as is.

    ``gt_sem_seg_analysis`` (ground truth of unlabeled images, kept for
    pseudo-label accuracy only) is padded like ``gt_sem_seg``.

    Args:
        data_preprocessor (dict): Config of the wrapped preprocessor, usually
            the segmentor's own ``SegDataPreProcessor``.
    """

    def __init__(self, data_preprocessor: dict) -> None:
        super().__init__()
        self.data_preprocessor = MODELS.build(data_preprocessor)

    def forward(self, data: dict, training: bool = False) -> dict:
        if not training or not isinstance(data.get('inputs'), dict):
            return self.data_preprocessor(data, training)
        outputs = {'inputs': {}, 'data_samples': {}}
        for branch, inputs in data['inputs'].items():
            samples = data['data_samples'][branch]
            keep = [i for i, x in enumerate(inputs) if x is not None]
            if not keep:
                continue
            out = self.data_preprocessor(
                dict(
                    inputs=[inputs[i] for i in keep],
                    data_samples=[samples[i] for i in keep]), training)
            _pad_analysis_gt(out['data_samples'], out['inputs'].shape[-2:],
                             self.data_preprocessor.seg_pad_val)
            outputs['inputs'][branch] = out['inputs']
            outputs['data_samples'][branch] = out['data_samples']
        return outputs


def _pad_analysis_gt(data_samples, size, pad_val: int) -> None:
    for sample in data_samples:
        if 'gt_sem_seg_analysis' not in sample:
            continue
        gt = sample.gt_sem_seg_analysis.data
        pad_h, pad_w = size[0] - gt.shape[-2], size[1] - gt.shape[-1]
        if pad_h > 0 or pad_w > 0:
            # PixelData keeps its shape: drop the field before resetting it
            del sample.gt_sem_seg_analysis.data
            sample.gt_sem_seg_analysis.data = F.pad(
                gt, (0, max(pad_w, 0), 0, max(pad_h, 0)), value=pad_val)
