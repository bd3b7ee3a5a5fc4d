# The runtime of the epoch-based configs (schedules/schedule_50e.py): logs by
# epoch (mmseg's default runtime logs by iteration).
_base_ = './default_runtime.py'
log_processor = dict(by_epoch=True)
