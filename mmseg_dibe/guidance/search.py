"""The offline OII-guided search of α: the paper's protocol (Fig. 4,
Table 3), behind ``tools/oii_search.py``.

One full training per step, each in ``DIR/alpha_<α>/``; after each training
the final validation OII decides the next α by bisection
(:class:`~.bisection.OIIBisection`, which states the direction rule).
``grid`` trains the K+1 evenly spaced α of the interval instead, for
comparison.

``DIR/search.md`` (a table like the paper's Table 3) and
``DIR/search.json`` are rewritten after every step, atomically. Run again
with the same settings after an interruption and it resumes: finished steps
are read back, an unfinished training continues from its last checkpoint
(``tools/train.py --resume``).

α is written into the config of each step (``DIR/alpha_<α>/config.py``) by
:func:`set_config_alpha`.
"""
import inspect
import json
import os
import os.path as osp
import re
import subprocess
import sys
import time
from typing import Callable, Dict, List, Optional

from ..analysis.workdir import read_final_metrics
from ..engine.atomic_io import atomic_write_text
from .bisection import OIIBisection
from .heads import iter_head_losses

STATE_VERSION = 1


class SearchStateError(ValueError):
    """``search.json`` does not belong to this search (other settings, or
    edited by hand)."""


# ------------------------------------------------------------ config rewrite
def _loss_takes_alpha(loss_cfg: dict) -> bool:
    """Whether the registered class of a loss config has an ``alpha`` arg."""
    from mmseg.registry import MODELS
    loss_type = loss_cfg.get('type')
    cls = MODELS.get(loss_type) if isinstance(loss_type, str) else loss_type
    if cls is None:
        return False
    try:
        return 'alpha' in inspect.signature(cls.__init__).parameters
    except (TypeError, ValueError):
        return False


def set_config_alpha(model_cfg: dict, alpha: float) -> List[str]:
    """Set α in every loss config of the decode and auxiliary heads.

    The losses are those :func:`~.heads.iter_head_losses` finds (the same
    walk the hook makes over a built model); a loss gets α when its config
    has an ``alpha`` key or its registered class takes an ``alpha``
    argument.

    Args:
        model_cfg (dict): ``cfg.model`` (changed in place).
        alpha (float): The α to write; ``beta = 1 − alpha`` is written where
            a loss config has a ``beta`` key.

    Returns:
        list[str]: Config paths of the losses changed, e.g.
        ``model.decode_head.loss_decode[0]``.
    """
    changed = []
    for head_loss in iter_head_losses(model_cfg):
        loss = head_loss.loss
        if 'alpha' not in loss and not _loss_takes_alpha(loss):
            continue
        loss['alpha'] = float(alpha)
        if 'beta' in loss:
            loss['beta'] = 1.0 - float(alpha)
        changed.append(head_loss.config_path)
    return changed


def write_step_config(config: str, cfg_options: Optional[dict], alpha: float,
                      out_path: str) -> List[str]:
    """Load ``config`` with ``cfg_options``, set α, dump it to ``out_path``.

    Raises:
        ValueError: If no loss of the model takes an α.
    """
    from mmengine.config import Config
    cfg = Config.fromfile(config)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    changed = set_config_alpha(cfg.model, alpha)
    if not changed:
        raise ValueError(
            f'{config}: no loss of model.decode_head / model.auxiliary_head '
            'takes an alpha (use e.g. DIBELoss, DIBEDisLoss or a Tversky '
            'loss)')
    tmp = out_path + '.tmp.py'
    cfg.dump(tmp)
    os.replace(tmp, out_path)
    return changed


# ------------------------------------------------------------------ training
class TrainingFailed(RuntimeError):
    """A training of the search exited with an error."""


_ITER_RE = re.compile(r'Iter\(train\)\s*\[\s*(\d+)/(\d+)\]')


def run_training(config: str, work_dir: str, resume: bool, log_path: str,
                 tools_dir: str, nproc: int = 1,
                 echo: Optional[Callable[[str], None]] = None) -> None:
    """Train ``config`` in ``work_dir`` with ``tools/train.py`` in a
    subprocess (``tools/dist_train.sh`` when ``nproc > 1``).

    The output goes to ``log_path`` (appended); a progress line is echoed
    about every 10 % of the iterations.

    Args:
        config (str): The step's config.
        work_dir (str): The step's work directory.
        resume (bool): Continue from the latest checkpoint there.
        log_path (str): File the training's output is appended to.
        tools_dir (str): Directory holding ``train.py`` and
            ``dist_train.sh``.
        nproc (int): Processes of the training.
        echo (callable, optional): Progress printer.

    Raises:
        TrainingFailed: If the training exits non-zero.
    """
    if nproc > 1:
        cmd = ['bash', osp.join(tools_dir, 'dist_train.sh'), config,
               str(nproc)]
    else:
        cmd = [sys.executable, osp.join(tools_dir, 'train.py'), config]
    cmd += ['--work-dir', work_dir] + (['--resume'] if resume else [])
    # Unbuffered: the log and the progress lines follow the training live.
    env = dict(os.environ, PYTHON=sys.executable, PYTHONUNBUFFERED='1')
    echo = echo or (lambda text: print(text, flush=True))
    last_decile = -1
    with open(log_path, 'a') as log:
        log.write(f'\n$ {" ".join(cmd)}\n')
        log.flush()
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True, env=env,
                                bufsize=1)
        try:
            for line in proc.stdout:
                log.write(line)
                match = _ITER_RE.search(line)
                if match:
                    done, total = int(match.group(1)), int(match.group(2))
                    decile = done * 10 // max(total, 1)
                    if decile > last_decile:
                        last_decile = decile
                        echo(f'    iter {done}/{total}')
            code = proc.wait()
        finally:
            # Interrupted (Ctrl-C, SIGTERM): do not leave a training behind.
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    proc.kill()
    if code != 0:
        raise TrainingFailed(f'training exited with code {code}; see '
                             f'{log_path}')


# -------------------------------------------------------------------- search
def alpha_name(alpha: float) -> str:
    """Sub-directory name of a step: ``alpha_0.5``, ``alpha_0.125``."""
    text = f'{alpha:.6f}'.rstrip('0').rstrip('.')
    return f'alpha_{text}'


class OIISearch:
    """The offline search: one training per α, state in ``search.json``.

    Args:
        config (str): Training config.
        work_dir (str): Search directory ``DIR``.
        interval (Sequence[float]): ``[low, high]`` of α.
        target (Sequence[float]): Target OII interval ``(m0, m1)``.
        max_steps (int): Most trainings of the bisection.
        grid (int, optional): Train the ``grid + 1`` evenly spaced α instead.
        cfg_options (dict, optional): ``--cfg-options`` for every training.
        metric (str): OII key in the validation results.
        nproc (int): Processes per training (``tools/dist_train.sh``).
        trainer (callable, optional): ``trainer(config, work_dir, resume,
            log_path)``; defaults to :func:`run_training` with
            ``tools_dir`` (tests replace it).
        echo (callable): Progress printer.
        tools_dir (str, optional): Directory of ``train.py`` for the
            default trainer.

    Raises:
        ValueError: If ``grid`` < 1 or no trainer can be made.
    """

    def __init__(self, config, work_dir, interval=(0.1, 0.9),
                 target=(0.3, 0.4), max_steps=5, grid=None, cfg_options=None,
                 metric='OII', nproc=1, trainer=None, echo=None,
                 tools_dir=None):
        if grid is not None and grid < 1:
            raise ValueError(f'--grid must be >= 1, got {grid}')
        self.config = osp.abspath(config)
        self.work_dir = osp.abspath(work_dir)
        self.bisection = OIIBisection(interval[0], interval[1], target,
                                      max_steps)
        self.grid = grid
        self.metric = metric
        self.settings = dict(
            config=self.config,
            mode='grid' if grid else 'bisection',
            interval=[float(interval[0]), float(interval[1])],
            target=[float(target[0]), float(target[1])],
            max_steps=None if grid else int(max_steps),
            grid=grid,
            metric=metric,
            cfg_options=cfg_options or {})
        self.cfg_options = cfg_options
        self.nproc = nproc
        if trainer is None and tools_dir is None:
            raise ValueError('OIISearch: give a trainer or the tools_dir '
                             'holding train.py')
        self.trainer = trainer or (lambda *a: run_training(
            *a, tools_dir=tools_dir, nproc=self.nproc, echo=self.echo))
        self.echo = echo or (lambda text: print(text, flush=True))
        self.steps: List[Dict] = []

    # ------------------------------------------------------------ state
    @property
    def json_path(self) -> str:
        return osp.join(self.work_dir, 'search.json')

    def load(self) -> None:
        """Read back an earlier run of the same search, if any.

        Raises:
            SearchStateError: If the saved search used other settings.
        """
        if not osp.isfile(self.json_path):
            return
        with open(self.json_path) as f:
            saved = json.load(f)
        ours = json.loads(json.dumps(self.settings))
        if saved.get('settings') != ours:
            diff = {
                k: (saved.get('settings', {}).get(k), v)
                for k, v in ours.items()
                if saved.get('settings', {}).get(k) != v
            }
            raise SearchStateError(
                f'{self.json_path} belongs to a search with other settings '
                f'(saved, now): {diff}; use another --work-dir or the same '
                'arguments')
        self.steps = saved['steps']

    def save(self) -> None:
        """Write ``search.json`` and ``search.md`` (atomically)."""
        done = [s for s in self.steps if s['status'] == 'done']
        state = dict(
            version=STATE_VERSION,
            settings=self.settings,
            steps=self.steps,
            trainings=len(done),
            result=self.result(),
            bisection=None if self.grid else self.bisection.state_dict())
        atomic_write_text(self.json_path, json.dumps(state, indent=2) + '\n')
        atomic_write_text(osp.join(self.work_dir, 'search.md'), self.markdown())

    # ----------------------------------------------------------- result
    def result(self) -> Optional[Dict]:
        """The outcome so far; ``None`` before the first finished step."""
        done = [s for s in self.steps if s['status'] == 'done']
        if not done:
            return None
        if self.grid:
            best = max(done, key=lambda s: _num(s.get('IoU')))
            in_target = [
                s['alpha'] for s in done if self.bisection.in_target(s['OII'])
            ]
            return dict(best_iou_alpha=best['alpha'], best_iou=best.get('IoU'),
                        alphas_in_target=in_target,
                        finished=len(done) == self.grid + 1)
        return dict(alpha=self.bisection.alpha,
                    converged=self.bisection.converged,
                    finished=self.bisection.done)

    def markdown(self) -> str:
        """``search.md``: the settings, the result and one row per step."""
        s = self.settings
        lines = [f'# OII {s["mode"]} search of alpha', '',
                 f'- config: `{s["config"]}`',
                 f'- alpha interval: [{s["interval"][0]:g}, '
                 f'{s["interval"][1]:g}]; target OII: ({s["target"][0]:g}, '
                 f'{s["target"][1]:g})',
                 '- alpha weights missed targets (FN), beta = 1 - alpha '
                 'false alarms (FP): raising alpha lowers OII and PA']
        if s['cfg_options']:
            lines.append(f'- cfg-options: `{s["cfg_options"]}`')
        result = self.result()
        if result and self.grid:
            lines.append(
                f'- best IoU {_fmt(result["best_iou"])} at alpha '
                f'{result["best_iou_alpha"]:g}; alpha with OII in target: '
                f'{[round(a, 6) for a in result["alphas_in_target"]]}')
        elif result:
            if result['finished']:
                state = ('OII in target' if result['converged'] else
                         'steps used up, closest OII')
                lines.append(
                    f'- selected alpha: {result["alpha"]:g} ({state})')
            else:
                lines.append(f'- next alpha: {result["alpha"]:g} '
                             '(search in progress)')
        done = [st for st in self.steps if st['status'] == 'done']
        lines.append(f'- trainings: {len(done)}')
        # The bisection's own decisions, one per finished step.
        decisions = ([] if self.grid else
                     [step.describe() for step in self.bisection.trace()])
        lines += ['', '| step | α | IoU | PA | Recall | OII | FP/FN | '
                  'in target | time (s) | decision |',
                  '|---:|---:|---:|---:|---:|---:|---:|:---:|---:|---|']
        for index, st in enumerate(self.steps):
            if st['status'] != 'done':
                lines.append(f'| {st["step"]} | {st["alpha"]:g} | '
                             f'{st["status"]} | | | | | | | |')
                continue
            hit = 'yes' if self.bisection.in_target(st['OII']) else ''
            decision = decisions[index] if index < len(decisions) else ''
            lines.append(
                f'| {st["step"]} | {st["alpha"]:g} | {_fmt(st.get("IoU"))} | '
                f'{_fmt(st.get("PA"))} | {_fmt(st.get("Recall"))} | '
                f'{_fmt(st["OII"])} | {_fmt(st.get("FP/FN"))} | {hit} | '
                f'{st.get("seconds", 0):.0f} | {decision} |')
        return '\n'.join(lines) + '\n'

    # -------------------------------------------------------------- run
    def _plan(self) -> List[float]:
        a, b = self.settings['interval']
        return [a + i * (b - a) / self.grid for i in range(self.grid + 1)]

    def _next_alpha(self) -> Optional[float]:
        """Replay finished steps into the bisection; the α to train next."""
        done = [s for s in self.steps if s['status'] == 'done']
        if self.grid:
            plan = self._plan()
            return plan[len(done)] if len(done) < len(plan) else None
        self.bisection.reset()
        for step in done:
            if abs(step['alpha'] - self.bisection.alpha) > 1e-9:
                raise SearchStateError(
                    f'{self.json_path}: step {step["step"]} trained alpha '
                    f'{step["alpha"]} but the bisection proposes '
                    f'{self.bisection.alpha}; the file was edited?')
            self.bisection.update(step['OII'])
        return None if self.bisection.done else self.bisection.alpha

    def run(self) -> Optional[Dict]:
        """Train until the search is over (resuming an earlier run); the
        :meth:`result`."""
        os.makedirs(self.work_dir, exist_ok=True)
        self.load()
        total = self.grid + 1 if self.grid else self.settings['max_steps']
        s = self.settings
        self.echo(f'[oii_search] {s["mode"]} of alpha in [{s["interval"][0]:g}'
                  f', {s["interval"][1]:g}], target OII in ({s["target"][0]:g}'
                  f', {s["target"][1]:g}), at most {total} trainings; '
                  f'results in {self.work_dir}/search.md')
        while True:
            alpha = self._next_alpha()
            self.save()
            if alpha is None:
                break
            self._run_step(alpha, total)
        self.echo(f'[oii_search] finished: {self.result()}')
        return self.result()

    def _run_step(self, alpha: float, total: int) -> None:
        index = sum(1 for s in self.steps if s['status'] == 'done') + 1
        name = alpha_name(alpha)
        step_dir = osp.join(self.work_dir, name)
        if self.steps and self.steps[-1]['status'] != 'done':
            step = self.steps[-1]  # an interrupted step: continue it
            if step['dir'] != name:
                raise SearchStateError(f'{self.json_path}: unfinished step '
                                 f'{step["dir"]} is not the next one {name}')
        else:
            step = dict(step=index, alpha=alpha, dir=name, status='running',
                        seconds=0.0)
            self.steps.append(step)
        os.makedirs(step_dir, exist_ok=True)
        config = osp.join(step_dir, 'config.py')
        result_path = osp.join(step_dir, 'result.json')
        prefix = f'[step {index}/{total}] alpha={alpha:g}'
        if osp.isfile(result_path):  # trained, but search.json not updated
            with open(result_path) as f:
                metrics = json.load(f)
            self.echo(f'{prefix}: already trained, reading {result_path}')
        else:
            resume = osp.isfile(config)
            if not resume:
                changed = write_step_config(self.config, self.cfg_options,
                                            alpha, config)
                self.echo(f'{prefix}: alpha set on {changed}')
            self.save()
            self.echo(f'{prefix}: {"resuming" if resume else "training"} in '
                      f'{step_dir} (log: {name}/train.log)')
            start = time.time()
            self.trainer(config, step_dir, resume,
                         osp.join(step_dir, 'train.log'))
            metrics = read_final_metrics(step_dir, self.metric)
            metrics['seconds'] = step['seconds'] + time.time() - start
            atomic_write_text(result_path, json.dumps(metrics, indent=2) + '\n')
        step.update(metrics)
        step['status'] = 'done'
        text = (f'{prefix}: IoU={_fmt(step.get("IoU"))} '
                f'PA={_fmt(step.get("PA"))} OII={_fmt(step["OII"])} '
                f'({step["seconds"]:.0f} s)')
        if not self.grid:
            text += f' -> {self.bisection.update(step["OII"]).describe()}'
        self.echo(text)


def _num(value) -> float:
    return float('-inf') if value is None else float(value)


def _fmt(value) -> str:
    if value is None:
        return '-'
    return f'{value:.4f}'
