"""CPU-scale reproduction of the paper's comparison of the losses.

    python benchmarks/compare_losses.py --out work_dirs/compare_losses
    python benchmarks/compare_losses.py --quick --out work_dirs/compare_quick

What it does, with the project's real configs and tools only:

1. data: ``tools/data/make_synthetic.py`` (synthetic hidden cracks, 64x64)
   and, when the MTSDD release is found (``--mtsdd``, default
   ``../shared/data/MTSDD``), ``tools/dataset_converters/mtsdd.py --subset
   Blowhole``;
2. trainings: ``tools/train.py`` on a config derived from one of
   ``configs/benchmarks/*.py`` (reduced U-Net, reduced SegNet) per
   (setting, loss, seed): FT, DIBE_Reg, HF, DIBE (the paper's Tables 4-5),
   plus WBCE, Dice, Focal for reference, each with the paper's
   hyper-parameters (Section 4.3.2), the same iteration budget and seeds;
3. OII guidance of α (``--guidance-loss``, default DIBE): the bisection of
   ``tools/oii_search.py`` (one training per α, the paper's Table 3), the
   paper's 5-point grid, and one training with the online
   ``OIIBisectionHook``, each counted in trainings;
4. ``tools/analysis/report.py`` (model-zoo tables of every run) and
   ``tools/analysis/plot_curves.py`` (IoU / OII curves per setting).

Writes ``OUT/compare_losses.md`` and ``OUT/compare_losses.json`` (rewritten
after every training, so an interrupted run still has its table; run the same
command again to resume: finished trainings are skipped).

Numbers: IoU, PA, OII of the last validation (mean ± sample std over the
seeds), the best validation IoU, and the iterations a loss needs before its
validation IoU first reaches a "usable" level: ``--usable-frac`` (0.8) times
the best mean final IoU of any loss in the same setting, at least
``--usable-floor`` (0.1) (the paper's Fig. 10 claim: DIBE_Reg usable at epoch
6 where FT needs 30).
"""
import argparse
import json
import math
import os
import os.path as osp
import platform
import subprocess
import sys
import time
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor

HERE = osp.dirname(osp.abspath(__file__))
REPO = osp.dirname(HERE)
sys.path.insert(0, osp.join(REPO, 'tools', 'analysis'))

from report import Run, fmt_mean_std, mean_std  # noqa: E402

#: The paper's hyper-parameters (Section 4.3.2); alpha weights missed
#: targets (FN), beta = 1 - alpha false alarms (FP).
LOSSES = OrderedDict([
    ('FT', dict(type='FocalTverskyLoss', alpha=0.3, beta=0.7, gamma=0.75)),
    ('DIBE_Reg', dict(type='DIBERegLoss', alpha=0.3, beta=0.7, gamma=1.5)),
    ('HF', dict(type='HybridFocalLoss', theta=0.5, lam=0.75, alpha=0.3,
                gamma_focal=2.0, gamma_ft=0.75)),
    ('DIBE', dict(type='DIBELoss', alpha=0.3, lam=0.75, gamma=2.0,
                  theta=0.5)),
    ('WBCE', dict(type='WBCELoss', lam=0.75)),
    ('Dice', dict(type='BinaryDiceLoss')),
    ('Focal', dict(type='BinaryFocalLoss', lam=0.75, gamma=2.0)),
    ('DIBE_Dis', dict(type='DIBEDisLoss', alpha=0.5, lam=0.75, gamma=2.0)),
])
MAIN_LOSSES = ['FT', 'DIBE_Reg', 'HF', 'DIBE']
REFERENCE_LOSSES = ['WBCE', 'Dice', 'Focal']

#: model -> (base config, has an auxiliary head)
MODELS = {
    'unet': ('configs/benchmarks/unet-s5-w16_fcn_synthetic-64x64.py', True),
    'segnet': ('configs/benchmarks/segnet-w16_synthetic-64x64.py', False),
    'unet-blowhole': ('configs/benchmarks/unet-s5-w16_fcn_mt-blowhole-64x64.py',
                      True),
}


def settings_for(args):
    """The (name, model key, dataset key, losses, seeds) of each setting."""
    every = MAIN_LOSSES + (REFERENCE_LOSSES if args.reference else [])
    settings = [
        ('U-Net / synthetic', 'unet', 'synthetic', every),
        ('SegNet / synthetic', 'segnet', 'synthetic', MAIN_LOSSES),
        ('U-Net / MTSDD Blowhole', 'unet-blowhole', 'mt_blowhole',
         MAIN_LOSSES),
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


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='CPU-scale comparison of the losses (FT, DIBE_Reg, HF, '
        'DIBE; WBCE, Dice, Focal for reference) and of OII guidance against '
        'grid search')
    parser.add_argument('--out', default='work_dirs/compare_losses',
                        help='output directory (data, runs, tables)')
    parser.add_argument('--quick', action='store_true',
                        help='smoke check of a couple of minutes: U-Net on '
                        'a small synthetic set, the four main losses, one '
                        'seed, a short budget, a 2-step search')
    parser.add_argument('--models', nargs='+', default=None,
                        choices=sorted(MODELS))
    parser.add_argument('--losses', nargs='+', default=None,
                        choices=[k for k in LOSSES if k != 'DIBE_Dis'])
    parser.add_argument('--no-reference', dest='reference',
                        action='store_false',
                        help='leave out WBCE, Dice and Focal')
    parser.add_argument('--seeds', nargs='+', type=int, default=None)
    parser.add_argument('--reference-seeds', type=int, default=1,
                        help='train the reference losses (WBCE, Dice, Focal) '
                        'with only the first N seeds (they are context, not '
                        'the comparison; default 1)')
    parser.add_argument('--iters', type=int, default=None,
                        help='training iterations of every run (the fixed '
                        'budget; default 300, --quick 40)')
    parser.add_argument('--lr', type=float, default=0.05,
                        help='SGD learning rate of every run (poly decay to '
                        '1e-4). 0.05, not the paper\'s 0.01: at a few '
                        'hundred CPU iterations 0.01 leaves the models at '
                        'the edge of predicting any crack pixel (measured: '
                        'IoU < 0.01 for every loss at 70 iterations)')
    parser.add_argument('--val-interval', type=int, default=None)
    parser.add_argument('--batch-size', type=int, default=None,
                        help='training batch (default 8, --quick 4)')
    parser.add_argument('--num-train', type=int, default=None,
                        help='synthetic training images')
    parser.add_argument('--num-val', type=int, default=None,
                        help='synthetic validation images')
    parser.add_argument('--ratio', type=float, default=0.004,
                        help='synthetic FG:BG ratio (0.004 = 1:250)')
    parser.add_argument('--mtsdd', default=osp.join(
        osp.dirname(REPO), 'shared', 'data', 'MTSDD'),
        help='MTSDD as published; the Blowhole setting is skipped when it '
        'is absent')
    parser.add_argument('--usable-frac', type=float, default=0.8,
                        help='"usable" IoU = this x the best mean final IoU '
                        'of any loss in the setting')
    parser.add_argument('--usable-floor', type=float, default=0.1,
                        help='the usable IoU is never below this (a model '
                        'that learned nothing has no usable level)')
    parser.add_argument('--usable-iou', type=float, default=None,
                        help='an absolute usable IoU instead of '
                        '--usable-frac')
    parser.add_argument('--guidance-loss', default='DIBE',
                        choices=[k for k in LOSSES if k not in
                                 REFERENCE_LOSSES],
                        help='loss whose α the guidance searches (U-Net, '
                        'synthetic). Default DIBE: the paper\'s Table 3 '
                        'uses DIBE_Dis, but DIBE_Dis (like Focal) predicts '
                        'no crack pixel within a 300-iteration CPU budget '
                        '(measured: OII = 1 at every α), which leaves OII '
                        'nothing to guide')
    parser.add_argument('--no-guidance', dest='guidance',
                        action='store_false',
                        help='skip the OII guidance vs grid search part')
    parser.add_argument('--target', nargs=2, type=float, default=[0.3, 0.4],
                        help='OII target interval of the guidance')
    parser.add_argument('--max-steps', type=int, default=None,
                        help='most trainings of the bisection (m)')
    parser.add_argument('--grid', type=int, default=None,
                        help='grid of K+1 alphas (2^m + 1 for the same '
                        'resolution as m bisection steps)')
    parser.add_argument('--hook-steps', type=int, default=6,
                        help='most validation rounds the online '
                        'OIIBisectionHook may use (one training)')
    parser.add_argument('--hook-warmup', type=int, default=None,
                        help='first validation rounds the hook ignores '
                        '(default: half of the rounds, 5 of 10 in the full '
                        'mode: before about iteration 150 the U-Net is in a '
                        'transient where OII swings between -1 and 1 '
                        'whatever α is; measured with 3 warm-up rounds, the '
                        'hook moved α down on that transient and could not '
                        'come back)')
    parser.add_argument('--jobs', type=int, default=1,
                        help='trainings run at the same time')
    parser.add_argument('--threads', type=int, default=None,
                        help='OMP threads per training (default: '
                        'cores / jobs, at most 2)')
    parser.add_argument('--dry-run', action='store_true',
                        help='write data and configs, print the plan, train '
                        'nothing')
    args = parser.parse_args(argv)
    quick = args.quick
    if args.models is None:
        args.models = ['unet'] if quick else ['unet', 'segnet',
                                                 'unet-blowhole']
    if args.losses is None:
        args.losses = MAIN_LOSSES + ([] if quick else REFERENCE_LOSSES)
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
        parser.error('--iters and --val-interval must be positive')
    if args.hook_warmup is None:
        args.hook_warmup = max(1, args.iters // args.val_interval // 2)
    if not 0 < args.usable_frac <= 1:
        parser.error('--usable-frac must be in (0, 1]')
    return args


# --------------------------------------------------------------------------
# Running the project's tools
# --------------------------------------------------------------------------
def tool(args, script, *argv, log=None):
    """Run one of the repository's tools with this interpreter."""
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads),
               MKL_NUM_THREADS=str(args.threads), PYTHONPATH=REPO + (
                   os.pathsep + os.environ['PYTHONPATH']
                   if os.environ.get('PYTHONPATH') else ''))
    cmd = [sys.executable, osp.join(REPO, script)] + [str(a) for a in argv]
    start = time.time()
    if log:
        with open(log, 'w') as f:
            proc = subprocess.run(cmd, cwd=REPO, env=env, stdout=f,
                                  stderr=subprocess.STDOUT)
    else:
        proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True,
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
                 extra=''):
    """A config deriving from the benchmark config of ``model``.

    ``extra`` is appended to the config text (e.g. ``custom_hooks``).
    """
    base, has_aux = MODELS[model]
    loss = dict(LOSSES[loss_name])
    if alpha is not None:
        loss['alpha'] = alpha
    iters, interval = args.iters, args.val_interval
    aux = (f'    auxiliary_head=dict(loss_decode=dict(_delete_=True, '
           f'loss_weight=0.4, **loss)),\n' if has_aux else '')
    text = f'''# Written by benchmarks/compare_losses.py: {loss_name}, seed {seed}.
_base_ = [{osp.join(REPO, base)!r}]
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
                name = f'{setting["model"]}_{slug(loss)}_s{seed}'
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
    out = osp.join(args.out, 'guidance', slug(loss))
    config = write_config(osp.join(args.out, 'configs',
                                   f'unet_{slug(loss)}_guidance.py'),
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
        osp.join(args.out, 'configs', f'unet_{slug(args.guidance_loss)}'
                 '_hook.py'), 'unet',
        roots['synthetic'], args.guidance_loss, args.seeds[0], args,
        extra=f'custom_hooks = [{hook!r}]\n')
    job = dict(config=config, work_dir=osp.join(out, 'hook'))
    run_training(args, job)
    return hook_trace(job['work_dir'], args.target, job['seconds'])


def hook_trace(work_dir, target, seconds=None):
    """Read the rounds of an ``OIIBisectionHook`` training.

    Returns a dict with ``rounds`` (iteration, α used, IoU, PA, OII and
    the hook's decision per validation round), ``converged``,
    ``reached_at`` (the first round whose OII was in the target) and the
    final validation metrics.
    """
    from mmseg_dibe.engine.hooks.oii_bisection_hook import STATE_FILE
    with open(osp.join(work_dir, STATE_FILE)) as f:
        records = json.load(f)['records']
    run = Run(work_dir)
    by_iter = {v['iter']: v for v in run.val}
    rounds, steps_seen, reached_at = [], 0, None
    for rec in records:
        state = rec['state']['bisection']
        history = state['history']
        val = by_iter.get(rec['iter'], {})
        row = OrderedDict(round=rec['state']['rounds'], iter=rec['iter'],
                          alpha=val.get('alpha'), IoU=val.get('IoU'),
                          PA=val.get('PA'), OII=val.get('OII'))
        if len(history) > steps_seen:  # this round was a bisection step
            steps_seen = len(history)
            if state['converged']:
                row['decision'] = 'OII in target: α fixed'
                reached_at = reached_at or row['round']
            elif state['done']:
                row['decision'] = (f'steps used up: α fixed at '
                                   f'{state["alpha"]:g} (closest)')
            elif history[-1]['oii'] >= target[1]:
                row['decision'] = f'above target: α → {state["alpha"]:g}'
            else:
                row['decision'] = f'below target: α → {state["alpha"]:g}'
        elif state['done']:
            row['decision'] = 'α fixed'
        else:
            row['decision'] = 'warm-up'
        rounds.append(row)
    last = run.last()
    final = records[-1]['state']['bisection'] if records else {}
    return dict(trainings=1, seconds=seconds, rounds=rounds,
                converged=bool(final.get('converged')),
                done=bool(final.get('done')),
                reached_at=reached_at, alpha=final.get('alpha'),
                final={k: last.get(k) for k in ('IoU', 'PA', 'OII')})


# --------------------------------------------------------------------------
# Markdown
# --------------------------------------------------------------------------
def _is_number(value):
    return isinstance(value, (int, float)) and math.isfinite(value)


def _in_target(record, target):
    """Whether a record's OII lies strictly inside the target interval."""
    oii = record.get('OII')
    return _is_number(oii) and target[0] < oii < target[1]


def _fmt_iters(values):
    hit = [v for v in values if v is not None]
    text = fmt_mean_std(hit, 0) if hit else 'not reached'
    if hit and len(hit) < len(values):
        text += f' ({len(hit)}/{len(values)} seeds)'
    return text


def markdown(args, table, guidance, elapsed, data_note):
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
                             _is_number(chosen.get(k)) else '-'
                             for k in ('IoU', 'PA', 'OII'))
                + f' | {block["seconds"] / 60:.1f} |')
        h = guidance.get('hook')
        if h:
            guided = [r for r in h['rounds'] if r['decision'] != 'warm-up'
                      and _is_number(r.get('alpha'))]
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
                + (f'{h["alpha"]:g}{note}' if _is_number(h.get('alpha'))
                   else '-') + ' | '
                + ' | '.join(f'{h["final"][k]:.3f}'
                             if _is_number(h['final'].get(k)) else '-'
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
                    + [f'{r[k]:.3f}' if _is_number(r.get(k)) else '-'
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


def main(argv=None):
    args = parse_args(argv)
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
            print(f'  {job["setting"]:24s} {job["loss"]:9s} seed '
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


if __name__ == '__main__':
    main()
