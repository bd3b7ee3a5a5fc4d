"""The paper's loss-analysis figures, drawn from this implementation.

* ``fig5_dibe_dis_gradient.png``: dDIBE_Dis/dp of a target pixel (y = 1)
  versus p for α ∈ {0, 0.3, 0.7} (λ = 0.25, γ = 2). Below the threshold the
  pixel is a missed target (FN), where α acts (Eq. 17); α = 0 is Focal.
* ``fig11_ft_vs_dibe_reg_loss.png``: FT loss ``(1 − Tv)^(1/γ)`` (Eq. 8) and
  DIBE_Reg loss ``(−log Tv)^(1/γ)`` (Eq. 18) versus Tv.
* ``fig13_ft_vs_dibe_reg_gradient.png``: their derivatives versus Tv
  (Eq. 22-23), by autograd through the same functions the losses use.

matplotlib is imported only when a figure is drawn.
"""
import os
from pathlib import Path
from typing import List

import torch

# Only the pure functions: no registry needed.
from mmseg_dibe.functional.pixel import dibe_dis_terms
from mmseg_dibe.functional.region import region_form


def _pyplot():
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    return plt


D = torch.float64


def dibe_dis_gradient(p, alpha, lam=0.25, gamma=2.0, threshold=0.5):
    """dDIBE_Dis/dp for target pixels (y = 1), β = 1 − α."""
    p = p.clone().requires_grad_()
    target = torch.ones_like(p, dtype=torch.bool)
    loss = dibe_dis_terms(torch.log(p), torch.log1p(-p), target,
                          p > threshold, alpha, 1 - alpha, lam, gamma)
    grad, = torch.autograd.grad(loss.sum(), p)
    return grad


def region_curve(tv, base, gamma):
    """Loss and d loss / d Tv of ``(1 − Tv)^(1/γ)`` or ``(−log Tv)^(1/γ)``."""
    tv = tv.clone().requires_grad_()
    loss = region_form(tv, base, 1 / gamma)
    grad, = torch.autograd.grad(loss.sum(), tv)
    return loss.detach(), grad


def fig5(out_dir):
    """Write ``fig5_dibe_dis_gradient.png`` into ``out_dir`` (a Path)."""
    plt = _pyplot()
    p = torch.linspace(0.02, 0.98, 400, dtype=D)
    fig, ax = plt.subplots(figsize=(5.5, 4))
    for alpha in (0.0, 0.3, 0.7):
        label = f'α = {alpha}' + (' (Focal)' if alpha == 0 else '')
        ax.plot(p, dibe_dis_gradient(p, alpha), label=label)
    ax.axvline(0.5, color='grey', lw=0.8, ls='--')
    ax.text(0.25, 0.02, 'ŷ = 0: missed target (FN)', ha='center',
            transform=ax.get_xaxis_transform(), fontsize=8)
    ax.text(0.75, 0.02, 'ŷ = 1: TP', ha='center',
            transform=ax.get_xaxis_transform(), fontsize=8)
    ax.set_xlabel('p (predicted foreground probability), y = 1')
    ax.set_ylabel('∂ DIBE_Dis / ∂p')
    ax.set_ylim(-4, 0.2)
    ax.set_title('Fig. 5: DIBE_Dis gradient, λ = 0.25, γ = 2')
    ax.legend()
    fig.tight_layout()
    path = out_dir / 'fig5_dibe_dis_gradient.png'
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def fig11_13(out_dir):
    """Write the Fig. 11 (loss) and Fig. 13 (gradient) images into
    ``out_dir`` (a Path)."""
    plt = _pyplot()
    tv = torch.linspace(0.002, 0.998, 500, dtype=D)
    ft_gammas = (0.5, 0.75, 1.0, 1.5, 2.0)
    reg_gammas = (0.5, 1.0, 1.5, 2.0, 3.0)
    paths = []
    for kind, title, ylim in (('loss', 'Fig. 11: loss vs Tversky index',
                               (0, 3)),
                              ('gradient', 'Fig. 13: gradient vs Tversky '
                               'index', (-10, 0.5))):
        fig, axes = plt.subplots(1, 2, figsize=(10, 4), sharey=True)
        for ax, base, name, gammas in (
                (axes[0], 'linear', 'FT: (1 − Tv)^(1/γ)', ft_gammas),
                (axes[1], 'log', 'DIBE_Reg: (−log Tv)^(1/γ)', reg_gammas)):
            for gamma in gammas:
                loss, grad = region_curve(tv, base, gamma)
                ax.plot(tv, loss if kind == 'loss' else grad,
                        label=f'γ = {gamma}')
            ax.set_title(name)
            ax.set_xlabel('Tv')
            ax.set_ylim(*ylim)
            ax.legend(fontsize=8)
        axes[0].set_ylabel('loss' if kind == 'loss' else '∂ loss / ∂Tv')
        fig.suptitle(title)
        fig.tight_layout()
        number = 11 if kind == 'loss' else 13
        path = out_dir / f'fig{number}_ft_vs_dibe_reg_{kind}.png'
        fig.savefig(path, dpi=120)
        plt.close(fig)
        paths.append(path)
    return paths


def draw_loss_figures(out_dir) -> List[Path]:
    """Write every figure of this module into ``out_dir``; their paths."""
    out_dir = Path(out_dir)
    os.makedirs(out_dir, exist_ok=True)
    return [fig5(out_dir), *fig11_13(out_dir)]
