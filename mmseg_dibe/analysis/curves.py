"""Validation (and training) curves of several runs over training
iterations (the paper's Figs. 7-10).

A key found in the validation records (``IoU``, ``PA``, ``OII``, ``FP/FN``,
``Recall``, ...) is drawn at the iterations where validation ran; any other
key (``loss``, ``lr``, ``decode.loss_dibe``, ...) is drawn from the training
records. Undefined points (OII NaN when TP = FP = FN = 0, FP/FN infinite
when FN = 0) are left out of the line and counted in the panel's title.
matplotlib is imported only when a figure is drawn.
"""
import math
import os
import os.path as osp

#: y-limits that make curves of different runs comparable (the paper's
#: axes); other keys scale freely.
Y_LIMITS = {'OII': (-1.05, 1.05), 'IoU': (0.0, 1.0), 'PA': (0.0, 1.0),
            'Recall': (0.0, 1.0), 'Dice': (0.0, 1.0)}


def default_labels(runs):
    """Short, distinct legend labels: what differs between the runs."""
    def describe(run, parts):
        return ', '.join(parts(run))

    candidates = [
        lambda r: [r.loss()],
        lambda r: [r.name],
        lambda r: [r.name, osp.basename(r.work_dir)],
    ]
    for parts in candidates:
        labels = [describe(r, parts) for r in runs]
        seeded = [f'{lab}, seed {r.seed}' if r.seed is not None else lab
                  for lab, r in zip(labels, runs)]
        if len(set(labels)) == len(runs):
            return labels
        if len(set(seeded)) == len(runs):
            return seeded
    return [r.work_dir for r in runs]


def series(run, key):
    """``(iterations, values, n_undefined)`` of ``key`` for one run."""
    source = run.val if any(key in r for r in run.val) else run.train
    xs, ys, undefined = [], [], 0
    for record in source:
        if key not in record:
            continue
        value = record[key]
        if not isinstance(value, (int, float)) or not math.isfinite(value):
            undefined += 1
            continue
        xs.append(record['iter'])
        ys.append(value)
    return xs, ys, undefined


def plot(runs, labels, keys, out, target=None, fpfn_max=None, title=None,
         dpi=120):
    """Draw one panel per key with one line per run and save to ``out``.

    Args:
        runs (Sequence[Run]): The runs (anything with ``train`` and ``val``
            records holding ``iter``).
        labels (Sequence[str]): Legend label of each run.
        keys (Sequence[str]): Scalars to draw, one panel each.
        out (str): Image file to write.
        target (Sequence[float], optional): OII target ``(m0, m1)`` to
            shade in the OII panel.
        fpfn_max (float, optional): Upper y-limit of the FP/FN panel.
        title (str, optional): Figure title.
        dpi (int): Resolution of the image.

    Returns:
        dict: ``{key: {label: number of points drawn}}``.

    Raises:
        KeyError: If no run logged one of the keys (nothing is written). A
            key logged only with undefined values gets an empty panel.
    """
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(keys), figsize=(4.6 * len(keys), 3.8),
                             squeeze=False, sharex=True)
    # One colour per run in every panel: a run with nothing to draw in one
    # panel (PA undefined all along, say) must not shift the others' colours.
    colors = [f'C{i % 10}' for i in range(len(runs))]
    drawn = {}
    for ax, key in zip(axes[0], keys):
        drawn[key] = {}
        missing = 0
        for run, label, color in zip(runs, labels, colors):
            xs, ys, undefined = series(run, key)
            drawn[key][label] = len(xs)
            missing += undefined
            if not xs:
                continue
            is_val = any(key in r for r in run.val)
            ax.plot(xs, ys, marker='o' if is_val else None, markersize=3,
                    linewidth=1.4, label=label, color=color)
        # A key logged only as undefined values (PA before anything is
        # predicted) is an empty panel; a key never logged is a mistake.
        if not any(drawn[key].values()) and not missing:
            plt.close(fig)
            raise KeyError(f'no run logged the key {key!r}; validation '
                           f'keys of the first run: '
                           f'{sorted(_val_keys(runs[0]))}')
        if key in Y_LIMITS:
            ax.set_ylim(*Y_LIMITS[key])
        if key == 'OII':
            ax.axhline(0.0, color='grey', linewidth=0.8)
            if target:
                ax.axhspan(target[0], target[1], color='tab:green',
                           alpha=0.15, label=f'target ({target[0]:g}, '
                           f'{target[1]:g})')
        if key == 'FP/FN':
            ax.axhline(1.0, color='grey', linewidth=0.8)
            ax.set_ylim(bottom=0, top=fpfn_max)
        note = f' ({missing} undefined points left out)' if missing else ''
        ax.set_title(key + note, fontsize=10)
        ax.set_xlabel('training iteration')
        ax.grid(alpha=0.3)
    # The legend names every run, also those the first panel could not draw.
    from matplotlib.lines import Line2D
    handles = [Line2D([], [], color=color, marker='o', markersize=3,
                      linewidth=1.4, label=label)
               for label, color in zip(labels, colors)]
    axes[0][0].legend(handles=handles, fontsize=8)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    os.makedirs(osp.dirname(osp.abspath(out)), exist_ok=True)
    fig.savefig(out, dpi=dpi)
    plt.close(fig)
    return drawn


def _val_keys(run):
    keys = set()
    for record in run.val:
        keys.update(record)
    return keys - {'step', 'iter', 'epoch', 'time', 'data_time'}
