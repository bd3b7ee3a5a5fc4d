# Synthetic "hidden crack" data written by tools/data/make_synthetic.py.
dataset_type = 'SyntheticCrackDataset'
data_root = 'data/synthetic_crack'
crop_size = (64, 64)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    # The dataset turns this into LoadBinaryAnnotations (checks 0/1 masks).
    dict(type='LoadAnnotations'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='RandomFlip', prob=0.5, direction='vertical'),
    # The paper's photometric augmentation: brightness, contrast, saturation.
    dict(type='PhotoMetricDistortion'),
    dict(type='PackSegInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs'),
]
# Loading these small PNGs is cheap next to the model: no worker processes,
# which keeps 2-core CPU machines responsive.
train_dataloader = dict(
    batch_size=8,
    num_workers=0,
    persistent_workers=False,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_prefix=dict(img_path='img_dir/train', seg_map_path='ann_dir/train'),
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1,
    num_workers=0,
    persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_prefix=dict(img_path='img_dir/val', seg_map_path='ann_dir/val'),
        pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='OIIMetric')
test_evaluator = val_evaluator
