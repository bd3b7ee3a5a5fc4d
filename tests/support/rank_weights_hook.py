"""Test-only hook: every rank saves its parameters, to compare them after a
distributed run (mmengine's checkpoints hold rank 0's weights only)."""
import os

import torch
from mmengine.dist import get_dist_info
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmseg.registry import HOOKS


@HOOKS.register_module()
class DumpRankWeightsHook(Hook):

    def __init__(self, out_dir):
        self.out_dir = out_dir

    def _dump(self, runner, suffix):
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        rank, world_size = get_dist_info()
        os.makedirs(self.out_dir, exist_ok=True)
        params = {k: v.detach().clone() for k, v in model.named_parameters()}
        torch.save({'params': params, 'world_size': world_size},
                   os.path.join(self.out_dir, f'rank{rank}{suffix}.pth'))

    def before_train(self, runner):
        self._dump(runner, '_start')

    def after_train(self, runner):
        self._dump(runner, '')
