"""benchmarks/compare_guidance.py (mmseg_dibe.analysis.guidance_comparison):
the plan, the collection of hand-written work directories, the Markdown,
resuming and the open target interval.

The benchmark trains for hours; these tests check what it derives on a dry
run and on work directories written by hand whose numbers are known (as
tests/test_compare_losses.py does for the hook trace).
"""
import json
from pathlib import Path

import pytest
from mmengine.config import Config

from mmseg_dibe import OIIBisection
from mmseg_dibe.analysis import guidance_comparison as gc
from mmseg_dibe.analysis import loss_comparison, stats
from mmseg_dibe.engine.hooks.oii_bisection_hook import STATE_FILE
from utils import REPO, load_script


driver = load_script('benchmarks/compare_guidance.py')
TARGET = (0.3, 0.4)


def make_args(tmp_path, *argv):
    """Parsed options with the synthetic data already "there" (so
    ``prepare_data`` has nothing to write)."""
    out = tmp_path / 'cmp'
    (out / 'data' / 'synthetic' / 'ann_dir' / 'val').mkdir(parents=True)
    args = driver.parse_args(['--out', str(out), '--settings', 'synthetic',
                              *argv])
    args.repo = str(REPO)
    args.out = str(out)
    return args


def test_defaults_and_quick():
    args = driver.parse_args([])
    assert args.settings == ['synthetic', 'blowhole']
    assert args.seeds == list(range(10)) and args.offline_seeds == [0, 1, 2]
    assert (args.max_steps, args.grid, args.jobs, args.threads) == (4, 4, 2,
                                                                    1)
    assert (args.synthetic_iters, args.synthetic_val_interval) == (300, 15)
    assert (args.blowhole_iters, args.blowhole_val_interval) == (600, 40)
    assert (args.num_train, args.num_val, args.ratio) == (160, 48, 0.004)
    assert (args.lr, args.batch_size) == (0.05, 8)
    assert args.calibration_bins == 100
    with pytest.raises(SystemExit):
        driver.parse_args(['--calibration-bins', '0'])
    quick = driver.parse_args(['--quick'])
    assert quick.settings == ['synthetic'] and quick.seeds == [0, 1]
    assert quick.offline_seeds == [0]
    assert (quick.max_steps, quick.grid) == (2, 2)
    assert (quick.synthetic_iters, quick.synthetic_val_interval) == (20, 5)
    with pytest.raises(SystemExit):  # no α = 0.5 point to share
        driver.parse_args(['--grid', '3'])


def test_dry_run_plan_shares_the_alpha_half_runs(tmp_path, capsys):
    args = make_args(tmp_path, '--dry-run', '--seeds', '0', '1', '2', '3',
                     '--offline-seeds', '0', '1')
    tasks = gc.run_guidance_comparison(args)
    assert 'trainings 1' in capsys.readouterr().out
    kinds = [(t['seed'], t['kind'], t['role']) for t in tasks]
    # Seed-major: every 10-seed method of seed 0 before anything of seed
    # 1; the offline searches after all of them.
    assert kinds[:4] == [(0, 'train', 'fixed'), (0, 'train', 'hook'),
                         (0, 'calibrate', 'fixed'), (0, 'calibrate', 'hook')]
    online = [k for k in kinds if k[1] in ('train', 'calibrate')]
    assert kinds[:len(online)] == online
    assert kinds[len(online):] == [(0, 'grid', 'grid'),
                                   (0, 'bisection', 'bisection'),
                                   (1, 'grid', 'grid'),
                                   (1, 'bisection', 'bisection')]
    assert [k[0] for k in online] == sorted(k[0] for k in online)
    trains = [t for t in tasks if t['kind'] == 'train']
    assert sorted((t['seed'], t['role']) for t in trains) == sorted(
        (s, r) for s in range(4) for r in ('fixed', 'hook'))
    by_id = {t['id']: t for t in tasks}
    fixed = {t['seed']: t for t in trains if t['role'] == 'fixed'}
    searches = [t for t in tasks if t['kind'] in ('grid', 'bisection')]
    assert sorted((t['seed'], t['kind']) for t in searches) == [
        (0, 'bisection'), (0, 'grid'), (1, 'bisection'), (1, 'grid')]
    for search in searches:
        # The search trains the α = 0.5 run's own config and reads that run.
        shared = fixed[search['seed']]
        assert search['reuses'] == shared['work_dir']
        assert search['config'] == shared['config']
        grid = f'synthetic/s{search["seed"]}/grid'
        assert search['after'] == ([shared['id']] if search['kind'] == 'grid'
                                   else [shared['id'], grid])
    assert by_id['synthetic/s0/grid']['trainings'] == 4  # 5 points, 1 shared
    assert by_id['synthetic/s0/bisection']['trainings'] == 3
    calibrations = [t for t in tasks if t['kind'] == 'calibrate']
    assert len(calibrations) == 8
    for cal in calibrations:
        trained = by_id[cal['after'][0]]
        assert trained['role'] == cal['role']
        assert cal['work_dir'] == trained['work_dir']
        assert cal['trainings'] == 0
    # The fixed config: DIBE with the paper's other hyper-parameters, α 0.5.
    cfg = Config.fromfile(fixed[0]['config'])
    loss = dict(loss_comparison.LOSSES['DIBE'], alpha=0.5)
    assert cfg.model.decode_head.loss_decode == loss
    assert cfg.train_cfg.max_iters == 300 and cfg.train_cfg.val_interval == 15
    assert cfg.randomness.seed == 0
    hook_cfg = Config.fromfile(by_id['synthetic/s1/train-hook']['config'])
    # The base config's own custom hooks (ChannelsLastHook) are kept.
    base = gc.base_custom_hooks('unet', str(REPO))
    assert hook_cfg.custom_hooks == base + [dict(
        type='OIIBisectionHook', low=0.1, high=0.9, target=(0.3, 0.4))]
    assert hook_cfg.randomness.seed == 1
    assert not (tmp_path / 'cmp' / 'synthetic' / 'runs').exists()


def test_native_hook_runs_keep_channels_last(tmp_path):
    args = make_args(tmp_path, '--dry-run', '--seeds', '0',
                     '--offline-seeds', '0')
    setting = dict(gc.settings_for(args)[0], model='unet-blowhole-native',
                   key='blowhole')
    tasks = gc.plan_tasks(args, [setting], {'synthetic': args.out})
    hook = next(t for t in tasks if t['role'] == 'hook')
    hooks = Config.fromfile(hook['config']).custom_hooks
    assert [h['type'] for h in hooks] == ['ChannelsLastHook',
                                          'OIIBisectionHook']


def test_ema_variant_averages_every_training(tmp_path):
    args = make_args(tmp_path, '--dry-run', '--seeds', '0',
                     '--offline-seeds', '0', '--ema', '0.1')
    tasks = gc.plan_tasks(args, gc.settings_for(args)[:1],
                          {'synthetic': args.out})
    ema = dict(type='EMAHook', ema_type='ExponentialMovingAverage',
               momentum=0.1, update_buffers=True)
    base = gc.base_custom_hooks('unet', str(REPO))
    by_role = {t['role']: t for t in tasks if t['kind'] == 'train'}
    assert Config.fromfile(by_role['fixed']['config']).custom_hooks == (
        base + [ema])
    hooks = Config.fromfile(by_role['hook']['config']).custom_hooks
    assert hooks[:-1] == base + [ema]
    assert hooks[-1]['type'] == 'OIIBisectionHook'
    # The searches train the fixed run's config: averaged too.
    assert {t['config'] for t in tasks if t['kind'] == 'grid'} == {
        by_role['fixed']['config']}
    assert "'EMAHook'" in gc.markdown(args, {}, {}, 0.0)
    plain = make_args(tmp_path / 'plain', '--dry-run', '--seeds', '0')
    fixed = next(t for t in gc.plan_tasks(
        plain, gc.settings_for(plain)[:1], {'synthetic': plain.out})
        if t['role'] == 'fixed')
    assert 'custom_hooks' not in Path(fixed['config']).read_text()
    for bad in ('0', '1', '-0.1'):
        with pytest.raises(SystemExit):
            driver.parse_args(['--ema', bad])


def test_hook_options_make_a_variant(tmp_path):
    args = make_args(tmp_path, '--dry-run', '--seeds', '0',
                     '--offline-seeds', '--hook-option', 'smooth=3',
                     '--hook-option', 'warmup=None')
    assert args.hook_options == {'smooth': 3, 'warmup': None}
    tasks = gc.plan_tasks(args, gc.settings_for(args)[:1],
                          {'synthetic': args.out})
    assert not [t for t in tasks if t['kind'] in ('grid', 'bisection')]
    only = make_args(tmp_path / 'only', '--dry-run', '--seeds', '0',
                     '--hook-only')
    only_tasks = gc.plan_tasks(only, gc.settings_for(only)[:1],
                               {'synthetic': only.out})
    assert [(t['kind'], t['role']) for t in only_tasks] == [
        ('train', 'hook'), ('calibrate', 'hook')]
    hook = next(t for t in tasks if t['role'] == 'hook')
    cfg = Config.fromfile(hook['config']).custom_hooks[-1]
    assert (cfg['smooth'], cfg['warmup']) == (3, None)
    assert 'smooth=3' in gc.markdown(args, {}, {}, 0.0)
    for bad, message in (('smooth', 'KEY=VALUE'), ('smooth=0', 'smooth'),
                         ('target=(0, 1)', 'set by the benchmark'),
                         ('speed=2', 'speed')):
        with pytest.raises(SystemExit):
            driver.parse_args(['--hook-option', bad])
        with pytest.raises(ValueError, match=message):
            gc.parse_hook_options([bad])

# ---------------------------------------------------------------- fakes
def write_run(work, iters, vals, seconds=60.0, records=None):
    """A finished training's work directory: validation scalars (both
    JSON logs), the final checkpoint, the recorded wall time and, for a
    hook run, the hook's state file."""
    ts = work / '20260101_120000'
    vis = ts / 'vis_data'
    vis.mkdir(parents=True)
    (work / 'cfg.py').write_text(
        "default_hooks = dict(logger=dict(log_metric_by_epoch=False))\n")
    text = ''.join(json.dumps(dict(v, step=v['step'])) + '\n' for v in vals)
    (vis / 'scalars.json').write_text(text)
    (vis / '20260101_120000.json').write_text(text)
    (work / f'iter_{iters}.pth').write_text('')
    (work / loss_comparison.SECONDS_FILE).write_text(json.dumps(
        dict(seconds=seconds, iters=iters)))  # as run_training writes it
    if records is not None:
        (work / STATE_FILE).write_text(json.dumps(dict(records=records)))


def write_calibration(out, oii, iou, pa, index=1, seconds=6.0):
    """``calibration.json`` choosing ``index`` and a 3-threshold sweep."""
    out.mkdir(parents=True)
    sweep = dict(thresholds=[0.2, 0.5, 0.8], classes=dict(crack=dict(
        OII=[-0.5, oii, 0.9], IoU=[0.1, iou, 0.05], PA=[0.2, pa, 0.9])))
    (out / 'threshold_sweep.json').write_text(json.dumps(sweep))
    (out / 'calibration.json').write_text(json.dumps(dict(choices=dict(
        crack=dict(index=index, threshold=sweep['thresholds'][index],
                   in_target=True, reason='highest IoU with OII inside')))))
    (out / gc.CALIBRATION_SECONDS).write_text(json.dumps(dict(
        seconds=seconds)))


def write_search(work, mode, steps, result, trainings=None):
    work.mkdir(parents=True)
    state = dict(version=1, settings=dict(
        mode=mode, grid=4 if mode == 'grid' else None,
        max_steps=None if mode == 'grid' else 4),
        steps=[dict(s, status='done') for s in steps],
        trainings=trainings or len(steps), result=result)
    (work / 'search.json').write_text(json.dumps(state))


def hook_records(rounds):
    """Validation lines and the hook's state records for (iter, OII,
    warm-up) rounds, the bisection driven as the hook drives it."""
    search = OIIBisection(0.1, 0.9, TARGET, max_steps=5)
    vals, records = [], []
    for number, (it, oii, warm) in enumerate(rounds, 1):
        vals.append(dict(IoU=0.5, PA=0.6, OII=oii, alpha=search.alpha,
                         step=it))
        if not warm and not search.done:
            search.update(oii)
        records.append(dict(iter=it, state=dict(
            rounds=number, bisection=search.state_dict(),
            phase='hold' if search.done else 'search')))
    return vals, records


def fake_benchmark(tmp_path):
    """Seeds 0-2 (offline seed 0) of a 30-iteration synthetic setting with
    known numbers; OII at both target bounds in the fixed row."""
    args = make_args(tmp_path, '--seeds', '0', '1', '2', '--offline-seeds',
                     '0', '--synthetic-iters', '30',
                     '--synthetic-val-interval', '10')
    setting = gc.settings_for(args)[0]
    fixed_oii = {0: 0.35, 1: 0.4, 2: 0.3}  # only seed 0 strictly inside
    for seed in (0, 1, 2):
        paths = {k: Path(v)
                 for k, v in gc.seed_paths(args, setting, seed).items()}
        write_run(paths['fixed_dir'], 30, [
            dict(IoU=0.2, PA=0.3, OII=0.9, step=10),
            dict(IoU=0.3, PA=0.4, OII=fixed_oii[seed] + 0.1, step=20),
            dict(IoU=0.4 + seed / 100, PA=0.5, OII=fixed_oii[seed],
                 step=30)], seconds=120.0)
        write_calibration(paths['fixed_calibration'], oii=0.31 + seed / 100,
                          iou=0.5, pa=0.6 + seed / 100)
        vals, records = hook_records([(10, 1.0, True), (20, 0.6, False),
                                      (30, 0.35, False)])
        write_run(paths['hook_dir'], 30, vals, seconds=180.0,
                  records=records)
        if seed == 0:
            write_calibration(paths['hook_calibration'], oii=0.45, iou=0.3,
                              pa=0.7)
            write_search(paths['grid_dir'], 'grid', [
                dict(alpha=0.1, OII=0.8, IoU=0.6, PA=0.5, seconds=60),
                dict(alpha=0.3, OII=0.35, IoU=0.4, PA=0.5, seconds=60),
                dict(alpha=0.5, OII=0.32, IoU=0.45, PA=0.55, seconds=120,
                     reused_from=str(paths['fixed_dir'])),
                dict(alpha=0.7, OII=0.4, IoU=0.5, PA=0.5, seconds=60),
                dict(alpha=0.9, OII=-0.2, IoU=0.3, PA=0.4, seconds=60)],
                dict(best_iou_alpha=0.1, best_iou=0.6,
                     alphas_in_target=[0.3, 0.5], finished=True))
            write_search(paths['bisection_dir'], 'bisection', [
                dict(alpha=0.5, OII=0.6, IoU=0.4, PA=0.5, seconds=120,
                     reused_from=str(paths['fixed_dir'])),
                dict(alpha=0.7, OII=0.35, IoU=0.42, PA=0.52, seconds=60)],
                dict(alpha=0.7, converged=True, finished=True))
    return args, setting


def test_collect_and_markdown(tmp_path):
    args, setting = fake_benchmark(tmp_path)
    block = gc.collect(args, [setting])[setting['name']]
    rows = block['rows']
    fixed = rows['fixed']
    assert fixed['seeds'] == [0, 1, 2]
    assert fixed['OII'] == [0.35, 0.4, 0.3]
    # The target is open: OII = m1 (seed 1) and OII = m0 (seed 2) are out.
    assert fixed['in_target'] == [True, False, False]
    assert fixed['share_in_target'] == pytest.approx(1 / 3)
    cal = rows['fixed_calibrated']
    assert cal['OII'] == pytest.approx([0.31, 0.32, 0.33])
    assert cal['PA'] == pytest.approx([0.6, 0.61, 0.62])
    assert cal['share_in_target'] == 1.0
    assert cal['minutes'] == pytest.approx([2.1] * 3)  # training + calib.
    # Grid: the best IoU in the target (α 0.7: IoU 0.5 at OII 0.4 is at the
    # bound, so α 0.5, IoU 0.45), not the overall best IoU (α 0.1).
    grid = rows['grid']['entries'][0]
    assert grid['alpha'] == 0.5 and grid['IoU'] == 0.45
    assert grid['selected_by'] == 'OII in target, best IoU'
    assert grid['trainings'] == 5 and grid['shared'] == 1
    assert grid['minutes'] == pytest.approx(6.0)
    bis = rows['bisection']['entries'][0]
    assert (bis['alpha'], bis['OII'], bis['trainings']) == (0.7, 0.35, 2)
    hook = rows['hook']
    assert hook['OII'] == [0.35] * 3 and hook['share_in_target'] == 1.0
    assert rows['hook_calibrated']['seeds'] == [0]
    assert rows['hook_calibrated']['in_target'] == [False]
    trace = block['hook'][0]
    assert trace['alpha'] == 0.7 and trace['converged']
    assert trace['reopened'] == 0 and trace['phase'] == 'hold'
    assert [r['alpha'] for r in trace['rounds']] == [0.5, 0.5, 0.7]

    text = gc.markdown(args, [setting], {setting['name']: block}, 600.0)
    assert ('| α = 0.5 fixed, no calibration (baseline) | 1 | 3 | 1/3 '
            '(33 %) | 0.350 ± 0.050 | 0.410 ± 0.010 | 0.500 ± 0.000 | '
            '0.100 ± 0.000 | 2.0 ± 0.0 |') in text
    assert ('| 5-point grid (paper) | 5 (incl. the shared α = 0.5 one) | '
            '1 | 1/1 (100 %) | 0.320 | 0.450 | 0.550 | - | 6.0 |') in text
    # Partial rows say how many seeds are done.
    assert ('| hook + threshold calibration | 1 + 1 evaluation pass | '
            '1 of 3 done | 0/1 (0 %) | 0.450 | 0.300 | 0.700 | - | 3.1 |'
            ) in text
    # The hook's last two rounds had different α: no late pair.
    assert ('| 0 | 3 | 0.700 | yes | hold | 0 | 3 | 0.350 | 0.500 | yes | '
            '- |') in text
    assert '| grid | 0 | 5 | 0.1 (0.800), 0.3 (0.350), 0.5 (0.320)*' in text
    # The hook's goal: 3/3 in target, IoU 0.5 against the grid's 0.45.
    assert ('- Goal, online hook (OIIBisectionHook): final OII in target on '
            '3/3 seeds (goal ≥ 90%: met); mean IoU 0.500 against the '
            "grid's selected α 0.450 (1 seed): +0.050 (goal ≥ -0.02: met)."
            ) in text
    assert ('- Goal, hook + threshold calibration: final OII in target on '
            '0/1 seeds (goal ≥ 90%: not met); mean IoU 0.300 against the '
            "grid's selected α 0.450 (1 seed): -0.150 (goal ≥ -0.02: not "
            'met).') in text
    assert ("- Reach of α: over the grid's α in [0.1, 0.9] the final OII "
            'spanned [-0.200, 0.800] (seed 0); the target (0.3, 0.4) lies '
            'inside that span on 1 of 1 seed.') in text

    written = gc.make_figures(args, [setting], {setting['name']: block})
    assert sorted(p.rsplit('/', 1)[1] for p in written) == [
        'alpha_trace_synthetic.png', 'threshold_sweep_synthetic.png']


def test_goal_says_when_no_alpha_reaches_the_target(tmp_path):
    """Every grid α gave OII below the target (MTSDD Blowhole): the reach
    line says only the threshold can get there; no grid yet, no IoU goal."""
    args, setting = fake_benchmark(tmp_path)
    block = gc.collect(args, [setting])[setting['name']]
    grid = block['rows']['grid']
    grid['entries'][0]['steps'] = [
        dict(alpha=a, OII=o) for a, o in ((0.1, -0.39), (0.5, -0.55),
                                          (0.9, -0.8))]
    lines = gc.goal_lines(args, block)
    assert lines[-2] == (
        "- Reach of α: over the grid's α in [0.1, 0.9] the final OII "
        'spanned [-0.800, -0.390] (seed 0); the target (0.3, 0.4) lies '
        'inside that span on 0 of 1 seed: where it does not, no α of the '
        'interval reaches it at this budget and only the threshold can.')
    grid['entries'], grid['IoU'] = [], []
    lines = gc.goal_lines(args, block)
    assert lines[0].endswith('; IoU against the grid: the grid has not run '
                             'yet.')
    assert not any(line.startswith('- Reach') for line in lines)


def test_grid_without_a_point_in_target_takes_the_best_iou(tmp_path):
    write_search(tmp_path / 'g', 'grid', [
        dict(alpha=0.1, OII=0.8, IoU=0.6, PA=0.5),
        dict(alpha=0.5, OII=0.4, IoU=0.7, PA=0.5)],
        dict(best_iou_alpha=0.5, finished=True))
    found = gc.read_search(str(tmp_path / 'g'), 'grid', TARGET)
    assert found['alpha'] == 0.5
    assert found['selected_by'] == 'none in target: best IoU'
    write_search(tmp_path / 'b', 'bisection', [
        dict(alpha=0.5, OII=0.6), dict(alpha=0.7, OII=0.2)],
        dict(alpha=0.5, converged=False, finished=True))
    found = gc.read_search(str(tmp_path / 'b'), 'bisection', TARGET)
    assert found['alpha'] == 0.5 and found['OII'] == 0.6
    assert found['selected_by'] == 'steps used up: closest OII'
    write_search(tmp_path / 'u', 'bisection', [dict(alpha=0.5, OII=0.6)],
                 dict(alpha=0.7, converged=False, finished=False))
    assert gc.read_search(str(tmp_path / 'u'), 'bisection', TARGET) is None


def test_resume_skips_finished_work(tmp_path, monkeypatch):
    args, setting = fake_benchmark(tmp_path)
    calls = []

    def no_tool(*a, **k):
        calls.append(a[1])
        raise AssertionError(f'{a[1]} run although its result is there')

    monkeypatch.setattr(gc, 'tool', no_tool)
    monkeypatch.setattr(loss_comparison, 'tool', no_tool)
    tasks = gc.plan_tasks(args, [setting], {'synthetic': args.out})
    # The hook of seed 1 and 2 were not calibrated: only those two run.
    ran = []
    skipped = [t['id'] for t in tasks
               if t['kind'] == 'calibrate' and t['role'] == 'hook'
               and t['seed'] in (1, 2)]

    def runner(task):
        if task['id'] in skipped:
            ran.append(task['id'])
            return task
        return gc.run_task(task)

    state = gc.execute(tasks, 2, runner=runner)
    assert set(state.values()) == {'done'}, state
    assert calls == [] and sorted(ran) == sorted(skipped)
    assert all(t['skipped'] for t in tasks if t['id'] not in skipped)


def test_search_reads_the_shared_run_and_failures_block(tmp_path,
                                                        monkeypatch):
    args, setting = fake_benchmark(tmp_path)
    paths = gc.seed_paths(args, setting, 0)
    task = dict(kind='grid', work_dir=str(tmp_path / 'fresh_grid'),
                reuses=paths['fixed_dir'])
    path = gc.share_fixed_step(task)
    assert path.endswith('fresh_grid/alpha_0.5/result.json')
    with open(path) as f:
        result = json.load(f)
    assert (result['OII'], result['IoU'], result['seconds']) == (0.35, 0.4,
                                                                 120.0)
    assert result['reused_from'] == paths['fixed_dir']

    def failing(task):
        if task['id'].endswith('train-fixed'):
            raise RuntimeError('tools/train.py failed')
        return task

    tasks = [dict(id='a/train-fixed', after=[]),
             dict(id='a/grid', after=['a/train-fixed']),
             dict(id='a/train-hook', after=[])]
    state = gc.execute(tasks, 1, runner=failing)
    assert state == {'a/train-fixed': 'failed', 'a/grid': 'blocked',
                     'a/train-hook': 'done'}
    assert 'tools/train.py failed' in tasks[0]['error']


def test_results_kept_without_logs_give_the_same_table(tmp_path, monkeypatch):
    """Committed results keep each run's config and summaries, not its
    <timestamp> logs or checkpoints: the validation records a training
    leaves behind make the tables, the hook traces and the shared α = 0.5
    step the same, so the benchmark resumes from them."""
    import shutil
    args, setting = fake_benchmark(tmp_path)
    before = json.dumps(gc.collect(args, [setting]), default=str)
    monkeypatch.setattr(loss_comparison, 'tool', None)  # nothing trains
    for task in gc.plan_tasks(args, [setting], {'synthetic': args.out}):
        if task['kind'] == 'train':
            assert gc.run_task(task)['skipped']  # records kept on skip too
    fixed_dir = Path(gc.seed_paths(args, setting, 0)['fixed_dir'])
    for pattern in ('runs/*/2026*', 'runs/*/*.pth'):
        for path in Path(args.out).glob(f'*/{pattern}'):
            shutil.rmtree(path) if path.is_dir() else path.unlink()
    assert not list(fixed_dir.glob('2026*'))
    after = json.dumps(gc.collect(args, [setting]), default=str)
    assert after == before
    path = gc.share_fixed_step(dict(work_dir=str(tmp_path / 'grid_s0'),
                                    reuses=str(fixed_dir)))
    assert json.loads(Path(path).read_text())['OII'] == 0.35


def test_bisection_reads_the_steps_the_grid_trained(tmp_path):
    """The bisection's steps that are grid points are copied from the grid
    (replayed in order: its first step's OII picks the next α); the first α
    the grid lacks is left to train, and a step it has is not replaced."""
    args, setting = fake_benchmark(tmp_path)
    grid = tmp_path / 'grid'
    for alpha, oii in ((0.3, 0.2), (0.7, 0.8), (0.5, 0.6)):
        step = grid / f'alpha_{alpha:g}'
        step.mkdir(parents=True)
        (step / 'result.json').write_text(json.dumps(dict(
            OII=oii, IoU=0.5, PA=0.6, seconds=90.0, log='x/vis_data/x.json')))
    work = tmp_path / 'bisection'
    task = dict(args=args, work_dir=str(work), grid_dir=str(grid))
    (work / 'alpha_0.5').mkdir(parents=True)
    (work / 'alpha_0.5' / 'result.json').write_text(json.dumps(dict(
        OII=0.1, reused_from='fixed')))
    # OII 0.1 at α 0.5 is below the target: α goes down to 0.3, a grid
    # point (OII 0.2, still below): then 0.2, which the grid lacks.
    assert gc.share_grid_steps(task) == [0.3]
    copied = json.loads((work / 'alpha_0.3' / 'result.json').read_text())
    assert copied['OII'] == 0.2 and copied['seconds'] == 90.0
    assert copied['reused_from'] == str(grid / 'alpha_0.3')
    assert copied['log'] == str(grid / 'alpha_0.3' / 'x/vis_data/x.json')
    assert not (work / 'alpha_0.2').exists()
    assert not (work / 'alpha_0.7').exists()
    # Run again: nothing new, the copied step is kept.
    assert gc.share_grid_steps(task) == []
    # OII above the target at α 0.5: the grid's α 0.7 is read instead.
    other = tmp_path / 'bisection_high'
    (other / 'alpha_0.5').mkdir(parents=True)
    (other / 'alpha_0.5' / 'result.json').write_text(json.dumps(dict(
        OII=0.9)))
    assert gc.share_grid_steps(dict(task, work_dir=str(other))) == [0.7]


def test_late_jitter_is_the_oii_noise_at_one_alpha():
    oii = {60: 0.3, 70: 0.5, 80: 0.4, 90: 0.45, 100: 0.25}
    alpha = {60: 0.5, 70: 0.5, 80: 0.6, 90: 0.6, 100: 0.6}
    rounds = [dict(iter=i, OII=1.0, alpha=0.5) for i in range(10, 60, 10)]
    rounds += [dict(iter=i, OII=oii[i], alpha=alpha[i]) for i in oii]
    # Late pairs (both rounds from iteration 60 on) at one α: 60-70, 80-90,
    # 90-100; 70-80 changed α; the early rounds do not count.
    assert stats.late_jitter(rounds, 100) == pytest.approx(0.2)
    # A fixed-α run logs no α: every late pair counts (median of 4).
    plain = [{k: v for k, v in r.items() if k != 'alpha'} for r in rounds]
    assert stats.late_jitter(plain, 100) == pytest.approx(0.15)
    assert stats.late_jitter(rounds[-1:], 100) is None  # kept without rounds
    assert stats.late_jitter(rounds, 100, late=0.95) is None
