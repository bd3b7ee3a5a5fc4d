import os

import pytest

from utils import REPO, run_tool  # noqa: F401  (tests import utils too)

# `make test` runs the suite in two pytest-xdist workers on 2-core machines:
# then each worker (and every training it starts) uses one thread, since two
# threads per process on two busy cores are several times slower, and each
# worker gets its own rendezvous port for the distributed runs that do not
# choose one, so two workers' process groups never meet. Run alone, a test
# process keeps two threads.
_WORKER = os.environ.get('PYTEST_XDIST_WORKER')
if _WORKER:
    os.environ['OMP_NUM_THREADS'] = '1'
    os.environ.setdefault(
        'PORT', str(29600 + 10 * int(_WORKER.lstrip('gw') or 0)))
    import torch
    torch.set_num_threads(1)
else:
    os.environ.setdefault('OMP_NUM_THREADS', '2')

@pytest.fixture(scope='session')
def tiny_data_root(tmp_path_factory):
    """A tiny synthetic crack dataset (8 train / 4 val, 64x64), written once."""
    root = tmp_path_factory.mktemp('tiny_synthetic')
    run_tool('tools/data/make_synthetic.py', root, '--num-train', 8,
             '--num-val', 4, '--size', 64, '--ratio', 0.01, '--seed', 1)
    return root
