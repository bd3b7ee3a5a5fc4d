"""Test-only loss: zero for the first ``start`` calls, then NaN."""
import torch
import torch.nn as nn
from mmseg.registry import MODELS


@MODELS.register_module()
class NaNAfterLoss(nn.Module):

    def __init__(self, start=2, loss_name='loss_nanprobe', **kwargs):
        super().__init__()
        self.start = start
        self.calls = 0
        self._loss_name = loss_name

    @property
    def loss_name(self):
        return self._loss_name

    def forward(self, pred, target, *args, **kwargs):
        self.calls += 1
        zero = pred.sum() * 0
        return zero + float('nan') if self.calls > self.start else zero
