"""CPU-scale comparison of the losses (``benchmarks/compare_losses.py``).

With the project's real configs and tools only: data
(``tools/data/make_synthetic.py``, ``tools/dataset_converters/mtsdd.py``),
one ``tools/train.py`` training per (setting, loss, seed) on a config derived
from ``configs/benchmarks/*.py``, then ``tools/analysis/report.py`` and
``tools/analysis/plot_curves.py``. Losses are named by
:mod:`mmseg_dibe.losses.catalog`; mmseg's stock
``CrossEntropyLoss(use_sigmoid=True)`` (:data:`STOCK`) comes first in every
setting. Each run is flagged plateaued or not (:func:`..stats.plateau`) and
the DIBE losses are compared with the best other loss seed by seed
(:func:`..stats.paired_differences`). The OII guidance of α is compared in
:mod:`.guidance_comparison`; :func:`hook_trace` reads a hook training for it.
"""
import json
import os
import os.path as osp
import platform
import re
import subprocess
import sys
import time
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor

from ..engine.hooks.oii_bisection_hook import STATE_FILE
from ..guidance.bisection import OIIBisection
from ..losses.catalog import BY_PAPER_NAME, LOSSES as CATALOG
from .metafile import merge_models
from .stats import fmt_mean_std, mean_std, paired_differences, plateau
from .workdir import (VALIDATION_FILE, Run, finite, has_scalar_logs,
                      save_validation_records)


def _name(type_name):
    return CATALOG[type_name].paper_name


#: The stock baseline: mmseg's own binary cross-entropy.
STOCK = _name('CrossEntropyLoss')
#: Loss name -> its config, with the paper's hyper-parameters (Section
#: 4.3.2); alpha weights missed targets (FN), beta = 1 - alpha false alarms
#: (FP).
LOSSES = OrderedDict((_name(cfg['type']), cfg) for cfg in (
    dict(type='CrossEntropyLoss', use_sigmoid=True),
    dict(type='FocalTverskyLoss', alpha=0.3, beta=0.7, gamma=0.75),
    dict(type='DIBERegLoss', alpha=0.3, beta=0.7, gamma=1.5),
    dict(type='HybridFocalLoss', theta=0.5, lam=0.75, alpha=0.3,
         gamma_focal=2.0, gamma_ft=0.75),
    dict(type='DIBELoss', alpha=0.3, lam=0.75, gamma=2.0, theta=0.5),
    dict(type='WBCELoss', lam=0.75),
    dict(type='BinaryDiceLoss'),
    dict(type='BinaryFocalLoss', lam=0.75, gamma=2.0),
    dict(type='DIBEDisLoss', alpha=0.5, lam=0.75, gamma=2.0),
))
#: The paper's Tables 4-5.
MAIN_LOSSES = [_name(t) for t in ('FocalTverskyLoss', 'DIBERegLoss',
                                  'HybridFocalLoss', 'DIBELoss')]
#: Context, trained with fewer seeds.
REFERENCE_LOSSES = [_name(t) for t in ('WBCELoss', 'BinaryDiceLoss',
                                       'BinaryFocalLoss')]

#: model -> (base config, has an auxiliary head)
MODELS = {
    'unet': ('configs/benchmarks/unet-s5-w16_fcn_synthetic-64x64.py', True),
    'segnet': ('configs/benchmarks/segnet-w16_synthetic-64x64.py', False),
    'unet-blowhole': ('configs/benchmarks/unet-s5-w16_fcn_mt-blowhole-64x64.py',
                      True),
    # MTSDD at the images' own resolution: 128x128 training crops, whole
    # images for validation.
    'unet-blowhole-native': (
        'configs/benchmarks/unet-s5-w16_fcn_mt-blowhole-native-128x128.py',
        True),
    'unet-crack-native': (
        'configs/benchmarks/unet-s5-w16_fcn_mt-crack-native-128x128.py',
        True),
}


def loss_arg(text):
    """A loss of :data:`LOSSES` by paper name or catalog token
    (``BCE (mmseg)`` or ``bce``); for ``--losses``."""
    for name in LOSSES:
        if text in (name, BY_PAPER_NAME[name].token):
            return name
    raise ValueError(f'unknown loss {text!r}; known: '
                     f'{[BY_PAPER_NAME[n].token for n in LOSSES]}')


def resolve_defaults(args):
    """Fill the options left ``None`` on the command line: the full mode's
    values, or those of ``--quick``. Changes ``args`` in place.

    Raises:
        ValueError: If an option is out of range (the message names it).
    """
    quick = args.quick
    if args.models is None:
        args.models = ['unet'] if quick else ['unet', 'unet-blowhole-native',
                                                 'unet-crack-native']
    if args.losses is None:
        args.losses = [STOCK] + MAIN_LOSSES + ([] if quick else
                                               REFERENCE_LOSSES)
    if args.seeds is None:
        args.seeds = [0] if quick else [0, 1, 2]
    if args.iters is None:
        args.iters = 40 if quick else 300
    if args.batch_size is None:
        args.batch_size = 4 if quick else 8
    if args.val_interval is None:
        # 10 validations (4 for --quick): the curves decide the iterations
        # each loss needs to reach a usable IoU.
        args.val_interval = max(1, args.iters // (4 if quick else 10))
    if args.num_train is None:
        args.num_train = 32 if quick else 160
    if args.num_val is None:
        # 48 images of 64x64 hold ~780 crack pixels: OII moves by less
        # than 0.01 for one pixel changing side.
        args.num_val = 8 if quick else 48
    if args.threads is None:
        args.threads = max(1, min(2, (os.cpu_count() or 1) // args.jobs))
    if args.native_iters is None:
        args.native_iters = 20 if quick else NATIVE_ITERS
    if args.native_val_interval is None:
        args.native_val_interval = max(1, args.native_iters // (
            4 if quick else 10))
    if min(args.iters, args.val_interval, args.native_iters,
           args.native_val_interval) < 1:
        raise ValueError('--iters, --val-interval, --native-iters and '
                         '--native-val-interval must be positive')
    if not 0 < args.plateau_tol < 1:
        raise ValueError('--plateau-tol must be in (0, 1)')
    if not 0 < args.usable_frac <= 1:
        raise ValueError('--usable-frac must be in (0, 1]')
    return args


#: Iterations of the native-scale MTSDD settings (batch 8 of 128x128
#: crops), sized from measured learning curves (docs/results.md).
NATIVE_ITERS = 600


def settings_for(args):
    """The settings to run: dicts of ``name``, ``model`` (a :data:`MODELS`
    key), ``data`` (a dataset key), ``losses``, ``iters`` and
    ``val_interval`` (each setting has its own budget)."""
    # The stock baseline first in every setting.
    main = [STOCK] + MAIN_LOSSES
    every = main + (REFERENCE_LOSSES if args.reference else [])
    synthetic = (args.iters, args.val_interval)
    native = (args.native_iters, args.native_val_interval)
    settings = [
        ('U-Net / synthetic', 'unet', 'synthetic', every, synthetic),
        ('U-Net / MTSDD Blowhole (native)', 'unet-blowhole-native',
         'mt_blowhole', every, native),
        ('U-Net / MTSDD Crack (native)', 'unet-crack-native', 'mt_crack',
         every, native),
        ('SegNet / synthetic', 'segnet', 'synthetic', main, synthetic),
        ('U-Net / MTSDD Blowhole (scaled to 128)', 'unet-blowhole',
         'mt_blowhole', main, synthetic),
    ]
    chosen = []
    for name, model, data, losses, (iters, interval) in settings:
        if model not in args.models:
            continue
        losses = [loss for loss in losses if loss in args.losses]
        if losses:
            chosen.append(dict(name=name, model=model, data=data,
                               losses=losses, iters=iters,
                               val_interval=interval))
    return chosen


def tool(args, script, *argv, log=None):
    """Run one of the repository's tools with this interpreter.

    Raises:
        RuntimeError: If the tool exits non-zero (with its output's tail).
    """
    repo = args.repo
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads),
               MKL_NUM_THREADS=str(args.threads), PYTHONPATH=repo + (
                   os.pathsep + os.environ['PYTHONPATH']
                   if os.environ.get('PYTHONPATH') else ''))
    cmd = [sys.executable, osp.join(repo, script)] + [str(a) for a in argv]
    start = time.time()
    if log:
        with open(log, 'w') as f:
            proc = subprocess.run(cmd, cwd=repo, env=env, stdout=f,
                                  stderr=subprocess.STDOUT)
    else:
        proc = subprocess.run(cmd, cwd=repo, env=env, capture_output=True,
                              text=True)
    if proc.returncode != 0:
        tail = ''
        if log:
            with open(log) as f:
                tail = f.read()[-3000:]
        else:
            tail = (proc.stdout or '')[-1500:] + (proc.stderr or '')[-3000:]
        raise RuntimeError(f'{" ".join(cmd)} failed ({proc.returncode}):\n'
                           f'{tail}')
    return time.time() - start


#: dataset key -> MTSDD subset converted by tools/dataset_converters/mtsdd.py
MTSDD_SUBSETS = {'mt_blowhole': 'Blowhole', 'mt_crack': 'Crack'}


def prepare_data(args, datasets=('synthetic', 'mt_blowhole', 'mt_crack')):
    """Write / convert the datasets under ``args.out/data``.

    Synthetic data (``tools/data/make_synthetic.py``: ``args.num_train``,
    ``args.num_val`` images of 64x64 at FG:BG ``args.ratio``) is always
    written; each MTSDD subset of ``datasets`` is converted from
    ``args.mtsdd`` (the public release) when it is there.

    Returns:
        dict: {dataset key: data root, or None when its source is absent}.
    """
    roots = {}
    data_dir = osp.join(args.out, 'data')
    synthetic = osp.join(data_dir, 'synthetic')
    if not osp.isdir(osp.join(synthetic, 'ann_dir', 'val')):
        tool(args, 'tools/data/make_synthetic.py', synthetic,
             '--num-train', args.num_train, '--num-val', args.num_val,
             '--size', 64, '--ratio', args.ratio, '--seed', 0)
    roots['synthetic'] = synthetic
    for key, subset in MTSDD_SUBSETS.items():
        roots[key] = None
        if key not in datasets:
            continue
        root = osp.join(data_dir, key)
        if osp.isdir(osp.join(root, 'ann_dir', 'val')):
            roots[key] = root
        elif osp.isdir(osp.join(args.mtsdd, f'MT_{subset}')):
            tool(args, 'tools/dataset_converters/mtsdd.py', args.mtsdd,
                 root, '--subset', subset)
            roots[key] = root
        else:
            print(f'compare_losses: {args.mtsdd}/MT_{subset} not found: '
                  f'the MTSDD {subset} settings are skipped')
    return roots


def write_config(path, model, data_root, loss_name, seed, args, alpha=None,
                 extra='', iters=None, val_interval=None):
    """A config deriving from the benchmark config of ``model``.

    ``extra`` is appended to the config text (e.g. ``custom_hooks``);
    ``iters`` / ``val_interval`` replace ``args.iters`` /
    ``args.val_interval`` (a setting's own budget).
    """
    base, has_aux = MODELS[model]
    loss = dict(LOSSES[loss_name])
    if alpha is not None:
        loss['alpha'] = alpha
    iters = iters or args.iters
    interval = val_interval or args.val_interval
    aux = (f'    auxiliary_head=dict(loss_decode=dict(_delete_=True, '
           f'loss_weight=0.4, **loss)),\n' if has_aux else '')
    text = f'''# Written by benchmarks/compare_losses.py: {loss_name}, seed {seed}.
_base_ = [{osp.join(args.repo, base)!r}]
data_root = {osp.abspath(data_root)!r}
train_dataloader = dict(batch_size={args.batch_size},
                        dataset=dict(data_root=data_root))
val_dataloader = dict(dataset=dict(data_root=data_root))
test_dataloader = val_dataloader
loss = {loss!r}
model = dict(
    decode_head=dict(loss_decode=dict(_delete_=True, **loss)),
{aux})
optim_wrapper = dict(optimizer=dict(lr={args.lr!r}))
train_cfg = dict(max_iters={iters}, val_interval={interval})
param_scheduler = [
    dict(type='PolyLR', eta_min=1e-4, power=0.9, begin=0, end={iters},
         by_epoch=False)
]
default_hooks = dict(
    logger=dict(interval={min(10, interval)}),
    checkpoint=dict(interval={iters}, max_keep_ckpts=1))
randomness = dict(seed={seed})
{extra}'''
    os.makedirs(osp.dirname(path), exist_ok=True)
    with open(path, 'w') as f:
        f.write(text)
    return path


def loss_slug(name):
    """File-name part of a loss: its catalog token, ``dibe_reg``."""
    return BY_PAPER_NAME[name].token.replace('-', '_')


def slug(text):
    """File-name part of a setting: 'U-Net / MTSDD Blowhole (native)' ->
    'u-net_mtsdd-blowhole-native'."""
    parts = [re.sub(r'[^a-z0-9]+', '-', part).strip('-')
             for part in text.lower().split(' / ')]
    return '_'.join(parts)


def plan_trainings(args, settings, roots):
    jobs = []
    for seed in args.seeds:  # seed-major: partial results cover every loss
        for setting in settings:
            root = roots[setting['data']]
            if root is None:
                continue
            for loss in setting['losses']:
                if (loss in REFERENCE_LOSSES and
                        seed not in args.seeds[:args.reference_seeds]):
                    continue
                name = f'{setting["model"]}_{loss_slug(loss)}_s{seed}'
                work_dir = osp.join(args.out, 'runs', slug(setting['name']),
                                    name)
                config = osp.join(args.out, 'configs', name + '.py')
                write_config(config, setting['model'], root, loss, seed, args,
                             iters=setting['iters'],
                             val_interval=setting['val_interval'])
                jobs.append(dict(setting=setting['name'], loss=loss,
                                 seed=seed, config=config, work_dir=work_dir,
                                 iters=setting['iters']))
    return jobs


def finished(work_dir, iters):
    """Whether the training in ``work_dir`` ran its ``iters`` iterations:
    its last checkpoint is there, or (a work dir kept without checkpoints,
    e.g. committed results) the record :func:`run_training` wrote at its
    end says so."""
    if osp.isfile(osp.join(work_dir, f'iter_{iters}.pth')):
        return True
    path = osp.join(work_dir, SECONDS_FILE)
    if not osp.isfile(path):
        return False
    with open(path) as f:
        return json.load(f).get('iters') == iters


#: Wall time of a finished training, kept beside it so that a resumed
#: benchmark still reports the time of trainings made by an earlier run.
SECONDS_FILE = 'compare_losses_seconds.json'


def training_seconds(work_dir):
    """The recorded wall time of the training in ``work_dir``, or None."""
    path = osp.join(work_dir, SECONDS_FILE)
    if not osp.isfile(path):
        return None
    with open(path) as f:
        return json.load(f)['seconds']


def run_training(args, job):
    """Train ``job['config']`` into ``job['work_dir']`` unless it is
    :func:`finished` (``job['iters']``, default ``args.iters``); records
    the wall time in :data:`SECONDS_FILE`."""
    iters = job.get('iters') or args.iters
    if finished(job['work_dir'], iters):
        job['skipped'] = True
        job['seconds'] = training_seconds(job['work_dir'])
        keep_validation_records(job['work_dir'])
        return job
    os.makedirs(job['work_dir'], exist_ok=True)
    job['seconds'] = tool(args, 'tools/train.py', job['config'],
                          '--work-dir', job['work_dir'],
                          log=osp.join(job['work_dir'], 'stdout.log'))
    with open(osp.join(job['work_dir'], SECONDS_FILE), 'w') as f:
        json.dump(dict(seconds=job['seconds'], iters=iters, jobs=args.jobs,
                       threads=args.threads), f)
    keep_validation_records(job['work_dir'])
    return job


def keep_validation_records(work_dir):
    """Save the finished training's validation records beside its config
    (:data:`..workdir.VALIDATION_FILE`) so that the results stay readable
    (and the benchmark resumable) where only the work dir's summaries are
    kept, not its ``<timestamp>`` log folders. A no-op when the file is
    there or the logs are not."""
    if (has_scalar_logs(work_dir) and
            not osp.isfile(osp.join(work_dir, VALIDATION_FILE))):
        save_validation_records(work_dir)


# --------------------------------------------------------------------------
# Numbers
# --------------------------------------------------------------------------
#: The losses whose paired difference against the best other loss is shown.
PAIRED = [_name('DIBELoss'), _name('DIBERegLoss')]


def collect(args, jobs, settings):
    """Per setting and loss: final metrics, best validation, plateau flag,
    iterations to usable, and the paired per-seed differences."""
    table = OrderedDict()
    for setting in settings:
        iters = setting['iters']
        rows = OrderedDict()
        for loss in setting['losses']:
            runs = []
            for job in jobs:
                if (job['setting'], job['loss']) != (setting['name'], loss):
                    continue
                if not finished(job['work_dir'], iters):
                    continue
                run = Run(job['work_dir'])
                runs.append(dict(seed=job['seed'], run=run,
                                 seconds=job.get('seconds') or
                                 training_seconds(job['work_dir']),
                                 plateau=plateau(run.val, iters,
                                                 tol=args.plateau_tol)))
            if runs:
                rows[loss] = runs
        if not rows:
            continue
        final_ious = {loss: mean_std([r['run'].last().get('IoU')
                                      for r in runs])[0]
                      for loss, runs in rows.items()}
        best_final = max((v for v in final_ious.values() if v is not None),
                         default=None)
        if args.usable_iou is not None:
            usable = args.usable_iou
        elif best_final is not None:
            usable = max(args.usable_frac * best_final, args.usable_floor)
        else:
            usable = None
        entries = OrderedDict()
        for loss, runs in rows.items():
            entry = OrderedDict(loss=loss, seeds=[r['seed'] for r in runs])
            for key in ('IoU', 'PA', 'OII'):
                entry[key] = [r['run'].last().get(key) for r in runs]
            entry['best_IoU'] = [r['plateau']['best'] for r in runs]
            entry['best_iter'] = [r['plateau']['best_iter'] for r in runs]
            entry['plateaued'] = [r['plateau']['plateaued'] for r in runs]
            entry['learned'] = [r['plateau']['learned'] for r in runs]
            entry['last_quarter_change'] = [r['plateau']['change']
                                            for r in runs]
            entry['iters_to_usable'] = [
                next((v['iter'] for v in r['run'].val
                      if usable is not None and finite(v.get('IoU')) and
                      v['IoU'] >= usable), None) for r in runs]
            entry['seconds'] = [r['seconds'] for r in runs
                                if r['seconds'] is not None]
            entry['work_dirs'] = [r['run'].work_dir for r in runs]
            entries[loss] = entry
        # Paired by seed, against the other losses of the comparison (the
        # stock BCE and the paper's four), on the final validation IoU.
        final = {loss: dict(zip(e['seeds'], e['IoU']))
                 for loss, e in entries.items()}
        contenders = [loss for loss in [STOCK] + MAIN_LOSSES
                      if loss in entries]
        paired = OrderedDict(
            (loss, paired_differences(final, loss, contenders))
            for loss in PAIRED if loss in entries)
        flags = [p for e in entries.values() for p in e['plateaued']]
        table[setting['name']] = dict(
            iters=iters, val_interval=setting['val_interval'],
            usable_iou=usable, rows=entries, paired=paired,
            at_plateau=bool(flags) and all(flags),
            minutes=sum(sum(e['seconds']) for e in entries.values()) / 60)
    return table


def hook_trace(work_dir, target, seconds=None):
    """Read the rounds of an ``OIIBisectionHook`` training.

    The decision of each round is the :class:`BisectionStep` the hook's
    bisection made there (replayed from the saved state), not re-derived.

    Returns a dict with ``rounds`` (iteration, α used, IoU, PA, OII and
    the hook's decision per validation round), ``converged``,
    ``reached_at`` (the first round whose OII was in the target) and the
    final validation metrics.
    """
    with open(osp.join(work_dir, STATE_FILE)) as f:
        records = json.load(f)['records']
    run = Run(work_dir)
    by_iter = {v['iter']: v for v in run.val}
    final = records[-1]['state']['bisection'] if records else None
    steps = OIIBisection.from_state_dict(final).trace() if final else []
    rounds, steps_seen, reached_at = [], 0, None
    for rec in records:
        state = rec['state']['bisection']
        val = by_iter.get(rec['iter'], {})
        row = OrderedDict(round=rec['state']['rounds'], iter=rec['iter'],
                          alpha=val.get('alpha'), IoU=val.get('IoU'),
                          PA=val.get('PA'), OII=val.get('OII'))
        if len(state['history']) > steps_seen:  # a bisection step
            steps_seen = len(state['history'])
            step = steps[steps_seen - 1]
            row['decision'] = step.describe()
            if step.converged:
                reached_at = reached_at or row['round']
        else:
            row['decision'] = 'α fixed' if state['done'] else 'warm-up'
        rounds.append(row)
    last = run.last()
    final = final or {}
    return dict(trainings=1, seconds=seconds, rounds=rounds,
                converged=bool(final.get('converged')),
                done=bool(final.get('done')),
                reached_at=reached_at, alpha=final.get('alpha'),
                final={k: last.get(k) for k in ('IoU', 'PA', 'OII')})


def metafile_models(args, table, settings):
    """Metafile ``Models`` entries of the measured rows, one per (setting,
    loss), marked with their setting (CPU-scale, reduced model, 2 CPU
    cores) so that they are never mistaken for the GPU configs' results.

    Returns:
        list[OrderedDict]: For :func:`..metafile.merge_models`.
    """
    by_name = {s['name']: s for s in settings}
    models = []
    for name, block in table.items():
        setting = by_name[name]
        base, _ = MODELS[setting['model']]
        run = Run(next(iter(block['rows'].values()))['work_dirs'][0])
        for loss, e in block['rows'].items():
            metrics = OrderedDict()
            for key in ('IoU', 'PA', 'OII'):
                mean, std = mean_std(e[key])
                if mean is not None:
                    metrics[key] = round(mean, 4)
                    if len(e['seeds']) > 1:
                        metrics[f'{key} std'] = round(std, 4)
            best, _ = mean_std(e['best_IoU'])
            if best is not None:
                metrics['IoU (best)'] = round(best, 4)
            metrics['Plateaued'] = _fmt_plateau(e)
            secs = mean_std(e['seconds'])[0]
            meta = OrderedDict([
                ('Setting', 'CPU-scale, reduced model '
                 '(benchmarks/compare_losses.py), not the paper\'s protocol'),
                ('Training Data', run.dataset()),
                ('Batch Size', args.batch_size),
                ('Architecture', [run.backbone(), run.method()]),
                ('Loss', f'{loss}: {LOSSES[loss]}'),
                ('Crop Size', run.crop_size()),
                ('Schedule', f'{block["iters"]} iters, bs {args.batch_size}, '
                 f'SGD lr {args.lr:g} poly'),
                ('Training Resources', f'2 CPU cores, {args.threads} '
                 'thread(s) per training, shared with the other trainings '
                 'of the benchmark'),
                ('Seeds', list(e['seeds'])),
            ])
            if secs is not None:
                meta['Seconds per training'] = round(secs)
            models.append(OrderedDict([
                ('Name', f'cpu_{setting["model"]}_{loss_slug(loss)}'),
                ('In Collection', 'DIBE'),
                ('Results', OrderedDict([
                    ('Task', 'Semantic Segmentation'),
                    ('Dataset', run.dataset()), ('Metrics', metrics)])),
                ('Config', base), ('Metadata', meta)]))
    return models


# --------------------------------------------------------------------------
# Markdown
# --------------------------------------------------------------------------
def _fmt_iters(values):
    hit = [v for v in values if v is not None]
    text = fmt_mean_std(hit, 0) if hit else 'not reached'
    if hit and len(hit) < len(values):
        text += f' ({len(hit)}/{len(values)} seeds)'
    return text


def _fmt_plateau(entry):
    flags = entry['plateaued']
    known = [f for f in flags if f is not None]
    if not known:
        return 'unknown'
    text = f'{sum(known)}/{len(flags)}'
    idle = sum(1 for v in entry.get('learned', []) if v is False)
    if idle:
        text += f' ({idle} never predicted a target)'
    return text


def _fmt_paired(p):
    diffs = ', '.join(f'{d:+.3f}' for d in p['diffs'])
    return (f'{p["mean"]:+.3f} ± {p["std"]:.3f} (per seed {diffs}; '
            f'{p["wins"]} of {len(p["diffs"])} seeds favour it, '
            f'{p["losses"]} favour {p["best_other"]})')


def markdown(args, table, elapsed, data_note):
    """``compare_losses.md``: one table per setting."""
    lines = [
        '# CPU-scale comparison of the losses',
        '',
        f'Generated by `benchmarks/compare_losses.py'
        f'{" --quick" if args.quick else ""}` '
        f'on {platform.processor() or platform.machine()}, '
        f'{os.cpu_count()} cores, {args.jobs} training(s) at a time with '
        f'{args.threads} thread(s) each; total {elapsed / 60:.1f} min.',
        '',
        f'- Budget: each setting\'s own iterations (below), batch '
        f'{args.batch_size}, SGD lr {args.lr:g} poly; seeds '
        f'{", ".join(map(str, args.seeds))} (reference losses: the first '
        f'{args.reference_seeds}).',
        f'- Data: {data_note}',
        f'- {STOCK}: mmseg\'s own `CrossEntropyLoss(use_sigmoid=True)` on '
        'the binary head, the loss a user would otherwise pick.',
        '- Losses with the paper\'s hyper-parameters (Section 4.3.2): '
        'α = 0.3 (weights missed targets, FN), β = 0.7 (false alarms, FP), '
        'γ_FT = 0.75, γ_DIBE_Reg = 1.5, γ_Focal = γ_DIBE = 2, λ = 0.75, '
        'θ = 0.5; no per-loss tuning (unlike the paper\'s Table 5).',
        '- IoU / PA / OII: last validation, mean ± sample std over the '
        'seeds; best IoU: best validation of each run (averaged) and its '
        'iteration. "Iters to usable": first validation whose IoU reaches '
        'the usable level of the setting (mean over the seeds that '
        'reached it).',
        f'- Plateaued: runs whose validation IoU changed by less than '
        f'{args.plateau_tol:g} over the last quarter of the training (from '
        'the last validation at or before 75 % of the iterations to the '
        'last one); a run whose best IoU stayed below 0.01 never predicted '
        'the target and has not plateaued. A setting where every run '
        'plateaued is labelled "at '
        'plateau"; otherwise "fixed budget, early training", and its table '
        'says which loss learns faster, not which is better.',
        f'- Paired: per seed, final IoU of {" / ".join(PAIRED)} minus that '
        'of the best other loss of the comparison (the one of highest mean '
        f'final IoU among {STOCK} and the paper\'s four), same seed.',
        '- These are small models trained for minutes on a CPU: they show '
        'the direction of effects, not the paper\'s numbers (see '
        'configs/dibe/README.md).',
        '',
    ]
    for setting, block in table.items():
        usable = block['usable_iou']
        level = (f'{usable:.3f}' if usable is not None else '-')
        how = ('absolute --usable-iou' if args.usable_iou is not None else
               f'{args.usable_frac:g} x the best mean final IoU, at least '
               f'{args.usable_floor:g}')
        label = ('at plateau' if block['at_plateau'] else
                 'fixed budget, early training')
        lines += [f'## {setting}: {label}', '',
                  f'{block["iters"]} iterations, validation every '
                  f'{block["val_interval"]}; usable IoU {level} ({how}); '
                  f'cost {block["minutes"]:.0f} min of trainings.', '',
                  '| Loss | Seeds | IoU | PA | OII | best IoU | best at iter '
                  '| plateaued | Iters to usable IoU | s / training |',
                  '|---|---|---|---|---|---|---|---|---|---|']
        for loss, e in block['rows'].items():
            secs = mean_std(e['seconds'])[0]
            cells = [loss, str(len(e['seeds'])), fmt_mean_std(e['IoU']),
                     fmt_mean_std(e['PA']), fmt_mean_std(e['OII']),
                     fmt_mean_std(e['best_IoU']),
                     fmt_mean_std(e['best_iter'], 0), _fmt_plateau(e),
                     _fmt_iters(e['iters_to_usable']),
                     f'{secs:.0f}' if secs is not None else '-']
            lines.append('| ' + ' | '.join(cells) + ' |')
        lines.append('')
        for loss, p in block['paired'].items():
            if p is None:
                continue
            lines.append(f'- {loss} − {p["best_other"]} (final IoU): '
                         + _fmt_paired(p))
        if any(p for p in block['paired'].values()):
            lines.append('')
    return '\n'.join(lines)


def run_benchmark(args):
    """The whole benchmark: data, trainings, report and curves.

    Args:
        args (argparse.Namespace): The parsed command line of
            ``benchmarks/compare_losses.py`` (its defaults resolved) plus
            ``repo``, the repository root whose tools are run.
    """
    args.out = osp.abspath(args.out)
    os.makedirs(args.out, exist_ok=True)
    start = time.time()
    # A resumed run adds its time to the earlier runs' (the total is the
    # benchmark's cost, not that of the last invocation).
    earlier = 0.0
    previous = osp.join(args.out, 'compare_losses.json')
    if osp.isfile(previous):
        with open(previous) as f:
            earlier = float(json.load(f).get('elapsed_s') or 0.0)
    settings = settings_for(args)
    roots = prepare_data(args, {s['data'] for s in settings})
    jobs = plan_trainings(args, settings, roots)
    data_note = (f'synthetic hidden cracks, {args.num_train} train / '
                 f'{args.num_val} val images of 64x64, FG:BG about '
                 f'1:{round(1 / args.ratio)}')
    if roots.get('mt_blowhole') or roots.get('mt_crack'):
        data_note += ('; MTSDD (github.com/abin24/Magnetic-tile-defect-'
                      'datasets.) Blowhole (68 train / 47 val images) and '
                      'Crack (34 / 23) converted by '
                      '`tools/dataset_converters/mtsdd.py`; native settings: '
                      '128x128 training crops at the images\' own '
                      'resolution, validation on the whole images')
    print(f'compare_losses: {len(jobs)} trainings, {args.jobs} at a time '
          f'-> {args.out}')
    if args.dry_run:
        for job in jobs:
            print(f'  {job["setting"]:24s} {job["loss"]:11s} seed '
                  f'{job["seed"]}  {job["iters"]} it  {job["config"]}')
        return

    def write(table):
        elapsed = earlier + time.time() - start
        text = markdown(args, table, elapsed, data_note)
        with open(osp.join(args.out, 'compare_losses.md'), 'w') as f:
            f.write(text + '\n')
        with open(osp.join(args.out, 'compare_losses.json'), 'w') as f:
            json.dump(dict(args=vars(args), elapsed_s=elapsed, table=table),
                      f, indent=1, default=str)

    done = 0
    # --report-only: tables of what is finished, nothing trained.
    to_run = [j for j in jobs if not args.report_only or
              finished(j['work_dir'], j['iters'])]
    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        for job in pool.map(lambda j: run_training(args, j), to_run):
            done += 1
            state = ('skipped (done before)' if job.get('skipped') else
                     f'{job["seconds"]:.0f} s')
            print(f'[{done}/{len(to_run)}] {job["setting"]} {job["loss"]} '
                  f'seed {job["seed"]}: {state}', flush=True)
            write(collect(args, jobs, settings))
    table = collect(args, jobs, settings)
    write(table)
    if args.metafile and table:
        merge_models(args.metafile, metafile_models(args, table, settings))
    # The model-zoo tables and curves of every run, with the project's tools.
    run_dirs = [job['work_dir'] for job in jobs
                if finished(job['work_dir'], job['iters'])]
    if run_dirs:
        tool(args, 'tools/analysis/report.py', *run_dirs, '--out',
             osp.join(args.out, 'report.md'))
        for setting in settings:
            dirs = [j['work_dir'] for j in jobs
                    if j['setting'] == setting['name'] and
                    j['seed'] == args.seeds[0] and
                    finished(j['work_dir'], j['iters'])]
            if dirs:
                tool(args, 'tools/analysis/plot_curves.py', *dirs, '--keys',
                     'IoU', 'OII', 'PA', '--title',
                     f'{setting["name"]}, seed {args.seeds[0]}',
                     '--out', osp.join(args.out,
                                       f'curves_{slug(setting["name"])}.png'))
    print(f'compare_losses: done in {(time.time() - start) / 60:.1f} min; '
          f'see {osp.join(args.out, "compare_losses.md")}')
