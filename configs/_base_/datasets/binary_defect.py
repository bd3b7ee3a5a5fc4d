# Shared by every binary defect dataset base (THC, MTSDD, CFD, synthetic):
# the pipelines, loaders and evaluator of the paper's setup (Section 4.3.3).
# A dataset base inherits this and sets the dataset type and root.
dataset_type = 'BinarySegDataset'
data_root = 'data/binary_defect'
crop_size = None
train_pipeline = [
    dict(type='LoadImageFromFile'),
    # The dataset turns this into LoadBinaryAnnotations (checks 0/1 masks).
    dict(type='LoadAnnotations'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='RandomFlip', prob=0.5, direction='vertical'),
    # The paper's photometric augmentation: brightness, contrast, saturation.
    # (hue_delta=0 crashes mmseg 1.2.2: randint(0, 0); 1 of 180 is no shift
    # worth the name, and grey images have no hue anyway.)
    dict(type='PhotoMetricDistortion', hue_delta=1),
    dict(type='PackSegInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs'),
]
# The paper's batch: 2 GPUs x 16 = 32.
train_dataloader = dict(
    batch_size=16,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_prefix=dict(
            img_path='img_dir/train', seg_map_path='ann_dir/train'),
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_prefix=dict(img_path='img_dir/val', seg_map_path='ann_dir/val'),
        pipeline=test_pipeline))
test_dataloader = val_dataloader
# IoU (Eq. 20), PA (Eq. 21) and OII (Eq. 13-15) of the defect class.
val_evaluator = dict(type='OIIMetric')
test_evaluator = val_evaluator
