# MTSDD Blowhole (Table 2: FG:BG 1:333, high imbalance), written by
# `tools/dataset_converters/mtsdd.py Magnetic-tile-defect-datasets. data/mt_blowhole --subset Blowhole`.
_base_ = ['./mtsdd.py']
data_root = 'data/mt_blowhole'
train_dataloader = dict(dataset=dict(data_root=data_root, subset='Blowhole'))
val_dataloader = dict(dataset=dict(data_root=data_root, subset='Blowhole'))
test_dataloader = val_dataloader
