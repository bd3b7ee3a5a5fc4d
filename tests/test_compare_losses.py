"""benchmarks/compare_losses.py (mmseg_dibe.analysis.loss_comparison): the
plan it writes, its table (plateau flags, paired differences) and the hook
trace.

The benchmark itself trains for the best part of an hour; these tests check
what it derives (configs, the online hook's α trace and its Markdown) on a
dry run and on a hand-written work directory whose numbers are known.
"""
import json

import pytest
from mmengine.config import Config

from mmseg_dibe.analysis import loss_comparison
from utils import REPO, load_script, run_tool


driver = load_script('benchmarks/compare_losses.py')


def test_dry_run_writes_loadable_configs(tmp_path):
    out = tmp_path / 'cmp'
    proc = run_tool('benchmarks/compare_losses.py', '--quick', '--dry-run',
                    '--num-train', 4, '--num-val', 2, '--out', out)
    assert 'compare_losses: 5 trainings, 2 at a time' in proc.stdout
    # mmseg's stock BCE is listed first.
    plan = [line.split()[3] for line in proc.stdout.splitlines()
            if line.startswith('  U-Net')]
    assert plan[0] == 'BCE', proc.stdout
    configs = sorted((out / 'configs').glob('*.py'))
    assert [c.name for c in configs] == [
        'unet_bce_s0.py', 'unet_dibe_reg_s0.py', 'unet_dibe_s0.py',
        'unet_ft_s0.py', 'unet_hf_s0.py']
    stock = Config.fromfile(str(out / 'configs' / 'unet_bce_s0.py'))
    assert stock.model.decode_head.loss_decode == dict(
        type='CrossEntropyLoss', use_sigmoid=True)
    assert stock.model.auxiliary_head.loss_decode == dict(
        type='CrossEntropyLoss', use_sigmoid=True, loss_weight=0.4)
    cfg = Config.fromfile(str(out / 'configs' / 'unet_dibe_reg_s0.py'))
    assert cfg.optim_wrapper.optimizer.lr == 0.05
    assert cfg.optim_wrapper.optimizer.type == 'SGD'
    assert cfg.train_cfg.max_iters == 40
    assert cfg.train_cfg.val_interval == 10
    assert cfg.param_scheduler[0].end == 40
    decode = cfg.model.decode_head.loss_decode
    assert decode.type == 'DIBERegLoss' and decode.gamma == 1.5
    assert decode.alpha == 0.3 and decode.beta == 0.7
    assert 'use_sigmoid' not in decode  # _delete_ replaced mmseg's CE dict
    assert cfg.model.auxiliary_head.loss_decode.loss_weight == 0.4
    assert cfg.train_dataloader.dataset.data_root == str(
        out / 'data' / 'synthetic')
    assert (out / 'data' / 'synthetic' / 'ann_dir' / 'val').is_dir()


def test_full_defaults_fit_the_plan():
    args = driver.parse_args([])
    assert (args.iters, args.val_interval, args.lr) == (300, 30, 0.05)
    assert args.seeds == [0, 1, 2] and args.reference_seeds == 1
    assert (args.native_iters, args.native_val_interval) == (600, 60)
    assert args.models == ['unet', 'unet-blowhole-native',
                           'unet-crack-native']
    settings = loss_comparison.settings_for(args)
    assert [(s['name'], s['iters'], s['val_interval']) for s in settings] \
        == [('U-Net / synthetic', 300, 30),
            ('U-Net / MTSDD Blowhole (native)', 600, 60),
            ('U-Net / MTSDD Crack (native)', 600, 60)]
    with pytest.raises(SystemExit):
        driver.parse_args(['--usable-frac', '0'])
    with pytest.raises(SystemExit):
        driver.parse_args(['--native-iters', '0'])
    with pytest.raises(SystemExit):
        driver.parse_args(['--plateau-tol', '1'])


def test_setting_slugs_are_plain_file_names():
    assert [loss_comparison.slug(s['name']) for s in
            loss_comparison.settings_for(driver.parse_args([]))] == [
        'u-net_synthetic', 'u-net_mtsdd-blowhole-native',
        'u-net_mtsdd-crack-native']


def test_losses_are_named_by_the_catalog():
    from mmseg_dibe.losses.catalog import paper_name
    for name, cfg in loss_comparison.LOSSES.items():
        assert paper_name(cfg) == name
    assert list(loss_comparison.LOSSES)[0] == 'BCE (mmseg)'
    args = driver.parse_args(['--losses', 'bce', 'DIBE_Reg', 'dibe-reg'])
    assert args.losses == ['BCE (mmseg)', 'DIBE_Reg', 'DIBE_Reg']
    full = loss_comparison.settings_for(driver.parse_args([]))
    for setting in full:
        assert setting['losses'][0] == 'BCE (mmseg)', setting
    assert full[0]['losses'][-3:] == ['WBCE', 'Dice', 'Focal']


def _hook_work_dir(tmp_path, rounds):
    """A work directory as a training with OIIBisectionHook leaves it."""
    from mmseg_dibe import OIIBisection
    from mmseg_dibe.engine.hooks.oii_bisection_hook import STATE_FILE
    work = tmp_path / 'hook'
    vis = work / '20261127_120000' / 'vis_data'
    vis.mkdir(parents=True)
    (work / 'cfg.py').write_text(
        "default_hooks = dict(logger=dict(log_metric_by_epoch=False))\n"
        "randomness = dict(seed=0)\n")
    search = OIIBisection(0.1, 0.9, (0.3, 0.4), max_steps=6)
    lines, records = [], []
    for number, (it, oii, warm) in enumerate(rounds, 1):
        alpha = search.alpha
        lines.append(dict(loss=1.0, lr=0.01, step=it))
        lines.append(dict(IoU=0.5, PA=0.6, OII=oii, alpha=alpha, step=it))
        if not warm and not search.done:
            search.update(oii)
        records.append(dict(iter=it, state=dict(
            rounds=number, bisection=search.state_dict())))
    (vis / 'scalars.json').write_text(
        ''.join(json.dumps(r) + '\n' for r in lines))
    (work / STATE_FILE).write_text(json.dumps(dict(records=records)))
    return work


def test_hook_trace(tmp_path):
    # Warm-up, above the target (α 0.5 -> 0.7), below (0.7 -> 0.6), inside
    # (fixed at 0.6), then a round after the search is over.
    work = _hook_work_dir(tmp_path, [(30, 1.0, True), (60, 0.6, False),
                                     (90, 0.1, False), (120, 0.35, False),
                                     (150, 0.2, False)])
    trace = loss_comparison.hook_trace(str(work), (0.3, 0.4), seconds=60)
    assert [r['decision'] for r in trace['rounds']] == [
        'warm-up', 'above target: α → 0.7', 'below target: α → 0.6',
        'OII in target: α fixed', 'α fixed']
    assert [r['alpha'] for r in trace['rounds']] == [0.5, 0.5, 0.7, 0.6,
                                                     0.6]
    assert trace['converged'] and trace['reached_at'] == 4
    assert trace['alpha'] == 0.6 and trace['trainings'] == 1
    assert trace['final'] == dict(IoU=0.5, PA=0.6, OII=0.2)



def test_hook_without_a_guided_round_says_so(tmp_path):
    work = _hook_work_dir(tmp_path, [(10, 1.0, True), (20, 1.0, True)])
    trace = loss_comparison.hook_trace(str(work), (0.3, 0.4))
    assert [r['decision'] for r in trace['rounds']] == ['warm-up'] * 2
    assert not trace['done'] and trace['alpha'] == 0.5


def test_hook_trace_steps_used_up(tmp_path):
    work = _hook_work_dir(tmp_path, [(10 * i, 0.9, False)
                                     for i in range(1, 7)])
    trace = loss_comparison.hook_trace(str(work), (0.3, 0.4))
    assert not trace['converged'] and trace['reached_at'] is None
    assert trace['done']
    assert trace['rounds'][-1]['decision'].startswith('steps used up')


def test_hook_training_ended_before_the_search(tmp_path):
    work = _hook_work_dir(tmp_path, [(10, 0.9, False), (20, 0.9, False)])
    trace = loss_comparison.hook_trace(str(work), (0.3, 0.4))
    assert not trace['done'] and not trace['converged']
    assert trace['alpha'] == 0.8


def _run_dir(root, name, seed, ious, iters, seconds=30.0):
    """A finished work directory kept without checkpoints: validation IoU
    ``ious`` at even steps up to ``iters``, and the benchmark's record."""
    work = root / name
    vis = work / '20261202_120000' / 'vis_data'
    vis.mkdir(parents=True)
    (work / f'{name}.py').write_text(
        f"randomness = dict(seed={seed})\n")
    step = iters // len(ious)
    lines = [json.dumps(dict(IoU=iou, PA=0.5, OII=0.1, step=step * (i + 1)))
             for i, iou in enumerate(ious)]
    (vis / 'scalars.json').write_text('\n'.join(lines) + '\n')
    (work / loss_comparison.SECONDS_FILE).write_text(json.dumps(
        dict(seconds=seconds, iters=iters)))
    return str(work)


def test_table_flags_plateaus_and_pairs_seeds(tmp_path):
    args = driver.parse_args(['--quick', '--losses', 'bce', 'ft', 'dibe'])
    setting = dict(name='U-Net / synthetic', model='unet', data='synthetic',
                   losses=['BCE (mmseg)', 'FT', 'DIBE'], iters=40,
                   val_interval=10)
    curves = {  # (loss, seed) -> IoU at iterations 10, 20, 30, 40
        ('BCE (mmseg)', 0): [0.1, 0.2, 0.30, 0.305],  # plateaued
        ('BCE (mmseg)', 1): [0.1, 0.2, 0.30, 0.35],   # still rising
        ('FT', 0): [0.1, 0.2, 0.25, 0.25],
        ('FT', 1): [0.1, 0.2, 0.25, 0.25],
        ('DIBE', 0): [0.1, 0.3, 0.40, 0.40],
        ('DIBE', 1): [0.1, 0.3, 0.40, 0.30],
    }
    jobs = []
    for (loss, seed), ious in curves.items():
        work = _run_dir(tmp_path, f'{loss_comparison.loss_slug(loss)}_s{seed}',
                        seed, ious, 40)
        jobs.append(dict(setting=setting['name'], loss=loss, seed=seed,
                         work_dir=work, iters=40))
    # Not finished: a record of another budget.
    other = _run_dir(tmp_path, 'dibe_s2', 2, [0.9] * 4, 20)
    jobs.append(dict(setting=setting['name'], loss='DIBE', seed=2,
                     work_dir=other, iters=40))
    assert not loss_comparison.finished(other, 40)
    table = loss_comparison.collect(args, jobs, [setting])
    block = table['U-Net / synthetic']
    rows = block['rows']
    assert rows['BCE (mmseg)']['plateaued'] == [True, False]
    assert rows['DIBE']['plateaued'] == [True, False]
    assert rows['DIBE']['seeds'] == [0, 1]  # seed 2 is not finished
    assert rows['DIBE']['best_iter'] == [30, 30]
    assert not block['at_plateau']
    assert block['minutes'] == pytest.approx(6 * 30 / 60)
    # Best other loss by mean final IoU: BCE (0.3275) over FT (0.25).
    paired = block['paired']['DIBE']
    assert paired['best_other'] == 'BCE (mmseg)'
    assert paired['diffs'] == pytest.approx([0.095, -0.05])
    assert (paired['wins'], paired['losses']) == (1, 1)
    text = loss_comparison.markdown(args, table, 60.0, 'data')
    assert '## U-Net / synthetic: fixed budget, early training' in text
    assert '| BCE (mmseg) | 2 | 0.328 ± 0.032 |' in text
    assert '| 1/2 |' in text
    assert ('- DIBE − BCE (mmseg) (final IoU): +0.023 ± 0.103 (per seed '
            '+0.095, -0.050; 1 of 2 seeds favour it, 1 favour BCE (mmseg))'
            ) in text


def test_plateau_definition():
    from mmseg_dibe.analysis.stats import plateau
    val = [dict(iter=i, IoU=v) for i, v in
           ((100, 0.1), (200, 0.3), (300, 0.305), (400, 0.31))]
    got = plateau(val, 400)
    # From the last validation at or before iteration 300 to the last.
    assert got['plateaued'] and got['from_iter'] == 300
    assert got['change'] == pytest.approx(0.005)
    assert (got['best_iter'], got['best']) == (400, 0.31)
    assert not plateau(val, 400, tol=0.004)['plateaued']
    # Only the last validation in the window: undecided, not "plateaued".
    assert plateau(val[:1], 400)['plateaued'] is None
    # Flat at zero: never predicted the target, so not a plateau.
    idle = plateau([dict(iter=i, IoU=0.0) for i in (100, 200, 300, 400)],
                   400)
    assert idle['plateaued'] is False and idle['learned'] is False
    assert idle['change'] == 0.0
    with pytest.raises(ValueError, match='last_frac'):
        plateau(val, 400, last_frac=1.0)


def test_measured_rows_go_to_the_metafile_and_stay(tmp_path):
    from mmseg_dibe.analysis.metafile import merge_models, update_metafile
    args = driver.parse_args(['--quick', '--losses', 'bce', 'dibe'])
    setting = dict(name='U-Net / synthetic', model='unet', data='synthetic',
                   losses=['BCE (mmseg)', 'DIBE'], iters=40, val_interval=10)
    slug = loss_comparison.loss_slug
    jobs = [dict(setting=setting['name'], loss=loss, seed=seed, iters=40,
                 work_dir=_run_dir(tmp_path, f'{slug(loss)}_s{seed}', seed,
                                   [0.1, 0.2, 0.3, 0.3 + seed / 10], 40))
            for loss in setting['losses'] for seed in (0, 1)]
    table = loss_comparison.collect(args, jobs, [setting])
    models = loss_comparison.metafile_models(args, table, [setting])
    assert [m['Name'] for m in models] == ['cpu_unet_bce', 'cpu_unet_dibe']
    stock = models[0]
    assert stock['Config'] == loss_comparison.MODELS['unet'][0]
    assert stock['Metadata']['Setting'].startswith('CPU-scale')
    assert stock['Metadata']['Training Resources'].startswith('2 CPU cores')
    assert stock['Metadata']['Seeds'] == [0, 1]
    assert stock['Results']['Metrics']['IoU'] == pytest.approx(0.35)
    assert stock['Results']['Metrics']['Plateaued'] == '1/2'
    path = tmp_path / 'metafile.yaml'
    with pytest.raises(FileNotFoundError):
        merge_models(str(path), models)
    update_metafile(str(path), str(REPO / 'configs' / 'demo'), [], [],
                    repo=str(REPO))
    merge_models(str(path), models)
    merge_models(str(path), models[1:])  # replaced by name, not repeated
    # Rewriting the metafile from the configs keeps the CPU-scale rows.
    data = update_metafile(str(path), str(REPO / 'configs' / 'demo'), [],
                           [], repo=str(REPO))
    names = [m['Name'] for m in data['Models']]
    assert names.count('cpu_unet_bce') == names.count('cpu_unet_dibe') == 1
    with pytest.raises(ValueError, match='Setting'):
        merge_models(str(path), [dict(Name='x', Metadata={})])
