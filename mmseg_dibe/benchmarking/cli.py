"""What the benchmark drivers (``benchmarks/*.py``) share: defaults
resolved after parsing, and expected failures as one-line exits."""
import argparse
from typing import Callable, Optional, Sequence


def parse_resolved(parser: argparse.ArgumentParser,
                   resolve: Callable[[argparse.Namespace], object],
                   argv: Optional[Sequence[str]] = None
                   ) -> argparse.Namespace:
    """Parse ``argv`` and fill the options left ``None`` with ``resolve``
    (which changes the namespace in place).

    A ``ValueError`` of ``resolve`` (an option out of range, named in its
    message) becomes argparse's usage error (exit status 2).
    """
    args = parser.parse_args(argv)
    try:
        resolve(args)
    except ValueError as e:
        parser.error(str(e))
    return args


def run_main(name: str, args: argparse.Namespace, repo: str,
             run: Callable[[argparse.Namespace], object]) -> None:
    """Run a benchmark with ``args.repo = repo``; a missing file, a failed
    tool or a bad value ends the program with ``name: message`` instead of
    a traceback."""
    args.repo = repo
    try:
        run(args)
    except (FileNotFoundError, RuntimeError, ValueError) as e:
        raise SystemExit(f'{name}: {e}')
