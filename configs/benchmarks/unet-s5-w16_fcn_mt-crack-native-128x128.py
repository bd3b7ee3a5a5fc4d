# CPU-scale comparison of the losses at native scale (benchmarks/compare_losses.py):
# the reduced-width U-Net of `make demo` on MTSDD Crack (Table 2: FG:BG
# 1:113; as converted 1:241 train, 1:316 val), converted by
# `tools/dataset_converters/mtsdd.py SRC data/mt_crack --subset Crack`.
# Training takes random 128x128 crops of the images at their own resolution
# (about 242-403 x 119-606; a crack is ~9-15 px wide and ~50 px
# long), validation the whole images at their own resolution.
_base_ = ['./unet-s5-w16_fcn_mt-blowhole-native-128x128.py']

data_root = 'data/mt_crack'
train_dataloader = dict(dataset=dict(data_root=data_root, subset='Crack'))
val_dataloader = dict(dataset=dict(data_root=data_root, subset='Crack'))
test_dataloader = val_dataloader
