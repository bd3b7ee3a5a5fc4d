"""Self-check of the installation on one GPU (or the CPU): a pass/fail table.

    python tools/gpu_check.py [--device cuda|cpu] [--checks compile amp train dist]
                              [--work-dir DIR] [--train-iters 20] [--dist-iters 4]

Rows: the compiled fused DIBE kernels equal the eager ones (values and
gradients of every loss of ours); every loss, and mmseg's sigmoid
CrossEntropyLoss, is finite under fp16/bf16 autocast (bf16 on the CPU) for
saturated logits and empty or all-ignored masks; a 20-iteration training of
the demo config (--amp on CUDA, fp32 on the CPU); a 1-process
tools/dist_train.sh run (NCCL on CUDA, gloo on the CPU). Meant to take under
two minutes on one GPU (not yet timed on one); on a loaded 2-core CPU the full
run took about 5 minutes, most of it compiling one kernel pair per loss with a
cold cache (--compile-losses DIBELoss shortens that). Exit code 0 when every
row passes, 1 when any fails, 2 when the device is unavailable.
"""
import argparse
import os.path as osp
import sys

from mmseg_dibe import selfcheck

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--device', choices=['cuda', 'cpu'], default='cuda')
    parser.add_argument('--checks', nargs='+', choices=list(selfcheck.CHECKS),
                        default=list(selfcheck.CHECKS),
                        help='which checks to run (default: all)')
    parser.add_argument('--work-dir',
                        help='keep the training runs here (default: a '
                        'temporary directory, removed afterwards)')
    parser.add_argument('--compile-losses', nargs='+', metavar='TYPE',
                        help='losses the compile check compares (default: '
                        'every loss of ours; each needs its own compilation, '
                        'minutes on a small CPU)')
    parser.add_argument('--data-root',
                        help='an existing synthetic dataset for the training '
                        'checks (default: generate a small one)')
    parser.add_argument('--train-iters', type=int, default=20)
    parser.add_argument('--dist-iters', type=int, default=4)
    parser.add_argument('--timeout', type=float, default=600,
                        help='seconds before a training subprocess is killed')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    try:
        ctx = selfcheck.CheckContext(
            device=args.device, repo_root=REPO, work_dir=args.work_dir,
            train_iters=args.train_iters, dist_iters=args.dist_iters,
            timeout=args.timeout, compile_losses=args.compile_losses,
            data_root=args.data_root)
    except RuntimeError as exc:
        print(f'gpu_check: {exc}', file=sys.stderr)
        sys.exit(2)
    with ctx:
        rows = selfcheck.run_checks(
            ctx, selfcheck.default_checks(args.checks),
            progress=lambda msg: print(msg, file=sys.stderr, flush=True))
    print(selfcheck.format_table(rows))
    sys.exit(selfcheck.exit_code(rows))


if __name__ == '__main__':
    main()
