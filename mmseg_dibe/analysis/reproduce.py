"""The public-data rows of the paper's Table 5 in one command
(``benchmarks/reproduce_paper.py``).

U-Net (``configs/dibe/unet-s5-d16_{loss}_50e_{dataset}.py``) with FT,
DIBE_Reg, HF and DIBE, plus mmseg's stock
``CrossEntropyLoss(use_sigmoid=True)``
(a config derived from the DIBE one by replacing the loss of both heads), on
MTSDD Blowhole, MTSDD Crack and CrackForest: a dataset is trained when its
converted data is found, otherwise it is listed as skipped with the
converter command.

Before training, a short timed probe (a few iterations and one validation of
the first config of each dataset, in a temporary work directory) measures
seconds per training iteration and per validation image from the log's
``time`` entries; the plan printed from it gives the iterations of every
training and the expected total, and ``--budget-minutes`` scales the number
of epochs (and with it the validation / checkpoint interval and the poly
schedule) down to fit. The trainings run one after another with
``tools/train.py`` in subprocesses; a finished one (its last epoch's
checkpoint is there) is skipped, an unfinished one resumed with
``--resume``. At the end the report tables, a Table-5 summary beside the
paper's numbers and metafile entries are written with
:mod:`mmseg_dibe.analysis` (as ``tools/analysis/report.py`` does).
"""
import json
import math
import os
import os.path as osp
import subprocess
import sys
import time
from collections import OrderedDict

from ..losses.catalog import BY_TOKEN
from .metafile import (COLLECTION, metafile_model, yaml_dump,
                       update_metafile)
from .stats import fmt_mean_std, group_runs, summarize
from .tables import render_report, repo_relpath
from .workdir import Run, cfg_get, load_config_dict, read_json_lines

MTSDD_URL = 'https://github.com/abin24/Magnetic-tile-defect-datasets.'
CFD_URL = 'https://github.com/cuilimeng/CrackForest-dataset'

#: key -> facts of one dataset of Table 5 (public data only; THC is not).
DATASETS = OrderedDict([
    ('blowhole', dict(
        name='Blowhole', folder='mt_blowhole', suffix='mt-blowhole-256x256',
        img_ext='.jpg',
        convert='python tools/dataset_converters/mtsdd.py '
        'Magnetic-tile-defect-datasets. {root} --subset Blowhole',
        source=MTSDD_URL)),
    ('crack', dict(
        name='Crack', folder='mt_crack', suffix='mt-crack-256x256',
        img_ext='.jpg',
        convert='python tools/dataset_converters/mtsdd.py '
        'Magnetic-tile-defect-datasets. {root} --subset Crack',
        source=MTSDD_URL)),
    ('cfd', dict(
        name='CFD', folder='cfd', suffix='cfd-160x160', img_ext='.png',
        convert='python tools/dataset_converters/cfd.py '
        'CrackForest-dataset {root}', source=CFD_URL)),
])
#: Loss tokens (mmseg_dibe.losses.catalog), the stock baseline first.
LOSS_TOKENS = ('bce', 'ft', 'dibe-reg', 'hf', 'dibe')
#: The paper's Table 5 (U-Net): dataset -> metric -> loss token -> value.
PAPER = {
    'blowhole': dict(IoU=dict(ft=0.774, **{'dibe-reg': 0.776}, hf=0.776,
                              dibe=0.779),
                     PA=dict(ft=0.884, **{'dibe-reg': 0.843}, hf=0.851,
                             dibe=0.881)),
    'crack': dict(IoU=dict(ft=0.708, **{'dibe-reg': 0.717}, hf=0.716,
                           dibe=0.723),
                  PA=dict(ft=0.818, **{'dibe-reg': 0.877}, hf=0.889,
                          dibe=0.829)),
    'cfd': dict(IoU=dict(ft=0.501, **{'dibe-reg': 0.510}, hf=0.497,
                         dibe=0.512),
                PA=dict(ft=0.821, **{'dibe-reg': 0.790}, hf=0.726,
                        dibe=0.880)),
}
STOCK_LOSS = dict(type='CrossEntropyLoss', use_sigmoid=True)
#: Kept in each work directory: the settings it was trained with, and its
#: wall time once finished.
STATE_FILE = 'reproduce_paper.json'
PROBE_FILE = 'probe.json'
#: The quick mode (``--quick``): per training, this many images ...
QUICK = dict(epochs=1, batch_size=2, train_images=4, val_images=4, crop=32,
             probe_iters=2)


class ReproduceError(RuntimeError):
    """A training failed or the output folder holds another schedule."""


def config_name(token, dataset):
    return f'unet-s5-d16_{token}_50e_{DATASETS[dataset]["suffix"]}'


def data_present(root):
    return all(osp.isdir(osp.join(root, d, s)) and os.listdir(
        osp.join(root, d, s)) for d in ('img_dir', 'ann_dir')
        for s in ('train', 'val'))


def count_images(root, split, ext):
    folder = osp.join(root, 'img_dir', split)
    return sum(1 for f in os.listdir(folder) if f.endswith(ext))


def write_stock_config(repo, out, dataset):
    """The stock BCE config derived from the DIBE config of ``dataset``."""
    base = osp.join(repo, 'configs', 'dibe', config_name('dibe', dataset) +
                    '.py')
    path = osp.join(out, 'configs', config_name('bce', dataset) + '.py')
    text = f'''# Written by benchmarks/reproduce_paper.py: the stock baseline,
# mmseg's CrossEntropyLoss(use_sigmoid=True) on both heads of the DIBE
# config.
_base_ = [{base!r}]
loss = {STOCK_LOSS!r}
model = dict(
    decode_head=dict(loss_decode=dict(_delete_=True, **loss)),
    auxiliary_head=dict(
        loss_decode=dict(_delete_=True, loss_weight=0.4, **loss)))
'''
    os.makedirs(osp.dirname(path), exist_ok=True)
    with open(path, 'w') as f:
        f.write(text)
    return path


def _fmt_opt(value):
    if isinstance(value, (tuple, list)):
        return '(' + ','.join(str(v) for v in value) + ')'
    return str(value)


def options_list(options):
    return [f'{k}={_fmt_opt(v)}' for k, v in options.items()]


def base_options(args, cfg, data_root):
    """cfg-options every training of a dataset gets (data, quick mode)."""
    opts = OrderedDict()
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        opts[f'{loader}.dataset.data_root'] = data_root
        if args.workers is not None:
            opts[f'{loader}.num_workers'] = args.workers
            opts[f'{loader}.persistent_workers'] = args.workers > 0
    if args.batch_size is not None:
        opts['train_dataloader.batch_size'] = args.batch_size
    if args.quick:
        opts['train_dataloader.dataset.indices'] = QUICK['train_images']
        for loader in ('val_dataloader', 'test_dataloader'):
            opts[f'{loader}.dataset.indices'] = QUICK['val_images']
        crop = (QUICK['crop'], QUICK['crop'])
        pipeline = cfg_get(cfg, 'train_dataloader.dataset.pipeline', [])
        for i, step in enumerate(pipeline):
            if step.get('type') == 'RandomCrop':
                opts[f'train_dataloader.dataset.pipeline.{i}.crop_size'] = crop
        opts['model.data_preprocessor.size'] = crop
        opts['crop_size'] = crop  # what the report shows
    return opts


def schedule_options(epochs, interval):
    """Scale the 50-epoch schedule: epochs, validation / checkpoint interval
    and the poly decay's end."""
    return OrderedDict([
        ('train_cfg.max_epochs', epochs), ('train_cfg.val_interval', interval),
        ('param_scheduler.0.end', epochs),
        ('default_hooks.checkpoint.interval', interval)])


def scaled_schedule(epochs, full_epochs=50, full_interval=5):
    """The validation interval keeping the full schedule's number of
    validations (10 for 50 / 5)."""
    validations = max(1, full_epochs // full_interval)
    return max(1, int(round(epochs / validations)))


def tool_env(args):
    env = dict(os.environ, PYTHONUNBUFFERED='1')
    env['PYTHONPATH'] = args.repo + (os.pathsep + env['PYTHONPATH']
                                     if env.get('PYTHONPATH') else '')
    if args.device == 'cpu':
        env['CUDA_VISIBLE_DEVICES'] = ''
    return env


def train(args, config, work_dir, options, resume=False):
    """``tools/train.py`` in a subprocess, output appended to
    ``work_dir/stdout.log``; returns the wall time.

    Raises:
        ReproduceError: If it exits non-zero (with the output's tail).
    """
    os.makedirs(work_dir, exist_ok=True)
    cmd = [sys.executable, osp.join(args.repo, 'tools', 'train.py'), config,
           '--work-dir', work_dir]
    if resume:
        cmd.append('--resume')
    if args.amp:
        cmd.append('--amp')
    cmd += ['--cfg-options'] + options_list(options)
    log_path = osp.join(work_dir, 'stdout.log')
    start = time.time()
    with open(log_path, 'a') as log:
        log.write('$ ' + ' '.join(cmd) + '\n')
        log.flush()
        proc = subprocess.run(cmd, cwd=args.repo, env=tool_env(args),
                              stdout=log, stderr=subprocess.STDOUT)
    if proc.returncode != 0:
        with open(log_path, errors='replace') as f:
            tail = f.read()[-3000:]
        raise ReproduceError(f'training of {osp.basename(config)} failed '
                             f'({proc.returncode}), see {log_path}:\n{tail}')
    return time.time() - start


def probe(args, job, iters):
    """Time ``iters`` training iterations and one validation of ``job``.

    Returns:
        dict: ``s_per_iter`` (mean ``time`` of the iterations after the
        first ones), ``s_per_val_image``, ``overhead_s`` (the rest of the
        probe's wall time: start-up, building, checkpoints).
    """
    import tempfile
    ipe = job['iters_per_epoch']
    epochs = max(1, math.ceil(iters / ipe))
    opts = OrderedDict(job['base_options'])
    opts.update(schedule_options(epochs, epochs))
    opts['default_hooks.logger.interval'] = 1
    opts['log_processor.window_size'] = 1
    with tempfile.TemporaryDirectory(prefix='reproduce_probe_') as tmp:
        wall = train(args, job['config'], tmp, opts)
        return read_timing(tmp, job, wall, epochs * ipe)


def read_timing(work_dir, job, wall, n_iters):
    """Seconds per iteration / validation image and start-up from the
    ``time`` entries a training logged in ``work_dir``."""
    records = []
    for ts in sorted(os.listdir(work_dir)):
        path = osp.join(work_dir, ts, 'vis_data', 'scalars.json')
        if osp.isfile(path):
            records += read_json_lines(path)
    train_times = [r['time'] for r in records if 'loss' in r and 'time' in r]
    val_times = [r['time'] for r in records if 'loss' not in r and
                 'time' in r and any(k in r for k in ('IoU', 'OII'))]
    if not train_times:
        raise ReproduceError(f'the probe of {job["name"]} logged no '
                             'iteration time')
    skip = min(2, len(train_times) - 1)  # first iterations: warm-up
    timed = train_times[skip:]
    s_it = sum(timed) / len(timed)
    s_val = val_times[-1] if val_times else 0.0
    overhead = max(0.0, wall - n_iters * s_it - s_val * job['val_images'])
    return dict(config=job['name'], iters=n_iters, timed_iters=len(timed),
                s_per_iter=s_it, s_per_val_image=s_val, overhead_s=overhead,
                wall_s=wall)


def estimate(job, timing, epochs, interval):
    iters = epochs * job['iters_per_epoch']
    vals = epochs // interval + (epochs % interval != 0)
    return (timing['overhead_s'] + iters * timing['s_per_iter'] +
            vals * job['val_images'] * timing['s_per_val_image'])


def plan_jobs(args):
    """The trainings and the skipped datasets."""
    jobs, skipped = [], []
    for key in args.datasets:
        facts = DATASETS[key]
        root = osp.abspath(osp.join(args.data_root, facts['folder']))
        if not data_present(root):
            skipped.append((key, root, facts['convert'].format(
                root=osp.join(args.data_root, facts['folder']))))
            continue
        for token in args.losses:
            name = config_name(token, key)
            if token == 'bce':
                config = write_stock_config(args.repo, args.out, key)
            else:
                config = osp.join(args.repo, 'configs', 'dibe', name + '.py')
            cfg = load_config_dict(config)
            opts = base_options(args, cfg, root)
            batch = opts.get('train_dataloader.batch_size',
                             cfg_get(cfg, 'train_dataloader.batch_size'))
            n_train = count_images(root, 'train', facts['img_ext'])
            n_val = count_images(root, 'val', facts['img_ext'])
            if args.quick:
                n_train = min(n_train, QUICK['train_images'])
                n_val = min(n_val, QUICK['val_images'])
            jobs.append(dict(
                dataset=key, loss=token, name=name, config=config,
                work_dir=osp.join(args.out, 'work_dirs', name),
                base_options=opts, batch_size=batch, train_images=n_train,
                val_images=n_val,
                iters_per_epoch=max(1, math.ceil(n_train / batch)),
                full_epochs=cfg_get(cfg, 'train_cfg.max_epochs'),
                full_interval=cfg_get(cfg, 'train_cfg.val_interval')))
    return jobs, skipped


def choose_schedule(args, jobs, timings):
    """(epochs, interval, note): the full schedule, the quick one or the
    largest that fits ``--budget-minutes``."""
    full = jobs[0]['full_epochs']
    full_interval = jobs[0]['full_interval']
    if args.quick:
        return QUICK['epochs'], 1, (f'--quick: {QUICK["epochs"]} epoch, '
                                    f'validation every epoch')
    if not args.budget_minutes:
        return full, full_interval, 'the configs\' schedule (not scaled)'
    budget = args.budget_minutes * 60
    best = None
    for epochs in range(full, 0, -1):
        interval = scaled_schedule(epochs, full, full_interval)
        total = sum(estimate(j, timings[j['dataset']], epochs, interval)
                    for j in jobs)
        if total <= budget:
            best = (epochs, interval)
            break
    if best is None:
        best = (1, 1)
    epochs, interval = best
    if epochs == full:
        return full, full_interval, (f'fits --budget-minutes '
                                     f'{args.budget_minutes:g}: not scaled')
    return epochs, interval, (
        f'scaled to fit --budget-minutes {args.budget_minutes:g}: '
        f'train_cfg.max_epochs {full} -> {epochs}, train_cfg.val_interval '
        f'{full_interval} -> {interval} (and the checkpoint interval), '
        f'param_scheduler.0.end {full} -> {epochs} (poly decay over the '
        f'scaled schedule)')


def load_probes(args):
    path = osp.join(args.out, PROBE_FILE)
    if osp.isfile(path):
        with open(path) as f:
            return json.load(f)
    return {}


def probe_key(args, job):
    return json.dumps(dict(device=args.device, amp=args.amp,
                           quick=args.quick, config=job['name'],
                           options=options_list(job['base_options'])),
                      sort_keys=True)


def measure(args, jobs, echo, fixed=None):
    """Timings per dataset (probing its first training), cached in
    ``OUT/probe.json`` so that a resumed run does not probe again.

    With a ``fixed`` (epochs, interval) schedule (no budget to fit) and a
    first training no longer than the probe (``--quick``), the probe is
    that training itself, timed from its log, rather than a second one.
    """
    cache = load_probes(args)
    timings = {}
    iters = args.probe_iters or (QUICK['probe_iters'] if args.quick else 10)
    for job in jobs:
        if job['dataset'] in timings:
            continue
        key = probe_key(args, job)
        if key not in cache:
            if (fixed and fixed[0] * job['iters_per_epoch'] <= iters and
                    not finished(job, fixed[0])):
                n_iters = fixed[0] * job['iters_per_epoch']
                echo(f'probe: {job["name"]} ({n_iters} iterations) is no '
                     'longer than the probe: training it, timed ...')
                run_job(args, job, fixed[0], fixed[1], echo)
                cache[key] = read_timing(job['work_dir'], job,
                                         job['seconds'],
                                         fixed[0] * job['iters_per_epoch'])
                job['probe'] = True
            else:
                echo(f'probe: {iters} timed iterations + 1 validation of '
                     f'{job["name"]} ...')
                cache[key] = probe(args, job, iters)
            with open(osp.join(args.out, PROBE_FILE), 'w') as f:
                json.dump(cache, f, indent=1)
        timings[job['dataset']] = cache[key]
    return timings


def state(job):
    path = osp.join(job['work_dir'], STATE_FILE)
    if osp.isfile(path):
        with open(path) as f:
            return json.load(f)
    return None


def finished(job, epochs):
    return osp.isfile(osp.join(job['work_dir'], f'epoch_{epochs}.pth'))


def format_plan(args, jobs, skipped, timings, epochs, interval, note):
    lines = [f'reproduce_paper: {len(jobs)} trainings on {args.device}'
             f'{" with AMP" if args.amp else ""}, one after another -> '
             f'{args.out}']
    lines.append(f'schedule: {epochs} epochs, validation every {interval} '
                 f'({note})')
    for key, root, command in skipped:
        lines.append(f'skipped {DATASETS[key]["name"]}: no converted data in '
                     f'{root}; get it from {DATASETS[key]["source"]} and run '
                     f'`{command}`')
    for key, t in timings.items():
        lines.append(
            f'probe {DATASETS[key]["name"]}: {t["s_per_iter"]:.3f} s/iter '
            f'(mean of {t["timed_iters"]} logged iteration times), '
            f'{t["s_per_val_image"]:.3f} s per validation image, '
            f'{t["overhead_s"]:.1f} s start-up per training')
    lines.append('| # | training | dataset | batch | iters/epoch | iters | '
                 'expected (s) | state |')
    lines.append('|---|---|---|---|---|---|---|---|')
    total = 0.0
    for i, job in enumerate(jobs, 1):
        secs = estimate(job, timings[job['dataset']], epochs, interval)
        job['expected_s'] = secs
        done = finished(job, epochs)
        if not done:
            total += secs
        status = ('done (the probe)' if job.get('probe') else 'done' if done
                  else 'resume' if osp.isfile(osp.join(
            job['work_dir'], 'last_checkpoint')) else 'new')
        dataset = DATASETS[job['dataset']]['name']
        lines.append(f'| {i} | {job["name"]} | {dataset}'
                     f' | {job["batch_size"]} | {job["iters_per_epoch"]} | '
                     f'{epochs * job["iters_per_epoch"]} | {secs:.0f} | '
                     f'{status} |')
    lines.append(f'expected total: {total / 60:.1f} min for the trainings '
                 'still to run')
    return '\n'.join(lines), total


def check_state(job, settings):
    """Refuse a work directory trained with other settings."""
    old = state(job)
    if old is not None and old['settings'] != settings:
        raise ReproduceError(
            f'{job["work_dir"]} was trained with other settings '
            f'({old["settings"]}); use another --out or delete it')


def run_job(args, job, epochs, interval, echo):
    opts = OrderedDict(job['base_options'])
    opts.update(schedule_options(epochs, interval))
    settings = dict(options=options_list(opts), amp=args.amp,
                    device=args.device)
    check_state(job, settings)
    if finished(job, epochs):
        job['skipped'] = True
        job['seconds'] = (state(job) or {}).get('seconds')
        return job
    resume = osp.isfile(osp.join(job['work_dir'], 'last_checkpoint'))
    os.makedirs(job['work_dir'], exist_ok=True)
    old = state(job) or {}
    with open(osp.join(job['work_dir'], STATE_FILE), 'w') as f:
        json.dump(dict(settings=settings, seconds=old.get('seconds', 0.0)), f)
    seconds = train(args, job['config'], job['work_dir'], opts, resume)
    job['resumed'] = resume
    job['seconds'] = old.get('seconds', 0.0) + seconds
    with open(osp.join(job['work_dir'], STATE_FILE), 'w') as f:
        json.dump(dict(settings=settings, seconds=job['seconds'],
                       expected_s=job.get('expected_s')), f)
    return job


def table5(jobs, runs_by_dir):
    """Table 5's layout: IoU and PA (last validation) per dataset and loss,
    the paper's value beside each."""
    losses = [t for t in LOSS_TOKENS if any(j['loss'] == t for j in jobs)]
    names = [BY_TOKEN[t].paper_name for t in losses]
    lines = ['| Dataset | Metric | ' + ' | '.join(names) + ' |',
             '|---|---|' + '---|' * len(names)]
    for key in DATASETS:
        by_loss = {j['loss']: runs_by_dir.get(j['work_dir']) for j in jobs
                   if j['dataset'] == key}
        if not by_loss:
            continue
        for metric in ('IoU', 'PA'):
            cells = []
            for token in losses:
                run = by_loss.get(token)
                value = run.last().get(metric) if run and run.last() else None
                text = fmt_mean_std([value])
                paper = PAPER[key][metric].get(token)
                if paper is not None:
                    text += f' ({paper:.3f})'
                cells.append(text)
            lines.append(f'| {DATASETS[key]["name"]} | {metric} | ' +
                         ' | '.join(cells) + ' |')
    return '\n'.join(lines)


def metafile_entries(path, groups, summaries, repo, config_dirs):
    """A metafile (mmseg's Collections / Models schema, the entries of
    :mod:`.metafile`) holding the trained configs only: Training
    Resources, Memory (GB) and inference time (fps) where the logs have
    them, IoU / PA / OII of the last validation and the best IoU."""
    from collections import OrderedDict as OD
    models, datasets = [], []
    for group, summary in zip(groups, summaries):
        run = group[0]
        config = next((osp.join(d, run.name + '.py') for d in config_dirs
                       if osp.isfile(osp.join(d, run.name + '.py'))),
                      run.config_path)
        model = metafile_model(run.name, repo_relpath(config, repo), run,
                               summary, repo)
        models.append(model)
        if model['Metadata']['Training Data'] not in datasets:
            datasets.append(model['Metadata']['Training Data'])
    collection = OD(COLLECTION)
    collection['Metadata'] = OD([('Training Data', datasets)])
    data = OD([('Collections', [collection]), ('Models', models)])
    with open(path, 'w') as f:
        f.write('# Written by benchmarks/reproduce_paper.py from its work '
                'directories.\n' + yaml_dump(data))
    return data


def write_reports(args, jobs, epochs, interval, echo):
    """report.md (+ report.json), table5.md and metafile.yaml (the trained
    configs; with ``--update-metafile`` also that full metafile); returns
    their paths."""
    done = [j for j in jobs if finished(j, epochs)]
    if not done:
        return {}
    runs = [Run(j['work_dir']) for j in done]
    runs_by_dir = {j['work_dir']: r for j, r in zip(done, runs)}
    groups = group_runs(runs)
    summaries = [summarize(g, 'IoU') for g in groups]
    paths = dict(report=osp.join(args.out, 'report.md'),
                 table5=osp.join(args.out, 'table5.md'),
                 metafile=osp.join(args.out, 'metafile.yaml'))
    text = render_report(summaries, ['best', 'last'], args.out, None, 'IoU',
                         [osp.join(args.repo, 'configs'),
                          osp.join(args.out, 'configs')], args.repo)
    with open(paths['report'], 'w') as f:
        f.write(text)
    with open(osp.join(args.out, 'report.json'), 'w') as f:
        json.dump(summaries, f, indent=1, default=str)
    with open(paths['table5'], 'w') as f:
        f.write('# Table 5 (U-Net), public datasets\n\n'
                f'IoU and PA of the last validation after {epochs} epochs '
                f'(validation every {interval}), one seed; the paper\'s value '
                'in parentheses (its losses tuned per dataset, 2 GPUs x '
                'batch 16). Written by `benchmarks/reproduce_paper.py`.\n\n'
                + table5(jobs, runs_by_dir) + '\n')
    metafile_entries(paths['metafile'], groups, summaries, args.repo,
                     [osp.join(args.repo, 'configs', 'dibe'),
                      osp.join(args.out, 'configs')])
    if args.update_metafile:
        # The full metafile of configs/dibe (every config listed; slow: each
        # config is loaded), results of the stock BCE configs left out.
        keep = [(g, s) for g, s in zip(groups, summaries)
                if not s['name'].startswith('unet-s5-d16_bce_')]
        update_metafile(args.update_metafile,
                        osp.join(args.repo, 'configs', 'dibe'),
                        [g for g, _ in keep], [s for _, s in keep], 2,
                        args.repo)
        paths['updated_metafile'] = args.update_metafile
    return paths


def run(args, echo=None):
    """The whole protocol; ``args`` as parsed by
    ``benchmarks/reproduce_paper.py`` plus ``repo``.

    Returns:
        dict: ``jobs``, ``skipped``, ``plan`` (text), ``reports`` (paths).

    Raises:
        ValueError: for options that do not fit together.
        ReproduceError: if a training fails or a work directory holds
            another schedule.
    """
    echo = echo or (lambda text: print(text, flush=True))
    if args.amp and args.device != 'cuda':
        raise ValueError('--amp needs --device cuda')
    if args.budget_minutes is not None and args.budget_minutes <= 0:
        raise ValueError('--budget-minutes must be positive')
    unknown = [t for t in args.losses if t not in LOSS_TOKENS]
    if unknown:
        raise ValueError(f'unknown loss {unknown}; choose from '
                         f'{list(LOSS_TOKENS)}')
    args.out = osp.abspath(args.out)
    os.makedirs(args.out, exist_ok=True)
    jobs, skipped = plan_jobs(args)
    if not jobs:
        for key, root, command in skipped:
            echo(f'skipped {DATASETS[key]["name"]}: no converted data in '
                 f'{root}; get it from {DATASETS[key]["source"]} and run '
                 f'`{command}`')
        raise ValueError('no dataset to train: convert one first (see '
                         'above) or point --data-root at the converted data')
    fixed = None
    if not args.budget_minutes or args.quick:
        fixed = choose_schedule(args, jobs, {})[:2]
    timings = measure(args, jobs, echo, fixed)
    epochs, interval, note = choose_schedule(args, jobs, timings)
    plan, total = format_plan(args, jobs, skipped, timings, epochs, interval,
                              note)
    echo(plan)
    with open(osp.join(args.out, 'plan.md'), 'w') as f:
        f.write(plan + '\n')
    result = dict(jobs=jobs, skipped=skipped, plan=plan, expected_s=total,
                  reports={})
    if args.plan_only:
        return result
    start = time.time()
    for i, job in enumerate(jobs, 1):
        if not job.get('probe'):
            run_job(args, job, epochs, interval, echo)
        what = ('trained as the probe' if job.get('probe') else
                'done before, skipped' if job.get('skipped') else
                f'{job["seconds"]:.0f} s (expected {job["expected_s"]:.0f})'
                + (', resumed' if job.get('resumed') else ''))
        echo(f'[{i}/{len(jobs)}] {job["name"]}: {what}')
    elapsed = time.time() - start
    result['reports'] = write_reports(args, jobs, epochs, interval, echo)
    echo(f'reproduce_paper: trainings took {elapsed / 60:.1f} min '
         f'(expected {total / 60:.1f}); ' + ', '.join(
             f'{k}: {v}' for k, v in result['reports'].items()))
    result['elapsed_s'] = elapsed
    return result
