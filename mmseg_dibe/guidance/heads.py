"""The one walk over a segmentor's heads and their losses.

Both the online hook (a built model) and the offline search (a config dict)
write α into the same places: every loss of ``decode_head`` and
``auxiliary_head``, where a head may be one head or a list of heads and its
``loss_decode`` one loss or a list of losses. :func:`iter_head_losses` walks
either form the same way, so the two can never disagree on what "the losses
of the model" are.
"""
from typing import Any, Iterator, NamedTuple, Optional

from mmengine.model import is_model_wrapper
from torch import nn

#: Heads whose losses carry α (mmseg's ``EncoderDecoder``).
HEAD_KEYS = ('decode_head', 'auxiliary_head')


class HeadLoss(NamedTuple):
    """One loss of one head, found by :func:`iter_head_losses`.

    Attributes:
        head_key (str): ``'decode_head'`` or ``'auxiliary_head'``.
        head_index (int | None): Index in a list of heads, else ``None``.
        loss_index (int | None): Index in a list of losses, else ``None``.
        loss (nn.Module | dict): The loss module, or the loss config dict.
    """
    head_key: str
    head_index: Optional[int]
    loss_index: Optional[int]
    loss: Any

    @property
    def module_name(self) -> str:
        """Name as in ``model.named_modules()``:
        ``decode_head.loss_decode.0``."""
        parts = [self.head_key, self.head_index, 'loss_decode',
                 self.loss_index]
        return '.'.join(str(p) for p in parts if p is not None)

    @property
    def config_path(self) -> str:
        """Path in a config: ``model.decode_head.loss_decode[0]``."""
        def index(i):
            return '' if i is None else f'[{i}]'

        return (f'model.{self.head_key}{index(self.head_index)}'
                f'.loss_decode{index(self.loss_index)}')


def _indexed(item) -> list:
    """``[(index, element)]`` of a list (or ModuleList), ``[(None, item)]``
    of a single item."""
    if isinstance(item, (list, tuple, nn.ModuleList)):
        return list(enumerate(item))
    return [(None, item)]


def _child(node, key: str):
    return node.get(key) if isinstance(node, dict) else getattr(
        node, key, None)


def iter_head_losses(model) -> Iterator[HeadLoss]:
    """Every loss of the decode and auxiliary heads of a segmentor.

    Args:
        model (nn.Module | dict): A built segmentor (possibly wrapped: DDP,
            ...) or its config ``cfg.model``.

    Yields:
        HeadLoss: In order: decode head first, heads and losses by index.
    """
    if is_model_wrapper(model):
        model = model.module
    for head_key in HEAD_KEYS:
        heads = _child(model, head_key)
        if heads is None:
            continue
        for head_index, head in _indexed(heads):
            losses = _child(head, 'loss_decode')
            if losses is None:
                continue
            for loss_index, loss in _indexed(losses):
                yield HeadLoss(head_key, head_index, loss_index, loss)
