"""`python -m arenalens.sample --out data/sample_arena`: regenerate the synthetic sample arena."""

from __future__ import annotations

import argparse
from pathlib import Path

from arenalens.sample.generate import DEFAULT_SEED, N_INTERACTIONS
from arenalens.sample.write import write_sample_arena


def main(argv: list[str] | None = None) -> None:
    """Write the sample arena files and print what was written."""
    parser = argparse.ArgumentParser(prog="python -m arenalens.sample", description=__doc__)
    parser.add_argument("--out", type=Path, default=Path("data/sample_arena"), help="output folder")
    parser.add_argument(
        "--seed", type=int, default=DEFAULT_SEED, help="random seed (default: the shipped one)"
    )
    parser.add_argument(
        "-n", "--interactions", type=int, default=N_INTERACTIONS, help="number of battles"
    )
    args = parser.parse_args(argv)
    if args.interactions < 1:
        parser.error(
            f"--interactions: expected a positive number of battles, got {args.interactions}"
        )
    paths = write_sample_arena(args.out, seed=args.seed, n_interactions=args.interactions)
    for path in paths.values():
        print(f"wrote {path} ({path.stat().st_size:,} bytes)")


if __name__ == "__main__":
    main()
