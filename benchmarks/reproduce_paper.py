"""The public-data rows of the paper's Table 5 in one command.

    python benchmarks/reproduce_paper.py [--data-root data] [--out DIR]
        [--datasets blowhole crack cfd] [--losses bce ft dibe-reg hf dibe]
        [--device cuda|cpu] [--amp] [--budget-minutes M] [--quick]
        [--plan-only]

U-Net x {stock BCE, FT, DIBE_Reg, HF, DIBE} x {MTSDD Blowhole, MTSDD Crack,
CrackForest} with the configs of configs/dibe, one training after another
(a finished training is skipped, an unfinished one resumed), after a plan
measured by a short timed probe; then the report tables, a Table-5 summary
and metafile entries. A dataset whose converted data is missing under
--data-root is skipped and its converter command printed. --quick (with
--device cpu) runs the whole chain in a few minutes on tiny settings.
The logic: mmseg_dibe.analysis.reproduce.
"""
import argparse
import os.path as osp
import sys

from mmseg_dibe.analysis import reproduce

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))


def default_device():
    import torch
    return 'cuda' if torch.cuda.is_available() else 'cpu'


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--data-root', default='data',
                        help='folder holding the converted datasets '
                        'mt_blowhole, mt_crack and cfd (default: data, as '
                        'the configs\' data_root)')
    parser.add_argument('--out', default='work_dirs/reproduce_paper',
                        help='work dirs, configs, plan and reports')
    parser.add_argument('--datasets', nargs='+', choices=list(
        reproduce.DATASETS), default=list(reproduce.DATASETS))
    parser.add_argument('--losses', nargs='+', choices=list(
        reproduce.LOSS_TOKENS), default=list(reproduce.LOSS_TOKENS),
        help='catalog tokens; bce is mmseg\'s CrossEntropyLoss'
        '(use_sigmoid=True)')
    parser.add_argument('--device', choices=['cuda', 'cpu'],
                        help='default: cuda when available')
    parser.add_argument('--amp', action='store_true',
                        help='mixed precision (tools/train.py --amp; CUDA)')
    parser.add_argument('--budget-minutes', type=float,
                        help='scale the epochs (and validation interval) '
                        'down so that the trainings fit this budget')
    parser.add_argument('--quick', action='store_true',
                        help='tiny end-to-end check: 1 epoch of 2 '
                        'iterations (4 images, batch 2), 32x32 crops')
    parser.add_argument('--probe-iters', type=int,
                        help='iterations of the timed probe (default 10, '
                        f'{reproduce.QUICK["probe_iters"]} with --quick)')
    parser.add_argument('--batch-size', type=int,
                        help='per-GPU batch (default: the configs\' 16; 2 '
                        'with --quick)')
    parser.add_argument('--workers', type=int,
                        help='data-loader workers (default: the configs\'; '
                        '0 with --quick)')
    parser.add_argument('--update-metafile', metavar='PATH',
                        help='also update this metafile of every '
                        'configs/dibe config, e.g. configs/dibe/metafile.yaml '
                        '(OUT/metafile.yaml holds the trained configs only)')
    parser.add_argument('--plan-only', action='store_true',
                        help='probe and print the plan, train nothing')
    args = parser.parse_args(argv)
    if args.device is None:
        args.device = default_device()
    if args.quick:
        if args.batch_size is None:
            args.batch_size = reproduce.QUICK['batch_size']
        if args.workers is None:
            args.workers = 0
    args.repo = REPO
    return args


def main(argv=None):
    args = parse_args(argv)
    try:
        reproduce.run(args)
    except (ValueError, reproduce.ReproduceError) as e:
        sys.exit(f'reproduce_paper: {e}')


if __name__ == '__main__':
    main()
