"""Three ways to a harmonised output, side by side
(``benchmarks/compare_guidance.py``, issue 13).

A harmonised output is one whose validation OII lies strictly inside the
target interval ``(m0, m1)`` (default ``(0.3, 0.4)``). For the DIBE loss
(α guided, the other hyper-parameters of
:data:`~mmseg_dibe.analysis.loss_comparison.LOSSES` ``['DIBE']``) there are
three ways to get there, each counted in trainings:

1. offline, one training per α: the bisection of ``tools/oii_search.py``
   (interval [0.1, 0.9], at most ``--max-steps`` trainings) and the paper's
   5-point grid (``--grid 4``: α = 0.1, 0.3, 0.5, 0.7, 0.9), on
   ``--offline-seeds``;
2. online, one training: ``OIIBisectionHook`` with its defaults moves α
   between the validation rounds, on ``--seeds``;
3. no training at all: ``tools/calibrate_threshold.py`` chooses the
   prediction threshold of a model trained at α = 0.5 (and of the hook's
   model: "hook + calibration") from one evaluation pass.

The α = 0.5 training of a seed serves four rows: "α = 0.5 fixed" (the
baseline), "α = 0.5 + threshold calibration", and both offline searches,
whose α = 0.5 step (the grid's middle point, the bisection's first
midpoint) is not trained again: before ``tools/oii_search.py`` runs, the
final validation of the α = 0.5 run is written as the step's
``alpha_0.5/result.json``, which the search reads back as an already
trained step (its resume path). The search is given the α = 0.5 run's own
config, so every step's config differs from it only in α.

Work is ordered seed-major, the offline searches last, and results (``OUT/compare_guidance.md``,
``.json`` and the figures) are rewritten after every finished task, so an
interrupted run has partial tables that say how many seeds are done;
running the same command again resumes (finished trainings, searches and
calibrations are skipped).
"""
import argparse
import functools
import inspect
import json
import os
import os.path as osp
import platform
import time
from collections import OrderedDict
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait

from ..engine.hooks.oii_bisection_hook import STATE_FILE, OIIBisectionHook
from ..guidance.bisection import OIIBisection
from ..engine.atomic_io import atomic_write_text
from ..guidance.search import alpha_name
from .loss_comparison import (LOSSES, MODELS, finished, hook_trace,
                              loss_slug, prepare_data, run_training, tool,
                              training_seconds, write_config)
from .stats import LATE_FRACTION, fmt_mean_std, late_jitter, mean_std
from .workdir import Run, finite, read_final_metrics

#: The loss whose α is guided (a key of ``loss_comparison.LOSSES``).
GUIDED_LOSS = 'DIBE'
#: α of the fixed-α baseline, of the calibrated model and the α step the
#: offline searches share with them.
FIXED_ALPHA = 0.5
#: α interval of every search (the paper's).
INTERVAL = (0.1, 0.9)
#: Wall time of a calibration, kept beside its ``calibration.json``.
CALIBRATION_SECONDS = 'calibration_seconds.json'

#: ``--settings`` key -> (table name, model key of ``MODELS``, dataset key)
SETTINGS = OrderedDict([
    ('synthetic', ('U-Net / synthetic', 'unet', 'synthetic')),
    ('blowhole', ('U-Net / MTSDD Blowhole (native)', 'unet-blowhole-native',
                  'mt_blowhole')),
])

#: The hook's goal (issue "harmonised output", item 1): final OII in the
#: target on at least this share of seeds ...
GOAL_SHARE = 0.9
#: ... with a mean IoU at most this much below the grid's selected α.
GOAL_IOU_MARGIN = 0.02

#: Row keys of the comparison table, in order.
ROWS = ('bisection', 'grid', 'fixed', 'fixed_calibrated', 'hook',
        'hook_calibrated')
METRICS = ('OII', 'IoU', 'PA')


# --------------------------------------------------------------------------
# Options and plan
# --------------------------------------------------------------------------
def resolve_defaults(args):
    """Fill the options left ``None`` (full mode or ``--quick``). Changes
    ``args`` in place and returns it.

    Raises:
        ValueError: If an option is out of range (the message names it).
    """
    quick = args.quick
    if args.settings is None:
        args.settings = ['synthetic'] if quick else list(SETTINGS)
    if args.seeds is None:
        args.seeds = [0, 1] if quick else list(range(10))
    if args.offline_seeds is None:
        args.offline_seeds = [0] if quick else [0, 1, 2]
    if args.max_steps is None:
        args.max_steps = 2 if quick else 4
    if args.grid is None:
        args.grid = 2 if quick else 4  # 3 or the paper's 5 points
    if args.synthetic_iters is None:
        args.synthetic_iters = 20 if quick else 300
    if args.synthetic_val_interval is None:
        args.synthetic_val_interval = 5 if quick else 15
    if args.num_train is None:
        args.num_train = 16 if quick else 160
    if args.num_val is None:
        args.num_val = 8 if quick else 48
    for name in ('max_steps', 'grid', 'synthetic_iters',
                 'synthetic_val_interval', 'blowhole_iters',
                 'blowhole_val_interval', 'jobs', 'threads',
                 'calibration_bins'):
        if getattr(args, name) < 1:
            raise ValueError(f'--{name.replace("_", "-")} must be >= 1, got '
                             f'{getattr(args, name)}')
    if not -1 <= args.target[0] < args.target[1] <= 1:
        raise ValueError(f'--target needs -1 <= m0 < m1 <= 1, got '
                         f'{args.target}')
    args.hook_options = parse_hook_options(args.hook_option)
    if args.ema is not None and not 0 < args.ema < 1:
        raise ValueError(f'--ema is the momentum of the moving average, in '
                         f'(0, 1), got {args.ema}')
    if not args.seeds and not args.offline_seeds:
        raise ValueError('--seeds and --offline-seeds are both empty')
    # The searches share the α = 0.5 training only if α = 0.5 is one of
    # their points: the grid's K + 1 points include the midpoint for even K.
    if args.grid % 2:
        raise ValueError(f'--grid must be even (the middle point α = 0.5 is '
                         f'shared with the α = 0.5 runs), got {args.grid}')
    return args


def settings_for(args):
    """The chosen settings: dicts with ``key``, ``name``, ``model``,
    ``data``, ``iters`` and ``val_interval``."""
    budget = dict(synthetic=(args.synthetic_iters,
                             args.synthetic_val_interval),
                  blowhole=(args.blowhole_iters, args.blowhole_val_interval))
    chosen = []
    for key in args.settings:
        name, model, data = SETTINGS[key]
        iters, interval = budget[key]
        chosen.append(dict(key=key, name=name, model=model, data=data,
                           iters=iters, val_interval=interval))
    return chosen


def setting_args(args, setting):
    """A copy of ``args`` with the setting's budget as ``iters`` /
    ``val_interval``: what ``write_config`` and ``run_training`` (which
    checks ``iter_{iters}.pth``) read."""
    values = dict(vars(args), iters=setting['iters'],
                  val_interval=setting['val_interval'])
    return argparse.Namespace(**values)


def all_seeds(args):
    """``--seeds`` then the offline seeds not among them (the α = 0.5 run
    of an offline seed is trained for the searches in any case)."""
    return list(args.seeds) + [s for s in args.offline_seeds
                               if s not in args.seeds]


def seed_paths(args, setting, seed):
    """Where every file of one (setting, seed) lives.

    Returns:
        dict: ``fixed_config``, ``fixed_dir`` (the α = 0.5 training),
        ``hook_config``, ``hook_dir``, ``fixed_calibration``,
        ``hook_calibration`` (``--out`` of the calibrations), ``grid_dir``
        and ``bisection_dir`` (``--work-dir`` of ``tools/oii_search.py``).
    """
    base = osp.join(args.out, setting['key'])
    loss = loss_slug(GUIDED_LOSS)
    fixed = f'{loss}_a{FIXED_ALPHA:g}_s{seed}'
    hook = f'{loss}_hook_s{seed}'
    return dict(
        fixed_config=osp.join(base, 'configs', fixed + '.py'),
        fixed_dir=osp.join(base, 'runs', fixed),
        hook_config=osp.join(base, 'configs', hook + '.py'),
        hook_dir=osp.join(base, 'runs', hook),
        fixed_calibration=osp.join(base, 'calibration', fixed),
        hook_calibration=osp.join(base, 'calibration', hook),
        grid_dir=osp.join(base, 'search', f'grid_s{seed}'),
        bisection_dir=osp.join(base, 'search', f'bisection_s{seed}'))


def hook_dict(args):
    """The ``OIIBisectionHook`` of the online runs: the interval, the
    target and ``--hook-option`` values; the rest at the hook's defaults."""
    return dict(type='OIIBisectionHook', low=INTERVAL[0], high=INTERVAL[1],
                target=tuple(args.target), **args.hook_options)


def hook_defaults(overrides=None):
    """The hook's arguments as the online runs use them: its defaults with
    ``overrides`` (``--hook-option``) applied (for the Markdown notes)."""
    params = inspect.signature(OIIBisectionHook.__init__).parameters
    values = OrderedDict((name, p.default) for name, p in params.items()
                         if name in ('max_steps', 'warmup', 'warmup_rounds',
                                     'settle_rounds', 'smooth',
                                     'reopen_after', 'max_reopen'))
    values.update(overrides or {})
    return values


def parse_hook_options(items):
    """``['smooth=3', 'warmup=None']`` -> ``{'smooth': 3, 'warmup': None}``
    (values read as Python literals, else kept as text), checked by building
    the hook.

    Raises:
        ValueError: If an item is not ``KEY=VALUE``, names no argument of
            ``OIIBisectionHook`` or is refused by it (the message says which).
    """
    import ast
    options = OrderedDict()
    for item in items or []:
        key, sep, text = item.partition('=')
        if not sep or not key:
            raise ValueError(f'--hook-option {item!r}: expected KEY=VALUE')
        try:
            options[key] = ast.literal_eval(text)
        except (ValueError, SyntaxError):
            options[key] = text
    fixed = ('low', 'high', 'target')
    for key in options:
        if key in fixed:
            raise ValueError(f'--hook-option {key}: set by the benchmark '
                             f'(interval {INTERVAL}, --target)')
    try:
        OIIBisectionHook(low=INTERVAL[0], high=INTERVAL[1], **options)
    except (TypeError, ValueError) as e:
        raise ValueError(f'--hook-option: {e}') from None
    return options


def base_custom_hooks(model, repo):
    """``custom_hooks`` of a model's base config (the native MTSDD configs
    have ``ChannelsLastHook``): a config's own ``custom_hooks`` replaces the
    base's list, so the hook runs must repeat them. A fresh copy each call."""
    return [dict(h) for h in _read_custom_hooks(model, repo)]


@functools.lru_cache(maxsize=None)
def _read_custom_hooks(model, repo):
    # Parsing a config takes about half a second; every training config of
    # the plan needs the same base's hooks.
    from mmengine.config import Config
    cfg = Config.fromfile(osp.join(repo, MODELS[model][0]))
    return tuple(dict(h) for h in (cfg.get('custom_hooks', None) or []))


def ema_hook(args):
    """mmengine's ``EMAHook`` of ``--ema`` (None without it): validation
    and checkpoints use the moving average of the weights and of the BN
    running statistics (``update_buffers``), the training goes on with the
    raw weights."""
    if args.ema is None:
        return None
    return dict(type='EMAHook', ema_type='ExponentialMovingAverage',
                momentum=args.ema, update_buffers=True)


def training_hooks(args, model, online):
    """``custom_hooks`` text of a training's config: the base config's
    hooks, ``--ema``'s ``EMAHook`` and, for an online run, the
    ``OIIBisectionHook``; '' when a fixed run needs nothing beyond the
    base."""
    extra = [h for h in (ema_hook(args), online and hook_dict(args)) if h]
    if not extra:
        return ''
    hooks = base_custom_hooks(model, args.repo) + extra
    return f'custom_hooks = {hooks!r}\n'


def plan_tasks(args, settings, roots):
    """Write the configs; the tasks in seed-major order, the offline
    searches last (the 10-seed rows fill first; the searches reuse the
    α = 0.5 runs of their seeds).

    Each task is a dict with ``id``, ``kind`` (``'train'``,
    ``'calibrate'``, ``'grid'`` or ``'bisection'``), ``role`` (``'fixed'``
    or ``'hook'`` for trainings and calibrations), ``setting`` (name),
    ``seed``, ``after`` (ids of the tasks it needs), ``trainings`` (the
    trainings it runs at most, the shared α = 0.5 one not counted) and the
    paths it uses. Offline searches carry ``reuses``: the α = 0.5 work
    directory whose result they read instead of training it.

    Args:
        args (argparse.Namespace): Resolved options, ``out`` absolute.
        settings (list[dict]): From :func:`settings_for`.
        roots (dict): Data roots from ``prepare_data`` (None: absent).

    Returns:
        list[dict]: The tasks.
    """
    tasks, offline = [], []
    for seed in all_seeds(args):
        for setting in settings:
            root = roots.get(setting['data'])
            if root is None:
                continue
            sargs = setting_args(args, setting)
            paths = seed_paths(args, setting, seed)
            ident = f'{setting["key"]}/s{seed}'
            common = dict(setting=setting['name'], seed=seed, args=sargs,
                          paths=paths)
            write_config(paths['fixed_config'], setting['model'], root,
                         GUIDED_LOSS, seed, sargs, alpha=FIXED_ALPHA,
                         extra=training_hooks(args, setting['model'], False),
                         iters=setting['iters'],
                         val_interval=setting['val_interval'])
            fixed_id = f'{ident}/train-fixed'
            if not args.hook_only:
                tasks.append(dict(common, id=fixed_id, kind='train',
                                  role='fixed', after=[], trainings=1,
                                  config=paths['fixed_config'],
                                  work_dir=paths['fixed_dir']))
            if seed in args.seeds:
                write_config(
                    paths['hook_config'], setting['model'], root,
                    GUIDED_LOSS, seed, sargs,
                    extra=training_hooks(args, setting['model'], True),
                    iters=setting['iters'],
                    val_interval=setting['val_interval'])
                hook_id = f'{ident}/train-hook'
                tasks.append(dict(common, id=hook_id, kind='train',
                                  role='hook', after=[], trainings=1,
                                  config=paths['hook_config'],
                                  work_dir=paths['hook_dir']))
                for role, after in (('fixed', fixed_id), ('hook', hook_id)):
                    if role == 'fixed' and args.hook_only:
                        continue
                    tasks.append(dict(
                        common, id=f'{ident}/calibrate-{role}',
                        kind='calibrate', role=role, after=[after],
                        trainings=0, config=paths[f'{role}_config'],
                        work_dir=paths[f'{role}_dir'],
                        out_dir=paths[f'{role}_calibration']))
            if seed in args.offline_seeds and not args.hook_only:
                # The bisection runs after the grid: a step of it that is a
                # grid point (always its second, α = 0.3 or 0.7, for the
                # paper's grid) is read from the grid's training.
                for mode, most, after in (
                        ('grid', args.grid + 1, [fixed_id]),
                        ('bisection', args.max_steps,
                         [fixed_id, f'{ident}/grid'])):
                    offline.append(dict(
                        common, id=f'{ident}/{mode}', kind=mode, role=mode,
                        after=after, trainings=most - 1,
                        config=paths['fixed_config'],
                        work_dir=paths[f'{mode}_dir'],
                        reuses=paths['fixed_dir'],
                        grid_dir=paths['grid_dir']))
    return tasks + offline


def describe_plan(tasks):
    """One line per task (``--dry-run``)."""
    lines = []
    for task in tasks:
        what = task['kind'] + (f' {task["role"]}' if task['kind'] in (
            'train', 'calibrate') else '')
        line = (f'  {task["setting"]:32s} seed {task["seed"]}  {what:15s} '
                f'trainings {task["trainings"]}  {task["work_dir"]}')
        if task.get('reuses'):
            line += f'  (α = {FIXED_ALPHA:g} step read from {task["reuses"]})'
        if task['kind'] == 'calibrate':
            line += f' -> {task["out_dir"]}'
        lines.append(line)
    return '\n'.join(lines)


# --------------------------------------------------------------------------
# Running
# --------------------------------------------------------------------------
def search_finished(work_dir, mode, expected):
    """Whether ``work_dir/search.json`` holds a finished search of
    ``mode`` with ``expected`` steps (``--grid`` K or ``--max-steps``);
    another setting makes ``tools/oii_search.py`` run (and say why)."""
    path = osp.join(work_dir, 'search.json')
    if not osp.isfile(path):
        return False
    with open(path) as f:
        state = json.load(f)
    settings = state.get('settings', {})
    key = 'grid' if mode == 'grid' else 'max_steps'
    return (settings.get('mode') == mode and settings.get(key) == expected
            and bool((state.get('result') or {}).get('finished')))


def share_fixed_step(task):
    """Write the α = 0.5 run's final validation as the search's
    ``alpha_0.5/result.json`` (``tools/oii_search.py`` reads a step with a
    ``result.json`` back instead of training it). Nothing is written if
    the step is there already.

    Returns:
        str: The ``result.json`` path.
    """
    step_dir = osp.join(task['work_dir'], alpha_name(FIXED_ALPHA))
    path = osp.join(step_dir, 'result.json')
    if osp.isfile(path):
        return path
    metrics = read_final_metrics(task['reuses'])
    metrics['seconds'] = training_seconds(task['reuses']) or 0.0
    write_shared_step(path, metrics, task['reuses'])
    return path


def write_shared_step(path, metrics, source):
    """Write the metrics of a training done elsewhere (``source``, its work
    directory) as a search step's ``result.json`` at ``path``, marked
    ``reused_from`` and with its log path made absolute."""
    metrics = dict(metrics, log=osp.join(source, metrics['log']),
                   reused_from=source)
    os.makedirs(osp.dirname(path), exist_ok=True)
    atomic_write_text(path, json.dumps(metrics, indent=2) + '\n')


def share_grid_steps(task):
    """Copy the grid's trainings that the bisection will ask for into the
    bisection (``alpha_X/result.json``, marked ``reused_from`` the grid's
    step), before ``tools/oii_search.py`` runs.

    The bisection is replayed from its first step (the α = 0.5 run's OII):
    while the α it proposes next has a ``result.json`` in the grid, that
    result is shared and fed to the replay; the first α the grid lacks is
    left to the search to train. A step the bisection already has (trained
    by itself, or shared before) is kept as it is.

    Returns:
        list[float]: The α values read from the grid.
    """
    args = task['args']
    bisection = OIIBisection(INTERVAL[0], INTERVAL[1], tuple(args.target),
                             args.max_steps)
    shared = []
    while not bisection.done:
        name = alpha_name(bisection.alpha)
        own = osp.join(task['work_dir'], name, 'result.json')
        source = osp.join(task['grid_dir'], name)
        if osp.isfile(own):
            with open(own) as f:
                metrics = json.load(f)
        elif osp.isfile(osp.join(source, 'result.json')):
            with open(osp.join(source, 'result.json')) as f:
                metrics = json.load(f)
            write_shared_step(own, metrics, source)
            shared.append(bisection.alpha)
        else:
            break
        bisection.update(metrics['OII'])
    return shared


def run_task(task):
    """Run one task (skipping it when its result is there already).

    Returns:
        dict: ``task`` with ``skipped`` and ``seconds`` set.

    Raises:
        RuntimeError: If the tool it runs fails.
    """
    args = task['args']
    start = time.time()
    task['skipped'] = False
    if task['kind'] == 'train':
        job = dict(config=task['config'], work_dir=task['work_dir'],
                   iters=args.iters)
        run_training(args, job)
        task['skipped'] = bool(job.get('skipped'))
        task['seconds'] = job.get('seconds')
        return task
    if task['kind'] == 'calibrate':
        out = task['out_dir']
        if osp.isfile(osp.join(out, 'calibration.json')):
            task['skipped'] = True
            return task
        checkpoint = osp.join(task['work_dir'], f'iter_{args.iters}.pth')
        if not osp.isfile(checkpoint):
            raise FileNotFoundError(f'{checkpoint}: the final checkpoint '
                                    'to calibrate is not there')
        os.makedirs(out, exist_ok=True)
        seconds = tool(args, 'tools/calibrate_threshold.py', task['config'],
                       checkpoint, '--target', *args.target, '--bins',
                       args.calibration_bins, '--out', out,
                       log=osp.join(out, 'calibrate.log'))
        with open(osp.join(out, CALIBRATION_SECONDS), 'w') as f:
            json.dump(dict(seconds=seconds, threads=args.threads), f)
        task['seconds'] = seconds
        return task
    mode = task['kind']
    expected = args.grid if mode == 'grid' else args.max_steps
    if search_finished(task['work_dir'], mode, expected):
        task['skipped'] = True
        return task
    os.makedirs(task['work_dir'], exist_ok=True)
    share_fixed_step(task)
    if mode == 'bisection':
        share_grid_steps(task)
    extra = (['--grid', args.grid] if mode == 'grid' else
             ['--max-steps', args.max_steps])
    tool(args, 'tools/oii_search.py', task['config'], '--work-dir',
         task['work_dir'], '--interval', *INTERVAL, '--target', *args.target,
         *extra, log=task['work_dir'] + '.log')
    task['seconds'] = time.time() - start
    return task


def execute(tasks, jobs, on_done=None, runner=run_task):
    """Run the tasks, at most ``jobs`` at a time, each once the tasks it
    needs are done; in list order otherwise (seed-major).

    A failed task is reported (``error``) and the tasks that need it are
    not run (``state`` 'blocked'); the others go on.

    Args:
        tasks (list[dict]): From :func:`plan_tasks`.
        jobs (int): Tasks run at the same time.
        on_done (callable, optional): Called with each task as it ends.
        runner (callable): Runs one task (tests replace it).

    Returns:
        dict: {task id: 'done' | 'failed' | 'blocked'}.
    """
    pending = list(tasks)
    state, running = {}, {}
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        while pending or running:
            for task in list(pending):
                if len(running) >= jobs:
                    break
                needs = [state.get(i) for i in task['after']]
                if any(s in ('failed', 'blocked') for s in needs):
                    pending.remove(task)
                    state[task['id']] = task['state'] = 'blocked'
                    task['error'] = (f'not run: {", ".join(task["after"])} '
                                     'did not finish')
                    if on_done:
                        on_done(task)
                elif all(s == 'done' for s in needs):
                    pending.remove(task)
                    running[pool.submit(runner, task)] = task
            if not running:
                break
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in done:
                task = running.pop(future)
                try:
                    future.result()
                    state[task['id']] = task['state'] = 'done'
                except (RuntimeError, OSError, ValueError, KeyError) as e:
                    state[task['id']] = task['state'] = 'failed'
                    task['error'] = f'{type(e).__name__}: {e}'
                if on_done:
                    on_done(task)
    return state


# --------------------------------------------------------------------------
# Numbers
# --------------------------------------------------------------------------
def in_target(oii, target):
    """Whether an OII is strictly inside the target: the bisection's own
    test (:meth:`OIIBisection.in_target`); False for a missing OII."""
    return finite(oii) and OIIBisection(target=target).in_target(oii)


def _seconds(path, name):
    file = osp.join(path, name)
    if not osp.isfile(file):
        return None
    with open(file) as f:
        return json.load(f).get('seconds')


def _minutes(*seconds):
    """Sum of wall times in minutes; None when one is unknown."""
    if any(s is None for s in seconds):
        return None
    return sum(seconds) / 60


def read_calibration(out_dir):
    """The calibrated threshold and its metrics.

    ``calibration.json`` holds the choice (``choices``: per class the
    ``index`` in the sweep, ``threshold``, ``in_target``, ``reason``); the
    metrics at that index come from ``threshold_sweep.json`` beside it.

    Returns:
        dict | None: ``threshold``, ``in_target``, ``reason``, ``class``,
        ``IoU``, ``PA``, ``OII`` and ``seconds`` (of the calibration);
        None when the calibration has not run.

    Raises:
        ValueError: If ``calibration.json`` chose no threshold for any
            class.
    """
    path = osp.join(out_dir, 'calibration.json')
    if not osp.isfile(path):
        return None
    with open(path) as f:
        calibration = json.load(f)
    with open(osp.join(out_dir, 'threshold_sweep.json')) as f:
        sweep = json.load(f)
    # A binary head has one evaluated class (the target).
    for name, choice in calibration['choices'].items():
        j = choice.get('index')
        if j is None:
            continue
        metrics = {k: sweep['classes'][name][k][j] for k in METRICS}
        return dict(metrics, threshold=choice['threshold'],
                    in_target=choice['in_target'], reason=choice['reason'],
                    **{'class': name},
                    seconds=_seconds(out_dir, CALIBRATION_SECONDS))
    raise ValueError(f'{path}: no class has a chosen threshold '
                     f'({calibration["choices"]})')


def read_search(work_dir, mode, target):
    """A finished ``tools/oii_search.py`` search and its selected step.

    Selection: the bisection's own result (``result.alpha``: the α whose
    OII fell in the target, else the closest one). The grid's
    ``search.json`` gives the best-IoU α over all points and the α in the
    target, not the best IoU among those in the target, so that is chosen
    here from the steps, as the paper does: the α with OII in the target
    and the highest IoU; when no α is in the target, the highest IoU
    (``selected_by`` says which).

    Returns:
        dict | None: ``trainings`` (the search's count, the shared α = 0.5
        step included), ``shared`` (steps read from the α = 0.5 run),
        ``alpha``, ``selected_by``, ``IoU``, ``PA``, ``OII``, ``seconds``
        (sum of its steps' trainings) and ``steps``; None while the search
        is not finished.
    """
    path = osp.join(work_dir, 'search.json')
    if not osp.isfile(path):
        return None
    with open(path) as f:
        state = json.load(f)
    result = state.get('result') or {}
    if not result.get('finished'):
        return None
    steps = [s for s in state['steps'] if s.get('status') == 'done']
    if mode == 'grid':
        inside = [s for s in steps if in_target(s.get('OII'), target)]
        chosen = max(inside or steps, key=lambda s: s['IoU']
                     if finite(s.get('IoU')) else float('-inf'))
        selected_by = ('OII in target, best IoU' if inside else
                       'none in target: best IoU')
    else:
        alpha = result['alpha']
        chosen = [s for s in steps if abs(s['alpha'] - alpha) < 1e-9][-1]
        selected_by = ('OII in target' if result.get('converged') else
                       'steps used up: closest OII')
    seconds = [s.get('seconds') for s in steps]
    return dict(trainings=state['trainings'],
                shared=sum(1 for s in steps if s.get('reused_from')),
                alpha=chosen['alpha'], selected_by=selected_by,
                seconds=(sum(seconds) if all(finite(s) for s in seconds)
                         else None),
                steps=[{k: s.get(k) for k in ('alpha', 'IoU', 'PA', 'OII',
                                               'reused_from')}
                       for s in steps],
                **{k: chosen.get(k) for k in METRICS})


def read_hook(work_dir, iters, target):
    """``hook_trace`` of a finished hook training plus what its saved
    state tells: re-openings and the phase at the end.

    Returns:
        dict | None: ``hook_trace``'s dict with ``reopened`` and ``phase``;
        None while the training is not finished.
    """
    if not (finished(work_dir, iters) and
            osp.isfile(osp.join(work_dir, STATE_FILE))):
        return None
    trace = hook_trace(work_dir, target, training_seconds(work_dir))
    with open(osp.join(work_dir, STATE_FILE)) as f:
        records = json.load(f)['records']
    last = records[-1]['state'] if records else {}
    trace['reopened'] = len((last.get('bisection') or {}).get('reopens',
                                                               []))
    trace['phase'] = last.get('phase')
    return trace


def read_fixed(work_dir, iters):
    """Final validation of a finished training (None while unfinished),
    with the :func:`late_jitter` of its rounds."""
    if not finished(work_dir, iters):
        return None
    run = Run(work_dir)
    last = run.last() or {}
    return dict({k: last.get(k) for k in METRICS},
                seconds=training_seconds(work_dir),
                jitter=late_jitter(run.val, iters))


def collect_setting(args, setting):
    """Per row of the table, one entry per seed that is done.

    Returns:
        dict: ``rows`` ({row key: {``seeds`` planned, ``entries``}}) and
        ``hook`` (per seed: the hook trace).
    """
    sargs = setting_args(args, setting)
    target = tuple(args.target)
    rows = OrderedDict((key, dict(planned=list(
        args.offline_seeds if key in ('bisection', 'grid') else args.seeds),
        entries=[])) for key in ROWS)
    hooks = OrderedDict()
    for seed in all_seeds(args):
        paths = seed_paths(args, setting, seed)
        if seed in args.offline_seeds:
            for mode in ('bisection', 'grid'):
                found = read_search(paths[f'{mode}_dir'], mode, target)
                if found:
                    found['minutes'] = _minutes(found['seconds'])
                    rows[mode]['entries'].append(dict(found, seed=seed))
        if seed not in args.seeds:
            continue
        fixed = read_fixed(paths['fixed_dir'], sargs.iters)
        hook = read_hook(paths['hook_dir'], sargs.iters, target)
        if hook:
            hook['jitter'] = late_jitter(hook['rounds'], sargs.iters)
            hooks[seed] = hook
        # One training each, then (if done) its calibration: two rows.
        for role, done, metrics in (('fixed', fixed, fixed),
                                    ('hook', hook, hook and hook['final'])):
            if not done:
                continue
            rows[role]['entries'].append(dict(
                metrics, seed=seed, trainings=1, jitter=done['jitter'],
                minutes=_minutes(done['seconds'])))
            cal = read_calibration(paths[f'{role}_calibration'])
            if cal:
                rows[f'{role}_calibrated']['entries'].append(dict(
                    cal, seed=seed, trainings=1,
                    minutes=_minutes(done['seconds'], cal['seconds'])))
    for row in rows.values():
        entries = row['entries']
        row['seeds'] = [e['seed'] for e in entries]
        row['in_target'] = [in_target(e.get('OII'), target)
                            for e in entries]
        row['share_in_target'] = (sum(row['in_target']) / len(entries)
                                  if entries else None)
        for key in METRICS + ('trainings', 'minutes', 'jitter'):
            row[key] = [e.get(key) for e in entries]
    return dict(rows=rows, hook=hooks)


def collect(args, settings):
    """:func:`collect_setting` of every setting, by name."""
    return OrderedDict((s['name'], collect_setting(args, s))
                       for s in settings)


# --------------------------------------------------------------------------
# Markdown
# --------------------------------------------------------------------------
def row_labels(args):
    """Row key -> the method column."""
    points = args.grid + 1
    grid = ('5-point grid (paper)' if points == 5 else
            f'{points}-point grid')
    return OrderedDict([
        ('bisection', f'offline bisection (≤ {args.max_steps} trainings)'),
        ('grid', grid),
        ('fixed', f'α = {FIXED_ALPHA:g} fixed, no calibration (baseline)'),
        ('fixed_calibrated', f'α = {FIXED_ALPHA:g} + threshold calibration'),
        ('hook', 'online hook (OIIBisectionHook)'),
        ('hook_calibrated', 'hook + threshold calibration'),
    ])


def _fmt_trainings(row, key):
    values = row['trainings']
    if not values:
        return '-'
    same = all(v == values[0] for v in values)
    text = str(values[0]) if same else fmt_mean_std(values, 1) + (
        f' ({min(values)}-{max(values)})')
    if key == 'grid':
        text += f' (incl. the shared α = {FIXED_ALPHA:g} one)'
    elif key == 'bisection':
        text += (f' (incl. the shared α = {FIXED_ALPHA:g} one and those '
                 'read from the grid)')
    elif key in ('fixed_calibrated', 'hook_calibrated'):
        text += ' + 1 evaluation pass'
    return text


def _fmt_seeds(row):
    done, planned = len(row['seeds']), len(row['planned'])
    return str(done) if done == planned else f'{done} of {planned} done'


def _fmt_share(row):
    if row['share_in_target'] is None:
        return '-'
    hits = sum(row['in_target'])
    share = 100 * row['share_in_target']
    return f'{hits}/{len(row["in_target"])} ({share:.0f} %)'


def _fmt_minutes(row):
    values = [v for v in row['minutes'] if v is not None]
    return fmt_mean_std(values, 1) if values else '-'


def _cell(value, digits=3):
    return f'{value:.{digits}f}' if finite(value) else '-'


def _seeds(count):
    return f'{count} seed' + ('' if count == 1 else 's')


def goal_lines(args, block):
    """Whether the hook rows meet the goal (``GOAL_SHARE`` of the seeds in
    target, mean IoU at least the grid's minus ``GOAL_IOU_MARGIN``), and
    whether α can reach the target at all: the range of OII the grid's
    trainings gave over ``[low, high]``, per seed."""
    rows, labels = block['rows'], row_labels(args)
    grid_iou, _ = mean_std(rows['grid']['IoU'])
    lines = []
    for key in ('hook', 'hook_calibrated'):
        row = rows[key]
        if not row['entries']:
            continue
        hits, count = sum(row['in_target']), len(row['in_target'])
        text = (f'- Goal, {labels[key]}: final OII in target on {hits}/'
                f'{count} seeds (goal ≥ {GOAL_SHARE:.0%}: '
                f'{"met" if hits >= GOAL_SHARE * count else "not met"})')
        iou, _ = mean_std(row['IoU'])
        if grid_iou is None or iou is None:
            text += '; IoU against the grid: the grid has not run yet.'
        else:
            diff = iou - grid_iou
            text += (f'; mean IoU {iou:.3f} against the grid\'s selected α '
                     f'{grid_iou:.3f} ({_seeds(len(rows["grid"]["IoU"]))}): '
                     f'{diff:+.3f} (goal ≥ {-GOAL_IOU_MARGIN:+.2f}: '
                     f'{"met" if diff >= -GOAL_IOU_MARGIN else "not met"}).')
        lines.append(text)
    m0, m1 = args.target
    spans = []
    for e in rows['grid']['entries']:
        values = [st['OII'] for st in e['steps'] if finite(st.get('OII'))]
        if values:
            spans.append((e['seed'], min(values), max(values)))
    if spans:
        reach = sum(1 for _, lo, hi in spans if lo < m1 and hi > m0)
        lines.append(
            f'- Reach of α: over the grid\'s α in [{INTERVAL[0]:g}, '
            f'{INTERVAL[1]:g}] the final OII spanned '
            + ', '.join(f'[{lo:.3f}, {hi:.3f}] (seed {seed})'
                        for seed, lo, hi in spans)
            + f'; the target ({m0:g}, {m1:g}) lies inside that span on '
            f'{reach} of {_seeds(len(spans))}'
            + ('' if reach == len(spans) else
               ': where it does not, no α of the interval reaches it at '
               'this budget and only the threshold can')
            + '.')
    return lines + ([''] if lines else [])


def markdown(args, settings, results, elapsed, failures=()):
    """``compare_guidance.md``: per setting the comparison table, the
    offline searches' choices and the hook's seeds."""
    m0, m1 = args.target
    hook_text = ', '.join(f'{k}={v!r}' for k, v in
                          hook_defaults(args.hook_options).items())
    lines = [
        '# Three ways to a harmonised output, side by side',
        '',
        f'Generated by `benchmarks/compare_guidance.py'
        f'{" --quick" if args.quick else ""}` on '
        f'{platform.processor() or platform.machine()}, {os.cpu_count()} '
        f'cores, {args.jobs} task(s) at a time with {args.threads} '
        f'thread(s) each; total {elapsed / 60:.1f} min so far.',
        '',
        f'- Loss: {GUIDED_LOSS} `{LOSSES[GUIDED_LOSS]!r}` with α guided; SGD '
        f'lr {args.lr:g} poly, batch {args.batch_size}.',
        *([f'- Every training validates (and saves) a moving average of its '
           f'weights and BN statistics: `{ema_hook(args)!r}`.']
          if ema_hook(args) else []),
        f'- Harmonised: final validation OII strictly inside ({m0:g}, '
        f'{m1:g}) (the bisection\'s open interval; OII at a bound does not '
        'count).',
        f'- Offline (`tools/oii_search.py`, α in [{INTERVAL[0]:g}, '
        f'{INTERVAL[1]:g}], one training per α): bisection of at most '
        f'{args.max_steps} trainings, selected α = the search\'s own result '
        f'(OII in target, else the closest OII); grid of {args.grid + 1} α, '
        'selected = the α with OII in the target and the best IoU (the '
        'best IoU when none is in the target, marked). Seeds '
        f'{", ".join(map(str, args.offline_seeds))}.',
        f'- Shared training: the α = {FIXED_ALPHA:g} run of a seed is the '
        f'grid\'s middle point and the bisection\'s first step; both '
        'searches read its final validation (written as their '
        f'`{alpha_name(FIXED_ALPHA)}/result.json`) instead of training it '
        'again. It still counts in their trainings. The bisection runs '
        'after the grid and reads the steps the grid trained (its second '
        'α, 0.3 or 0.7, is a grid point) the same way.',
        f'- Online: one training with `OIIBisectionHook` (interval '
        f'[{INTERVAL[0]:g}, {INTERVAL[1]:g}], target ({m0:g}, {m1:g}), '
        f'arguments {hook_text}); its last validation.',
        '- Threshold calibration (`tools/calibrate_threshold.py --target '
        f'--bins {args.calibration_bins}`: thresholds j/'
        f'{args.calibration_bins}): '
        'one evaluation pass of the final checkpoint, no training; the '
        'threshold with OII in the target and the best IoU (the closest OII '
        'when none is); IoU / PA / OII at that threshold (index from '
        '`calibration.json`, metrics from `threshold_sweep.json`).',
        '- OII / IoU / PA: mean ± sample std over the seeds done; wall '
        'minutes: per seed, the method\'s trainings (+ calibration), '
        'mean ± std; the shared α = 0.5 training counts in every row that '
        'uses it.',
        f'- Late OII jitter: per training, the median change of OII between '
        f'consecutive validation rounds at the same α from '
        f'{LATE_FRACTION:.0%} of the iterations on; mean ± std over the '
        f'seeds ("-": the run was kept without its rounds). Set against the '
        f'target\'s width {m1 - m0:g}: the final round is one draw of that '
        'noise, which no choice of α removes.',
        '',
    ]
    labels = row_labels(args)
    for setting in settings:
        block = results.get(setting['name'])
        if block is None:
            continue
        lines += [f'## {setting["name"]}', '',
                  f'{setting["iters"]} iterations, validation every '
                  f'{setting["val_interval"]} '
                  f'({setting["iters"] // setting["val_interval"]} rounds).',
                  '',
                  '| method | trainings used (per seed) | seeds | OII in '
                  'target | OII | IoU | PA | late OII jitter | wall minutes |',
                  '|---|---|---|---|---|---|---|---|---|']
        for key, row in block['rows'].items():
            cells = [labels[key], _fmt_trainings(row, key), _fmt_seeds(row),
                     _fmt_share(row)] + [fmt_mean_std(row[k])
                                         for k in METRICS] + [
                         fmt_mean_std(row['jitter']),
                         _fmt_minutes(row)]
            lines.append('| ' + ' | '.join(cells) + ' |')
        lines.append('')
        lines += goal_lines(args, block)
        searches = [(mode, e) for mode in ('bisection', 'grid')
                    for e in block['rows'][mode]['entries']]
        if searches:
            lines += ['Offline searches, per seed:', '',
                      '| search | seed | trainings | α tried (OII) | '
                      'selected α | selected by |',
                      '|---|---:|---:|---|---:|---|']
            for mode, e in searches:
                tried = ', '.join(
                    f'{s["alpha"]:g} ({_cell(s.get("OII"))})'
                    + ('*' if s.get('reused_from') else '')
                    for s in e['steps'])
                lines.append(f'| {mode} | {e["seed"]} | {e["trainings"]} | '
                             f'{tried} | {e["alpha"]:g} | '
                             f'{e["selected_by"]} |')
            lines += ['', f'\\* read from the α = {FIXED_ALPHA:g} run '
                      '(bisection: or from the grid\'s training of that α).',
                      '']
        if block['hook']:
            lines += ['Online hook, per seed:', '',
                      '| seed | rounds | α at end | converged | phase at end '
                      '| re-openings | first round in target | final OII | '
                      'final IoU | in target | late OII jitter |',
                      '|---:|---:|---:|:---:|---|---:|---:|---:|---:|:---:|'
                      '---:|']
            for seed, h in block['hook'].items():
                oii = h['final'].get('OII')
                lines.append('| ' + ' | '.join([
                    str(seed), str(len(h['rounds'])), _cell(h.get('alpha')),
                    'yes' if h['converged'] else 'no', str(h.get('phase')),
                    str(h.get('reopened')), str(h.get('reached_at') or '-'),
                    _cell(oii), _cell(h['final'].get('IoU')),
                    'yes' if in_target(oii, args.target) else 'no',
                    _cell(h.get('jitter'))]) + ' |')
            lines.append('')
        for name, caption in (('alpha_trace', 'α and OII per validation '
                               'round of the hook runs'),
                              ('threshold_sweep', f'OII and IoU against the '
                               f'threshold, α = {FIXED_ALPHA:g}, seed '
                               f'{args.seeds[0] if args.seeds else "-"}')):
            png = f'{name}_{setting["key"]}.png'
            if osp.isfile(osp.join(args.out, png)):
                lines += [f'![{caption}]({png})', '']
    if failures:
        lines += ['## Not finished', '']
        lines += [f'- {t["id"]}: {t["error"].splitlines()[0]}'
                  for t in failures]
        lines.append('')
    return '\n'.join(lines)


# --------------------------------------------------------------------------
# Figures
# --------------------------------------------------------------------------
def plot_alpha_traces(traces, target, path, title=''):
    """α used per validation round of each hook seed (top) and OII per
    round (bottom), target band shaded.

    Args:
        traces (dict): {seed: ``hook_trace`` dict}.
        target (Sequence[float]): ``(m0, m1)``.
        path (str): The PNG to write.
        title (str): Figure title.

    Returns:
        str: ``path``.
    """
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    fig, (top, bottom) = plt.subplots(2, 1, figsize=(7, 6), sharex=True)
    for seed, trace in traces.items():
        rounds = [r for r in trace['rounds'] if finite(r.get('alpha'))]
        iters = [r['iter'] for r in rounds]
        line, = top.plot(iters, [r['alpha'] for r in rounds], marker='o',
                         markersize=3, drawstyle='steps-post',
                         label=f'seed {seed}')
        oii = [r for r in trace['rounds'] if finite(r.get('OII'))]
        bottom.plot([r['iter'] for r in oii], [r['OII'] for r in oii],
                    marker='o', markersize=3, color=line.get_color())
    top.set_ylabel('α used in the round')
    top.set_ylim(INTERVAL[0] - 0.05, INTERVAL[1] + 0.05)
    top.legend(fontsize=7, ncol=5, loc='best')
    bottom.axhspan(target[0], target[1], color='tab:green', alpha=0.2,
                   label='target OII')
    bottom.set_ylabel('validation OII')
    bottom.set_xlabel('iteration')
    bottom.set_ylim(-1.05, 1.05)
    bottom.legend(fontsize=7, loc='best')
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def plot_threshold_sweep(calibration_dir, target, path, title=''):
    """OII and IoU against the threshold from ``threshold_sweep.json``,
    target band shaded, the chosen threshold (``calibration.json``)
    marked.

    Returns:
        str: ``path``.
    """
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    with open(osp.join(calibration_dir, 'threshold_sweep.json')) as f:
        sweep = json.load(f)
    chosen = read_calibration(calibration_dir)
    name = chosen['class'] if chosen else next(iter(sweep['classes']))
    metrics = sweep['classes'][name]
    thresholds = sweep['thresholds']

    def points(key):
        pairs = [(t, v) for t, v in zip(thresholds, metrics[key])
                 if finite(v)]
        return [p[0] for p in pairs], [p[1] for p in pairs]

    fig, ax = plt.subplots(figsize=(6.5, 4))
    ax.plot(*points('OII'), color='tab:red', label='OII')
    ax.plot(*points('IoU'), color='tab:blue', label='IoU')
    ax.axhspan(target[0], target[1], color='tab:green', alpha=0.2,
               label='target OII')
    if chosen:
        ax.axvline(chosen['threshold'], color='k', linestyle='--',
                   label=f'chosen T = {chosen["threshold"]:g}')
    ax.set_xlabel('threshold T')
    ax.set_ylim(-1.05, 1.05)
    ax.legend(fontsize=8, loc='best')
    ax.set_title(title or name)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def make_figures(args, settings, results):
    """The two figures of every setting that has their data.

    Returns:
        list[str]: The PNGs written.
    """
    written = []
    for setting in settings:
        block = results.get(setting['name'])
        name = setting['key']
        if block and block['hook']:
            written.append(plot_alpha_traces(
                block['hook'], args.target,
                osp.join(args.out, f'alpha_trace_{name}.png'),
                f'{setting["name"]}: OIIBisectionHook'))
        if args.seeds:
            seed = args.seeds[0]
            cal = seed_paths(args, setting, seed)['fixed_calibration']
            if osp.isfile(osp.join(cal, 'threshold_sweep.json')):
                written.append(plot_threshold_sweep(
                    cal, args.target,
                    osp.join(args.out, f'threshold_sweep_{name}.png'),
                    f'{setting["name"]}: α = {FIXED_ALPHA:g}, seed {seed}'))
    return written


# --------------------------------------------------------------------------
# Driver
# --------------------------------------------------------------------------
def _public(task):
    return {k: v for k, v in task.items() if k != 'args'}


def run_guidance_comparison(args):
    """The whole benchmark: data, the plan, the tasks, the tables.

    Args:
        args (argparse.Namespace): The parsed command line of
            ``benchmarks/compare_guidance.py`` (defaults resolved by
            :func:`resolve_defaults`) plus ``repo``, the repository root
            whose tools are run.

    Returns:
        list[dict] | dict: With ``--dry-run`` the planned tasks; else the
        collected results by setting name.
    """
    args.out = osp.abspath(args.out)
    os.makedirs(args.out, exist_ok=True)
    start = time.time()
    json_path = osp.join(args.out, 'compare_guidance.json')
    earlier = 0.0  # a resumed run adds its time to the earlier runs'
    if osp.isfile(json_path):
        with open(json_path) as f:
            earlier = float(json.load(f).get('elapsed_s') or 0.0)
    settings = settings_for(args)
    roots = prepare_data(args, {s['data'] for s in settings})
    missing = [s['name'] for s in settings if roots.get(s['data']) is None]
    settings = [s for s in settings if roots.get(s['data']) is not None]
    for name in missing:
        print(f'compare_guidance: no data for {name} (--mtsdd {args.mtsdd}):'
              ' skipped')
    tasks = plan_tasks(args, settings, roots)
    trainings = sum(t['trainings'] for t in tasks)
    print(f'compare_guidance: {len(tasks)} tasks, at most {trainings} '
          f'trainings, {args.jobs} at a time -> {args.out}', flush=True)
    if args.dry_run:
        print(describe_plan(tasks))
        return tasks

    def write():
        results = collect(args, settings)
        failures = [t for t in tasks if t.get('error')]
        make_figures(args, settings, results)
        elapsed = earlier + time.time() - start
        text = markdown(args, settings, results, elapsed, failures)
        atomic_write_text(osp.join(args.out, 'compare_guidance.md'),
                          text + '\n')
        atomic_write_text(json_path, json.dumps(dict(
            args=vars(args), elapsed_s=elapsed, settings=settings,
            results=results, tasks=[_public(t) for t in tasks]),
            indent=1, default=str) + '\n')
        return results

    count = [0]

    def on_done(task):
        count[0] += 1
        if task.get('error'):
            what = task['error'].splitlines()[0]
        elif task.get('skipped'):
            what = 'skipped (done before)'
        else:
            seconds = task.get('seconds')
            what = f'{seconds:.0f} s' if finite(seconds) else 'done'
        print(f'[{count[0]}/{len(tasks)}] {task["id"]}: {what}', flush=True)
        write()

    state = execute(tasks, args.jobs, on_done)
    results = write()
    bad = [i for i, s in state.items() if s != 'done']
    print(f'compare_guidance: done in {(time.time() - start) / 60:.1f} min'
          + (f', {len(bad)} task(s) not finished' if bad else '')
          + f'; see {osp.join(args.out, "compare_guidance.md")}')
    return results
