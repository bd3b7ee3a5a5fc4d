# `make demo`: a reduced-width U-Net trained with DIBE loss on the synthetic
# hidden-crack data, evaluated with OII / IoU / PA. A few minutes on 2 CPU cores.
_base_ = [
    'mmseg::_base_/models/fcn_unet_s5-d16.py',
    '../_base_/datasets/synthetic_crack.py',
    '../_base_/schedules/cpu_iters.py', '../_base_/default_runtime.py'
]

data_root = 'data/synthetic_crack_demo'
crop_size = (64, 64)
norm_cfg = dict(type='BN', requires_grad=True)
# _delete_: replace the base config's CrossEntropyLoss instead of merging into it.
loss = dict(
    _delete_=True, type='DIBELoss', alpha=0.3, lam=0.75, gamma=2.0, theta=0.5)

model = dict(
    data_preprocessor=dict(size=crop_size),
    backbone=dict(base_channels=16, norm_cfg=norm_cfg),
    # Binary mode: one sigmoid channel, thresholded at 0.5 for predictions.
    decode_head=dict(
        in_channels=16,
        channels=16,
        num_classes=2,
        out_channels=1,
        threshold=0.5,
        norm_cfg=norm_cfg,
        loss_decode=loss),
    auxiliary_head=dict(
        in_channels=32,
        channels=16,
        num_classes=2,
        out_channels=1,
        threshold=0.5,
        norm_cfg=norm_cfg,
        loss_decode=dict(loss, loss_weight=0.4)),
    test_cfg=dict(mode='whole'))

train_dataloader = dict(batch_size=8, dataset=dict(data_root=data_root))
val_dataloader = dict(dataset=dict(data_root=data_root))
test_dataloader = val_dataloader

# SGD lr 0.05 with poly decay (the base explains why not the paper's 0.01);
# 600 iterations reach IoU 0.71 on the demo data.
max_iters = 600
# The base's poly decay, over this length.
param_scheduler = [dict(_base_.param_scheduler[0], end=max_iters)]
train_cfg = dict(max_iters=max_iters, val_interval=200)
default_hooks = dict(
    logger=dict(interval=50),
    checkpoint=dict(interval=200, max_keep_ckpts=2))
