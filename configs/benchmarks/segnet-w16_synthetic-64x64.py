# CPU-scale comparison of the losses (benchmarks/compare_losses.py): a
# reduced SegNet (the paper's [29]: encoder max-poolings keep their indices,
# the decoder unpools by them; mmseg_dibe.SegNetEncoder / SegNetHead) with
# 1/4 of VGG16-BN's widths and one conv per stage, on the synthetic
# hidden-crack data (64x64).
_base_ = [
    '../_base_/models/segnet_vgg16-bn.py',
    '../_base_/datasets/synthetic_crack.py',
    'mmseg::_base_/default_runtime.py',
]
custom_imports = dict(imports=['mmseg_dibe'], allow_failed_imports=False)
default_scope = 'mmseg'

data_root = 'data/synthetic_crack_demo'
crop_size = (64, 64)
norm_cfg = dict(type='BN', requires_grad=True)
stage_channels = (16, 32, 64, 64, 64)
num_convs = (1, 1, 1, 1, 1)
loss = dict(type='DIBELoss', alpha=0.3, lam=0.75, gamma=2.0, theta=0.5)
model = dict(
    data_preprocessor=dict(size=crop_size),
    backbone=dict(stage_channels=stage_channels, num_convs=num_convs,
                  norm_cfg=norm_cfg),
    decode_head=dict(
        stage_channels=stage_channels,
        num_convs=num_convs,
        in_channels=64,
        channels=16,
        norm_cfg=norm_cfg,
        loss_decode=loss))

# The synthetic base's PhotoMetricDistortion(hue_delta=0) crashes mmseg 1.2.2
# (randint(0, 0)); hue_delta=1 is no visible shift on grey images.
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='RandomFlip', prob=0.5, direction='vertical'),
    dict(type='PhotoMetricDistortion', hue_delta=1),
    dict(type='PackSegInputs'),
]
train_dataloader = dict(
    batch_size=8, dataset=dict(data_root=data_root, pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(data_root=data_root))
test_dataloader = val_dataloader

optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=0.0005),
    clip_grad=None)
max_iters = 300
param_scheduler = [
    dict(type='PolyLR', eta_min=1e-4, power=0.9, begin=0, end=max_iters,
         by_epoch=False)
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters,
                 val_interval=30)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=10, log_metric_by_epoch=False),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', by_epoch=False,
                    interval=max_iters, max_keep_ckpts=1),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    visualization=dict(type='SegVisualizationHook', draw=False))
randomness = dict(seed=0)
