"""Model-zoo tables and metafile entries from mmengine work directories.

    python tools/analysis/report.py WORK_DIR [WORK_DIR ...] \
        [--out results.md] [--metafile configs/dibe/metafile.yaml] \
        [--configs-dir configs/dibe] [--results best last] [--best-key IoU]

A work directory is what ``tools/train.py --work-dir D`` leaves behind:

* ``D/<config name>.py``: the config as the run saw it (mmengine's dump);
* ``D/<timestamp>/<timestamp>.log``: the text log, whose header names the
  device (``CUDA available``, ``GPU 0: <name>``);
* ``D/<timestamp>/vis_data/scalars.json``: one JSON object per line. Train
  lines carry ``loss``, ``lr``, ``iter``, ``time``, ``data_time`` and, on a
  GPU, ``memory`` (MB); validation lines carry the metric keys of
  ``OIIMetric`` (``IoU``, ``PA``, ``OII``, ``FP/FN``, ``TP``, ...) with
  ``time``/``data_time`` of the validation loop and ``step`` (the iteration,
  or the epoch when ``log_metric_by_epoch`` is on);
* checkpoints ``iter_N.pth`` / ``epoch_N.pth`` and ``last_checkpoint``.

Work directories whose configs differ only in ``randomness.seed`` are one
row: each metric is shown as mean ± sample standard deviation over the seeds.

Columns:

* Mem (GB): the largest ``memory`` scalar of training (MB, mmengine's
  ``torch.cuda.max_memory_allocated``) / 1024. CPU runs log none: ``-``.
* Inf time (fps): ``batch_size / (time - data_time)`` of the validation loop,
  averaged over every validation of the run. ``time`` is mmengine's
  per-iteration wall time and ``data_time`` its data-loading part, so this is
  the throughput of the forward pass plus the metric's ``process`` on the
  device the run used, without data loading (mmseg's ``benchmark.py`` also
  leaves loading out). Indicative only on a shared machine.
* Device: from the log header: ``<n>x <GPU name>`` when CUDA was used, else
  ``CPU`` (``<n>x CPU`` for a distributed CPU run).

With ``--metafile`` the file is (re)written in mmseg's Collections/Models
schema: one Model per config under ``--configs-dir`` (so it lists every
config) and, for configs with a run given here, ``Results.Metrics`` holding
IoU, PA and OII of the last validation (mean over seeds) and the best IoU.
Results already in the file for configs without a run here are kept.
"""
import argparse
import glob
import json
import math
import os
import os.path as osp
import re
import sys
from collections import OrderedDict
from typing import Dict, List, Optional, Sequence

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))

#: Metrics shown in the tables, in this order.
TABLE_METRICS = ('IoU', 'PA', 'OII')

#: Registered loss type -> the paper's short name.
LOSS_NAMES = {
    'DIBELoss': 'DIBE',
    'DIBERegLoss': 'DIBE_Reg',
    'DIBEDisLoss': 'DIBE_Dis',
    'FocalTverskyLoss': 'FT',
    'HybridFocalLoss': 'HF',
    'BinaryTverskyLoss': 'Tversky',
    'BinaryDiceLoss': 'Dice',
    'BinaryFocalLoss': 'Focal',
    'WBCELoss': 'WBCE',
    'ComboLoss': 'Combo',
    'ExpLogLoss': 'EL',
}
#: Decode head type -> method name (the backbone decides for U-Net).
HEAD_METHODS = {
    'ASPPHead': 'DeepLabV3',
    'DepthwiseSeparableASPPHead': 'DeepLabV3+',
    'PSPHead': 'PSPNet',
    'SegNetHead': 'SegNet',
    'FCNHead': 'FCN',
    'UPerHead': 'UPerNet',
}
#: Dataset type -> name in the tables (MTSDD also shows its subset).
DATASET_NAMES = {
    'SyntheticCrackDataset': 'Synthetic crack',
    'MTSDDDataset': 'MTSDD',
    'THCDataset': 'THC',
    'CFDDataset': 'CFD',
}
#: Config keys that do not make two runs different experiments.
SEED_ONLY_KEYS = ('work_dir', 'resume', 'load_from', 'launcher')

TIMESTAMP_RE = re.compile(r'^\d{8}_\d{6}$')


# --------------------------------------------------------------------------
# Reading one work directory
# --------------------------------------------------------------------------
def read_scalars(path: str) -> List[dict]:
    """Read a ``scalars.json`` (one JSON object per line).

    Args:
        path (str): The file.

    Returns:
        list[dict]: The records in file order; a last line cut short by a
        killed run is skipped.
    """
    records = []
    with open(path) as f:
        lines = f.read().splitlines()
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            if number == len(lines):
                continue  # a run killed while writing its last line
            raise ValueError(f'{path}: line {number} is not JSON: '
                             f'{line[:80]!r}')
    return records


def parse_log_header(path: str) -> dict:
    """Device facts from the environment header of an mmengine text log.

    Args:
        path (str): ``<timestamp>.log``.

    Returns:
        dict: ``cuda`` (bool or None when the header is missing), ``gpus``
        (list of GPU names), ``world_size`` (int), ``iters_per_epoch``
        (int or None, from ``Epoch(train) [e][i/N]`` lines).
    """
    info = dict(cuda=None, gpus=[], world_size=1, iters_per_epoch=None)
    with open(path, errors='replace') as f:
        text = f.read()
    match = re.search(r'CUDA available:\s*(True|False)', text)
    if match:
        info['cuda'] = match.group(1) == 'True'
    for ids, name in re.findall(r'^\s*GPU ([\d,]+):\s*(.+?)\s*$', text,
                                re.MULTILINE):
        info['gpus'].extend([name] * len(ids.split(',')))
    match = re.search(r'World size:\s*(\d+)', text) or \
        re.search(r'GPU number:\s*(\d+)', text)
    if match:
        info['world_size'] = int(match.group(1))
    match = re.search(r'Epoch\(train\)\s*\[\s*\d+\]\[\s*\d+/(\d+)\]', text)
    if match:
        info['iters_per_epoch'] = int(match.group(1))
    return info


def _timestamp_dirs(work_dir: str) -> List[str]:
    dirs = [d for d in os.listdir(work_dir)
            if TIMESTAMP_RE.match(d) and osp.isdir(osp.join(work_dir, d))]
    return [osp.join(work_dir, d) for d in sorted(dirs)]


def _dumped_config(work_dir: str, ts_dirs: Sequence[str]) -> str:
    candidates = [p for p in glob.glob(osp.join(work_dir, '*.py'))]
    if candidates:
        # Several configs trained into one directory: the newest wins.
        return max(candidates, key=osp.getmtime)
    for ts_dir in reversed(ts_dirs):
        path = osp.join(ts_dir, 'vis_data', 'config.py')
        if osp.isfile(path):
            return path
    raise FileNotFoundError(
        f'{work_dir}: no dumped config (<config name>.py) in the work '
        f'directory; is it an mmengine work directory?')


def load_config_dict(path: str) -> dict:
    """Load a config file as a plain dict without importing its plugins.

    ``custom_imports`` are not imported: the report reads numbers, it does
    not build models, so it works without the packages a run used.
    """
    from mmengine.config import Config
    cfg = Config.fromfile(path, import_custom_modules=False)
    return cfg.to_dict()


def _get(d, dotted, default=None):
    for part in dotted.split('.'):
        if not isinstance(d, dict) or part not in d:
            return default
        d = d[part]
    return d


class Run:
    """Everything the report needs from one work directory.

    Args:
        work_dir (str): An mmengine work directory.

    Attributes:
        name (str): The config name (the dumped config's file stem).
        cfg (dict): The dumped config.
        train (list[dict]): Train scalar records, ``iter`` set.
        val (list[dict]): Validation records; ``iter`` is the training
            iteration after which the validation ran.
        log_path (str): The text log of the (last) training session.
    """

    def __init__(self, work_dir: str):
        if not osp.isdir(work_dir):
            raise FileNotFoundError(f'work directory {work_dir} not found')
        self.work_dir = osp.normpath(work_dir)
        ts_dirs = _timestamp_dirs(self.work_dir)
        self.config_path = _dumped_config(self.work_dir, ts_dirs)
        self.name = osp.splitext(osp.basename(self.config_path))[0]
        if self.name == 'config':  # only vis_data/config.py was there
            self.name = osp.basename(self.work_dir)
        self.cfg = load_config_dict(self.config_path)
        self.train, self.val = [], []
        self.log_path = None
        self.log_info = dict(cuda=None, gpus=[], world_size=1,
                             iters_per_epoch=None)
        sessions = []
        for ts_dir in ts_dirs:
            scalars = osp.join(ts_dir, 'vis_data', 'scalars.json')
            log = osp.join(ts_dir, osp.basename(ts_dir) + '.log')
            if osp.isfile(scalars):
                sessions.append((read_scalars(scalars),
                                 log if osp.isfile(log) else None))
        if not sessions:
            raise FileNotFoundError(
                f'{self.work_dir}: no <timestamp>/vis_data/scalars.json; '
                f'did the training log anything?')
        for records, log in sessions:
            # A resumed training starts a new timestamp directory and
            # repeats nothing before its resume point; later sessions win.
            if log is not None:
                self.log_path = log
                self.log_info = parse_log_header(log)
            self._add_session(records)
        self.train.sort(key=lambda r: r['iter'])
        self.val.sort(key=lambda r: r['iter'])

    def _add_session(self, records: List[dict]) -> None:
        by_epoch = bool(_get(self.cfg, 'default_hooks.logger.'
                             'log_metric_by_epoch', True))
        train = [r for r in records if 'loss' in r or 'lr' in r]
        val = [r for r in records if not ('loss' in r or 'lr' in r)
               and any(k in r for k in ('IoU', 'OII', 'mIoU', 'aAcc'))]
        per_epoch = self.log_info.get('iters_per_epoch')
        last_iter_of_epoch = {}
        for r in train:
            r.setdefault('iter', r.get('step'))
            if 'epoch' in r:
                last_iter_of_epoch[r['epoch']] = max(
                    r['iter'], last_iter_of_epoch.get(r['epoch'], 0))
        for r in val:
            step = r.get('step', 0)
            if by_epoch and train and 'epoch' in train[0]:
                # Validation after epoch e ran at iteration e * len(loader).
                r['epoch'] = step
                r['iter'] = (step * per_epoch if per_epoch else
                             last_iter_of_epoch.get(step, step))
            else:
                r['iter'] = step
        done = {r['iter'] for r in train}
        self.train = [r for r in self.train if r['iter'] not in done] + train
        done = {r['iter'] for r in val}
        self.val = [r for r in self.val if r['iter'] not in done] + val

    # ----------------------------------------------------------------- facts
    @property
    def seed(self):
        return _get(self.cfg, 'randomness.seed')

    def group_key(self) -> str:
        """Identical for runs whose configs differ only in the seed."""
        cfg = {k: v for k, v in self.cfg.items() if k not in SEED_ONLY_KEYS}
        randomness = dict(cfg.get('randomness') or {})
        randomness.pop('seed', None)
        cfg['randomness'] = randomness
        return json.dumps(cfg, sort_keys=True, default=str)

    def method(self) -> str:
        backbone = _get(self.cfg, 'model.backbone.type', '')
        head = _get(self.cfg, 'model.decode_head.type', '')
        if backbone == 'UNet':
            return 'UNet'
        return HEAD_METHODS.get(head, head or '-')

    def backbone(self) -> str:
        bb = _get(self.cfg, 'model.backbone', {}) or {}
        kind = bb.get('type', '-')
        if kind == 'UNet':
            stages = bb.get('num_stages', 5)
            downsamples = 2 ** sum(bool(d) for d in bb.get(
                'downsamples', [True] * (stages - 1)))
            name = f'UNet-S{stages}-D{downsamples}'
            width = bb.get('base_channels', 64)
            return name if width == 64 else f'{name} (w{width})'
        if kind in ('ResNetV1c', 'ResNet', 'ResNetV1d'):
            strides = bb.get('strides', (1, 2, 2, 2))
            stride = 4
            for s in strides:
                stride *= s
            return f'R-{bb.get("depth", "?")}-D{stride}'
        if kind == 'SegNetEncoder':
            channels = tuple(bb.get('stage_channels', ()))
            base = 'VGG16-BN'
            return base if channels in ((), (64, 128, 256, 512, 512)) else \
                f'{base} (w{channels[0]})'
        return kind

    def losses(self) -> List[dict]:
        losses = _get(self.cfg, 'model.decode_head.loss_decode', [])
        return list(losses) if isinstance(losses, (list, tuple)) else \
            [losses]

    def loss(self) -> str:
        """The paper's short loss name with α when the loss has one."""
        parts = []
        for loss in self.losses():
            if not isinstance(loss, dict):
                continue
            name = LOSS_NAMES.get(loss.get('type'), loss.get('type', '?'))
            if 'alpha' in loss:
                name += f' (α={loss["alpha"]:g})'
            parts.append(name)
        return ' + '.join(parts) or '-'

    def crop_size(self) -> str:
        size = self.cfg.get('crop_size') or _get(
            self.cfg, 'model.data_preprocessor.size')
        return 'x'.join(str(s) for s in size) if size else '-'

    def batch_size(self) -> Optional[int]:
        batch = _get(self.cfg, 'train_dataloader.batch_size')
        return batch * self.log_info['world_size'] if batch else None

    def schedule(self) -> str:
        loop = self.cfg.get('train_cfg') or {}
        if 'max_epochs' in loop:
            text = f'{loop["max_epochs"]}e'
        elif 'max_iters' in loop:
            iters = loop['max_iters']
            text = (f'{iters // 1000}k it' if iters >= 1000 and
                    iters % 1000 == 0 else f'{iters} it')
        else:
            text = '-'
        batch = self.batch_size()
        return f'{text}, bs {batch}' if batch else text

    def dataset(self) -> str:
        ds = _get(self.cfg, 'train_dataloader.dataset', {}) or {}
        while ds.get('type') in ('RepeatDataset', 'ConcatDataset') and \
                'dataset' in ds:
            ds = ds['dataset']
        kind = ds.get('type', '-')
        name = DATASET_NAMES.get(kind, kind)
        root = osp.basename(str(ds.get('data_root', '')).rstrip('/'))
        if kind == 'THCDataset' and re.fullmatch(r'thc\d+', root.lower()):
            name = root.upper()  # THC448 / THC224 / THC112 (crop sizes)
        if ds.get('subset'):
            name += f' {ds["subset"]}'
        return name

    def memory_gb(self) -> Optional[float]:
        mem = [r['memory'] for r in self.train if 'memory' in r]
        return max(mem) / 1024 if mem else None

    def fps(self) -> Optional[float]:
        batch = _get(self.cfg, 'val_dataloader.batch_size', 1) or 1
        times = [r['time'] - r.get('data_time', 0.0) for r in self.val
                 if 'time' in r]
        times = [t for t in times if t > 0]
        return batch * len(times) / sum(times) if times else None

    def device(self) -> str:
        info = self.log_info
        n = info['world_size']
        if info['cuda'] and info['gpus']:
            name = info['gpus'][0]
            return f'{n}x {name}' if n > 1 else name
        if info['cuda'] is None:
            return '-'
        return f'{n}x CPU' if n > 1 else 'CPU'

    def best(self, key: str = 'IoU') -> Optional[dict]:
        """The validation record with the largest ``key`` (first on ties)."""
        scored = [r for r in self.val if _finite(r.get(key))]
        return max(scored, key=lambda r: r[key]) if scored else None

    def last(self) -> Optional[dict]:
        return self.val[-1] if self.val else None

    def checkpoints(self) -> List[str]:
        return sorted(glob.glob(osp.join(self.work_dir, '*.pth')))


def _finite(value) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value)


# --------------------------------------------------------------------------
# Groups of seeds and their statistics
# --------------------------------------------------------------------------
def mean_std(values: Sequence[float]):
    """Mean and sample standard deviation (0 for one value) of the finite
    values; ``(None, None)`` when there are none."""
    values = [float(v) for v in values if _finite(v)]
    if not values:
        return None, None
    mean = sum(values) / len(values)
    if len(values) == 1:
        return mean, 0.0
    var = sum((v - mean) ** 2 for v in values) / (len(values) - 1)
    return mean, math.sqrt(var)


def fmt_mean_std(values: Sequence[float], digits: int = 3) -> str:
    mean, std = mean_std(values)
    if mean is None:
        return '-'
    finite = [v for v in values if _finite(v)]
    if len(finite) == 1:
        return f'{mean:.{digits}f}'
    return f'{mean:.{digits}f} ± {std:.{digits}f}'


def group_runs(runs: Sequence[Run]) -> List[List[Run]]:
    """Group runs whose configs differ only in the seed (input order kept)."""
    groups: 'OrderedDict[str, List[Run]]' = OrderedDict()
    for run in runs:
        groups.setdefault(run.group_key(), []).append(run)
    return [sorted(g, key=lambda r: (r.seed is None, r.seed))
            for g in groups.values()]


def summarize(group: Sequence[Run], best_key: str = 'IoU') -> dict:
    """The numbers of one table row (one config, one or more seeds)."""
    first = group[0]
    best = [r.best(best_key) for r in group]
    last = [r.last() for r in group]
    mems = [r.memory_gb() for r in group]
    fps = [r.fps() for r in group]
    summary = dict(
        name=first.name, dataset=first.dataset(), method=first.method(),
        backbone=first.backbone(), loss=first.loss(),
        crop_size=first.crop_size(), schedule=first.schedule(),
        batch_size=first.batch_size(), device=first.device(),
        seeds=[r.seed for r in group], work_dirs=[r.work_dir for r in group],
        logs=[r.log_path for r in group], config=first.config_path,
        memory_gb=max((m for m in mems if m is not None), default=None),
        fps=mean_std([f for f in fps if f is not None])[0],
        best={}, last={}, best_iter=[r['iter'] for r in best if r],
        last_iter=[r['iter'] for r in last if r])
    for key in TABLE_METRICS:
        summary['best'][key] = [r.get(key) for r in best if r]
        summary['last'][key] = [r.get(key) for r in last if r]
    return summary


# --------------------------------------------------------------------------
# Markdown
# --------------------------------------------------------------------------
def _link(target: Optional[str], text: str, out_dir: str,
          link_root: Optional[str]) -> str:
    if not target:
        return '-'
    if link_root:
        rel = osp.relpath(osp.abspath(target), REPO).replace(os.sep, '/')
        return f'[{text}]({link_root.rstrip("/")}/{rel})'
    rel = osp.relpath(osp.abspath(target), osp.abspath(out_dir))
    return f'[{text}]({rel.replace(os.sep, "/")})'


def find_source_config(name: str, search_dirs: Sequence[str]) -> \
        Optional[str]:
    """The config file ``<name>.py`` in the repository, if there is one."""
    for root in search_dirs:
        hits = sorted(glob.glob(osp.join(root, '**', name + '.py'),
                                recursive=True))
        if hits:
            return hits[0]
    return None


def markdown_tables(summaries: Sequence[dict], which: Sequence[str],
                    out_dir: str, link_root: Optional[str] = None,
                    best_key: str = 'IoU',
                    config_dirs: Sequence[str] = ()) -> str:
    """One Markdown table per dataset and per ``which`` (best / last)."""
    header = ('| Method | Backbone | Loss | Crop size | Schedule | Mem (GB) '
              '| Inf time (fps) | Device | Seeds | IoU | PA | OII '
              '| config | log |')
    rule = '|' + '---|' * 14
    datasets = OrderedDict()
    for s in summaries:
        datasets.setdefault(s['dataset'], []).append(s)
    lines = []
    for dataset, rows in datasets.items():
        for kind in which:
            title = (f'best validation (largest {best_key})'
                     if kind == 'best' else 'last validation')
            lines += [f'### {dataset}: {title}', '', header, rule]
            for s in rows:
                source = find_source_config(s['name'], config_dirs)
                config = _link(source or s['config'], 'config', out_dir,
                               link_root)
                if len(s['logs']) == 1:
                    logs = _link(s['logs'][0], 'log', out_dir, link_root)
                else:
                    logs = 'log ' + ' '.join(
                        _link(log, f'{seed}', out_dir, link_root)
                        for seed, log in zip(s['seeds'], s['logs']))
                mem = (f'{s["memory_gb"]:.2f}'
                       if s['memory_gb'] is not None else '-')
                fps = f'{s["fps"]:.1f}' if s['fps'] is not None else '-'
                seeds = ', '.join(str(seed) for seed in s['seeds'])
                metrics = [fmt_mean_std(s[kind][k]) for k in TABLE_METRICS]
                lines.append(
                    '| ' + ' | '.join([
                        s['method'], s['backbone'], s['loss'], s['crop_size'],
                        s['schedule'], mem, fps, s['device'], seeds, *metrics,
                        config, logs
                    ]) + ' |')
            lines.append('')
    return '\n'.join(lines)


def render_report(summaries: Sequence[dict], which: Sequence[str],
                  out_dir: str, link_root=None, best_key='IoU',
                  config_dirs: Sequence[str] = ()) -> str:
    intro = [
        '# Results', '',
        'IoU (Eq. 20), PA (Eq. 21, precision) and OII (Eq. 13-15) of the '
        'target class on the validation set, as fractions. Runs that differ '
        'only in the seed are one row: mean ± sample std over the seeds. '
        'Mem: peak training memory (GPU only). Inf time: validation images '
        'per second without data loading. Generated by '
        '`tools/analysis/report.py`.', ''
    ]
    return '\n'.join(intro) + '\n' + markdown_tables(
        summaries, which, out_dir, link_root, best_key, config_dirs)


# --------------------------------------------------------------------------
# Metafile
# --------------------------------------------------------------------------
COLLECTION = OrderedDict([
    ('Name', 'DIBE'),
    ('License', 'Apache License 2.0'),
    ('Metadata', OrderedDict([('Training Data', [])])),
    ('Paper', OrderedDict([
        ('Title', 'Harmonizing Output Imbalance for semantic segmentation '
         'on extremely-imbalanced input data'),
    ])),
    ('README', 'configs/dibe/README.md'),
    ('Frameworks', ['PyTorch']),
])

METAFILE_HEADER = (
    '# Generated by tools/analysis/report.py (--metafile); edit the configs '
    'or\n# rerun the report instead of editing this file. Models without '
    '"Metrics"\n# have no run of this project yet (see configs/dibe/README.md '
    'for the\n# paper\'s numbers).\n')


def _metafile_model(name: str, rel_config: str, run: Optional[Run],
                    summary: Optional[dict]) -> 'OrderedDict':
    meta = OrderedDict()
    meta['Training Data'] = run.dataset()
    batch = run.batch_size()
    if batch:
        meta['Batch Size'] = batch
    meta['Architecture'] = [run.backbone(), run.method()]
    meta['Loss'] = run.loss()
    meta['Crop Size'] = run.crop_size()
    meta['Schedule'] = run.schedule()
    results = OrderedDict([('Task', 'Semantic Segmentation'),
                           ('Dataset', run.dataset())])
    if summary is not None:
        meta['Training Resources'] = summary['device']
        if summary['memory_gb'] is not None:
            meta['Memory (GB)'] = round(summary['memory_gb'], 2)
        if summary['fps'] is not None:
            meta['inference time (fps)'] = round(summary['fps'], 1)
        meta['Seeds'] = list(summary['seeds'])
        metrics = OrderedDict()
        for key in TABLE_METRICS:
            mean, std = mean_std(summary['last'][key])
            if mean is not None:
                metrics[key] = round(mean, 4)
                if len(summary['seeds']) > 1:
                    metrics[f'{key} std'] = round(std, 4)
        mean, _ = mean_std(summary['best']['IoU'])
        if mean is not None:
            metrics['IoU (best)'] = round(mean, 4)
        results['Metrics'] = metrics
    model = OrderedDict([('Name', name), ('In Collection', 'DIBE'),
                         ('Results', results), ('Config', rel_config),
                         ('Metadata', meta)])
    if summary is not None and summary['logs'][0]:
        model['Training log'] = osp.relpath(
            osp.abspath(summary['logs'][0]), REPO).replace(os.sep, '/')
    return model


def _yaml_dump(data) -> str:
    import yaml

    class Dumper(yaml.SafeDumper):
        pass

    def represent_odict(dumper, value):
        return dumper.represent_mapping('tag:yaml.org,2002:map',
                                        value.items())

    Dumper.add_representer(OrderedDict, represent_odict)
    return yaml.dump(data, Dumper=Dumper, sort_keys=False,
                     allow_unicode=True, width=1000)


def update_metafile(path: str, configs_dir: str, groups: Sequence[list],
                    summaries: Sequence[dict], num_gpus: int = 2) -> dict:
    """Write ``path`` listing every config of ``configs_dir``.

    Args:
        path (str): The metafile (read first if it exists).
        configs_dir (str): The directory whose ``*.py`` configs are listed.
        groups (list[list[Run]]): Runs grouped by seed.
        summaries (list[dict]): :func:`summarize` of each group.
        num_gpus (int): Processes a config without a run here is meant for
            (its ``Batch Size`` is this times the config's batch).

    Returns:
        dict: The data written.
    """
    import yaml
    old = {}
    if osp.isfile(path):
        with open(path) as f:
            data = yaml.safe_load(f) or {}
        old = {m['Name']: m for m in data.get('Models', [])}
    by_name = {}
    for group, summary in zip(groups, summaries):
        by_name[group[0].name] = (group[0], summary)
    configs = sorted(glob.glob(osp.join(configs_dir, '*.py')))
    if not configs:
        raise FileNotFoundError(f'no *.py config in {configs_dir}')
    models, datasets = [], []
    for config in configs:
        name = osp.splitext(osp.basename(config))[0]
        rel = osp.relpath(osp.abspath(config), REPO).replace(os.sep, '/')
        if name in by_name:
            run, summary = by_name[name]
        else:
            run, summary = _ConfigOnly(config, num_gpus), None
        model = _metafile_model(name, rel, run, summary)
        if summary is None and name in old:
            # Keep results measured earlier (e.g. on a GPU machine).
            previous = old[name]
            if 'Metrics' in (previous.get('Results') or {}):
                model['Results']['Metrics'] = previous['Results']['Metrics']
            for key in ('Training Resources', 'Memory (GB)',
                        'inference time (fps)', 'Seeds'):
                if key in (previous.get('Metadata') or {}):
                    model['Metadata'][key] = previous['Metadata'][key]
            for key in ('Training log', 'Weights'):
                if key in previous:
                    model[key] = previous[key]
        models.append(model)
        if model['Metadata']['Training Data'] not in datasets:
            datasets.append(model['Metadata']['Training Data'])
    collection = OrderedDict(COLLECTION)
    collection['Metadata'] = OrderedDict([('Training Data', datasets)])
    data = OrderedDict([('Collections', [collection]), ('Models', models)])
    text = METAFILE_HEADER + _yaml_dump(data)
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    with open(path, 'w') as f:
        f.write(text)
    return data


class _ConfigOnly(Run):
    """A :class:`Run` view of a config file that has not been trained."""

    def __init__(self, config: str, num_gpus: int = 2):
        self.work_dir = None
        self.config_path = config
        self.name = osp.splitext(osp.basename(config))[0]
        self.cfg = load_config_dict(config)
        self.train, self.val, self.log_path = [], [], None
        # No run to say how many processes trained it: the configs of
        # configs/dibe state the paper's set-up, 2 GPUs x the batch in the
        # config (Section 4.3.3, total batch 32).
        self.log_info = dict(cuda=None, gpus=[], world_size=num_gpus,
                             iters_per_epoch=None)


# --------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------
def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Model-zoo tables and metafile from work directories')
    parser.add_argument('work_dirs', nargs='*', metavar='WORK_DIR',
                        help='mmengine work directories (tools/train.py '
                        '--work-dir); a directory holding several work '
                        'directories may be given with --recursive')
    parser.add_argument('--recursive', action='store_true',
                        help='also use every work directory found below '
                        'each WORK_DIR')
    parser.add_argument('--out', help='Markdown file to write (default: '
                        'print to stdout)')
    parser.add_argument('--json', help='also write the rows as JSON here')
    parser.add_argument('--metafile',
                        help='metafile to (re)write, e.g. '
                        'configs/dibe/metafile.yaml')
    parser.add_argument('--configs-dir', default=osp.join(REPO, 'configs',
                                                          'dibe'),
                        help='configs the metafile lists (default: '
                        'configs/dibe)')
    parser.add_argument('--num-gpus', type=int, default=2,
                        help='GPUs the configs without a run are meant for '
                        '(metafile Batch Size; the paper used 2)')
    parser.add_argument('--results', nargs='+', choices=['best', 'last'],
                        default=['best', 'last'],
                        help='which validation results to tabulate')
    parser.add_argument('--best-key', default='IoU',
                        help='metric that decides the best validation')
    parser.add_argument('--link-root',
                        help='prefix links with this URL (paths relative to '
                        'the repository) instead of paths relative to --out')
    args = parser.parse_args(argv)
    if not args.work_dirs and not args.metafile:
        parser.error('give WORK_DIRs and/or --metafile')
    return args


def find_work_dirs(root: str) -> List[str]:
    """Work directories at or below ``root`` (those with a timestamp dir
    holding ``vis_data/scalars.json``)."""
    found = []
    for dirpath, dirnames, _ in os.walk(root):
        if any(TIMESTAMP_RE.match(d) and osp.isfile(
                osp.join(dirpath, d, 'vis_data', 'scalars.json'))
               for d in dirnames):
            found.append(dirpath)
    return sorted(found)


def main(argv=None):
    args = parse_args(argv)
    work_dirs = []
    for wd in args.work_dirs:
        if args.recursive:
            found = find_work_dirs(wd)
            if not found:
                raise SystemExit(f'no work directory below {wd}')
            work_dirs += found
        else:
            work_dirs.append(wd)
    runs = []
    for wd in work_dirs:
        try:
            runs.append(Run(wd))
        except (FileNotFoundError, ValueError) as e:
            raise SystemExit(f'report: {e}')
    groups = group_runs(runs)
    summaries = [summarize(g, args.best_key) for g in groups]
    out_dir = osp.dirname(osp.abspath(args.out)) if args.out else os.getcwd()
    config_dirs = [osp.join(REPO, 'configs')]
    if runs:
        text = render_report(summaries, args.results, out_dir,
                             args.link_root, args.best_key, config_dirs)
        if args.out:
            os.makedirs(out_dir, exist_ok=True)
            with open(args.out, 'w') as f:
                f.write(text)
            print(f'report: {len(runs)} runs in {len(groups)} rows '
                  f'-> {args.out}')
        else:
            print(text)
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(summaries, f, indent=1, default=str)
    if args.metafile:
        data = update_metafile(args.metafile, args.configs_dir, groups,
                               summaries, args.num_gpus)
        with_results = sum('Metrics' in m['Results'] for m in data['Models'])
        print(f'metafile: {len(data["Models"])} configs '
              f'({with_results} with results) -> {args.metafile}')


if __name__ == '__main__':
    sys.exit(main())
