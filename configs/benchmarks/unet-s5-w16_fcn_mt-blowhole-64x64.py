# CPU-scale comparison of the losses (benchmarks/compare_losses.py): the
# reduced-width U-Net of `make demo` on MTSDD Blowhole (Table 2: FG:BG 1:333),
# converted by `tools/dataset_converters/mtsdd.py SRC data/mt_blowhole
# --subset Blowhole`.
# The whole images (about 105-512 x 280-380) are scaled so that their long
# side is 128 (a blowhole of ~100 px keeps ~15 px), training takes random
# 64x64 crops of them, validation the whole scaled images.
_base_ = [
    'mmseg::_base_/models/fcn_unet_s5-d16.py',
    '../_base_/datasets/mt_blowhole.py',
    '../_base_/losses/dibe.py', '../_base_/schedules/cpu_iters.py',
    '../_base_/default_runtime.py'
]

crop_size = (64, 64)
scale = (128, 128)
norm_cfg = dict(type='BN', requires_grad=True)
model = dict(
    # Validation images keep their aspect ratio: pad them to a multiple of
    # 16 (the U-Net's four 2x down-samplings).
    data_preprocessor=dict(size=crop_size, test_cfg=dict(size_divisor=16)),
    backbone=dict(base_channels=16, norm_cfg=norm_cfg),
    decode_head=dict(
        in_channels=16,
        channels=16,
        num_classes=2,
        out_channels=1,
        threshold=0.5,
        norm_cfg=norm_cfg,
        # _delete_: replace mmseg's CrossEntropyLoss dict, do not merge.
        loss_decode=dict(_base_.loss, _delete_=True)),
    auxiliary_head=dict(
        in_channels=32,
        channels=16,
        num_classes=2,
        out_channels=1,
        threshold=0.5,
        norm_cfg=norm_cfg,
        loss_decode=dict(_base_.loss, loss_weight=0.4, _delete_=True)),
    test_cfg=dict(mode='whole'))

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='Resize', scale=scale, keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='RandomFlip', prob=0.5, direction='vertical'),
    # hue_delta=0 crashes mmseg 1.2.2 (randint(0, 0)); 1 of 180 is no
    # visible shift on grey images.
    dict(type='PhotoMetricDistortion', hue_delta=1),
    dict(type='PackSegInputs'),
]
# The labels are loaded after the resize: the metric compares the prediction,
# resized back to the original image, with the original mask.
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=scale, keep_ratio=True),
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs'),
]
# No worker processes on a 2-core machine (see the synthetic base).
train_dataloader = dict(
    batch_size=8,
    num_workers=0,
    persistent_workers=False,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(
    num_workers=0,
    persistent_workers=False,
    dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
