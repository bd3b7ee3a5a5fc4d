# The paper's training setup (Section 4.3.3): SGD, initial lr 0.01, momentum
# 0.9, batch 32 (2 GPUs x 16, set in the dataset bases), 50 epochs, validation
# (IoU, PA, OII) every 5 epochs. The paper states no decay policy or weight
# decay; mmseg's usual poly decay and 5e-4 weight decay are used.
optimizer = dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=0.0005)
optim_wrapper = dict(type='OptimWrapper', optimizer=optimizer, clip_grad=None)
param_scheduler = [
    dict(
        type='PolyLR',
        eta_min=1e-4,
        power=0.9,
        begin=0,
        end=50,
        by_epoch=True,
        convert_to_iter_based=True)
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=50, val_interval=5)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
# The lr above is for the paper's total batch of 32; scale with
# `--auto-scale-lr`-style tools or by hand when the total batch differs.
auto_scale_lr = dict(enable=False, base_batch_size=32)
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=10, log_metric_by_epoch=True),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(
        type='CheckpointHook', by_epoch=True, interval=5, max_keep_ckpts=3),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    visualization=dict(type='SegVisualizationHook'))
randomness = dict(seed=0)
