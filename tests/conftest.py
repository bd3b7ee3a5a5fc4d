import os

import pytest

from utils import REPO, run_tool  # noqa: F401  (tests import utils too)

# One intra-op thread per test process keeps 2-core CI machines responsive
# when a test starts several training processes.
os.environ.setdefault('OMP_NUM_THREADS', '2')

@pytest.fixture(scope='session')
def tiny_data_root(tmp_path_factory):
    """A tiny synthetic crack dataset (8 train / 4 val, 64x64), written once."""
    root = tmp_path_factory.mktemp('tiny_synthetic')
    run_tool('tools/data/make_synthetic.py', root, '--num-train', 8,
             '--num-val', 4, '--size', 64, '--ratio', 0.01, '--seed', 1)
    return root
