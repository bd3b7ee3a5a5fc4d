"""Online OII guidance of α inside one training run (Fig. 4, online)."""
import json
import math
import os
import os.path as osp
from typing import Any, Dict, List, Optional, Sequence, Tuple

from mmengine.dist import broadcast_object_list, is_main_process
from mmengine.hooks import Hook
from mmengine.logging import print_log
from torch import nn

from mmseg.registry import HOOKS
from ...guidance.bisection import OIIBisection
from ...guidance.heads import iter_head_losses

#: Name of the side file the hook keeps in the work directory (see
#: :class:`OIIBisectionHook`, "Resuming").
STATE_FILE = 'oii_bisection_state.json'
#: Key of the hook's state in mmengine checkpoints.
CHECKPOINT_KEY = 'oii_bisection'


def find_alpha_losses(model: nn.Module) -> List[Tuple[str, nn.Module]]:
    """Every loss module of the decode and auxiliary heads with an ``alpha``.

    Args:
        model (nn.Module): A segmentor, possibly wrapped (DDP, ...).

    Returns:
        list[tuple[str, nn.Module]]: ``(qualified name, module)``, including
        sub-modules of compound losses that carry their own ``alpha``.
    """
    found = []
    for head_loss in iter_head_losses(model):
        for sub_name, module in head_loss.loss.named_modules():
            if hasattr(module, 'alpha'):
                name = '.'.join(
                    n for n in (head_loss.module_name, sub_name) if n)
                found.append((name, module))
    return found


def set_loss_alpha(model: nn.Module, alpha: float) -> List[str]:
    """Set ``alpha`` (and ``beta = 1 − alpha``) on the model's losses.

    ``beta`` is only written where it does not already follow from the new
    ``alpha`` (losses that derive it, e.g. ``DIBELoss``, refuse a write).

    Args:
        model (nn.Module): A segmentor, possibly wrapped.
        alpha (float): The new α (weight of missed targets, FN).

    Returns:
        list[str]: Names of the modules that were changed.
    """
    alpha = float(alpha)
    names = []
    for name, module in find_alpha_losses(model):
        module.alpha = alpha
        beta = getattr(module, 'beta', None)
        if isinstance(beta, (int, float)) and abs(beta - (1 - alpha)) > 1e-12:
            prop = getattr(type(module), 'beta', None)
            if not (isinstance(prop, property) and prop.fset is None):
                module.beta = 1.0 - alpha
        names.append(name)
    return names


@HOOKS.register_module()
class OIIBisectionHook(Hook):
    """Move α of the losses by OII bisection after each validation round.

    The online form of the paper's guidance (Fig. 4): instead of one training
    per α, one training whose α changes after each validation round. The
    first α is the midpoint of ``[low, high]``; after a round whose OII is
    above the target interval α moves up (more weight on missed targets,
    FN), below it α moves down (``docs/spec.md``: α weights FN, β = 1 − α
    weights FP). Once OII is inside the target, or ``max_steps`` rounds were
    used, α stays fixed (at the α that reached the target, else the one
    whose OII came closest).

    α is written to every loss module of ``decode_head`` and
    ``auxiliary_head`` (single heads, ``nn.ModuleList`` of heads or of
    losses, DDP-wrapped models) that has an ``alpha`` attribute, and
    ``beta = 1 − alpha`` where the loss has a settable ``beta``. It is logged
    as ``train/alpha`` every iteration and as ``val/alpha`` (the α that
    produced the round's OII), so it shows in the text log, the JSON log and
    every visualizer backend.

    Distributed training: mmengine already broadcasts the metrics of rank 0
    to all ranks; the hook still broadcasts the OII it uses from rank 0, so
    every rank runs the same bisection and sets the same α.

    Resuming: the state is saved in every checkpoint (key
    ``oii_bisection``). Because mmengine saves the iteration checkpoint
    *before* the validation of the same iteration, rank 0 also keeps the
    state after each round in ``WORK_DIR/oii_bisection_state.json``; on
    ``--resume`` at iteration N the hook restores the latest state recorded
    at an iteration <= N from either source. Loading weights with
    ``load_from`` (without resume) starts a fresh search.

    Args:
        low (float): Lower end of the α interval. Defaults to 0.1.
        high (float): Upper end of the α interval. Defaults to 0.9.
        target (Sequence[float]): Target OII interval ``(m0, m1)``.
            Defaults to ``(0.3, 0.4)``.
        max_steps (int): Most validation rounds used for the search.
            Defaults to 5.
        start_round (int): Number of first validation rounds to ignore
            (warm-up: early in training OII is often 1 because nothing is
            predicted yet). Defaults to 0.
        start_iter (int): Ignore validation rounds before this training
            iteration (``runner.iter``). Defaults to 0.
        metric (str): Metric key holding OII; a key with a prefix
            (``prefix/OII``) matches too. Defaults to ``'OII'``.
    """

    priority = 'NORMAL'  # after RuntimeInfoHook, before Logger/Checkpoint

    def __init__(self,
                 low: float = 0.1,
                 high: float = 0.9,
                 target: Sequence[float] = (0.3, 0.4),
                 max_steps: int = 5,
                 start_round: int = 0,
                 start_iter: int = 0,
                 metric: str = 'OII') -> None:
        self.bisection = OIIBisection(low, high, target, max_steps)
        for name, value in (('start_round', start_round), ('start_iter',
                                                            start_iter)):
            if isinstance(value, bool) or not isinstance(value, int) \
                    or value < 0:
                raise ValueError(f'OIIBisectionHook: {name} must be an int '
                                 f'>= 0, got {value!r}')
        if not isinstance(metric, str) or not metric:
            raise ValueError('OIIBisectionHook: metric must be a metric key, '
                             f'got {metric!r}')
        self.start_round = start_round
        self.start_iter = start_iter
        self.metric = metric
        self.rounds = 0  # validation rounds seen during training
        self.records: List[Dict[str, Any]] = []
        self._loaded_records: List[Dict[str, Any]] = []
        self._training = False

    # ----------------------------------------------------------- state
    def _state(self) -> Dict[str, Any]:
        return dict(rounds=self.rounds, bisection=self.bisection.state_dict())

    def _load_state(self, state: Dict[str, Any]) -> None:
        self.rounds = int(state['rounds'])
        self.bisection.load_state_dict(state['bisection'])

    def state_dict(self) -> Dict[str, Any]:
        """Plain-Python state: current state and one record per round."""
        return dict(state=self._state(), records=list(self.records))

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        checkpoint[CHECKPOINT_KEY] = self.state_dict()

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        # Only remembered here: whether this is a resume (restore) or a
        # load_from (fresh search) is known at before_train.
        saved = checkpoint.get(CHECKPOINT_KEY)
        self._loaded_records = list(saved['records']) if saved else []

    def _state_file(self, runner) -> str:
        return osp.join(runner.work_dir, STATE_FILE)

    def _write_state_file(self, runner) -> None:
        if not is_main_process():
            return
        path = self._state_file(runner)
        tmp = f'{path}.tmp{os.getpid()}'
        with open(tmp, 'w') as f:
            json.dump(dict(records=self.records), f, indent=1)
        os.replace(tmp, path)  # atomic: never a half-written file

    def _restore(self, runner) -> None:
        """Restore the latest state recorded at an iteration <= runner.iter."""
        records = list(self._loaded_records)
        path = self._state_file(runner)
        if is_main_process() and osp.isfile(path):
            with open(path) as f:
                records += json.load(f)['records']
        records = [r for r in records if r['iter'] <= runner.iter]
        # A record may be both in the checkpoint and in the side file.
        unique = {(r['iter'], r['state']['rounds']): r for r in records}
        records = [unique[k] for k in sorted(unique)]
        # Rank 0 may have read the side file; all ranks use its choice.
        chosen = [records if records else None]
        broadcast_object_list(chosen)
        if chosen[0] is None:
            return
        self.records = chosen[0]
        self._load_state(self.records[-1]['state'])

    # ------------------------------------------------------------ hooks
    def before_train(self, runner) -> None:
        found = find_alpha_losses(runner.model)
        if not found:
            losses = [
                type(head_loss.loss).__name__
                for head_loss in iter_head_losses(runner.model)
            ]
            raise RuntimeError(
                'OIIBisectionHook: no loss of decode_head or auxiliary_head '
                f'has an `alpha` attribute (losses found: {losses}); use a '
                'loss with alpha (e.g. DIBELoss, DIBEDisLoss, a Tversky '
                'loss) or remove the hook')
        if runner.iter > 0:  # resumed; load_from alone starts at iter 0
            self._restore(runner)
        self._loaded_records = []
        self._training = True
        names = set_loss_alpha(runner.model, self.bisection.alpha)
        print_log(
            f'OIIBisectionHook: alpha={self.bisection.alpha:.6g} (beta = 1 - '
            f'alpha) on {names}; search {self.bisection!r}',
            logger='current')

    def after_train(self, runner) -> None:
        self._training = False

    def before_train_iter(self, runner, batch_idx: int,
                          data_batch=None) -> None:
        runner.message_hub.update_scalar('train/alpha', self.bisection.alpha)

    def _find_metric(self, metrics: Dict[str, Any]) -> float:
        if self.metric in metrics:
            return metrics[self.metric]
        matches = [k for k in metrics if k.endswith('/' + self.metric)]
        if len(matches) != 1:
            raise KeyError(
                f'OIIBisectionHook: metric {self.metric!r} '
                f'{"is ambiguous" if matches else "not found"} in the '
                f'validation results {sorted(metrics)}; add OIIMetric to '
                'val_evaluator or set `metric` to the right key')
        return metrics[matches[0]]

    def after_val_epoch(self, runner, metrics: Optional[Dict] = None) -> None:
        if not self._training:
            return  # a stand-alone runner.val() must not move α
        self.rounds += 1
        runner.message_hub.update_scalar('val/alpha', self.bisection.alpha)
        if not self.bisection.done:
            self._guide(runner, metrics or {})
        # Every round is recorded (also warm-up ones: the round counter must
        # survive a resume).
        self.records.append(dict(iter=runner.iter, state=self._state()))
        self._write_state_file(runner)

    def _guide(self, runner, metrics: Dict) -> None:
        alpha = self.bisection.alpha
        if self.rounds <= self.start_round or runner.iter < self.start_iter:
            print_log(
                f'OIIBisectionHook: round {self.rounds} at iter {runner.iter}'
                f' is warm-up (start_round={self.start_round}, start_iter='
                f'{self.start_iter}); alpha stays {alpha:.6g}',
                logger='current')
            return
        value = [float(self._find_metric(metrics))]
        broadcast_object_list(value)  # identical bisection on every rank
        value = value[0]
        if math.isnan(value):
            print_log(
                f'OIIBisectionHook: OII is NaN at iter {runner.iter} (no '
                'target pixel and no prediction in the validation set); '
                f'round ignored, alpha stays {alpha:.6g}',
                logger='current', level=30)
            return
        step = self.bisection.update(value)
        set_loss_alpha(runner.model, self.bisection.alpha)
        print_log(
            f'OIIBisectionHook: round {self.rounds} (iter {runner.iter}): '
            f'OII={value:.4f} at alpha={alpha:.6g}: {step.describe()} '
            f'(interval [{step.low:.6g}, {step.high:.6g}], step '
            f'{step.step}/{self.bisection.max_steps})',
            logger='current')
