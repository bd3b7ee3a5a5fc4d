# THC112 (112x112 crops; Table 2: 1334 / 1177 pairs, FG:BG 1:191, medium
# imbalance), written by `tools/dataset_converters/thc.py SRC data/thc112 --size 112`.
_base_ = ['./binary_defect.py']
dataset_type = 'THCDataset'
data_root = 'data/thc112'
crop_size = (112, 112)
train_dataloader = dict(
    dataset=dict(type=dataset_type, data_root=data_root))
val_dataloader = dict(
    dataset=dict(type=dataset_type, data_root=data_root))
test_dataloader = val_dataloader
