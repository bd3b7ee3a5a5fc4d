"""tools/analysis/plot_curves.py on the real work directories of
test_report.py (trained once per session)."""
import json
import math
import re
from pathlib import Path
from types import SimpleNamespace

import pytest
from PIL import Image

from mmseg_dibe.analysis import curves
from test_report import SEEDS, trained_work_dirs
from utils import run_tool


@pytest.fixture(scope='session')
def work_dirs(tmp_path_factory, tiny_data_root):
    return trained_work_dirs(tmp_path_factory, tiny_data_root)


def records(work_dir, val):
    path = next(Path(work_dir).glob('*/vis_data/scalars.json'))
    out = []
    for line in path.read_text().splitlines():
        r = json.loads(line)
        if ('IoU' in r) == val:
            out.append(r)
    return out


def finite_count(rs, key):
    return sum(1 for r in rs if key in r and math.isfinite(r[key]))


def points(stdout):
    """{key: [points of each run]} from the tool's summary lines."""
    found = {}
    for line in stdout.splitlines():
        m = re.match(r'^(\S+): (.*)$', line)
        if m and 'points' in m.group(2):
            found[m.group(1)] = [int(n) for n in
                                 re.findall(r'\((\d+) points\)', m.group(2))]
    return found


@pytest.mark.slow
def test_several_runs_one_figure(work_dirs, tmp_path):
    out = tmp_path / 'curves.png'
    proc = run_tool('tools/analysis/plot_curves.py',
                    *[work_dirs[s] for s in SEEDS], '--keys', 'OII', 'IoU',
                    'PA', '--target', 0.3, 0.4, '--out', out, '--dpi', 50)
    drawn = points(proc.stdout)
    for key in ('OII', 'IoU', 'PA'):
        expect = [finite_count(records(work_dirs[s], True), key)
                  for s in SEEDS]
        assert drawn[key] == expect, (key, proc.stdout)
    assert drawn['IoU'] == [2, 2]  # validation after iterations 2 and 4
    # Seeds that share a config are told apart in the legend.
    assert 'seed 0' in proc.stdout and 'seed 1' in proc.stdout
    width, height = Image.open(out).size
    # Three panels of 4.6 x 3.8 inches at 50 dpi.
    assert (width, height) == (690, 190)


@pytest.mark.slow
def test_imbalance_mode_oii_beside_fp_fn(work_dirs, tmp_path):
    out = tmp_path / 'fig7.png'
    proc = run_tool('tools/analysis/plot_curves.py', work_dirs[0],
                    '--imbalance', '--labels', 'DIBE a=0.3', '--out', out,
                    '--dpi', 50)
    drawn = points(proc.stdout)
    assert list(drawn) == ['OII', 'FP/FN']
    val = records(work_dirs[0], True)
    assert drawn['FP/FN'] == [finite_count(val, 'FP/FN')]
    assert drawn['OII'] == [finite_count(val, 'OII')]
    assert 'DIBE a=0.3' in proc.stdout
    assert Image.open(out).size == (460, 190)


@pytest.mark.slow
def test_training_keys_come_from_train_records(work_dirs, tmp_path):
    proc = run_tool('tools/analysis/plot_curves.py', work_dirs[0],
                    '--keys', 'loss', 'lr', '--out', tmp_path / 'loss.png',
                    '--dpi', 50)
    train = records(work_dirs[0], False)
    assert points(proc.stdout) == {'loss': [len(train)], 'lr': [len(train)]}


@pytest.mark.slow
def test_errors_name_the_problem(work_dirs, tmp_path):
    proc = run_tool('tools/analysis/plot_curves.py', work_dirs[0],
                    '--keys', 'mIoU_missing', '--out', tmp_path / 'x.png',
                    check=False)
    assert proc.returncode != 0
    assert "'mIoU_missing'" in proc.stderr
    assert not (tmp_path / 'x.png').exists()
    # Logged, but undefined at every point (nothing predicted yet): an
    # empty panel that says so, not an error.
    nan = SimpleNamespace(train=[], val=[dict(iter=1, PA=float('nan'))])
    drawn = curves.plot([nan], ['a'], ['PA'], str(tmp_path / 'y.png'))
    assert drawn == {'PA': {'a': 0}} and (tmp_path / 'y.png').is_file()
    proc = run_tool('tools/analysis/plot_curves.py', work_dirs[0],
                    work_dirs[1], '--labels', 'only-one', '--out',
                    tmp_path / 'y.png', check=False)
    assert proc.returncode != 0
    assert '--labels has 1 entries for 2 work directories' in proc.stderr


def test_run_keeps_its_colour_when_another_has_nothing_to_draw(
        tmp_path, monkeypatch):
    """A run whose PA is undefined all along (nothing predicted) is left out
    of the PA panel; the runs after it keep their colours there, and the
    legend still names every run."""
    from types import SimpleNamespace

    from matplotlib.axes import Axes

    from mmseg_dibe.analysis import curves

    def run(pa):
        return SimpleNamespace(train=[], val=[
            dict(iter=i, IoU=0.1 * i, PA=pa) for i in (1, 2)])

    runs = [run(0.5), run(float('nan')), run(0.8)]
    labels = ['a', 'empty', 'c']
    drawn_lines = []
    original = Axes.plot

    def recording_plot(self, *args, **kwargs):
        drawn_lines.append((self.get_title() or id(self), kwargs.get('label'),
                            kwargs.get('color')))
        return original(self, *args, **kwargs)

    legends = []
    original_legend = Axes.legend

    def recording_legend(self, *args, **kwargs):
        legends.append([h.get_label() for h in kwargs.get('handles', [])])
        return original_legend(self, *args, **kwargs)

    monkeypatch.setattr(Axes, 'plot', recording_plot)
    monkeypatch.setattr(Axes, 'legend', recording_legend)
    drawn = curves.plot(runs, labels, ['PA', 'IoU'],
                             str(tmp_path / 'c.png'), dpi=30)
    assert drawn['PA'] == {'a': 2, 'empty': 0, 'c': 2}
    colour = {}
    for _, label, color in drawn_lines:
        colour.setdefault(label, set()).add(color)
    # Same colour in both panels, and 'c' keeps the third colour in PA too.
    assert colour == {'a': {'C0'}, 'empty': {'C1'}, 'c': {'C2'}}
    assert legends == [['a', 'empty', 'c']]


def test_missing_key_raises_and_writes_nothing(tmp_path):
    from types import SimpleNamespace

    from mmseg_dibe.analysis import curves
    run = SimpleNamespace(train=[], val=[dict(iter=1, IoU=0.2, step=1)])
    with pytest.raises(KeyError, match="'mIoU'.*IoU"):
        curves.plot([run], ['a'], ['mIoU'], str(tmp_path / 'x.png'))
    assert not (tmp_path / 'x.png').exists()
    # Logged, but undefined at every point (nothing predicted yet): an
    # empty panel that says so, not an error.
    nan = SimpleNamespace(train=[], val=[dict(iter=1, PA=float('nan'))])
    drawn = curves.plot([nan], ['a'], ['PA'], str(tmp_path / 'y.png'))
    assert drawn == {'PA': {'a': 0}} and (tmp_path / 'y.png').is_file()
