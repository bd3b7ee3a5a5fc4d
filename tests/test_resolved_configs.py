"""Every config of configs/ resolves to exactly what it resolved to when the
fixture was written (``tests/fixtures/resolved_configs.json.gz``): moving
shared lines into ``_base_`` files must not change what mmengine's Runner
receives. After a deliberate change of a config, rewrite the fixture with
``.venv/bin/python tests/support/resolved_configs.py`` and review the diff
this test printed."""
import pytest

pytest.importorskip('mmseg')

from support.resolved_configs import (  # noqa: E402
    FIXTURE, cached_mmseg_model_index, differences, frozen_configs,
    load_fixture, resolve, stack_versions)

VERSIONS, EXPECTED = load_fixture() if FIXTURE.exists() else ({}, {})


@pytest.fixture(scope='module', autouse=True)
def mmseg_index():
    with cached_mmseg_model_index():
        yield


@pytest.fixture(scope='module')
def same_stack():
    """A resolved config holds mmseg's bases and mmengine's defaults: it is
    only comparable with the fixture under the versions that wrote it (the
    pinned stack of requirements/stack.txt)."""
    if stack_versions() != VERSIONS:
        pytest.skip(f'fixture written with {VERSIONS}, installed: '
                    f'{stack_versions()}')


def test_every_config_is_in_the_fixture():
    configs, frozen = set(frozen_configs()), set(EXPECTED)
    assert configs == frozen, (
        f'configs without a fixture: {sorted(configs - frozen)}; fixtures '
        f'without a config: {sorted(frozen - configs)} (rewrite with '
        '`python tests/support/resolved_configs.py`)')


@pytest.mark.parametrize('name', sorted(EXPECTED))
def test_resolved_config_is_unchanged(name, same_stack):
    diff = differences(EXPECTED[name], resolve(name))
    shown = '\n  '.join(diff[:40])
    more = f'\n  ... and {len(diff) - 40} more' if len(diff) > 40 else ''
    assert not diff, (f'configs/{name} resolves differently from the '
                      f'fixture:\n  {shown}{more}')
