"""Where a CPU training iteration of the reduced U-Net goes, and which
settings make it faster.

    python benchmarks/train_speed.py [--config CONFIG] [--iters 30]
        [--warmup 3] [--rounds 3] [--variants default channels_last ...]
    python benchmarks/train_speed.py --long 350 [--flush-denormal] [--threads 1]

The first form builds one model per variant from the same config and seed
(same weights, same batches), runs them in interleaved chunks and prints the
mean time of each phase (data, preprocess, forward, loss, backward, step)
and iterations/s against the `default` variant of the same run. Variants:
default, channels_last, threads=1, threads=2, flush_denormal, compile
(torch.compile of train_step, what mmengine does for cfg.compile=True).

The second trains LONG iterations with mmengine's Runner, timing every
iteration and counting subnormal floats every 25 iterations, and reports
slow phases. Data: `make demo`'s synthetic set, generated into --data-root
when missing. Measure ratios, not absolute times, on a shared machine.
"""
import argparse
import json
import os.path as osp
import tempfile

from mmseg_dibe.benchmarking import train_speed as ts

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
DEMO = osp.join(REPO, 'configs', 'demo', 'unet-s5-tiny_dibe_synthetic-64x64.py')
VARIANTS = {v.name: v for v in ts.default_variants()}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--config', default=DEMO)
    parser.add_argument('--data-root',
                        default=osp.join(REPO, 'data', 'synthetic_crack_demo'),
                        help='synthetic data (written here when missing)')
    parser.add_argument('--iters', type=int, default=30)
    parser.add_argument('--warmup', type=int, default=3)
    parser.add_argument('--rounds', type=int, default=3)
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--variants', nargs='+', choices=list(VARIANTS),
                        default=list(VARIANTS))
    parser.add_argument('--long', type=int, default=0, metavar='ITERS',
                        help='instead: one Runner training of ITERS '
                        'iterations with per-iteration timing')
    parser.add_argument('--flush-denormal', action='store_true',
                        help='--long: torch.set_flush_denormal(True)')
    parser.add_argument('--threads', type=int, default=1,
                        help='--long: torch.set_num_threads')
    parser.add_argument('--json', help='also write the raw numbers here')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    ts.ensure_synthetic_data(
        args.data_root, osp.join(REPO, 'tools', 'data', 'make_synthetic.py'))
    env = ts.environment()
    print('environment: ' + ', '.join(f'{k}={v}' for k, v in env.items()))
    with tempfile.TemporaryDirectory(prefix='train_speed_') as work_dir:
        if args.long:
            options = {
                'train_cfg.max_iters': args.long,
                'train_cfg.val_interval': args.long,
                'default_hooks.checkpoint.interval': args.long,
                'default_hooks.logger.interval': 50,
            }
            cfg = ts.load_train_config(args.config, args.data_root, work_dir,
                                       args.seed, options)
            result = ts.long_run(cfg, args.flush_denormal, args.threads)
            print(ts.format_long_run(result))
            out = dict(result, environment=env, config=args.config)
        else:
            cfg = ts.load_train_config(args.config, args.data_root, work_dir,
                                       args.seed)
            results = ts.measure_variants(
                cfg, [VARIANTS[n] for n in args.variants], args.iters,
                args.warmup, args.rounds, args.seed,
                progress=lambda m: print(m, flush=True))
            rows = ts.summarize(results)
            print(f'\n{args.config}: {args.iters} timed iterations per '
                  f'variant after {args.warmup} warm-up, {args.rounds} '
                  f'interleaved rounds')
            print(ts.format_summary(rows))
            print('\nmean ms per phase:')
            print(ts.format_phases(rows))
            out = dict(rows=[{k: v for k, v in r.items()} for r in rows],
                       environment=env, config=args.config)
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(out, f, indent=1, default=str)


if __name__ == '__main__':
    main()
