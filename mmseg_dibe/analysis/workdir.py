"""Reading mmengine work directories: runs, scalars, configs, checkpoints.

A work directory is what ``tools/train.py --work-dir D`` leaves behind:

* ``D/<config name>.py``: the config as the run saw it (mmengine's dump);
* ``D/<timestamp>/<timestamp>.log``: the text log, whose header names the
  device (``CUDA available``, ``GPU 0: <name>``);
* ``D/<timestamp>/vis_data/scalars.json`` (LocalVisBackend) and
  ``D/<timestamp>/vis_data/<timestamp>.json`` (LoggerHook): one JSON object
  per line. Train lines carry ``loss``, ``lr``, ``iter``, ``time``,
  ``data_time`` and, on a GPU, ``memory`` (MB); validation lines carry the
  metric keys of ``OIIMetric`` (``IoU``, ``PA``, ``OII``, ``FP/FN``, ``TP``,
  ...) with ``time``/``data_time`` of the validation loop and ``step`` (the
  iteration, or the epoch when ``log_metric_by_epoch`` is on);
* checkpoints ``iter_N.pth`` / ``epoch_N.pth`` and ``last_checkpoint``.

Both JSON files are read by :func:`read_json_lines`: the report and the
curves through :class:`Run`, the offline α search through
:func:`read_final_metrics`.

A work directory kept without its ``<timestamp>`` folders (committed
results, trimmed to their config and summaries) is still readable when it
holds :data:`VALIDATION_FILE`, the validation records of the training that
:func:`save_validation_records` wrote at its end: :class:`Run` then has
``val`` (no ``train``) and :func:`read_final_metrics` reads its last record.
"""
import glob
import json
import math
import os
import os.path as osp
import re
from typing import Dict, List, Optional, Sequence

from mmseg_dibe.engine.atomic_io import atomic_write_text
from mmseg_dibe.losses.catalog import paper_name

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
#: Metrics :func:`read_final_metrics` copies from the final validation.
FINAL_METRICS = ('IoU', 'PA', 'Recall', 'Dice', 'OII', 'FP/FN')

TIMESTAMP_RE = re.compile(r'^\d{8}_\d{6}$')
#: The compact copy of a training's validation records (see the module
#: docstring): ``{"source": ..., "records": [{"iter": ..., "IoU": ...}]}``.
VALIDATION_FILE = 'validation_records.json'


def finite(value) -> bool:
    """Whether ``value`` is a finite int or float."""
    return isinstance(value, (int, float)) and math.isfinite(value)


def read_json_lines(path: str) -> List[dict]:
    """Read a JSON-lines scalar log (``scalars.json``, ``<timestamp>.json``).

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


def cfg_get(d: dict, dotted: str, default=None):
    """``d[a][b][c]`` for ``dotted = 'a.b.c'``; ``default`` if missing."""
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
                sessions.append((read_json_lines(scalars),
                                 log if osp.isfile(log) else None))
        if not sessions:
            kept = read_validation_records(self.work_dir)
            if kept is None:
                raise FileNotFoundError(
                    f'{self.work_dir}: no <timestamp>/vis_data/scalars.json '
                    f'and no {VALIDATION_FILE}; did the training log '
                    'anything?')
            self.val = kept
            return
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
        by_epoch = bool(cfg_get(self.cfg, 'default_hooks.logger.'
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
        return cfg_get(self.cfg, 'randomness.seed')

    def group_key(self) -> str:
        """Identical for runs whose configs differ only in the seed."""
        cfg = {k: v for k, v in self.cfg.items() if k not in SEED_ONLY_KEYS}
        randomness = dict(cfg.get('randomness') or {})
        randomness.pop('seed', None)
        cfg['randomness'] = randomness
        return json.dumps(cfg, sort_keys=True, default=str)

    def method(self) -> str:
        backbone = cfg_get(self.cfg, 'model.backbone.type', '')
        head = cfg_get(self.cfg, 'model.decode_head.type', '')
        if backbone == 'UNet':
            return 'UNet'
        return HEAD_METHODS.get(head, head or '-')

    def backbone(self) -> str:
        bb = cfg_get(self.cfg, 'model.backbone', {}) or {}
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
        losses = cfg_get(self.cfg, 'model.decode_head.loss_decode', [])
        return list(losses) if isinstance(losses, (list, tuple)) else \
            [losses]

    def loss(self) -> str:
        """The paper's short loss name with α when the loss has one."""
        parts = []
        for loss in self.losses():
            if not isinstance(loss, dict):
                continue
            name = paper_name(loss)
            if 'alpha' in loss:
                name += f' (α={loss["alpha"]:g})'
            parts.append(name)
        return ' + '.join(parts) or '-'

    def crop_size(self) -> str:
        size = self.cfg.get('crop_size') or cfg_get(
            self.cfg, 'model.data_preprocessor.size')
        return 'x'.join(str(s) for s in size) if size else '-'

    def batch_size(self) -> Optional[int]:
        batch = cfg_get(self.cfg, 'train_dataloader.batch_size')
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
        ds = cfg_get(self.cfg, 'train_dataloader.dataset', {}) or {}
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
        batch = cfg_get(self.cfg, 'val_dataloader.batch_size', 1) or 1
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
        scored = [r for r in self.val if finite(r.get(key))]
        return max(scored, key=lambda r: r[key]) if scored else None

    def last(self) -> Optional[dict]:
        return self.val[-1] if self.val else None

    def checkpoints(self) -> List[str]:
        return sorted(glob.glob(osp.join(self.work_dir, '*.pth')))


class ConfigOnly(Run):
    """A :class:`Run` view of a config file that has not been trained.

    Args:
        config (str): The config file.
        num_gpus (int): Processes it is meant to train with (its total
            batch is this times the config's batch).
    """

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


def has_scalar_logs(work_dir: str) -> bool:
    """Whether ``work_dir`` has a ``<timestamp>/vis_data/scalars.json``."""
    return osp.isdir(work_dir) and any(
        osp.isfile(osp.join(d, 'vis_data', 'scalars.json'))
        for d in _timestamp_dirs(work_dir))


def find_work_dirs(root: str) -> List[str]:
    """Work directories at or below ``root`` (those with a timestamp dir
    holding ``vis_data/scalars.json``)."""
    return sorted(dirpath for dirpath, _, _ in os.walk(root)
                  if has_scalar_logs(dirpath))


def load_runs(work_dirs: Sequence[str], recursive: bool = False) -> List[Run]:
    """A :class:`Run` per work directory.

    Args:
        work_dirs (Sequence[str]): Work directories, or with ``recursive``
            directories holding work directories.
        recursive (bool): Use every work directory found below each one.

    Raises:
        FileNotFoundError: If a directory is missing, is not a work
            directory, or (``recursive``) holds none.
        ValueError: If a scalar log is corrupt.
    """
    dirs = []
    for work_dir in work_dirs:
        if not recursive:
            dirs.append(work_dir)
            continue
        found = find_work_dirs(work_dir)
        if not found:
            raise FileNotFoundError(f'no work directory below {work_dir}')
        dirs += found
    return [Run(d) for d in dirs]


def read_final_metrics(work_dir: str, metric: str = 'OII') -> Dict:
    """The last validation metrics mmengine logged in ``work_dir``.

    Reads the JSON scalar logs ``work_dir/<timestamp>/vis_data/<timestamp>
    .json`` (one per run, resumed runs included), takes the last line that
    holds ``metric`` (or ``<prefix>/<metric>``) in the newest log that has
    one, and the other :data:`FINAL_METRICS` with the same prefix.

    Args:
        work_dir (str): A training's work directory.
        metric (str): OII key without prefix. Defaults to ``'OII'``.

    Returns:
        dict: ``OII``, ``IoU``, ``PA``, ... (those present), ``iter`` (the
        logged step of that validation) and ``log`` (the file read).

    Raises:
        FileNotFoundError: If no log line holds the metric.
    """
    logs = sorted(
        p for p in glob.glob(osp.join(work_dir, '*', 'vis_data', '*.json'))
        if osp.basename(p) != 'scalars.json')
    if not logs:
        kept = [r for r in read_validation_records(work_dir) or []
                if metric in r]
        if kept:
            out = {k: kept[-1][k] for k in (metric, ) + FINAL_METRICS
                   if k in kept[-1]}
            out['OII'] = out.pop(metric)
            out.update(iter=kept[-1].get('iter'), log=VALIDATION_FILE)
            return out
    for path in reversed(logs):
        last = None
        for entry in read_json_lines(path):
            keys = [k for k in entry
                    if k == metric or k.endswith('/' + metric)]
            if keys:
                last = (entry, keys[0][:-len(metric)])
        if last is None:
            continue
        entry, prefix = last
        out = {'iter': entry.get('step')}
        for name in dict.fromkeys((metric, ) + FINAL_METRICS):
            if prefix + name in entry:
                out[name] = entry[prefix + name]
        out['OII'] = out.pop(metric)
        out['log'] = osp.relpath(path, work_dir)
        return out
    raise FileNotFoundError(
        f'no validation result with key {metric!r} in {work_dir}/*/vis_data/'
        f'*.json or {VALIDATION_FILE}: the config needs OIIMetric in val_evaluator, a validation '
        'at the end of training and a LocalVisBackend (mmseg default)')


def save_validation_records(work_dir: str, source: str = 'log') -> str:
    """Write :data:`VALIDATION_FILE` in ``work_dir`` from its logs, so that
    the directory stays readable when its ``<timestamp>`` folders are not
    kept.

    Args:
        work_dir (str): A finished training's work directory.
        source (str): Where the records came from (kept in the file).

    Returns:
        str: The file written.
    """
    return write_validation_records(work_dir, Run(work_dir).val, source)


def write_validation_records(work_dir: str, records: Sequence[dict],
                             source: str) -> str:
    """Write ``records`` (each with ``iter``) as :data:`VALIDATION_FILE`.

    Raises:
        ValueError: If a record has no ``iter``.
    """
    for r in records:
        if 'iter' not in r:
            raise ValueError(f'{work_dir}: validation record without '
                             f'"iter": {r}')
    path = osp.join(work_dir, VALIDATION_FILE)
    atomic_write_text(path, json.dumps(
        dict(source=source, records=list(records)), indent=1) + '\n')
    return path


def read_validation_records(work_dir: str) -> Optional[List[dict]]:
    """The records of :data:`VALIDATION_FILE` sorted by ``iter``; None
    when the file is not there.

    Raises:
        ValueError: If the file is not such a record.
    """
    path = osp.join(work_dir, VALIDATION_FILE)
    if not osp.isfile(path):
        return None
    with open(path) as f:
        data = json.load(f)
    records = data.get('records') if isinstance(data, dict) else None
    if not isinstance(records, list) or not all(
            isinstance(r, dict) and 'iter' in r for r in records):
        raise ValueError(f'{path}: expected {{"records": [{{"iter": ...}}'
                         ', ...]}}')
    return sorted(records, key=lambda r: r['iter'])
