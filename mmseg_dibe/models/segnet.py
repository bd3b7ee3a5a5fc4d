"""SegNet-style encoder-decoder (Badrinarayanan et al., the paper's [29]).

SegNet's skip mechanism is not a feature concatenation: the encoder's
max-pooling layers remember *where* each maximum came from, and the decoder
puts every value back at that position with ``max_unpool2d`` before its
convolutions densify the sparse map. In mmseg terms:

* :class:`SegNetEncoder` (backbone) returns a tuple of the pooled features of
  every stage, followed by one :class:`PoolingRecord` holding the pooling
  indices and the pre-pooling sizes of every stage;
* :class:`SegNetHead` (decode head, a ``BaseDecodeHead``) takes the deepest
  feature and the record, and runs the mirrored decoder up to the input
  resolution. With ``out_channels=1`` (``num_classes=2``, ``threshold``) it is
  mmseg's binary sigmoid mode.

The record is the last element of the backbone's tuple so that any head
indexing features by ``in_index`` (0..num_stages-1) still finds tensors.
"""
from typing import List, NamedTuple, Optional, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import ConvModule
from mmengine.model import BaseModule
from mmseg.models.decode_heads.decode_head import BaseDecodeHead
from mmseg.registry import MODELS


class PoolingRecord(NamedTuple):
    """What the decoder needs to undo the encoder's poolings.

    Attributes:
        indices: per stage (shallow to deep), the flat argmax positions that
            ``F.max_pool2d(..., return_indices=True)`` returned.
        sizes: per stage, the spatial size ``(H, W)`` of the map *before*
            pooling; ``max_unpool2d`` needs it to restore odd sizes exactly.
    """
    indices: Tuple[torch.Tensor, ...]
    sizes: Tuple[Tuple[int, int], ...]


def _check_stages(name: str, channels: Sequence[int],
                  num_convs: Sequence[int]) -> None:
    if len(channels) == 0 or len(channels) != len(num_convs):
        raise ValueError(
            f'{name}: stage_channels {tuple(channels)} and num_convs '
            f'{tuple(num_convs)} must be non-empty and of equal length')
    if any(int(c) <= 0 for c in channels) or any(
            int(n) <= 0 for n in num_convs):
        raise ValueError(f'{name}: stage_channels {tuple(channels)} and '
                         f'num_convs {tuple(num_convs)} must be positive')


@MODELS.register_module()
class SegNetEncoder(BaseModule):
    """VGG-style encoder whose max-poolings return their indices.

    Stage i: ``num_convs[i]`` 3x3 conv-norm-ReLU blocks with
    ``stage_channels[i]`` channels, then a 2x2 stride-2 max-pooling. The
    defaults are VGG16-BN's 13 convolutions, SegNet's encoder.

    Args:
        in_channels (int): Image channels. Defaults to 3.
        stage_channels (Sequence[int]): Channels per stage.
            Defaults to ``(64, 128, 256, 512, 512)``.
        num_convs (Sequence[int]): Convolutions per stage.
            Defaults to ``(2, 2, 3, 3, 3)``.
        conv_cfg, norm_cfg, act_cfg (dict): Layer configs for
            ``mmcv.cnn.ConvModule``. Defaults: plain conv, BN, ReLU.
        init_cfg (dict | list[dict], optional): Initialisation; e.g.
            ``dict(type='Pretrained', checkpoint=...)``. Defaults to Kaiming
            for convolutions.

    Returns (from ``forward``):
        tuple: the pooled output of every stage (shallow to deep), then a
        :class:`PoolingRecord`.
    """

    def __init__(self,
                 in_channels: int = 3,
                 stage_channels: Sequence[int] = (64, 128, 256, 512, 512),
                 num_convs: Sequence[int] = (2, 2, 3, 3, 3),
                 conv_cfg: Optional[dict] = None,
                 norm_cfg: Optional[dict] = dict(type='BN'),
                 act_cfg: Optional[dict] = dict(type='ReLU'),
                 init_cfg=dict(type='Kaiming', layer='Conv2d')) -> None:
        super().__init__(init_cfg=init_cfg)
        _check_stages(type(self).__name__, stage_channels, num_convs)
        if in_channels <= 0:
            raise ValueError(f'{type(self).__name__}: in_channels must be '
                             f'positive, got {in_channels}')
        self.stage_channels = tuple(int(c) for c in stage_channels)
        self.num_convs = tuple(int(n) for n in num_convs)
        self.stages = nn.ModuleList()
        c_in = in_channels
        for c_out, n in zip(self.stage_channels, self.num_convs):
            layers = []
            for _ in range(n):
                layers.append(
                    ConvModule(c_in, c_out, 3, padding=1, conv_cfg=conv_cfg,
                               norm_cfg=norm_cfg, act_cfg=act_cfg))
                c_in = c_out
            self.stages.append(nn.Sequential(*layers))

    def forward(self, x: torch.Tensor) -> tuple:
        outs: List[torch.Tensor] = []
        indices, sizes = [], []
        for stage in self.stages:
            # Checked before the convolutions: a 1x1 map would otherwise fail
            # inside BatchNorm with a message that does not name the cause.
            if min(x.shape[-2:]) < 2:
                raise ValueError(
                    f'{type(self).__name__}: a {x.shape[-2]}x{x.shape[-1]} '
                    f'map cannot be pooled again; the input must be at '
                    f'least {2 ** len(self.stages)} pixels on each side')
            x = stage(x)
            sizes.append((int(x.shape[-2]), int(x.shape[-1])))
            x, idx = F.max_pool2d(x, 2, 2, return_indices=True)
            indices.append(idx)
            outs.append(x)
        return tuple(outs) + (PoolingRecord(tuple(indices), tuple(sizes)), )


@MODELS.register_module()
class SegNetHead(BaseDecodeHead):
    """SegNet decoder: unpool by the encoder's indices, then convolve.

    The decoder mirrors the encoder: for stage i from deep to shallow,
    ``max_unpool2d`` with the indices and size of encoder stage i, then
    ``num_convs[i]`` conv-norm-ReLU blocks; the last block of stage i maps to
    the channels of encoder stage i-1 (to ``channels`` for stage 0), so the
    next unpooling's indices fit. ``conv_seg`` (from ``BaseDecodeHead``) turns
    the full-resolution ``channels`` map into the logits.

    Args:
        stage_channels (Sequence[int]): The encoder's channels per stage.
        num_convs (Sequence[int]): The encoder's convolutions per stage.
        in_channels (int): Channels of the deepest feature; must equal
            ``stage_channels[-1]``.
        channels (int): Channels before ``conv_seg``.
        in_index (int): Index of the deepest feature in the backbone's tuple.
            Defaults to -2 (the record is the last element).
        **kwargs: ``BaseDecodeHead`` arguments (``num_classes``,
            ``out_channels``, ``threshold``, ``loss_decode``, ...).
    """

    def __init__(self,
                 stage_channels: Sequence[int] = (64, 128, 256, 512, 512),
                 num_convs: Sequence[int] = (2, 2, 3, 3, 3),
                 in_index: int = -2,
                 **kwargs) -> None:
        super().__init__(in_index=in_index, input_transform=None, **kwargs)
        _check_stages(type(self).__name__, stage_channels, num_convs)
        self.stage_channels = tuple(int(c) for c in stage_channels)
        self.num_convs = tuple(int(n) for n in num_convs)
        if self.in_channels != self.stage_channels[-1]:
            raise ValueError(
                f'{type(self).__name__}: in_channels={self.in_channels} must '
                f'equal the deepest stage_channels {self.stage_channels[-1]}')
        self.decoder = nn.ModuleList()
        num = len(self.stage_channels)
        for i in reversed(range(num)):
            c_in = self.stage_channels[i]
            c_last = self.stage_channels[i - 1] if i > 0 else self.channels
            layers = []
            for j in range(self.num_convs[i]):
                c_out = c_last if j == self.num_convs[i] - 1 else c_in
                layers.append(
                    ConvModule(c_in, c_out, 3, padding=1,
                               conv_cfg=self.conv_cfg,
                               norm_cfg=self.norm_cfg, act_cfg=self.act_cfg))
                c_in = c_out
            self.decoder.append(nn.Sequential(*layers))

    def forward(self, inputs: Sequence) -> torch.Tensor:
        record = inputs[-1]
        if not isinstance(record, PoolingRecord):
            raise TypeError(
                f'{type(self).__name__} needs the PoolingRecord of a '
                f'SegNetEncoder as the last backbone output, got '
                f'{type(record).__name__}; use it with SegNetEncoder')
        if len(record.indices) != len(self.stage_channels):
            raise ValueError(
                f'{type(self).__name__}: the encoder pooled '
                f'{len(record.indices)} times but the decoder has '
                f'{len(self.stage_channels)} stages')
        x = inputs[self.in_index]
        for block, idx, size in zip(self.decoder, reversed(record.indices),
                                    reversed(record.sizes)):
            x = F.max_unpool2d(x, idx, 2, 2, output_size=size)
            x = block(x)
        return self.cls_seg(x)
