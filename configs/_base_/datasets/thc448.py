# THC448 (the paper's tiny hidden cracks, 448x448 crops; Table 2: 981 / 893 pairs,
# FG:BG 1:2228, extreme imbalance), written by
# `tools/dataset_converters/thc.py SRC data/thc448 --size 448`.
_base_ = ['./binary_defect.py']
dataset_type = 'THCDataset'
data_root = 'data/thc448'
crop_size = (448, 448)
train_dataloader = dict(
    dataset=dict(type=dataset_type, data_root=data_root))
val_dataloader = dict(
    dataset=dict(type=dataset_type, data_root=data_root))
test_dataloader = val_dataloader
