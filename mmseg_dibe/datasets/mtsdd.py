"""The Magnetic-tile surface defect dataset (MTSDD), one subset at a time.

Written by ``tools/dataset_converters/mtsdd.py --subset <Subset>``: the
published grey JPEG images copied byte for byte and 0/1 PNG masks
(source masks thresholded at 128).
"""
from typing import Optional, Sequence

from mmseg.registry import DATASETS

from .base import BinarySegDataset

MTSDD_SUBSETS = ('Blowhole', 'Break', 'Crack', 'Fray', 'Uneven', 'Free')


@DATASETS.register_module()
class MTSDDDataset(BinarySegDataset):
    """One MTSDD subset as a binary dataset ``('background', <subset>)``.

    Args:
        subset (str, optional): ``'Blowhole'``, ``'Break'``, ``'Crack'``,
            ``'Fray'``, ``'Uneven'`` or ``'Free'`` (case-insensitive). Names
            the defect class (e.g. ``('background', 'blowhole')``); the label
            ids stay 0 and 1. ``None`` names it ``'defect'``.
        img_suffix (str): Defaults to ``'.jpg'`` (the published format).
        **kwargs: Passed to :class:`BinarySegDataset`.

    Raises:
        ValueError: for an unknown subset.
    """

    METAINFO = dict(classes=('background', 'defect'),
                    palette=[[0, 0, 0], [255, 0, 0]])

    def __init__(self,
                 subset: Optional[str] = None,
                 img_suffix: str = '.jpg',
                 **kwargs) -> None:
        if subset is not None:
            names = {s.lower(): s for s in MTSDD_SUBSETS}
            key = subset.lower()
            key = key[3:] if key.startswith('mt_') else key
            if key not in names:
                raise ValueError(
                    f'MTSDDDataset: unknown subset {subset!r}; choose one of '
                    f'{", ".join(MTSDD_SUBSETS)}')
            metainfo = dict(kwargs.pop('metainfo', None) or {})
            metainfo.setdefault('classes', ('background', key))
            metainfo.setdefault('subset', names[key])
            kwargs['metainfo'] = metainfo
        self.subset = subset
        super().__init__(img_suffix=img_suffix, **kwargs)

    @classmethod
    def get_label_map(cls, new_classes: Optional[Sequence] = None):
        """No remapping for a renamed defect class.

        mmseg builds a label map when the configured class names differ from
        ``METAINFO``; naming the defect after the subset changes only the
        name, never the ids 0 and 1, so no map is needed.
        """
        if (new_classes is not None and len(new_classes) == 2
                and new_classes[0] == 'background'):
            return None
        return super().get_label_map(new_classes)
