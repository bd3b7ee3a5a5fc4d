"""Model-zoo tables and metafile entries from mmengine work directories.

    python tools/analysis/report.py WORK_DIR [WORK_DIR ...] \
        [--out results.md] [--metafile configs/dibe/metafile.yaml] \
        [--configs-dir configs/dibe] [--results best last] [--best-key IoU]

Work directories whose configs differ only in ``randomness.seed`` are one
row: each metric is shown as mean ± sample standard deviation over the seeds.
What is read and how the columns are computed: :mod:`mmseg_dibe.analysis`
(``workdir``, ``stats``, ``tables``, ``metafile``).
"""
import argparse
import json
import os
import os.path as osp
import sys

from mmseg_dibe.analysis import (group_runs, load_runs, render_report,
                                 summarize, update_metafile)

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Model-zoo tables and metafile from work directories')
    parser.add_argument('work_dirs', nargs='*', metavar='WORK_DIR',
                        help='mmengine work directories (tools/train.py '
                        '--work-dir); a directory holding several work '
                        'directories may be given with --recursive')
    parser.add_argument('--recursive', action='store_true',
                        help='also use every work directory found below '
                        'each WORK_DIR')
    parser.add_argument('--out', help='Markdown file to write (default: '
                        'print to stdout)')
    parser.add_argument('--json', help='also write the rows as JSON here')
    parser.add_argument('--metafile',
                        help='metafile to (re)write, e.g. '
                        'configs/dibe/metafile.yaml')
    parser.add_argument('--configs-dir', default=osp.join(REPO, 'configs',
                                                          'dibe'),
                        help='configs the metafile lists (default: '
                        'configs/dibe)')
    parser.add_argument('--num-gpus', type=int, default=2,
                        help='GPUs the configs without a run are meant for '
                        '(metafile Batch Size; the paper used 2)')
    parser.add_argument('--results', nargs='+', choices=['best', 'last'],
                        default=['best', 'last'],
                        help='which validation results to tabulate')
    parser.add_argument('--best-key', default='IoU',
                        help='metric that decides the best validation')
    parser.add_argument('--link-root',
                        help='prefix links with this URL (paths relative to '
                        'the repository) instead of paths relative to --out')
    args = parser.parse_args(argv)
    if not args.work_dirs and not args.metafile:
        parser.error('give WORK_DIRs and/or --metafile')
    return args


def main(argv=None):
    args = parse_args(argv)
    try:
        runs = load_runs(args.work_dirs, args.recursive)
    except (FileNotFoundError, ValueError) as e:
        raise SystemExit(f'report: {e}')
    groups = group_runs(runs)
    summaries = [summarize(g, args.best_key) for g in groups]
    out_dir = osp.dirname(osp.abspath(args.out)) if args.out else os.getcwd()
    if runs:
        text = render_report(summaries, args.results, out_dir,
                             args.link_root, args.best_key,
                             [osp.join(REPO, 'configs')], REPO)
        if args.out:
            os.makedirs(out_dir, exist_ok=True)
            with open(args.out, 'w') as f:
                f.write(text)
            print(f'report: {len(runs)} runs in {len(groups)} rows '
                  f'-> {args.out}')
        else:
            print(text)
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(summaries, f, indent=1, default=str)
    if args.metafile:
        try:
            data = update_metafile(args.metafile, args.configs_dir, groups,
                                   summaries, args.num_gpus, REPO)
        except FileNotFoundError as e:
            raise SystemExit(f'report: {e}')
        with_results = sum('Metrics' in m['Results'] for m in data['Models'])
        print(f'metafile: {len(data["Models"])} configs '
              f'({with_results} with results) -> {args.metafile}')


if __name__ == '__main__':
    sys.exit(main())
