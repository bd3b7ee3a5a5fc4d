"""mmseg-dibe: DIBE losses, the OII metric and OII-guided α selection for
MMSegmentation 1.x."""
import os.path as osp

from setuptools import find_packages, setup

HERE = osp.dirname(osp.abspath(__file__))


def read_version():
    scope = {}
    with open(osp.join(HERE, 'mmseg_dibe', 'version.py')) as f:
        exec(f.read(), scope)
    return scope['__version__']


setup(
    name='mmseg-dibe',
    version=read_version(),
    description='DIBE losses, OII metric and OII-guided hyper-parameter '
    'selection for MMSegmentation (extremely imbalanced segmentation)',
    long_description=open(osp.join(HERE, 'README.md'), encoding='utf-8').read()
    if osp.exists(osp.join(HERE, 'README.md')) else '',
    long_description_content_type='text/markdown',
    packages=find_packages(include=['mmseg_dibe', 'mmseg_dibe.*']),
    python_requires='>=3.8',
    # Compatibility ranges only: the exact, tested stack is pinned in
    # requirements/stack.txt and installed by `make venv`. Ranges let
    # `pip install -e .` join an existing OpenMMLab environment without
    # rebuilding its mmcv.
    install_requires=[
        'torch>=1.12',
        'mmcv>=2.0.0rc4,<2.2.0',
        'mmengine>=0.10.0,<1.0.0',
        'mmsegmentation>=1.0.0,<2.0.0',
        'numpy',
        'pillow',
        'scipy',
        'matplotlib',
        'ftfy',
        'regex',
    ],
    extras_require={'tests': ['pytest', 'pytest-timeout', 'pytest-xdist']},
    zip_safe=False,
)
