# CrackForest (Table 2: 360 / 348 pairs of 160x160 tiles, FG:BG 1:25, low
# imbalance), written by `tools/dataset_converters/cfd.py SRC data/cfd`.
_base_ = ['./binary_defect.py']
dataset_type = 'CFDDataset'
data_root = 'data/cfd'
crop_size = (160, 160)
train_dataloader = dict(
    dataset=dict(type=dataset_type, data_root=data_root))
val_dataloader = dict(
    dataset=dict(type=dataset_type, data_root=data_root))
test_dataloader = val_dataloader
