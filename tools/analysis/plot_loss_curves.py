"""Draw the paper's loss-analysis figures (Figs. 5, 11, 13) from this
implementation: :mod:`mmseg_dibe.analysis.loss_figures`.

Usage::

    python tools/analysis/plot_loss_curves.py OUT_DIR
"""
import argparse
import sys

from mmseg_dibe.analysis.loss_figures import draw_loss_figures


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('out_dir', help='folder for the PNG files')
    args = parser.parse_args(argv)
    for path in draw_loss_figures(args.out_dir):
        print(path)
    return 0


if __name__ == '__main__':
    sys.exit(main())
