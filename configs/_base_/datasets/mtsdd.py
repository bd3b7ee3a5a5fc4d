# MTSDD subsets (written by `tools/dataset_converters/mtsdd.py`): whole images of
# varying size (about 100-630 x 220-400), so training takes random crops
# (smaller images are padded with ignored pixels) and validation whole images.
# mt_blowhole.py / mt_crack.py set the subset and the root.
_base_ = ['./binary_defect.py']
dataset_type = 'MTSDDDataset'
crop_size = (256, 256)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    # The dataset turns this into LoadBinaryAnnotations (checks 0/1 masks).
    dict(type='LoadAnnotations'),
    dict(type='RandomCrop', crop_size=crop_size),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='RandomFlip', prob=0.5, direction='vertical'),
    # The paper's photometric augmentation: brightness, contrast, saturation.
    # (hue_delta=0 crashes mmseg 1.2.2: randint(0, 0); 1 of 180 is no shift
    # worth the name, and grey images have no hue anyway.)
    dict(type='PhotoMetricDistortion', hue_delta=1),
    dict(type='PackSegInputs'),
]
train_dataloader = dict(dataset=dict(type=dataset_type, pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(type=dataset_type))
test_dataloader = val_dataloader
