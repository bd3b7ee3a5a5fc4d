"""Where one CPU training iteration goes, and which settings speed it up.

Used by ``benchmarks/train_speed.py``. Three measurements:

* :func:`measure_variants`: one :class:`PhaseTrainer` per :class:`Variant`
  (same config, same seed, hence the same initial weights and the same
  batches), stepped in interleaved chunks so that load from other processes
  hits all variants alike; each iteration is timed by phase with
  ``time.perf_counter``: data loading, the data preprocessor, forward (the
  backbone and the heads), loss (``loss_by_feat`` of every head and
  ``parse_losses``), backward, optimizer step (with ``zero_grad``). The
  loop is the body of mmengine's ``BaseModel.train_step`` cut into those
  pieces (:func:`check_manual_step` checks it gives train_step's loss).
* :func:`summarize`: iterations/s per variant and the ratio to the variant
  called ``default`` measured in the same run.
* :func:`long_run`: a real ``Runner.train()`` of a few hundred iterations
  with :class:`IterationRecorder`, which times every iteration and counts
  subnormal (denormal) floats in activations, parameter gradients,
  parameters and momentum buffers every few iterations; :func:`slow_phases`
  finds stretches of slow iterations.
"""
import copy
import math
import os
import os.path as osp
import statistics
import subprocess
import sys
import time
from contextlib import contextmanager
from typing import Callable, Dict, Iterable, List, NamedTuple, Optional

import torch
import torch.nn as nn
from mmengine.hooks import Hook

__all__ = [
    'PHASES', 'Variant', 'default_variants', 'load_train_config',
    'ensure_synthetic_data', 'PhaseTrainer', 'variant_settings',
    'measure_variants', 'summarize', 'format_summary', 'format_phases',
    'check_manual_step', 'IterationRecorder', 'long_run', 'slow_phases',
    'format_long_run', 'count_subnormal', 'environment'
]

#: Phases of one iteration, in order.
PHASES = ('data', 'preprocess', 'forward', 'loss', 'backward', 'step')


class Variant(NamedTuple):
    """One setting compared against the default.

    Attributes:
        name (str): Row name; the reference row is called ``'default'``.
        channels_last (bool): Model and input batch in
            ``torch.channels_last`` memory format.
        threads (int, optional): ``torch.set_num_threads`` while this variant
            runs (None: the process default).
        flush_denormal (bool): ``torch.set_flush_denormal(True)`` while it
            runs.
        compile (bool): ``torch.compile(model.train_step)``, the call
            mmengine's Runner makes for ``cfg.compile=True``; its phases
            after data loading are one, ``train_step``.
    """
    name: str
    channels_last: bool = False
    threads: Optional[int] = None
    flush_denormal: bool = False
    compile: bool = False


def default_variants() -> List[Variant]:
    """default, channels_last, threads=1, threads=2, flush_denormal,
    compile."""
    return [
        Variant('default'),
        Variant('channels_last', channels_last=True),
        Variant('threads=1', threads=1),
        Variant('threads=2', threads=2),
        Variant('flush_denormal', flush_denormal=True),
        Variant('compile', compile=True),
    ]


def ensure_synthetic_data(root: str, make_synthetic: str,
                          num_train: int = 400, num_val: int = 100,
                          size: int = 64, ratio: float = 0.004,
                          seed: int = 0) -> str:
    """Write the synthetic crack dataset with ``make_synthetic`` (the path
    of ``tools/data/make_synthetic.py``) unless ``root`` holds one already.
    The defaults are ``make demo``'s data. RuntimeError with the tool's
    output when it fails."""
    if osp.isdir(osp.join(root, 'img_dir', 'train')):
        return root
    cmd = [sys.executable, make_synthetic, root, '--num-train',
           str(num_train), '--num-val', str(num_val), '--size', str(size),
           '--ratio', str(ratio), '--seed', str(seed)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f'{" ".join(cmd)} failed:\n{proc.stderr[-2000:]}')
    return root


def load_train_config(config: str,
                      data_root: Optional[str] = None,
                      work_dir: Optional[str] = None,
                      seed: int = 0,
                      cfg_options: Optional[dict] = None):
    """Load ``config`` (importing its ``custom_imports``) with the data root,
    work directory and seed replaced.

    Returns:
        mmengine.Config
    """
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    if not osp.isfile(config):
        raise FileNotFoundError(f'config file {config} does not exist')
    cfg = Config.fromfile(config)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    if data_root is not None:
        for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
            if cfg.get(key) is not None:
                cfg[key].dataset.data_root = data_root
    if work_dir is not None:
        cfg.work_dir = work_dir
    cfg.randomness = dict(seed=seed)
    init_default_scope(cfg.get('default_scope', 'mmseg'))
    return cfg


@contextmanager
def variant_settings(variant: Variant):
    """Apply a variant's process-wide settings (threads, flush-denormal)
    and restore the previous ones afterwards."""
    threads = torch.get_num_threads()
    if variant.threads is not None:
        torch.set_num_threads(variant.threads)
    if variant.flush_denormal and not torch.set_flush_denormal(True):
        raise RuntimeError('torch.set_flush_denormal is not supported on '
                           'this CPU (needs SSE3)')
    try:
        yield
    finally:
        if variant.flush_denormal:
            torch.set_flush_denormal(False)
        torch.set_num_threads(threads)


def _add_prefix(losses: dict, prefix: str) -> dict:
    return {f'{prefix}.{k}': v for k, v in losses.items()}


class PhaseTrainer:
    """A model, its optimizer wrapper and a train dataloader built from a
    config, stepped one timed iteration at a time.

    Built with :func:`mmengine.runner.set_random_seed` (``seed``) before the
    model and the dataloader, and every step reseeds the global generators
    (``seed`` + step number, outside the timed region: the data pipeline's
    random transforms and any dropout use them), so two trainers of one
    config start from the same weights and see the same batches, augmented
    the same way, even when their steps are interleaved.

    Args:
        cfg (mmengine.Config): From :func:`load_train_config`.
        variant (Variant): The setting to measure.
        seed (int): Seed of the weights and of the data order.
    """

    def __init__(self, cfg, variant: Variant = Variant('default'),
                 seed: int = 0):
        from mmengine.optim import build_optim_wrapper
        from mmengine.runner import Runner, set_random_seed
        from mmseg.registry import MODELS
        self.variant = variant
        set_random_seed(seed)
        model = MODELS.build(copy.deepcopy(cfg.model))
        model.init_weights()
        if variant.channels_last:
            model = model.to(memory_format=torch.channels_last)
        model.train()
        self.model = model
        self.optim_wrapper = build_optim_wrapper(
            model, copy.deepcopy(cfg.optim_wrapper))
        self.loader = Runner.build_dataloader(
            copy.deepcopy(cfg.train_dataloader), seed=seed)
        self._batches = iter(self.loader)
        self._seed = seed
        self._steps = 0
        self._train_step = None
        if variant.compile:
            # What mmengine's Runner does for cfg.compile=True
            # (Runner._maybe_compile('train_step') with no options).
            self._train_step = torch.compile(model.train_step)
        self.last_loss = float('nan')

    def _heads(self):
        model = self.model
        heads = [('decode', model.decode_head)]
        if getattr(model, 'with_auxiliary_head', False):
            aux = model.auxiliary_head
            if isinstance(aux, nn.ModuleList):
                heads += [(f'aux_{i}', h) for i, h in enumerate(aux)]
            else:
                heads.append(('aux', aux))
        return heads

    def step(self) -> Dict[str, float]:
        """One training iteration; seconds per phase (:data:`PHASES`, or
        ``data`` and ``train_step`` for a compiled variant)."""
        from mmengine.runner import set_random_seed
        set_random_seed(self._seed + self._steps)
        self._steps += 1
        clock = time.perf_counter
        model, optim = self.model, self.optim_wrapper
        t0 = clock()
        data_batch = next(self._batches)
        t1 = clock()
        if self._train_step is not None:
            log_vars = self._train_step(data_batch, optim_wrapper=optim)
            t2 = clock()
            self.last_loss = float(log_vars['loss'])
            return {'data': t1 - t0, 'train_step': t2 - t1}
        with optim.optim_context(model):
            data = model.data_preprocessor(data_batch, True)
            inputs = data['inputs']
            if self.variant.channels_last:
                inputs = inputs.contiguous(memory_format=torch.channels_last)
            samples = data['data_samples']
            t2 = clock()
            feats = model.extract_feat(inputs)
            logits = [(name, head, head(feats))
                      for name, head in self._heads()]
            t3 = clock()
            losses = {}
            for name, head, out in logits:
                losses.update(
                    _add_prefix(head.loss_by_feat(out, samples), name))
        loss, _ = model.parse_losses(losses)
        t4 = clock()
        # OptimWrapper.update_params, cut in two: scale_loss + backward,
        # then step + zero_grad (every iteration: no accumulation here).
        optim.backward(optim.scale_loss(loss))
        t5 = clock()
        optim.step()
        optim.zero_grad()
        t6 = clock()
        self.last_loss = float(loss.detach())
        return {
            'data': t1 - t0,
            'preprocess': t2 - t1,
            'forward': t3 - t2,
            'loss': t4 - t3,
            'backward': t5 - t4,
            'step': t6 - t5,
        }


def check_manual_step(cfg, seed: int = 0) -> tuple:
    """Loss of the first iteration of :meth:`PhaseTrainer.step` and of
    mmengine's ``model.train_step`` on the same weights and batch (they
    should be equal: the timed loop is train_step cut into phases)."""
    manual = PhaseTrainer(cfg, Variant('default'), seed)
    manual.step()
    ref = PhaseTrainer(cfg, Variant('default'), seed)
    from mmengine.runner import set_random_seed
    set_random_seed(seed)  # what PhaseTrainer.step does first
    log_vars = ref.model.train_step(next(ref._batches), ref.optim_wrapper)
    return manual.last_loss, float(log_vars['loss'])


def measure_variants(cfg,
                     variants: Optional[Iterable[Variant]] = None,
                     iters: int = 30,
                     warmup: int = 3,
                     rounds: int = 3,
                     seed: int = 0,
                     progress: Optional[Callable[[str], None]] = None
                     ) -> Dict[str, dict]:
    """Time ``iters`` iterations of every variant after ``warmup``.

    The timed iterations are run in ``rounds`` chunks, the variants taking
    turns (in a rotated order each round), so that a change of machine load
    affects all of them. A variant that raises (e.g. a compile failure) is
    reported with its error and left out of the following rounds.

    Returns:
        dict: variant name -> ``{'variant', 'times': [per-iteration phase
        dicts], 'error': str or None, 'loss': last loss}``.
    """
    variants = list(variants or default_variants())
    results = {v.name: {'variant': v, 'times': [], 'error': None,
                        'loss': float('nan')} for v in variants}
    trainers = {}

    def guarded(v, fn):
        try:
            with variant_settings(v):
                fn()
        except Exception as exc:  # noqa: BLE001  (reported per variant)
            results[v.name]['error'] = (f'{type(exc).__name__}: '
                                        f'{str(exc).strip()[:300]}')

    for v in variants:
        if progress:
            progress(f'building and warming up {v.name}')

        def build_and_warm(v=v):
            trainers[v.name] = PhaseTrainer(cfg, v, seed)
            for _ in range(warmup):
                trainers[v.name].step()

        start = time.perf_counter()
        guarded(v, build_and_warm)
        results[v.name]['warmup_s'] = time.perf_counter() - start
    chunk = max(1, math.ceil(iters / rounds))
    for r in range(rounds):
        order = variants[r % len(variants):] + variants[:r % len(variants)]
        for v in order:
            res = results[v.name]
            if res['error'] is not None:
                continue
            todo = min(chunk, iters - len(res['times']))

            def run_chunk(v=v, res=res, todo=todo):
                for _ in range(todo):
                    res['times'].append(trainers[v.name].step())
                res['loss'] = trainers[v.name].last_loss

            guarded(v, run_chunk)
        if progress:
            progress(f'round {r + 1}/{rounds} done')
    return results


def summarize(results: Dict[str, dict]) -> List[dict]:
    """Per variant: iterations, mean and median ms per iteration,
    iterations/s (iterations / total time) and the ratios of iterations/s
    and of the median to the ``default`` variant (> 1: faster)."""
    rows = []
    for name, res in results.items():
        totals = [sum(t.values()) for t in res['times']]
        row = {'name': name, 'n': len(totals), 'error': res['error'],
               'loss': res['loss']}
        if totals:
            row['mean_ms'] = 1e3 * statistics.fmean(totals)
            row['median_ms'] = 1e3 * statistics.median(totals)
            row['it_s'] = len(totals) / sum(totals)
            row['phases_ms'] = {
                k: 1e3 * statistics.fmean(t[k] for t in res['times'])
                for k in res['times'][0]
            }
        rows.append(row)
    ref = next((r for r in rows if r['name'] == 'default' and r['n']), None)
    for row in rows:
        if ref is not None and row['n']:
            row['ratio'] = row['it_s'] / ref['it_s']
            row['ratio_median'] = ref['median_ms'] / row['median_ms']
    return rows


def format_summary(rows: List[dict]) -> str:
    """The iterations/s table."""
    out = [f'{"variant":<16} {"iters":>5} {"mean ms":>9} {"median ms":>9} '
           f'{"it/s":>7} {"vs default":>10} {"(median)":>9}  loss']
    for r in rows:
        if not r['n']:
            out.append(f'{r["name"]:<16} failed: {r["error"]}')
            continue
        out.append(
            f'{r["name"]:<16} {r["n"]:>5} {r["mean_ms"]:>9.1f} '
            f'{r["median_ms"]:>9.1f} {r["it_s"]:>7.2f} '
            f'{r.get("ratio", float("nan")):>9.2f}x '
            f'{r.get("ratio_median", float("nan")):>8.2f}x  '
            f'{r["loss"]:.4f}' + (f'  ({r["error"]})' if r['error'] else ''))
    return '\n'.join(out)


def format_phases(rows: List[dict]) -> str:
    """Mean ms per phase (share of the iteration) for every variant."""
    keys = list(PHASES) + ['train_step']
    out = [f'{"variant":<16} ' +
           ' '.join(f'{k:>15}' for k in keys) + f' {"total":>8}']
    for r in rows:
        if not r['n']:
            continue
        total = sum(r['phases_ms'].values())
        cells = []
        for k in keys:
            if k in r['phases_ms']:
                ms = r['phases_ms'][k]
                cells.append(f'{ms:8.1f} ({100 * ms / total:3.0f}%)')
            else:
                cells.append(f'{"-":>15}')
        out.append(f'{r["name"]:<16} ' + ' '.join(cells) +
                   f' {total:8.1f}')
    return '\n'.join(out)


# ---------------------------------------------------------------------------
# Long run: per-iteration times and subnormal counts
# ---------------------------------------------------------------------------


def count_subnormal(tensor: torch.Tensor) -> int:
    """Number of subnormal (denormal) entries of a floating-point tensor."""
    if not tensor.is_floating_point() or tensor.numel() == 0:
        return 0
    a = tensor.detach().abs()
    return int(((a > 0) & (a < torch.finfo(tensor.dtype).tiny)).sum())


def _count_outputs(out) -> int:
    if isinstance(out, torch.Tensor):
        return count_subnormal(out)
    if isinstance(out, (list, tuple)):
        return sum(_count_outputs(o) for o in out)
    if isinstance(out, dict):
        return sum(_count_outputs(o) for o in out.values())
    return 0


class IterationRecorder(Hook):
    """mmengine hook: the time of every training iteration (from
    ``before_train_iter`` to ``after_train_iter``: model forward, loss,
    backward and optimizer step, without data loading) and, every
    ``sample_every`` iterations, the number of subnormal floats in module
    outputs (forward), parameter gradients, parameters and SGD momentum
    buffers. Sampled iterations carry the counting cost; :func:`slow_phases`
    can leave them out."""

    priority = 'LOWEST'

    def __init__(self, sample_every: int = 25):
        self.sample_every = int(sample_every)
        self.times: List[float] = []
        self.samples: List[dict] = []
        self._handles = []
        self._current: Optional[dict] = None
        self._start = 0.0

    def _sampled(self, index: int) -> bool:
        return self.sample_every > 0 and index % self.sample_every == 0

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        index = runner.iter
        if self._sampled(index):
            self._current = {'iter': index, 'activations': 0, 'grads': 0}
            model = runner.model
            for module in model.modules():
                if next(module.children(), None) is None:
                    self._handles.append(
                        module.register_forward_hook(self._on_forward))
            for p in model.parameters():
                if p.requires_grad:
                    self._handles.append(p.register_hook(self._on_grad))
        self._start = time.perf_counter()

    def _on_forward(self, module, inputs, output):
        self._current['activations'] += _count_outputs(output)

    def _on_grad(self, grad):
        self._current['grads'] += count_subnormal(grad)

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None):
        self.times.append(time.perf_counter() - self._start)
        if self._current is not None:
            for h in self._handles:
                h.remove()
            self._handles = []
            model = runner.model
            cur = self._current
            cur['params'] = sum(count_subnormal(p) for p in model.parameters())
            cur['buffers'] = sum(count_subnormal(b) for b in model.buffers())
            state = runner.optim_wrapper.optimizer.state
            cur['momentum'] = sum(
                count_subnormal(v) for s in state.values()
                for v in s.values() if isinstance(v, torch.Tensor))
            cur['time_s'] = self.times[-1]
            self.samples.append(cur)
            self._current = None


def long_run(cfg, flush_denormal: bool = False, threads: int = 1,
             sample_every: int = 25) -> dict:
    """Train ``cfg`` with mmengine's Runner (the real loop, schedule and
    hooks) and an :class:`IterationRecorder`.

    Returns:
        dict: ``times`` (s per iteration), ``samples`` (subnormal counts),
        ``flush_denormal``, ``threads``, ``sample_every``.
    """
    from mmengine.runner import Runner
    variant = Variant('long', threads=threads, flush_denormal=flush_denormal)
    recorder = IterationRecorder(sample_every)
    with variant_settings(variant):
        runner = Runner.from_cfg(copy.deepcopy(cfg))
        runner.register_hook(recorder, 'LOWEST')
        runner.train()
    return {'times': recorder.times, 'samples': recorder.samples,
            'flush_denormal': flush_denormal, 'threads': threads,
            'sample_every': sample_every}


def slow_phases(times: List[float], factor: float = 3.0, window: int = 10,
                skip: Iterable[int] = ()) -> List[tuple]:
    """Stretches where the rolling median of ``window`` iteration times
    exceeds ``factor`` times the run's median.

    Args:
        times (list[float]): Seconds per iteration (index = iteration - 1).
        factor (float): How much slower than the median counts as slow.
        window (int): Rolling-median window (one slow iteration is not a
            phase).
        skip (iterable[int]): Indices to leave out (sampled iterations).

    Returns:
        list[tuple]: ``(first, last, ratio)``: 1-based iteration numbers of
        each stretch and its median time over the run's median.
    """
    skip = set(skip)
    idx = [i for i in range(len(times)) if i not in skip]
    if len(idx) < window:
        return []
    vals = [times[i] for i in idx]
    med = statistics.median(vals)
    slow = []
    for k in range(len(vals) - window + 1):
        if statistics.median(vals[k:k + window]) > factor * med:
            slow.append(k)
    phases = []
    for k in slow:
        first, last = idx[k], idx[k + window - 1]
        if phases and first <= phases[-1][1] + 1:
            phases[-1][1] = last
        else:
            phases.append([first, last])
    out = []
    for first, last in phases:
        # The window reaches up to half its width past the slow stretch:
        # trim to the first and last iteration that is itself slow.
        while first < last and (first in skip
                                or times[first] <= factor * med):
            first += 1
        while last > first and (last in skip or times[last] <= factor * med):
            last -= 1
        seg = [times[i] for i in range(first, last + 1) if i not in skip]
        out.append((first + 1, last + 1, statistics.median(seg) / med))
    return out


def format_long_run(result: dict, block: int = 25) -> str:
    """Median ms per block of ``block`` iterations, subnormal counts and the
    slow phases found."""
    times = result['times']
    every = result['sample_every']
    # runner.iter before the iteration is the 0-based index of it.
    sampled = {i for i in range(len(times)) if every and i % every == 0}
    head = (f'flush_denormal={result["flush_denormal"]} '
            f'threads={result["threads"]}: {len(times)} iterations, median '
            f'{1e3 * statistics.median(times):.1f} ms, max '
            f'{1e3 * max(times):.1f} ms')
    lines = [head, 'median ms per block of iterations:']
    cells = []
    for start in range(0, len(times), block):
        seg = times[start:start + block]
        cells.append(f'{start + 1}-{start + len(seg)}: '
                     f'{1e3 * statistics.median(seg):.0f}')
    for k in range(0, len(cells), 6):
        lines.append('  ' + '  '.join(cells[k:k + 6]))
    lines.append('subnormal counts (sampled iterations): iter activations '
                 'grads params buffers momentum ms')
    for s in result['samples']:
        lines.append(f'  {s["iter"] + 1:>5} {s["activations"]:>11} '
                     f'{s["grads"]:>6} {s["params"]:>6} {s["buffers"]:>7} '
                     f'{s["momentum"]:>8} {1e3 * s["time_s"]:>6.0f}')
    phases = slow_phases(times, skip=sampled)
    if phases:
        lines.append('slow phases (rolling median > 3x the run median): ' +
                     ', '.join(f'iterations {a}-{b} ({r:.1f}x)'
                               for a, b, r in phases))
    else:
        lines.append('slow phases (rolling median > 3x the run median): '
                     'none')
    return '\n'.join(lines)


def environment() -> Dict[str, str]:
    """What the numbers depend on: torch, threads, CPU count, load."""
    load = os.getloadavg() if hasattr(os, 'getloadavg') else ('?', ) * 3
    return {
        'torch': torch.__version__,
        'threads': str(torch.get_num_threads()),
        'cpus': str(os.cpu_count()),
        'loadavg': ' '.join(f'{x:.2f}' if isinstance(x, float) else x
                            for x in load),
        'MMSEG_DIBE_COMPILE': os.environ.get('MMSEG_DIBE_COMPILE', '(unset)'),
    }
