"""mmseg-dibe: DIBE losses, the OII metric and OII-guided α selection for
MMSegmentation 1.x.

Importing this package registers every loss, metric, hook, dataset, transform
and model of the plugin into MMSegmentation's registries (``mmseg.registry``)
and allow-lists the types mmengine stores in checkpoints for torch's safe
unpickler. Configs load it with::

    custom_imports = dict(imports=['mmseg_dibe'], allow_failed_imports=False)
"""
from . import functional  # noqa: F401  (pure core first: no registries)
from . import (datasets, engine, evaluation, guidance, losses,  # noqa: F401
               models)
from .datasets import *  # noqa: F401,F403
from .engine import *  # noqa: F401,F403
from .evaluation import *  # noqa: F401,F403
from .functional import *  # noqa: F401,F403
from .guidance import *  # noqa: F401,F403
from .losses import *  # noqa: F401,F403
from .models import *  # noqa: F401,F403
from .version import __version__  # noqa: F401
