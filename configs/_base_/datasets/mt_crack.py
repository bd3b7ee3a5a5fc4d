# MTSDD Crack (Table 2: FG:BG 1:113, medium imbalance), written by
# `tools/dataset_converters/mtsdd.py Magnetic-tile-defect-datasets. data/mt_crack --subset Crack`.
_base_ = ['./mtsdd.py']
data_root = 'data/mt_crack'
train_dataloader = dict(dataset=dict(data_root=data_root, subset='Crack'))
val_dataloader = dict(dataset=dict(data_root=data_root, subset='Crack'))
test_dataloader = val_dataloader
