"""Resolve configs the way mmengine's Runner receives them, in a canonical
form, so that a refactoring of configs/ (bases, variables) can be checked to
change nothing.

``tests/fixtures/resolved_configs.json.gz`` holds the canonical form of every
config of configs/ (except ``_base_/`` and ``custom/``); rewrite it, after a
deliberate change of what a config trains, with::

    .venv/bin/python tests/support/resolved_configs.py

The canonical form is ``Config.fromfile(path).to_dict()`` (every top-level
key, helper variables included: a work dir's dumped config shows them) with
tuples kept apart from lists; dict key order is not compared (nothing in
mmengine's Runner depends on it).
"""
import contextlib
import copy
import gzip
import json
import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CONFIG_ROOT = REPO / 'configs'
FIXTURE = REPO / 'tests' / 'fixtures' / 'resolved_configs.json.gz'
#: Folders of configs/ whose configs are not frozen: bases, and the
#: user-written examples of ``custom/``.
NOT_FROZEN = ('_base_', 'custom')


def frozen_configs():
    """Paths of the configs the fixture covers, relative to configs/."""
    return sorted(
        p.relative_to(CONFIG_ROOT).as_posix()
        for p in CONFIG_ROOT.rglob('*.py')
        if not set(p.relative_to(CONFIG_ROOT).parts[:-1]) & set(NOT_FROZEN))


@contextlib.contextmanager
def cached_mmseg_model_index():
    """Resolve ``mmseg::`` bases without redoing per base what only depends
    on the installed packages.

    For every ``mmseg::`` path mmengine checks that mmseg is installed (a
    reload of ``pkg_resources``, about 0.15 s) and parses all of mmseg's 106
    metafiles (about 1 s) before falling back to ``.mim/configs``. Both are
    cached here: same lookup, same errors.
    """
    import mmengine.config.config as cfg_config
    import mmengine.config.utils as cfg_utils
    original = cfg_utils._get_cfg_metainfo
    original_is_installed = cfg_config.is_installed
    index = {}
    installed = {}

    def cached_is_installed(package):
        if package not in installed:
            installed[package] = original_is_installed(package)
        return installed[package]

    def cached(package_path, cfg_path):
        if package_path not in index:
            # rebuild the name -> metainfo map the way mmengine does
            meta = cfg_utils.load(
                os.path.join(package_path, '.mim', 'model-index.yml'))
            names = {}
            for meta_path in meta['Import']:
                for m in cfg_utils.load(os.path.join(
                        package_path, '.mim', meta_path))['Models']:
                    if 'Config' in m:
                        names.setdefault(m['Config'].partition('/')[-1], m)
            index[package_path] = names
        if cfg_path not in index[package_path]:
            raise ValueError(f'{cfg_path} is not an mmseg model config')
        return index[package_path][cfg_path]

    cfg_utils._get_cfg_metainfo = cached
    cfg_config.is_installed = cached_is_installed
    try:
        yield
    finally:
        cfg_utils._get_cfg_metainfo = original
        cfg_config.is_installed = original_is_installed


def canonical(obj):
    """JSON-ready copy of a config value: tuples become ``{'__tuple__':
    [...]}`` (JSON would make them lists), anything that is not a JSON scalar
    ``{'__repr__': repr(obj)}``."""
    if isinstance(obj, dict):
        out = {}
        for k, v in obj.items():
            key = k if isinstance(k, str) else f'__key__{k!r}'
            out[key] = canonical(v)
        return out
    if isinstance(obj, tuple):
        return {'__tuple__': [canonical(v) for v in obj]}
    if isinstance(obj, list):
        return [canonical(v) for v in obj]
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    return {'__repr__': repr(obj)}


_LOADED = {}


def load_config(path):
    """``Config.fromfile(path)``, read once per test session (test_configs
    and test_resolved_configs load the same files); a deep copy each call."""
    from mmengine.config import Config
    key = str(Path(path).resolve())
    if key not in _LOADED:
        _LOADED[key] = Config.fromfile(key)
    return copy.deepcopy(_LOADED[key])


def resolve(name):
    """Canonical resolved form of ``configs/<name>``."""
    return canonical(load_config(CONFIG_ROOT / name).to_dict())


def stack_versions():
    """The packages whose bases and defaults a resolved config contains."""
    import mmengine
    import mmseg
    return dict(mmengine=mmengine.__version__, mmseg=mmseg.__version__)


def load_fixture():
    """``(versions, {config name: canonical form})`` of the fixture."""
    with gzip.open(FIXTURE, 'rt', encoding='utf-8') as f:
        data = json.load(f)
    return data['versions'], data['configs']


def write_fixture(resolved):
    data = dict(versions=stack_versions(), configs=resolved)
    text = json.dumps(data, sort_keys=True, indent=1) + '\n'
    FIXTURE.parent.mkdir(parents=True, exist_ok=True)
    # mtime=0 and no file name: the same configs give the same bytes
    with open(FIXTURE, 'wb') as raw, gzip.GzipFile(
            filename='', mode='wb', fileobj=raw, mtime=0) as f:
        f.write(text.encode('utf-8'))


def differences(expected, got, path=''):
    """Lines naming each key path where ``got`` differs from ``expected``."""
    if isinstance(expected, dict) and isinstance(got, dict) and not (
            '__tuple__' in expected or '__tuple__' in got):
        lines = []
        for k in sorted(expected.keys() | got.keys()):
            sub = f'{path}.{k}' if path else k
            if k not in got:
                lines.append(f'{sub}: missing (was {expected[k]!r})')
            elif k not in expected:
                lines.append(f'{sub}: new key ({got[k]!r})')
            else:
                lines += differences(expected[k], got[k], sub)
        return lines
    if isinstance(expected, list) and isinstance(got, list) and len(
            expected) == len(got):
        lines = []
        for i, (e, g) in enumerate(zip(expected, got)):
            lines += differences(e, g, f'{path}[{i}]')
        return lines
    if expected != got or type(expected) is not type(got):
        return [f'{path or "<config>"}: {expected!r} -> {got!r}']
    return []


def main():
    names = frozen_configs()
    with cached_mmseg_model_index():
        resolved = {name: resolve(name) for name in names}
    write_fixture(resolved)
    print(f'wrote {len(resolved)} resolved configs to '
          f'{FIXTURE.relative_to(REPO)}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
