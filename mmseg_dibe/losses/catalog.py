"""One name per loss: the single table that maps a loss's registry type to
its name in the paper, its token in config file names and its ``loss_name``.

Everything that names a loss reads this table: the loss classes
(``short_name``, hence the default ``loss_name``), the configs' naming test,
the report and benchmark tables and the docs. Pure data: importing it needs
neither torch nor mmseg.

``stock_bce`` is mmseg's own ``CrossEntropyLoss(use_sigmoid=True)`` on the
binary head: not one of ours, but the loss a user would otherwise pick, so
every comparison carries it.
"""
from typing import Dict, NamedTuple, Optional


class LossInfo(NamedTuple):
    """How one loss is named everywhere.

    Attributes:
        type (str): Registry type (``loss_decode=dict(type=...)``).
        paper_name (str): Name in the paper's tables and in our reports.
        token (str): Token in config file names (mmseg style, dashes).
        short_name (str): Default ``loss_name`` is ``'loss_' + short_name``.
        equation (str): Equation of the paper that defines it.
        ours (bool): Implemented by this package (else mmseg's own).
    """
    type: str
    paper_name: str
    token: str
    short_name: str
    equation: str
    ours: bool = True

    @property
    def loss_name(self) -> str:
        """Key of the loss in mmseg's loss dict and in the logs."""
        return 'loss_' + self.short_name


_TABLE = (
    LossInfo('WBCELoss', 'WBCE', 'wbce', 'wbce', 'Eq. 2'),
    LossInfo('BinaryFocalLoss', 'Focal', 'focal', 'focal', 'Eq. 3'),
    LossInfo('BinaryDiceLoss', 'Dice', 'dice', 'dice', 'Eq. 4-5'),
    LossInfo('BinaryTverskyLoss', 'Tversky', 'tversky', 'tversky',
             'Eq. 6-7'),
    LossInfo('FocalTverskyLoss', 'FT', 'ft', 'ft', 'Eq. 8'),
    LossInfo('ComboLoss', 'Combo', 'combo', 'combo', 'Eq. 9'),
    LossInfo('ExpLogLoss', 'EL', 'el', 'el', 'Eq. 10-11'),
    LossInfo('HybridFocalLoss', 'HF', 'hf', 'hf', 'Eq. 12'),
    LossInfo('DIBEDisLoss', 'DIBE_Dis', 'dibe-dis', 'dibe_dis', 'Eq. 16'),
    LossInfo('DIBERegLoss', 'DIBE_Reg', 'dibe-reg', 'dibe_reg', 'Eq. 18'),
    LossInfo('DIBELoss', 'DIBE', 'dibe', 'dibe', 'Eq. 19'),
    # mmseg's CrossEntropyLoss(use_sigmoid=True): its own default loss_name
    # is 'loss_ce'.
    LossInfo('CrossEntropyLoss', 'BCE (mmseg)', 'bce', 'ce',
             'stock baseline', ours=False),
)

#: Registry type -> :class:`LossInfo`.
LOSSES: Dict[str, LossInfo] = {info.type: info for info in _TABLE}
#: File-name token -> :class:`LossInfo`.
BY_TOKEN: Dict[str, LossInfo] = {info.token: info for info in _TABLE}
#: Paper name -> :class:`LossInfo`.
BY_PAPER_NAME: Dict[str, LossInfo] = {
    info.paper_name: info
    for info in _TABLE
}


def loss_info(type_name: str) -> LossInfo:
    """The :class:`LossInfo` of a registry type; KeyError naming the known
    types otherwise."""
    try:
        return LOSSES[type_name]
    except KeyError:
        raise KeyError(f'unknown loss type {type_name!r}; known: '
                       f'{sorted(LOSSES)}') from None


def paper_name(loss_cfg: dict) -> str:
    """Name of a loss config in tables: the paper's name of its type (the
    type itself when it is not in the table)."""
    type_name = loss_cfg.get('type', '?')
    if type_name == 'CrossEntropyLoss' and not loss_cfg.get('use_sigmoid'):
        return 'CE (mmseg)'
    info: Optional[LossInfo] = LOSSES.get(type_name)
    return info.paper_name if info else type_name
