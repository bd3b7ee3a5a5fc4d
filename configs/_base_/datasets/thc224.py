# THC224 (224x224 crops; Table 2: 1053 / 954 pairs, FG:BG 1:584, high imbalance),
# written by `tools/dataset_converters/thc.py SRC data/thc224 --size 224`.
_base_ = ['./binary_defect.py']
dataset_type = 'THCDataset'
data_root = 'data/thc224'
crop_size = (224, 224)
train_dataloader = dict(
    dataset=dict(type=dataset_type, data_root=data_root))
val_dataloader = dict(
    dataset=dict(type=dataset_type, data_root=data_root))
test_dataloader = val_dataloader
