"""Self-check of the stack on one device: ``tools/gpu_check.py``.

Four groups of checks, each giving one or more rows of a pass/fail table:

* ``compile``: for every loss of ours (:data:`.losses.catalog.LOSSES`, built
  through ``mmseg.registry.MODELS``), values and gradients with the fused
  kernels compiled (:func:`.functional.fused.set_compile` on) equal those of
  the eager kernels (off);
* ``amp``: every loss of ours and mmseg's ``CrossEntropyLoss(use_sigmoid=True)``
  gives finite values and gradients on half-precision logits under
  ``torch.autocast`` (fp16 and bf16 on CUDA, bf16 on the CPU) for ordinary,
  saturated (±100, ±1e4) and perfect/wrong predictions, masks without target
  pixels, all-target masks and all-ignored masks;
* ``train``: a 20-iteration training of the demo config on freshly generated
  synthetic data with ``tools/train.py --amp`` (CUDA) or in float32 (CPU:
  mmengine's ``AmpOptimWrapper`` requires a GPU), finite losses, a
  checkpoint and a validation round;
* ``dist``: ``tools/dist_train.sh CONFIG 1`` (NCCL on CUDA, gloo on the CPU)
  for a few iterations.

Checks are plain functions ``check(ctx) -> list of CheckResult``; an exception
inside one becomes a FAIL row with the error, so the table is always printed.
:func:`exit_code` is 1 when any row failed.
"""
import math
import os
import os.path as osp
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from typing import Callable, Dict, Iterable, List, NamedTuple, Optional

import torch

__all__ = [
    'CheckResult', 'CheckContext', 'CHECKS', 'run_checks', 'format_table',
    'exit_code', 'default_checks', 'check_compile', 'check_amp',
    'check_train', 'check_dist', 'amp_row'
]


class CheckResult(NamedTuple):
    """One row of the table.

    Attributes:
        name (str): What was checked.
        value (str): The measured value (a maximal difference, a count, a
            time).
        passed (bool): Whether the check passed.
        detail (str): Why it failed, or what the row does not cover.
    """
    name: str
    value: str
    passed: bool
    detail: str = ''


class CheckContext:
    """What the checks share.

    Args:
        device (str): ``'cuda'`` or ``'cpu'``.
        repo_root (str): Checkout holding ``tools/`` and ``configs/`` (the
            training checks run the real tools).
        work_dir (str, optional): Where the training checks write; a
            temporary directory removed afterwards when omitted.
        train_iters (int): Iterations of the ``train`` check.
        dist_iters (int): Iterations of the ``dist`` check.
        timeout (float): Seconds before a training subprocess is killed.
        env (dict, optional): Extra environment of the training
            subprocesses.
        compile_losses (list[str], optional): Registry types the
            ``compile`` check compares (default: every loss of ours).
        data_root (str, optional): An existing synthetic dataset (mmseg
            layout) for the training checks; default: one generated with
            ``tools/data/make_synthetic.py``.

    Raises:
        RuntimeError: ``device='cuda'`` without a usable CUDA device.
        ValueError: an unknown device.
    """

    def __init__(self,
                 device: str = 'cuda',
                 repo_root: Optional[str] = None,
                 work_dir: Optional[str] = None,
                 train_iters: int = 20,
                 dist_iters: int = 4,
                 timeout: float = 600,
                 env: Optional[Dict[str, str]] = None,
                 compile_losses: Optional[List[str]] = None,
                 data_root: Optional[str] = None):
        if device not in ('cuda', 'cpu'):
            raise ValueError(f'device must be cuda or cpu, got {device!r}')
        if device == 'cuda' and not torch.cuda.is_available():
            raise RuntimeError(
                'no CUDA device is available to this process (torch '
                f'{torch.__version__}, built with CUDA '
                f'{torch.version.cuda}); run with --device cpu to check the '
                'CPU path')
        self.device = device
        self.repo_root = repo_root
        self.work_dir = work_dir
        self.train_iters = int(train_iters)
        self.dist_iters = int(dist_iters)
        self.timeout = timeout
        self.env = dict(env or {})
        self.compile_losses = list(compile_losses) if compile_losses else None
        self._data_root: Optional[str] = data_root
        self._own_data = data_root is None
        self._tmp: Optional[str] = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.cleanup()

    def cleanup(self) -> None:
        """Remove the temporary directory of the training checks (a
        ``work_dir`` given by the user is kept)."""
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None
            if self._own_data:
                self._data_root = None

    def scratch(self, name: str) -> str:
        """A fresh directory ``name`` under ``work_dir`` or under a temporary
        directory of this context."""
        if self.work_dir is not None:
            base = self.work_dir
        else:
            if self._tmp is None:
                self._tmp = tempfile.mkdtemp(prefix='mmseg_dibe_selfcheck_')
            base = self._tmp
        path = osp.join(base, name)
        if osp.exists(path):
            shutil.rmtree(path)
        os.makedirs(path)
        return path

    @property
    def autocast_dtypes(self) -> List[torch.dtype]:
        """Half-precision types to check: fp16 and bf16 on CUDA (bf16 only
        where the GPU supports it), bf16 on the CPU."""
        if self.device == 'cpu':
            return [torch.bfloat16]
        dtypes = [torch.float16]
        if torch.cuda.is_bf16_supported():
            dtypes.append(torch.bfloat16)
        return dtypes

    def tool(self, *parts: str) -> str:
        """Path of a file of the checkout; FileNotFoundError naming it."""
        if self.repo_root is None:
            raise FileNotFoundError(
                'the training checks run tools/train.py and '
                'tools/dist_train.sh of a checkout: pass repo_root')
        path = osp.join(self.repo_root, *parts)
        if not osp.exists(path):
            raise FileNotFoundError(f'{path} does not exist (repo_root '
                                    f'{self.repo_root!r} is not a checkout '
                                    'of mmseg-dibe?)')
        return path

    def subprocess_env(self) -> Dict[str, str]:
        """Environment of the training subprocesses: a CPU check hides any
        GPU, so that the CPU path runs even on a CUDA machine."""
        env = dict(os.environ)
        env.setdefault('OMP_NUM_THREADS', '2')
        if self.device == 'cpu':
            env['CUDA_VISIBLE_DEVICES'] = ''
        env['PYTHON'] = sys.executable
        env.update(self.env)
        return env

    def data_root(self) -> str:
        """A small synthetic dataset (16 train / 4 val images of 64x64),
        written once per context by ``tools/data/make_synthetic.py``."""
        if self._data_root is None:
            root = self.scratch('data')
            _run_subprocess(self, [
                sys.executable,
                self.tool('tools', 'data', 'make_synthetic.py'), root,
                '--num-train', '16', '--num-val', '4', '--size', '64',
                '--ratio', '0.01', '--seed', '0'
            ])
            self._data_root = root
        return self._data_root


Check = Callable[[CheckContext], List[CheckResult]]

# ---------------------------------------------------------------------------
# Inputs and helpers of the loss checks
# ---------------------------------------------------------------------------

#: Shape of the loss checks' inputs: above 4096 pixels, so the compiled
#: kernels see the same symbolic size as in training.
_SHAPE = (2, 1, 64, 66)
_IGNORE = 255


def _build_loss(type_name: str, **kwargs):
    import mmseg_dibe  # noqa: F401  (registers the losses)
    from mmseg.registry import MODELS
    return MODELS.build(dict(type=type_name, **kwargs))


def _our_loss_types() -> List[str]:
    from .losses.catalog import LOSSES
    return [name for name, info in LOSSES.items() if info.ours]


#: Cases where mmseg's own loss is known to raise (not ours to fix): its
#: ``binary_cross_entropy`` takes ``label[label != ignore_index].max()``,
#: which raises on an all-ignored batch. Reported in the row's detail; the
#: row fails if such a case raises anything else or gives non-finite numbers.
_MMSEG_CE_KNOWN = {'all ignored': 'RuntimeError'}


def _loss_cfgs() -> List[tuple]:
    """(row name, registry type, build kwargs, known failures) of every loss
    checked."""
    cfgs = [(name, name, {}, {}) for name in _our_loss_types()]
    cfgs.append(('CrossEntropyLoss(sigmoid)', 'CrossEntropyLoss',
                 dict(use_sigmoid=True),
                 _MMSEG_CE_KNOWN))
    return cfgs


def _random_batch(device: str, seed: int = 0):
    gen = torch.Generator().manual_seed(seed)
    n, _, h, w = _SHAPE
    logits = torch.randn(_SHAPE, generator=gen) * 3
    label = (torch.rand(n, h, w, generator=gen) < 0.1).long()
    label[:, :, -2:] = _IGNORE  # a band of ignored pixels (padding)
    return logits.to(device), label.to(device)


def _loss_and_grad(loss, logits, label, dtype=None, device='cpu'):
    """Value and gradient of ``loss`` at ``logits``, optionally with the
    logits in ``dtype`` and the call under ``torch.autocast``."""
    x = logits.detach().clone()
    if dtype is not None:
        x = x.to(dtype)
    x.requires_grad_(True)
    if dtype is None:
        value = loss(x, label, ignore_index=_IGNORE)
    else:
        with torch.autocast(device_type=device, dtype=dtype):
            value = loss(x, label, ignore_index=_IGNORE)
    value.backward()
    return value.detach().float(), x.grad.detach().float()


def _max_rel_diff(a, b) -> float:
    scale = max(float(b.abs().max()), 1e-30)
    return float((a - b).abs().max()) / scale


# ---------------------------------------------------------------------------
# The checks
# ---------------------------------------------------------------------------


def check_compile(ctx: CheckContext,
                  loss_types: Optional[Iterable[str]] = None
                  ) -> List[CheckResult]:
    """Compiled fused kernels == eager kernels, for each loss of ours.

    Every loss is built with its defaults through ``MODELS`` and called on
    the same float32 binary batch (10 % target pixels, an ignored band) with
    compilation on and off; values must agree to a relative 1e-5 and
    gradients to a relative 1e-4 of their largest entry. A loss that does
    not take the fused path (no ``fused`` attribute, or ``fused=False``)
    is still compared (both runs are then the same code) and says so. A
    compilation that failed (the fused module falls back to eager for good)
    fails every row that needed it.
    """
    from .functional import fused
    logits, label = _random_batch(ctx.device)
    rows = []
    for name in (loss_types or ctx.compile_losses or _our_loss_types()):
        loss = _build_loss(name)
        uses_fused = bool(getattr(loss, 'fused', False))
        try:
            fused.set_compile(False)
            v_eager, g_eager = _loss_and_grad(loss, logits, label)
            fused.set_compile(True)
            start = time.perf_counter()
            v_comp, g_comp = _loss_and_grad(loss, logits, label)
            first_call = time.perf_counter() - start
            compiled = fused.compile_enabled()
        finally:
            fused.set_compile(None)
        dv = _max_rel_diff(v_comp, v_eager)
        dg = _max_rel_diff(g_comp, g_eager)
        value = f'rel. diff value {dv:.1e}, grad {dg:.1e}'
        ok = dv <= 1e-5 and dg <= 1e-4 and bool(
            torch.isfinite(g_comp).all())
        detail = ''
        if not uses_fused:
            detail = 'not on the fused path (same code both ways)'
        elif not compiled:
            ok = False
            detail = ('torch.compile failed: the fused kernels fell back '
                      'to eager (see the warning above)')
        else:
            detail = f'first compiled call {first_call:.1f} s'
        if not ok and not detail.startswith('torch.compile'):
            detail = (f'compiled and eager differ (tolerances 1e-5 value, '
                      f'1e-4 grad); {detail}')
        rows.append(CheckResult(f'compile==eager {name}', value, ok, detail))
    return rows


def _amp_cases(device: str) -> Dict[str, tuple]:
    """Named (logits, labels) cases of the autocast check, float32."""
    logits, label = _random_batch(device, seed=1)
    target = (label == 1).unsqueeze(1)
    sign = torch.where(target, 1.0, -1.0).to(device)
    empty = torch.where(label == _IGNORE, label, torch.zeros_like(label))
    full = torch.where(label == _IGNORE, label, torch.ones_like(label))
    ignored = torch.full_like(label, _IGNORE)
    cases = {'random': (logits, label)}
    for mag in (100.0, 1e4):
        cases[f'perfect ±{mag:g}'] = (sign * mag, label)
        cases[f'wrong ±{mag:g}'] = (-sign * mag, label)
        cases[f'no target, saturated -{mag:g}'] = (
            torch.full_like(logits, -mag), empty)
        cases[f'no target, false alarms +{mag:g}'] = (
            torch.full_like(logits, mag), empty)
    cases['no target, random'] = (logits, empty)
    cases['all target, random'] = (logits, full)
    cases['all ignored'] = (logits, ignored)
    return cases


def check_amp(ctx: CheckContext,
              loss_cfgs: Optional[List[tuple]] = None) -> List[CheckResult]:
    """Finite values and gradients under autocast, for each loss.

    For every half-precision type of ``ctx.autocast_dtypes`` and every case
    of :func:`_amp_cases`, the logits are cast to that type (what a network
    under autocast hands the loss) and the loss is called and
    back-propagated inside ``torch.autocast``. One row per loss: the number
    of (type, case) pairs with a finite value and gradient, the failing ones
    named.
    """
    cases = _amp_cases(ctx.device)
    return [
        amp_row(ctx, row_name, _build_loss(type_name, **kwargs), cases,
                known)
        for row_name, type_name, kwargs, known in (loss_cfgs or _loss_cfgs())
    ]


def amp_row(ctx: CheckContext, row_name: str, loss,
            cases: Optional[Dict[str, tuple]] = None,
            known: Optional[Dict[str, str]] = None) -> CheckResult:
    """The ``amp`` row of one loss module (see :func:`check_amp`).

    ``known`` maps a case to the name of the exception the loss is known to
    raise there (mmseg's own loss): that exception is noted, not failed.
    """
    cases = cases or _amp_cases(ctx.device)
    known = known or {}
    bad, notes, total = [], [], 0
    for dtype in ctx.autocast_dtypes:
        short = str(dtype).replace('torch.', '')
        for case, (logits, label) in cases.items():
            total += 1
            try:
                value, grad = _loss_and_grad(loss, logits, label, dtype,
                                             ctx.device)
            except Exception as exc:  # noqa: BLE001  (reported)
                msg = f'{short} {case}: {type(exc).__name__}'
                if known.get(case) == type(exc).__name__:
                    notes.append(msg)
                    total -= 1
                else:
                    bad.append(f'{msg}: {str(exc)[:120]}')
                continue
            if not bool(torch.isfinite(value).all()):
                bad.append(f'{short} {case}: value {float(value):g}')
            elif not bool(torch.isfinite(grad).all()):
                n_bad = int((~torch.isfinite(grad)).sum())
                bad.append(f'{short} {case}: {n_bad} non-finite grads')
    dtypes = '+'.join(
        str(d).replace('torch.', '') for d in ctx.autocast_dtypes)
    detail = '; '.join(bad)
    if notes:
        detail = '; '.join(
            p for p in (detail, 'known mmseg limitation, not checked: ' +
                        ', '.join(notes)) if p)
    return CheckResult(f'autocast {dtypes} {row_name}',
                       f'{total - len(bad)}/{total} finite', not bad, detail)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def _run_subprocess(ctx: CheckContext, cmd: List[str], env=None):
    """Run a command of the checkout; RuntimeError with the output's tail
    when it fails."""
    proc = subprocess.run(cmd, cwd=ctx.repo_root, env=env or
                          ctx.subprocess_env(), capture_output=True,
                          text=True, timeout=ctx.timeout)
    if proc.returncode != 0:
        tail = (proc.stdout[-1500:] + '\n' + proc.stderr[-2500:]).strip()
        raise RuntimeError(f'{" ".join(cmd)} exited with {proc.returncode}:'
                           f'\n{tail}')
    return proc


def _write_config(ctx: CheckContext, path: str, data_root: str,
                  iters: int) -> str:
    demo = ctx.tool('configs', 'demo', 'unet-s5-tiny_dibe_synthetic-64x64.py')
    with open(path, 'w') as f:
        f.write(f'''_base_ = [{demo!r}]
data_root = {data_root!r}
train_dataloader = dict(batch_size=4, dataset=dict(data_root=data_root))
val_dataloader = dict(dataset=dict(data_root=data_root))
test_dataloader = val_dataloader
train_cfg = dict(max_iters={iters}, val_interval={iters})
param_scheduler = [dict(type='PolyLR', eta_min=1e-4, power=0.9, begin=0,
                        end={iters}, by_epoch=False)]
default_hooks = dict(
    logger=dict(interval=1),
    checkpoint=dict(interval={iters}, max_keep_ckpts=1),
    visualization=dict(draw=False))
''')
    return path


def _read_scalars(work_dir: str) -> List[dict]:
    """Training log lines of mmengine's ``vis_data/scalars.json``."""
    import json
    lines = []
    for root, _, files in os.walk(work_dir):
        if 'scalars.json' in files and osp.basename(root) == 'vis_data':
            with open(osp.join(root, 'scalars.json')) as f:
                lines.extend(json.loads(line) for line in f if line.strip())
    return lines


def _training_summary(work_dir: str, iters: int):
    """(ok, value, detail) of a finished training in ``work_dir``."""
    scalars = _read_scalars(work_dir)
    train = [s for s in scalars if 'loss' in s]
    val = [s for s in scalars if 'IoU' in s or 'OII' in s]
    losses = [float(s['loss']) for s in train]
    problems = []
    if len(train) < iters:
        problems.append(f'{len(train)} of {iters} iterations logged')
    if not all(math.isfinite(v) for v in losses):
        problems.append('non-finite loss')
    if not osp.isfile(osp.join(work_dir, f'iter_{iters}.pth')):
        problems.append(f'no iter_{iters}.pth')
    if not val:
        problems.append('no validation metrics logged')
    value = (f'loss {losses[0]:.3g} -> {losses[-1]:.3g}'
             if losses else 'no loss logged')
    return not problems, value, '; '.join(problems)


def check_train(ctx: CheckContext) -> List[CheckResult]:
    """``tools/train.py`` on the demo config for ``ctx.train_iters``
    iterations: ``--amp`` (fp16 with dynamic loss scaling) on CUDA; float32
    on the CPU, because mmengine's ``AmpOptimWrapper`` asserts a GPU (the
    CPU autocast path of the losses is covered by the ``amp`` rows)."""
    base = ctx.scratch('train')
    data_root = ctx.data_root()
    cfg = _write_config(ctx, osp.join(base, 'train_cfg.py'), data_root,
                        ctx.train_iters)
    work_dir = osp.join(base, 'work')
    cmd = [sys.executable, ctx.tool('tools', 'train.py'), cfg,
           '--work-dir', work_dir]
    if ctx.device == 'cuda':
        cmd.append('--amp')
        name = f'train {ctx.train_iters} it --amp (fp16, cuda)'
        note = ''
    else:
        name = f'train {ctx.train_iters} it fp32 (cpu)'
        note = ('fp32: mmengine AmpOptimWrapper needs CUDA, so --amp '
                'is not run on the CPU')
    start = time.perf_counter()
    _run_subprocess(ctx, cmd)
    elapsed = time.perf_counter() - start
    ok, value, problems = _training_summary(work_dir, ctx.train_iters)
    detail = '; '.join(p for p in (problems, note) if p)
    return [CheckResult(name, f'{value}, {elapsed:.0f} s', ok, detail)]


def check_dist(ctx: CheckContext) -> List[CheckResult]:
    """``tools/dist_train.sh CONFIG 1`` for ``ctx.dist_iters`` iterations:
    one process, NCCL on CUDA, gloo on the CPU (the CPU check hides the
    GPUs from the subprocess). Passes when the launcher exits 0, mmengine
    reports distributed training, the losses are finite and the checkpoint
    and validation metrics are written."""
    backend = 'nccl' if ctx.device == 'cuda' else 'gloo'
    base = ctx.scratch('dist')
    data_root = ctx.data_root()
    cfg = _write_config(ctx, osp.join(base, 'dist_cfg.py'), data_root,
                        ctx.dist_iters)
    work_dir = osp.join(base, 'work')
    env = ctx.subprocess_env()
    env['PORT'] = str(_free_port())
    cmd = ['bash', ctx.tool('tools', 'dist_train.sh'), cfg, '1',
           '--work-dir', work_dir]
    start = time.perf_counter()
    proc = _run_subprocess(ctx, cmd, env=env)
    elapsed = time.perf_counter() - start
    ok, value, problems = _training_summary(work_dir, ctx.dist_iters)
    log = proc.stdout + proc.stderr
    for root, _, files in os.walk(work_dir):
        for f in files:
            if f.endswith('.log'):
                with open(osp.join(root, f), errors='replace') as fh:
                    log += fh.read()
    found = 'Distributed training: True' in log
    if not found:
        ok = False
        problems = '; '.join(
            p for p in (problems, 'the run did not report distributed '
                        'training') if p)
    return [
        CheckResult(f'dist_train.sh 1 process {ctx.dist_iters} it '
                    f'({backend})', f'{value}, {elapsed:.0f} s', ok, problems)
    ]


#: The checks by name, in the order they run.
CHECKS: Dict[str, Check] = {
    'compile': check_compile,
    'amp': check_amp,
    'train': check_train,
    'dist': check_dist,
}


def default_checks(names: Optional[Iterable[str]] = None) -> List[Check]:
    """The checks called ``names`` (all by default); KeyError naming the
    known ones otherwise."""
    if names is None:
        return list(CHECKS.values())
    out = []
    for name in names:
        if name not in CHECKS:
            raise KeyError(f'unknown check {name!r}; known: {list(CHECKS)}')
        out.append(CHECKS[name])
    return out


def run_checks(ctx: CheckContext,
               checks: Optional[Iterable[Check]] = None,
               progress: Optional[Callable[[str], None]] = None
               ) -> List[CheckResult]:
    """Run ``checks`` (all by default) and collect their rows.

    A check that raises gives one FAIL row named after it, with the error;
    the remaining checks still run.
    """
    rows: List[CheckResult] = []
    for check in (default_checks() if checks is None else checks):
        name = getattr(check, '__name__', repr(check))
        if progress:
            progress(f'running {name} ...')
        start = time.perf_counter()
        try:
            result = list(check(ctx))
            if not result:
                result = [CheckResult(name, 'no rows', False,
                                      'the check returned nothing')]
        except Exception as exc:  # noqa: BLE001  (a FAIL row, not a crash)
            msg = str(exc).strip().splitlines()
            short = ' | '.join(msg[-6:])[:600] if msg else ''
            result = [CheckResult(name, 'error', False,
                                  f'{type(exc).__name__}: {short}')]
        if progress:
            progress(f'{name}: {time.perf_counter() - start:.1f} s')
        rows.extend(result)
    return rows


def format_table(rows: List[CheckResult]) -> str:
    """The rows as a plain-text table with a summary line."""
    header = ('check', 'value', 'result', 'detail')
    cells = [(r.name, r.value, 'PASS' if r.passed else 'FAIL', r.detail)
             for r in rows]
    widths = [
        max(len(header[i]), *(len(c[i]) for c in cells)) if cells else
        len(header[i]) for i in range(3)
    ]

    def line(c):
        return '  '.join(c[i].ljust(widths[i]) for i in range(3)) + (
            f'  {c[3]}' if c[3] else '')

    out = [line(header), '  '.join('-' * w for w in widths)]
    out.extend(line(c) for c in cells)
    failed = sum(not r.passed for r in rows)
    out.append(f'{len(rows) - failed}/{len(rows)} passed' +
               (f', {failed} FAILED' if failed else ''))
    return '\n'.join(out)


def exit_code(rows: List[CheckResult]) -> int:
    """0 when every row passed (and there is at least one), else 1."""
    return 0 if rows and all(r.passed for r in rows) else 1
