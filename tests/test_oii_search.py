"""Tests of the offline α search (``mmseg_dibe.guidance.search``, driven by
``tools/oii_search.py``): config rewrite, log reading, the search (with a
fake trainer) and one real end-to-end search with resume."""
import itertools
import json
import re
from pathlib import Path

import pytest

from mmseg_dibe.analysis import read_final_metrics
from mmseg_dibe.guidance import search as tool
from utils import run_tool, write_tiny_config


def write_config(path, loss_decode=None, aux=None):
    loss_decode = loss_decode or dict(type='DIBELoss', alpha=0.3)
    path.write_text(
        f'model = dict(type="EncoderDecoder", '
        f'decode_head=dict(type="FCNHead", loss_decode={loss_decode!r}), '
        f'auxiliary_head={aux!r})\n')
    return path


def fake_log(work_dir, run, entries):
    """Write mmengine's JSON scalar log of one run (timestamp ``run``)."""
    vis = Path(work_dir) / run / 'vis_data'
    vis.mkdir(parents=True, exist_ok=True)
    with open(vis / f'{run}.json', 'a') as f:
        for entry in entries:
            f.write(json.dumps(entry) + '\n')


class FakeTrainer:
    """Stands in for tools/train.py: OII is a falling function of α."""

    runs = itertools.count(10)  # distinct timestamps, like real runs

    def __init__(self, response, fail_on_call=None):
        self.response = response
        self.calls = []
        self.fail_on_call = fail_on_call

    def __call__(self, config, work_dir, resume, log_path):
        from mmengine.config import Config
        cfg = Config.fromfile(config)
        alpha = cfg.model.decode_head.loss_decode['alpha']
        self.calls.append((round(alpha, 6), resume))
        Path(log_path).write_text('fake training\n')
        if self.fail_on_call == len(self.calls):
            # Killed half-way: a checkpoint exists, no final validation.
            fake_log(work_dir, f'202401{next(self.runs)}_000000',
                     [{'loss': 1.0, 'step': 1}])
            raise KeyboardInterrupt
        oii = self.response(alpha)
        fake_log(work_dir, f'202401{next(self.runs)}_000000', [
            {'OII': 0.99, 'IoU': 0.0, 'step': 2},  # an earlier round
            {'OII': oii, 'IoU': 0.5 - abs(alpha - 0.6), 'PA': 1 - alpha,
             'Recall': alpha, 'FP/FN': 1.0, 'step': 4},
        ])


def linear(alpha):
    # In target (0.3, 0.4) for alpha in (0.55, 0.65); falls with alpha.
    return 0.95 - alpha


def make_search(tmp_path, trainer, **kwargs):
    cfg = write_config(tmp_path / 'cfg.py')
    return tool.OIISearch(str(cfg), str(tmp_path / 'search'),
                          trainer=trainer, echo=lambda *_: None, **kwargs)


# ---------------------------------------------------------- config rewrite
def test_set_config_alpha_dict_list_and_aux_heads():
    model = dict(
        decode_head=dict(loss_decode=[
            dict(type='DIBELoss', alpha=0.3, beta=0.7),
            dict(type='CrossEntropyLoss', loss_weight=1.0),
        ]),
        auxiliary_head=[
            dict(loss_decode=dict(type='DIBEDisLoss', alpha=0.1)),
            dict(loss_decode=dict(type='CrossEntropyLoss')),
        ])
    changed = tool.set_config_alpha(model, 0.7)
    assert changed == ['model.decode_head.loss_decode[0]',
                       'model.auxiliary_head[0].loss_decode']
    assert model['decode_head']['loss_decode'][0]['alpha'] == 0.7
    assert model['decode_head']['loss_decode'][0]['beta'] == pytest.approx(
        0.3)
    assert 'alpha' not in model['decode_head']['loss_decode'][1]
    assert model['auxiliary_head'][0]['loss_decode'] == dict(
        type='DIBEDisLoss', alpha=0.7)


def test_set_config_alpha_from_class_signature():
    # No alpha key in the config: the registered class takes one.
    import mmseg_dibe  # noqa: F401
    model = dict(decode_head=dict(loss_decode=dict(type='DIBELoss')))
    assert tool.set_config_alpha(model, 0.2) == [
        'model.decode_head.loss_decode']
    assert model['decode_head']['loss_decode']['alpha'] == 0.2


def test_write_step_config_needs_an_alpha_loss(tmp_path):
    cfg = write_config(tmp_path / 'c.py', dict(type='CrossEntropyLoss'))
    with pytest.raises(ValueError, match='no loss'):
        tool.write_step_config(str(cfg), None, 0.5, str(tmp_path / 'o.py'))


def test_config_and_model_walks_find_the_same_losses():
    """The config rewrite and the hook walk the heads the same way."""
    import mmseg_dibe  # noqa: F401
    from mmseg_dibe.guidance import iter_head_losses
    model_cfg = dict(
        decode_head=dict(loss_decode=[dict(type='DIBELoss'),
                                      dict(type='WBCELoss')]),
        auxiliary_head=[dict(loss_decode=dict(type='DIBEDisLoss'))])
    paths = [h.config_path for h in iter_head_losses(model_cfg)]
    assert paths == ['model.decode_head.loss_decode[0]',
                     'model.decode_head.loss_decode[1]',
                     'model.auxiliary_head[0].loss_decode']
    names = [h.module_name for h in iter_head_losses(model_cfg)]
    assert names == ['decode_head.loss_decode.0', 'decode_head.loss_decode.1',
                     'auxiliary_head.0.loss_decode']


def test_search_needs_a_trainer(tmp_path):
    with pytest.raises(ValueError, match='tools_dir'):
        tool.OIISearch(str(write_config(tmp_path / 'c.py')),
                       str(tmp_path / 's'))


def test_alpha_name():
    assert tool.alpha_name(0.5) == 'alpha_0.5'
    assert tool.alpha_name((0.1 + 0.15) / 2) == 'alpha_0.125'
    assert tool.alpha_name(0.1) == 'alpha_0.1'


# -------------------------------------------------------------- log reading
def test_read_final_metrics(tmp_path):
    fake_log(tmp_path, '20240101_000000', [{'OII': 0.1, 'IoU': 0.2,
                                           'step': 2}])
    fake_log(tmp_path, '20240102_000000', [
        {'loss': 0.3, 'step': 3},
        {'crack/OII': 0.25, 'crack/IoU': 0.5, 'crack/PA': 0.6, 'IoU': 9,
         'step': 4},
        {'loss': 0.2, 'step': 5},
    ])
    with open(tmp_path / '20240102_000000' / 'vis_data' /
              '20240102_000000.json', 'a') as f:
        f.write('{"OII": 0.9, "IoU"')  # a line cut by a kill
    out = read_final_metrics(str(tmp_path))
    assert out['OII'] == 0.25 and out['IoU'] == 0.5 and out['PA'] == 0.6
    assert out['iter'] == 4
    with pytest.raises(FileNotFoundError, match='OIIMetric'):
        read_final_metrics(str(tmp_path / 'nothing'))


# ---------------------------------------------------------- search driver
def test_bisection_search(tmp_path):
    trainer = FakeTrainer(linear)
    result = make_search(tmp_path, trainer).run()
    # 0.5 -> OII 0.45 (raise) -> 0.7 -> 0.25 (lower) -> 0.6 -> 0.35: stop.
    assert trainer.calls == [(0.5, False), (0.7, False), (0.6, False)]
    assert result == dict(alpha=pytest.approx(0.6), converged=True,
                          finished=True)
    root = tmp_path / 'search'
    state = json.loads((root / 'search.json').read_text())
    assert state['trainings'] == 3
    assert [s['alpha'] for s in state['steps']] == pytest.approx(
        [0.5, 0.7, 0.6])
    assert [s['OII'] for s in state['steps']] == pytest.approx(
        [0.45, 0.25, 0.35])
    for name in ('alpha_0.5', 'alpha_0.7', 'alpha_0.6'):
        assert (root / name / 'config.py').is_file()
        assert (root / name / 'result.json').is_file()
    table = (root / 'search.md').read_text()
    assert re.search(r'\| 3 \| 0\.6 \| 0\.5000 \| 0\.4000 \| 0\.6000 \| '
                     r'0\.3500 \|', table)
    assert 'selected alpha: 0.6 (OII in target)' in table
    # The bisection's own decision of each step.
    assert table.count('above target: α → 0.7') == 1
    assert table.count('below target: α → 0.6') == 1
    assert table.count('OII in target: α fixed') == 1
    assert not list(root.glob('*.tmp*'))  # atomic writes leave nothing


def test_steps_used_up(tmp_path):
    trainer = FakeTrainer(lambda a: 0.9)  # never reaches the target
    result = make_search(tmp_path, trainer, max_steps=3).run()
    assert [c[0] for c in trainer.calls] == pytest.approx([0.5, 0.7, 0.8])
    assert result['converged'] is False and result['finished'] is True


def test_killed_half_way_resumes(tmp_path):
    killed = FakeTrainer(linear, fail_on_call=2)
    with pytest.raises(KeyboardInterrupt):
        make_search(tmp_path, killed).run()
    root = tmp_path / 'search'
    state = json.loads((root / 'search.json').read_text())
    assert [s['status'] for s in state['steps']] == ['done', 'running']
    step1 = (root / 'alpha_0.5' / 'result.json').read_text()

    again = FakeTrainer(linear)
    result = make_search(tmp_path, again).run()
    # Step 1 is not trained again; step 2 continues from its checkpoint.
    assert again.calls == [(0.7, True), (0.6, False)]
    assert (root / 'alpha_0.5' / 'result.json').read_text() == step1
    assert result['alpha'] == pytest.approx(0.6)
    # Both runs' logs of the interrupted step are kept.
    assert len(list((root / 'alpha_0.7').glob('*/vis_data/*.json'))) == 2

    # A finished search run again trains nothing.
    idle = FakeTrainer(linear)
    assert make_search(tmp_path, idle).run() == result
    assert idle.calls == []


def test_trained_but_not_recorded(tmp_path):
    # Killed after a training finished but before search.json was updated.
    make_search(tmp_path, FakeTrainer(linear)).run()
    root = tmp_path / 'search'
    state = json.loads((root / 'search.json').read_text())
    state['steps'][-1]['status'] = 'running'
    (root / 'search.json').write_text(json.dumps(state))
    trainer = FakeTrainer(linear)
    make_search(tmp_path, trainer).run()
    assert trainer.calls == []


def test_other_settings_refused(tmp_path):
    make_search(tmp_path, FakeTrainer(linear)).run()
    with pytest.raises(tool.SearchStateError, match='other settings'):
        make_search(tmp_path, FakeTrainer(linear), target=(0.2, 0.4)).run()


def test_grid(tmp_path):
    trainer = FakeTrainer(linear)
    result = make_search(tmp_path, trainer, grid=4).run()
    assert [c[0] for c in trainer.calls] == pytest.approx(
        [0.1, 0.3, 0.5, 0.7, 0.9])
    assert result['best_iou_alpha'] == pytest.approx(0.5)  # IoU 0.4 at 0.5/0.7
    assert result['alphas_in_target'] == []  # grid misses (0.55, 0.65)
    table = (tmp_path / 'search' / 'search.md').read_text()
    assert table.count('\n| ') == 6  # header + 5 rows


# ------------------------------------------------------------- end to end
@pytest.mark.slow
def test_cli_two_steps_and_resume(tmp_path, tiny_data_root):
    cfg = write_tiny_config(tmp_path / 'tiny.py', tiny_data_root, iters=2)
    root = tmp_path / 'search'
    # Never hit: OII is exactly 1 when FP = 0 or TP = 0, else
    # 1 - OII ≈ k·FP/FN >= ~1e-4 with the ~160 target pixels of the tiny
    # validation set. So two steps run.
    args = ['tools/oii_search.py', cfg, '--work-dir', root, '--max-steps', 2,
            '--target', 0.999999, 1.0]
    proc = run_tool(*args, timeout=600)
    assert '[step 1/2] alpha=0.5: training' in proc.stdout
    assert '[step 2/2]' in proc.stdout
    state = json.loads((root / 'search.json').read_text())
    assert state['trainings'] == 2
    steps = state['steps']
    # Direction: OII above the target -> alpha up, below -> down.
    assert steps[1]['alpha'] == pytest.approx(0.7 if steps[0]['OII'] >= 1
                                              else 0.3)
    second = root / steps[1]['dir']
    from mmengine.config import Config
    model = Config.fromfile(second / 'config.py').model
    assert model.decode_head.loss_decode.alpha == steps[1]['alpha']
    assert model.auxiliary_head.loss_decode.alpha == steps[1]['alpha']
    table = (root / 'search.md').read_text()
    assert '| 1 | 0.5 |' in table and f"| 2 | {steps[1]['alpha']:g} |" in table

    # Simulate a kill after step 2 trained but before it was recorded: the
    # rerun resumes its training (tools/train.py --resume) and reads the
    # metrics back; step 1 is not touched.
    (second / 'result.json').unlink()
    steps[1]['status'] = 'running'
    (root / 'search.json').write_text(json.dumps(state))
    first_log = (root / 'alpha_0.5' / 'train.log').read_text()
    proc = run_tool(*args, timeout=600)
    assert 'resuming' in proc.stdout and '[step 1/2]' not in proc.stdout
    assert (root / 'alpha_0.5' / 'train.log').read_text() == first_log
    assert '--resume' in (second / 'train.log').read_text()
    again = json.loads((root / 'search.json').read_text())
    assert again['steps'][1]['OII'] == pytest.approx(steps[1]['OII'])
    assert again['trainings'] == 2
