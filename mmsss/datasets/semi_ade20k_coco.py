"""ADE20K (150 classes) and COCO (81 classes) read from UniMatch split files.

UniMatch V1/V2 split lines have two columns, image and label path relative to
the data root (``ADEChallengeData2016`` or the COCO root)::

    images/training/ADE_train_00001609.jpg annotations/training/<same>.png
    train2017/000000177254.jpg masks/000000177254.png

UniMatch reads both columns as they are (UniMatch-V2 dataset/semi.py:34-38,
no label mapping), so its labels must already be train ids: its ADE20K and
COCO downloads are pre-processed (UniMatch-V2 README.md:102).
"""
import os.path as osp
from concurrent.futures import ThreadPoolExecutor
from typing import List, Optional, Tuple

from mmseg.datasets import ADE20KDataset, COCOStuffDataset
from mmseg.registry import DATASETS

from .semi_datasets import SemiBaseSegDataset, _report, find_bad_label_values

__all__ = [
    'SemiADE20KDataset', 'SemiCOCO81Dataset', 'COCO81_CLASSES',
    'COCO81_PALETTE', 'bit_color_map'
]


def bit_color_map(num: int) -> List[List[int]]:
    """The PASCAL VOC bit-interleaved colour map, which UniMatch also uses
    for COCO (UniMatch-V2 util/utils.py:82-98): bits 0/1/2 of the class index
    go, most significant first, to red/green/blue."""
    cmap = []
    for i in range(num):
        r = g = b = 0
        c = i
        for j in range(8):
            r |= (c & 1) << (7 - j)
            g |= ((c >> 1) & 1) << (7 - j)
            b |= ((c >> 2) & 1) << (7 - j)
            c >>= 3
        cmap.append([r, g, b])
    return cmap


# 0 = background ('void' in UniMatch-V2 util/classes.py:9), then the 80
# COCO thing classes in category-id order: the first 80 of mmseg's
# COCO-Stuff classes, the same names as util/classes.py:9-18.
COCO81_CLASSES = ('background', ) + tuple(
    COCOStuffDataset.METAINFO['classes'][:80])
COCO81_PALETTE = bit_color_map(81)


class _TwoColumnSplitDataset(SemiBaseSegDataset):
    """A split line is ``<image> [<label>]``, both relative to ``data_root``
    (more precisely to ``data_prefix['img_path']`` / ``['seg_map_path']``,
    which default to ``data_root``); a one-column line derives the label
    with :meth:`label_rel_path`. ``img_id`` is the image file stem."""

    def __init__(self,
                 ann_file: str = '',
                 img_suffix: str = '.jpg',
                 seg_map_suffix: str = '.png',
                 data_prefix: dict = dict(img_path='', seg_map_path=''),
                 **kwargs) -> None:
        super().__init__(
            ann_file=ann_file,
            img_suffix=img_suffix,
            seg_map_suffix=seg_map_suffix,
            data_prefix=data_prefix,
            **kwargs)

    def label_rel_path(self, img_rel: str) -> str:
        raise NotImplementedError

    def _stem(self, img_rel: str) -> str:
        name = osp.basename(img_rel)
        if not name.endswith(self.img_suffix):
            raise ValueError(f'image path {img_rel!r} does not end with '
                             f'img_suffix {self.img_suffix!r}')
        return name[:-len(self.img_suffix)]

    def parse_line(self, cols):
        img_dir = self.data_prefix.get('img_path', '') or ''
        seg_dir = self.data_prefix.get('seg_map_path', '') or ''
        img_id = self._stem(cols[0])
        if len(cols) > 1:
            seg_path = osp.join(seg_dir, cols[1])
        elif self.is_labeled or self.keep_gt_for_analysis:
            seg_path = osp.join(seg_dir, self.label_rel_path(cols[0]))
        else:
            seg_path = None
        return img_id, osp.join(img_dir, cols[0]), seg_path


@DATASETS.register_module()
class SemiADE20KDataset(_TwoColumnSplitDataset):
    """ADE20K (``ADEChallengeData2016``) read from UniMatch V2's split files
    (``splits/ade20k/<1_64|...|1_2>/{labeled,unlabeled}.txt``, ``val.txt``).

    Args:
        annotations (str): Which label files the split's second column
            points to:

            - ``'unimatch'`` (default, as the official code reads them):
              UniMatch's pre-processed maps, classes 0-149 and 255 for
              "other"; read as they are (``reduce_zero_label=False``).
              Values 150-254 are rejected (150 is the last class of the raw
              maps: the files are raw).
            - ``'raw'``: the maps of ``ADEChallengeData2016/annotations``,
              0 = "other" and 1-150 the classes; mmseg's
              ``reduce_zero_label=True`` (as ``ADE20KDataset``) maps 0 -> 255
              and v -> v - 1, i.e. the same train ids as the pre-processed
              maps. Values above 150 are rejected, 255 included (raw maps
              have none: the files are pre-processed).

            A raw map that happens to lack class 150 passes the
            ``'unimatch'`` check (its values 0-149 are all valid there).
        reduce_zero_label (bool, optional): Derived from ``annotations``;
            giving a different value is an error.
        **kwargs: :class:`SemiBaseSegDataset` arguments.

    Classes and palette are mmseg's ``ADE20KDataset`` ones (the same 150
    names as UniMatch-V2 util/classes.py:33).
    """
    METAINFO = dict(
        classes=tuple(ADE20KDataset.METAINFO['classes']),
        palette=[list(c) for c in ADE20KDataset.METAINFO['palette']])
    ANNOTATIONS = ('unimatch', 'raw')

    def __init__(self,
                 ann_file: str = '',
                 annotations: str = 'unimatch',
                 reduce_zero_label: Optional[bool] = None,
                 **kwargs) -> None:
        if annotations not in self.ANNOTATIONS:
            raise ValueError(
                f'SemiADE20KDataset(ann_file={ann_file!r}): annotations must '
                f'be one of {self.ANNOTATIONS}, got {annotations!r}')
        derived = annotations == 'raw'
        if reduce_zero_label is not None and bool(
                reduce_zero_label) != derived:
            raise ValueError(
                f'SemiADE20KDataset(ann_file={ann_file!r}): '
                f'reduce_zero_label={reduce_zero_label} contradicts '
                f'annotations={annotations!r} (which implies '
                f'reduce_zero_label={derived}); set annotations only')
        self.annotations = annotations
        super().__init__(
            ann_file=ann_file, reduce_zero_label=derived, **kwargs)

    def label_rel_path(self, img_rel: str) -> str:
        """``images/<set>/<name>.jpg`` -> ``annotations/<set>/<name>.png``."""
        parts = img_rel.split('/')
        parts = ['annotations' if p == 'images' else p for p in parts[:-1]]
        return '/'.join(parts + [self._stem(img_rel) + self.seg_map_suffix])

    def _check_label_values(self, items: List[Tuple[int, str]]) -> None:
        """Per-file value check of the chosen annotation kind (see the class
        docstring); the error names each file and the other choice."""
        num = len(self.METAINFO['classes'])
        if self.annotations == 'raw':
            # 0..150, no ignore value
            allowed, ignore = num + 1, -1
            rule = f'[0, {num}] (raw: 0 = other)'
            hint = ("values of 255 mean UniMatch's pre-processed maps: set "
                    "annotations='unimatch'")
        else:
            allowed, ignore = num, self.ignore_index
            rule = f'[0, {num - 1}] U {{{ignore}}} (UniMatch pre-processed)'
            hint = ("a value of 150 means raw ADE20K maps (0 = other): set "
                    "annotations='raw'")

        def check(item):
            lineno, path = item
            try:
                bad = find_bad_label_values(path, allowed, ignore)
            except (ValueError, OSError) as e:
                return f'line {lineno}: {path}: {e}'
            if bad:
                shown = list(bad[:10]) + (['...'] if len(bad) > 10 else [])
                return (f'line {lineno}: {path} has values '
                        f'{", ".join(map(str, shown))}')
            return None

        if len(items) > 8 and self.label_check_workers > 1:
            with ThreadPoolExecutor(self.label_check_workers) as ex:
                results = list(ex.map(check, items))
        else:
            results = [check(it) for it in items]
        errors = [r for r in results if r is not None]
        if errors:
            raise ValueError(
                f'{len(errors)} label map(s) listed in split file '
                f'{self.ann_file} do not fit '
                f'annotations={self.annotations!r}: allowed values {rule}:\n'
                + _report(errors) + f'\n{hint} (or pass '
                'check_label_values=False).')


@DATASETS.register_module()
class SemiCOCO81Dataset(_TwoColumnSplitDataset):
    """COCO in UniMatch's 81-class setting: 0 = background, 1-80 the thing
    classes in category-id order, 255 ignored; ``train2017/``, ``val2017/``
    and one ``masks/`` folder for both (UniMatch-V2 README.md:121-125), split
    lines ``train2017/<id>.jpg masks/<id>.png``. UniMatch publishes only the
    labeled lists (``splits/coco/1_512 ... 1_32``); the unlabeled list is the
    rest of ``train2017``
    (``tools/dataset_converters/coco_unlabeled_split.py``).
    A one-column line derives the label as ``masks/<id>.png``.
    Masks: UniMatch's download, or ``coco_instances_to_masks.py``.
    """
    METAINFO = dict(classes=COCO81_CLASSES, palette=COCO81_PALETTE)

    def label_rel_path(self, img_rel: str) -> str:
        return 'masks/' + self._stem(img_rel) + self.seg_map_suffix
