# mmseg's default runtime with this plugin loaded (its losses, OIIMetric,
# hook, datasets and models) in mmseg's scope: every config of this
# repository inherits it, the epoch-based ones through epoch_runtime.py.
_base_ = 'mmseg::_base_/default_runtime.py'
custom_imports = dict(imports=['mmseg_dibe'], allow_failed_imports=False)
default_scope = 'mmseg'
