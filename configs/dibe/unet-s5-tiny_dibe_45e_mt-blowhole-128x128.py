# The CPU real-data check of unet-s5-tiny_dibe_20e_mt-blowhole-128x128.py
# with a higher learning rate (0.05) and a longer schedule (45 epochs,
# validation every 15): in the 20-epoch run at lr 0.01 the reduced U-Net had
# barely started to learn (see docs/datasets.md).
_base_ = ['./unet-s5-tiny_dibe_20e_mt-blowhole-128x128.py']
optim_wrapper = dict(optimizer=dict(lr=0.05))
max_epochs = 45
# The base's poly decay, over this length.
param_scheduler = [dict(_base_.param_scheduler[0], end=max_epochs)]
train_cfg = dict(max_epochs=max_epochs, val_interval=15)
default_hooks = dict(checkpoint=dict(interval=15))
