"""Resume an iteration-based training exactly where it stopped.

mmengine's ``--resume`` restores weights, optimizer, schedulers and the
iteration, then *replays* the data loader ``iter`` batches (loading and
augmenting every image again) to reach the sampler position. The random
number generators are not restored: the replay advances numpy/Python (the
augmentations of a 0-worker loader) but not torch's generator that the model
(dropout) draws from during training, and validation rounds draw from it too.
A resumed run therefore trains on other dropout masks (and, with worker
processes, other augmentations) than the uninterrupted run: measured, weights
up to 2.06 apart after 20 more iterations of the demo config.

:class:`ExactResumeHook` makes a resumed run bit-identical to the
uninterrupted one (same machine and thread count, deterministic kernels):

* every checkpoint stores the Python, numpy and torch (CPU and CUDA) RNG
  states (key ``exact_resume``, plain tensors and tuples only, so it loads
  under torch's ``weights_only`` unpickler);
* right after each checkpoint the training data iterator is restarted at the
  current sampler position, its worker processes seeded from
  ``(seed, rank, iteration)``; a resumed run restores the RNG states and
  starts the iterator the same way, without replaying any batch;
* validation leaves the training RNG state as it found it.

Add it with ``custom_hooks = [dict(type='ExactResumeHook')]`` (our
``tools/train.py`` adds it to iteration-based trainings with an
``InfiniteSampler`` by itself).
"""
import random
from functools import partial
from itertools import islice
from typing import Optional

import numpy as np
import torch
from mmengine.hooks import Hook
from mmengine.registry import HOOKS

#: Key of the hook's state in mmengine checkpoints.
CHECKPOINT_KEY = 'exact_resume'


def get_rng_state() -> dict:
    """Python, numpy and torch RNG states as tensors, tuples and ints."""
    version, py_state, gauss = random.getstate()
    name, keys, pos, has_gauss, cached = np.random.get_state()
    state = dict(
        python=(version, torch.tensor(py_state, dtype=torch.int64), gauss),
        numpy=(name, torch.from_numpy(keys.astype(np.int64)), int(pos),
               int(has_gauss), float(cached)),
        torch=torch.get_rng_state())
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state['cuda'] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict) -> None:
    """Restore what :func:`get_rng_state` returned."""
    version, py_state, gauss = state['python']
    random.setstate((version, tuple(int(v) for v in py_state.tolist()), gauss))
    name, keys, pos, has_gauss, cached = state['numpy']
    np.random.set_state((name, keys.numpy().astype(np.uint32), pos,
                         has_gauss, cached))
    torch.set_rng_state(state['torch'])
    if 'cuda' in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state['cuda'])


def _seed_worker(worker_id: int, base_seed: int) -> None:
    """``worker_init_fn``: one seed per (restart, worker)."""
    seed = (base_seed + worker_id) % 2**32
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


class _OffsetSampler:
    """This rank's indices of an ``InfiniteSampler``, ``offset`` on.

    mmengine's ``InfiniteSampler`` keeps one generator for its lifetime;
    ``_indices_of_rank()`` starts its seeded stream afresh, which is skipped
    to the position (indices only: nothing is loaded).
    """

    def __init__(self, sampler, offset: int):
        self.sampler = sampler
        self.offset = offset

    def __iter__(self):
        return islice(self.sampler._indices_of_rank(), self.offset, None)

    def __len__(self):
        return len(self.sampler)

    def set_epoch(self, epoch: int) -> None:
        if hasattr(self.sampler, 'set_epoch'):
            self.sampler.set_epoch(epoch)


class _SkipReplay:
    """Stands in for the loop's data iterator while mmengine replays it.

    mmengine's ``IterBasedTrainLoop.run`` calls ``next`` ``iter`` times to
    skip trained batches; those calls return ``None`` without loading. The
    next call restores the checkpoint's RNG state, starts the real iterator
    at the sampler position and returns its first batch.
    """

    def __init__(self, hook, runner, skip: int):
        self.hook = hook
        self.runner = runner
        self.skip = skip

    def __iter__(self):
        return self

    def __next__(self):
        if self.skip > 0:
            self.skip -= 1
            return None
        set_rng_state(self.hook._pending)
        self.hook._pending = None
        loop = self.runner.train_loop
        self.hook._restart(self.runner, loop.iter)
        return next(loop.dataloader_iterator)


@HOOKS.register_module()
class ExactResumeHook(Hook):
    """Make ``--resume`` continue bit-identically (see the module doc).

    Only for ``IterBasedTrainLoop`` with an infinite sampler (mmengine's
    ``InfiniteSampler``), the set-up of our iteration-based configs.
    """

    # After CheckpointHook (VERY_LOW): restart once the checkpoint is written.
    priority = 'LOWEST'

    def __init__(self):
        self._pending: Optional[dict] = None
        self._val_state: Optional[dict] = None
        self._saved_iter: Optional[int] = None
        self._base_sampler = None

    # -- checkpoint ---------------------------------------------------------
    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        state = self._val_state or get_rng_state()
        checkpoint[CHECKPOINT_KEY] = dict(rng=state)
        self._saved_iter = checkpoint.get('meta', {}).get('iter')

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        saved = checkpoint.get(CHECKPOINT_KEY)
        self._pending = saved['rng'] if saved else None

    # -- training -----------------------------------------------------------
    def _loader_parts(self, runner):
        from mmengine.runner import IterBasedTrainLoop
        loop = runner.train_loop
        if not isinstance(loop, IterBasedTrainLoop):
            raise RuntimeError(
                f'ExactResumeHook needs an IterBasedTrainLoop; the config '
                f'uses {type(loop).__name__}')
        loader = loop.dataloader
        batch_sampler = loader.batch_sampler
        if batch_sampler is None or not hasattr(batch_sampler, 'sampler'):
            raise RuntimeError('ExactResumeHook needs a data loader with a '
                               'batch sampler over an index sampler')
        if self._base_sampler is None:
            sampler = batch_sampler.sampler
            if not hasattr(sampler, '_indices_of_rank'):
                raise RuntimeError(
                    f'ExactResumeHook needs an InfiniteSampler (the data '
                    f'order is continued by skipping indices); the config '
                    f'uses {type(sampler).__name__}')
            self._base_sampler = sampler
        return loop, loader, batch_sampler

    def _restart(self, runner, iteration: int) -> None:
        """Start the training data iterator at ``iteration``'s position."""
        from mmengine.runner.loops import _InfiniteDataloaderIterator
        loop, loader, batch_sampler = self._loader_parts(runner)
        old = getattr(loop.dataloader_iterator, '_iterator', None)
        if hasattr(old, '_shutdown_workers'):
            old._shutdown_workers()
        if getattr(loader, '_iterator', None) is not None:  # persistent
            loader._iterator._shutdown_workers()
            loader._iterator = None
        batch_sampler.sampler = _OffsetSampler(
            self._base_sampler, iteration * batch_sampler.batch_size)
        seed = runner.seed if runner.seed is not None else 0
        base = int(np.random.SeedSequence(
            [seed, runner.rank, iteration]).generate_state(1)[0])
        if loader.num_workers > 0:
            loader.worker_init_fn = partial(_seed_worker, base_seed=base)
        loop.dataloader_iterator = _InfiniteDataloaderIterator(loader)

    def before_train(self, runner) -> None:
        loop = runner.train_loop
        self._loader_parts(runner)  # check the set-up early
        if self._pending is not None and loop.iter > 0:
            loop.dataloader_iterator = _SkipReplay(self, runner, loop.iter)
        else:
            self._pending = None
            self._restart(runner, loop.iter)

    def after_train_iter(self, runner, batch_idx: int, data_batch=None,
                         outputs=None) -> None:
        if self._saved_iter == runner.iter + 1 and \
                runner.iter + 1 < runner.max_iters:
            self._restart(runner, runner.iter + 1)
        self._saved_iter = None

    # -- validation leaves the training RNG alone ---------------------------
    def before_val(self, runner) -> None:
        self._val_state = get_rng_state()

    def after_val(self, runner) -> None:
        if self._val_state is not None:
            set_rng_state(self._val_state)
        self._val_state = None
