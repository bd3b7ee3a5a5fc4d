"""CPU-scale comparison of the losses (``benchmarks/compare_losses.py``).

With the project's real configs and tools only: data
(``tools/data/make_synthetic.py``, ``tools/dataset_converters/mtsdd.py``),
one ``tools/train.py`` training per (setting, loss, seed) on a config derived
from ``configs/benchmarks/*.py``, the OII guidance of α
(``tools/oii_search.py`` bisection and grid, one training with
``OIIBisectionHook``), then ``tools/analysis/report.py`` and
``tools/analysis/plot_curves.py``. Losses are named by
:mod:`mmseg_dibe.losses.catalog`; mmseg's stock
``CrossEntropyLoss(use_sigmoid=True)`` (:data:`STOCK`) comes first in every
setting.
"""
import json
import os
import os.path as osp
import platform
import subprocess
import sys
import time
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor

from ..engine.hooks.oii_bisection_hook import STATE_FILE
from ..guidance.bisection import OIIBisection
from ..losses.catalog import BY_PAPER_NAME, LOSSES as CATALOG
from .stats import fmt_mean_std, mean_std
from .workdir import Run, finite


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
        args.models = ['unet'] if quick else ['unet', 'segnet',
                                                 'unet-blowhole']
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
    if args.max_steps is None:
        args.max_steps = 2 if quick else 4
    if args.grid is None:
        # The paper's Table 3 compares the bisection with a 5-point grid.
        args.grid = 2 if quick else 4
    if args.threads is None:
        args.threads = max(1, min(2, (os.cpu_count() or 1) // args.jobs))
    if args.iters < 1 or args.val_interval < 1:
        raise ValueError('--iters and --val-interval must be positive')
    if args.hook_warmup is None:
        args.hook_warmup = max(1, args.iters // args.val_interval // 2)
    if args.guidance_loss in [STOCK] + REFERENCE_LOSSES:
        raise ValueError(f'--guidance-loss {args.guidance_loss} has no '
                         'alpha to guide')
    if not 0 < args.usable_frac <= 1:
        raise ValueError('--usable-frac must be in (0, 1]')
    return args


def settings_for(args):
    """The (name, model key, dataset key, losses, seeds) of each setting."""
    # The stock baseline first in every setting.
    main = [STOCK] + MAIN_LOSSES
    every = main + (REFERENCE_LOSSES if args.reference else [])
    settings = [
        ('U-Net / synthetic', 'unet', 'synthetic', every),
        ('SegNet / synthetic', 'segnet', 'synthetic', main),
        ('U-Net / MTSDD Blowhole', 'unet-blowhole', 'mt_blowhole', main),
    ]
    chosen = []
    for name, model, data, losses in settings:
        if model not in args.models:
            continue
        losses = [loss for loss in losses if loss in args.losses]
        if losses:
            chosen.append(dict(name=name, model=model, data=data,
                               losses=losses))
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


def prepare_data(args):
    """Write / convert the datasets; returns {dataset key: root or None}."""
    roots = {}
    data_dir = osp.join(args.out, 'data')
    synthetic = osp.join(data_dir, 'synthetic')
    if not osp.isdir(osp.join(synthetic, 'ann_dir', 'val')):
        tool(args, 'tools/data/make_synthetic.py', synthetic,
             '--num-train', args.num_train, '--num-val', args.num_val,
             '--size', 64, '--ratio', args.ratio, '--seed', 0)
    roots['synthetic'] = synthetic
    roots['mt_blowhole'] = None
    if 'unet-blowhole' in args.models:
        blowhole = osp.join(data_dir, 'mt_blowhole')
        if osp.isdir(osp.join(blowhole, 'ann_dir', 'val')):
            roots['mt_blowhole'] = blowhole
        elif osp.isdir(osp.join(args.mtsdd, 'MT_Blowhole')):
            tool(args, 'tools/dataset_converters/mtsdd.py', args.mtsdd,
                 blowhole, '--subset', 'Blowhole')
            roots['mt_blowhole'] = blowhole
        else:
            print(f'compare_losses: {args.mtsdd}/MT_Blowhole not found: '
                  f'the Blowhole setting is skipped')
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
    """'U-Net / MTSDD Blowhole' -> 'u-net_mtsdd-blowhole'."""
    words = text.lower().replace(' / ', '_').split()
    return '-'.join(''.join(c if c.isalnum() or c in '-_' else '-'
                            for c in w) for w in words)


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
                write_config(config, setting['model'], root, loss, seed, args)
                jobs.append(dict(setting=setting['name'], loss=loss,
                                 seed=seed, config=config, work_dir=work_dir))
    return jobs


def finished(work_dir, iters):
    return osp.isfile(osp.join(work_dir, f'iter_{iters}.pth'))


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
    if finished(job['work_dir'], args.iters):
        job['skipped'] = True
        job['seconds'] = training_seconds(job['work_dir'])
        return job
    os.makedirs(job['work_dir'], exist_ok=True)
    job['seconds'] = tool(args, 'tools/train.py', job['config'],
                          '--work-dir', job['work_dir'],
                          log=osp.join(job['work_dir'], 'stdout.log'))
    with open(osp.join(job['work_dir'], SECONDS_FILE), 'w') as f:
        json.dump(dict(seconds=job['seconds'], jobs=args.jobs,
                       threads=args.threads), f)
    return job


# --------------------------------------------------------------------------
# Numbers
# --------------------------------------------------------------------------
def collect(args, jobs, settings):
    """Per setting and loss: final metrics, best IoU, iterations to usable."""
    results = OrderedDict()
    for setting in settings:
        rows = OrderedDict()
        for loss in setting['losses']:
            runs = []
            for job in jobs:
                if (job['setting'], job['loss']) != (setting['name'], loss):
                    continue
                if not finished(job['work_dir'], args.iters):
                    continue
                run = Run(job['work_dir'])
                runs.append(dict(seed=job['seed'], run=run,
                                 seconds=job.get('seconds')))
            if runs:
                rows[loss] = runs
        if rows:
            results[setting['name']] = rows
    table = OrderedDict()
    for setting, rows in results.items():
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
                values = [r['run'].last().get(key) for r in runs]
                entry[key] = values
            entry['best_IoU'] = [r['run'].best('IoU')['IoU']
                                 if r['run'].best('IoU') else None
                                 for r in runs]
            reach = []
            for r in runs:
                hit = next((v['iter'] for v in r['run'].val
                            if usable is not None and
                            isinstance(v.get('IoU'), (int, float)) and
                            v['IoU'] >= usable), None)
                reach.append(hit)
            entry['iters_to_usable'] = reach
            entry['seconds'] = [r['seconds'] for r in runs
                                if r['seconds'] is not None]
            entry['work_dirs'] = [r['run'].work_dir for r in runs]
            entries[loss] = entry
        table[setting] = dict(usable_iou=usable, rows=entries)
    return table


def run_guidance(args, roots):
    """OII guidance of α (``--guidance-loss``) on U-Net / synthetic.

    Three ways to the same target, each counted in trainings:
    ``tools/oii_search.py`` bisection (one training per α) and grid, and
    the online ``OIIBisectionHook`` (α moved between validation rounds of a
    single training of the same budget).
    """
    loss = args.guidance_loss
    out = osp.join(args.out, 'guidance', loss_slug(loss))
    config = write_config(osp.join(args.out, 'configs',
                                   f'unet_{loss_slug(loss)}_guidance.py'),
                          'unet', roots['synthetic'], loss,
                          args.seeds[0], args)

    def search(mode, extra):
        work_dir = osp.join(out, mode)
        os.makedirs(work_dir, exist_ok=True)
        tool(args, 'tools/oii_search.py', config, '--work-dir', work_dir,
             '--interval', 0.1, 0.9, '--target', *args.target, *extra,
             log=osp.join(out, f'{mode}.log'))
        with open(osp.join(work_dir, 'search.json')) as f:
            state = json.load(f)
        steps = [s for s in state['steps'] if s['status'] == 'done']
        # The trainings' own times: a resumed search reuses finished steps.
        seconds = sum(s.get('seconds') or 0.0 for s in steps)
        return dict(trainings=state['trainings'], seconds=seconds,
                    result=state['result'],
                    steps=[{k: s.get(k) for k in ('alpha', 'IoU', 'PA',
                                                  'OII')}
                           for s in steps])

    # The three are independent: with --jobs 2 they share the cores.
    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        futures = OrderedDict([
            ('bisection', pool.submit(search, 'bisection',
                                      ['--max-steps', args.max_steps])),
            ('grid', pool.submit(search, 'grid', ['--grid', args.grid])),
            ('hook', pool.submit(run_hook_guidance, args, roots, out)),
        ])
        return OrderedDict((mode, f.result()) for mode, f in
                           futures.items())


def run_hook_guidance(args, roots, out):
    """One training with ``OIIBisectionHook``; its α trace per round."""
    hook = dict(type='OIIBisectionHook', low=0.1, high=0.9,
                target=tuple(args.target), max_steps=args.hook_steps,
                start_round=args.hook_warmup)
    config = write_config(
        osp.join(args.out, 'configs', f'unet_{loss_slug(args.guidance_loss)}'
                 '_hook.py'), 'unet',
        roots['synthetic'], args.guidance_loss, args.seeds[0], args,
        extra=f'custom_hooks = [{hook!r}]\n')
    job = dict(config=config, work_dir=osp.join(out, 'hook'))
    run_training(args, job)
    return hook_trace(job['work_dir'], args.target, job['seconds'])


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


# --------------------------------------------------------------------------
# Markdown
# --------------------------------------------------------------------------
def _in_target(record, target):
    """Whether a record's OII is in the target (the bisection's test)."""
    oii = record.get('OII')
    return finite(oii) and OIIBisection(target=target).in_target(oii)


def _fmt_iters(values):
    hit = [v for v in values if v is not None]
    text = fmt_mean_std(hit, 0) if hit else 'not reached'
    if hit and len(hit) < len(values):
        text += f' ({len(hit)}/{len(values)} seeds)'
    return text


def markdown(args, table, guidance, elapsed, data_note):
    """``compare_losses.md``: one table per setting, then the guidance."""
    lines = [
        '# CPU-scale comparison of the losses',
        '',
        f'Generated by `benchmarks/compare_losses.py'
        f'{" --quick" if args.quick else ""}` '
        f'on {platform.processor() or platform.machine()}, '
        f'{os.cpu_count()} cores, {args.jobs} training(s) at a time with '
        f'{args.threads} thread(s) each; total {elapsed / 60:.1f} min.',
        '',
        f'- Budget: {args.iters} iterations, batch {args.batch_size}, SGD '
        f'lr {args.lr:g} poly, validation every {args.val_interval} iterations; '
        f'seeds {", ".join(map(str, args.seeds))}.',
        f'- Data: {data_note}',
        f'- {STOCK}: mmseg\'s own `CrossEntropyLoss(use_sigmoid=True)` on '
        'the binary head, the loss a user would otherwise pick.',
        '- Losses with the paper\'s hyper-parameters (Section 4.3.2): '
        'α = 0.3 (weights missed targets, FN), β = 0.7 (false alarms, FP), '
        'γ_FT = 0.75, γ_DIBE_Reg = 1.5, γ_Focal = γ_DIBE = 2, λ = 0.75, '
        'θ = 0.5; no per-loss tuning (unlike the paper\'s Table 5).',
        '- IoU / PA / OII: last validation, mean ± sample std over the '
        'seeds; best IoU: best validation of each run, averaged. '
        '"Iters to usable": first validation whose IoU reaches the usable '
        'level of the setting (mean over the seeds that reached it).',
        '- These are small models trained for minutes on a CPU: they show '
        'the tools working end to end and the direction of effects, not '
        'the paper\'s numbers (see configs/dibe/README.md).',
        '',
    ]
    for setting, block in table.items():
        usable = block['usable_iou']
        level = (f'{usable:.3f}' if usable is not None else '-')
        how = ('absolute --usable-iou' if args.usable_iou is not None else
               f'{args.usable_frac:g} x the best mean final IoU, at least '
               f'{args.usable_floor:g}')
        lines += [f'## {setting}', '',
                  f'Usable IoU: {level} ({how}).', '',
                  '| Loss | Seeds | IoU | PA | OII | best IoU | '
                  'Iters to usable IoU | s / training |',
                  '|---|---|---|---|---|---|---|---|']
        for loss, e in block['rows'].items():
            secs = mean_std(e['seconds'])[0]
            cells = [loss, str(len(e['seeds'])), fmt_mean_std(e['IoU']),
                     fmt_mean_std(e['PA']), fmt_mean_std(e['OII']),
                     fmt_mean_std(e['best_IoU']),
                     _fmt_iters(e['iters_to_usable']),
                     f'{secs:.0f}' if secs is not None else '-']
            lines.append('| ' + ' | '.join(cells) + ' |')
        lines.append('')
    if guidance:
        b, g = guidance.get('bisection'), guidance.get('grid')
        lines += [f'## OII guidance vs grid search of α '
                  f'({args.guidance_loss}, U-Net, '
                  'synthetic)', '',
                  f'Interval [0.1, 0.9], target OII ({args.target[0]:g}, '
                  f'{args.target[1]:g}), bisection of at most '
                  f'{args.max_steps} steps against a grid of '
                  f'{args.grid + 1} α' + (' (the same resolution, 2^m + 1)'
                                         if args.grid == 2 ** args.max_steps
                                         else ' (the paper\'s Table 3 '
                                         'compares with a 5-point grid)')
                  + '; one '
                  f'training per α, seed {args.seeds[0]}, '
                  f'`tools/oii_search.py`.', '',
                  '| Search | Trainings | α tried | α with OII in target | '
                  'selected α | IoU | PA | OII | wall time (min) |',
                  '|---|---|---|---|---|---|---|---|---|']
        for mode, block in (('bisection', b), ('grid', g)):
            if not block:
                continue
            steps = block['steps']
            res = block['result'] or {}
            if mode == 'grid':
                alpha = res.get('best_iou_alpha')
                note = ' (best IoU)'
            else:
                alpha = res.get('alpha')
                note = (' (OII in target)' if res.get('converged') else
                        ' (steps used up)')
            chosen = next((s for s in steps if alpha is not None and
                           abs(s['alpha'] - alpha) < 1e-9), None)
            tried = ', '.join(f'{s["alpha"]:g}' for s in steps)
            hits = ', '.join(f'{s["alpha"]:g}' for s in steps
                             if _in_target(s, args.target)) or 'none'
            lines.append(
                f'| {mode} | {block["trainings"]} | {tried} | {hits} | '
                + (f'{alpha:g}{note}' if alpha is not None else '-') + ' | '
                + ' | '.join(f'{chosen[k]:.3f}' if chosen and
                             finite(chosen.get(k)) else '-'
                             for k in ('IoU', 'PA', 'OII'))
                + f' | {block["seconds"] / 60:.1f} |')
        h = guidance.get('hook')
        if h:
            guided = [r for r in h['rounds'] if r['decision'] != 'warm-up'
                      and finite(r.get('alpha'))]
            tried = ', '.join(f'{r["alpha"]:g}' for r in guided
                              if not r['decision'].startswith('α fixed'))
            hits = ', '.join(f'{r["alpha"]:g} (round {r["round"]})'
                             for r in guided
                             if _in_target(r, args.target)) or 'none'
            note = (' (OII in target)' if h['converged'] else
                    ' (steps used up)' if h.get('done') else
                    ' (training ended first)' if guided else
                    ' (no round after the warm-up)')
            secs = (f'{h["seconds"] / 60:.1f}' if h.get('seconds')
                    else '-')
            lines.append(
                f'| online hook | 1 | {tried} | {hits} | '
                + (f'{h["alpha"]:g}{note}' if finite(h.get('alpha'))
                   else '-') + ' | '
                + ' | '.join(f'{h["final"][k]:.3f}'
                             if finite(h['final'].get(k)) else '-'
                             for k in ('IoU', 'PA', 'OII'))
                + f' (end of training) | {secs} |')
        lines.append('')
        if h:
            lines += [f'Online hook (`OIIBisectionHook`, at most '
                      f'{args.hook_steps} steps after {args.hook_warmup} '
                      f'warm-up rounds), one training of {args.iters} '
                      'iterations, α per validation round:', '',
                      '| round | iter | α used | IoU | PA | OII | hook |',
                      '|---:|---:|---:|---:|---:|---:|---|']
            for r in h['rounds']:
                lines.append('| ' + ' | '.join(
                    [str(r['round']), str(r['iter'])]
                    + [f'{r[k]:.3f}' if finite(r.get(k)) else '-'
                       for k in ('alpha', 'IoU', 'PA', 'OII')]
                    + [r['decision']]) + ' |')
            lines.append('')
        if b and g:
            per_alpha = '; '.join(
                f'α={s["alpha"]:g}: IoU {s["IoU"]:.3f}, OII {s["OII"]:.3f}'
                for s in g['steps'] if isinstance(s.get('IoU'), float)
                and isinstance(s.get('OII'), float))
            lines += [f'Grid, every α: {per_alpha}.', '']
    return '\n'.join(lines)


def run_benchmark(args):
    """The whole benchmark: data, trainings, guidance, report and curves.

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
    roots = prepare_data(args)
    settings = settings_for(args)
    jobs = plan_trainings(args, settings, roots)
    data_note = (f'synthetic hidden cracks, {args.num_train} train / '
                 f'{args.num_val} val images of 64x64, FG:BG about '
                 f'1:{round(1 / args.ratio)}')
    if roots.get('mt_blowhole'):
        data_note += ('; MTSDD Blowhole converted by '
                      '`tools/dataset_converters/mtsdd.py` (68 train / 47 '
                      'val whole images), long side scaled to 128, 64x64 '
                      'training crops')
    print(f'compare_losses: {len(jobs)} trainings of {args.iters} '
          f'iterations, {args.jobs} at a time -> {args.out}')
    if args.dry_run:
        for job in jobs:
            print(f'  {job["setting"]:24s} {job["loss"]:11s} seed '
                  f'{job["seed"]}  {job["config"]}')
        return
    guidance = OrderedDict()

    def write(table):
        elapsed = earlier + time.time() - start
        text = markdown(args, table, guidance, elapsed, data_note)
        with open(osp.join(args.out, 'compare_losses.md'), 'w') as f:
            f.write(text + '\n')
        with open(osp.join(args.out, 'compare_losses.json'), 'w') as f:
            json.dump(dict(args=vars(args), elapsed_s=elapsed, table=table,
                           guidance=guidance), f, indent=1, default=str)

    done = 0
    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        for job in pool.map(lambda j: run_training(args, j), jobs):
            done += 1
            state = ('skipped (done before)' if job.get('skipped') else
                     f'{job["seconds"]:.0f} s')
            print(f'[{done}/{len(jobs)}] {job["setting"]} {job["loss"]} '
                  f'seed {job["seed"]}: {state}', flush=True)
            write(collect(args, jobs, settings))
    table = collect(args, jobs, settings)
    if args.guidance:
        print('compare_losses: OII guidance vs grid search ...', flush=True)
        guidance.update(run_guidance(args, roots))
    write(table)
    # The model-zoo tables and curves of every run, with the project's tools.
    run_dirs = [job['work_dir'] for job in jobs
                if finished(job['work_dir'], args.iters)]
    if run_dirs:
        tool(args, 'tools/analysis/report.py', *run_dirs, '--out',
             osp.join(args.out, 'report.md'))
        for setting in settings:
            dirs = [j['work_dir'] for j in jobs
                    if j['setting'] == setting['name'] and
                    j['seed'] == args.seeds[0] and
                    finished(j['work_dir'], args.iters)]
            if dirs:
                tool(args, 'tools/analysis/plot_curves.py', *dirs, '--keys',
                     'IoU', 'OII', 'PA', '--target', *args.target,
                     '--title', f'{setting["name"]}, seed {args.seeds[0]}',
                     '--out', osp.join(args.out,
                                       f'curves_{slug(setting["name"])}.png'))
    print(f'compare_losses: done in {(time.time() - start) / 60:.1f} min; '
          f'see {osp.join(args.out, "compare_losses.md")}')
