"""Time DNA extraction (a benchmark, not a test).

    python benchmarks/bench_extract.py RESPONSES [--encoder hashing] [--limit N]

Prints wall time, peak resident memory, models/s and answers/s for ``extract_dna`` with the
default settings (or the given encoder). ``--limit`` takes the first N model folders (through
symlinks in a temporary folder), e.g. to measure a slow sentence-transformers encoder.
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
import warnings
from pathlib import Path

from phylo_llm.extract import extract_dna


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("responses")
    parser.add_argument("--encoder", default="hashing")
    parser.add_argument("--limit", type=int)
    args = parser.parse_args()
    source = Path(args.responses)
    with tempfile.TemporaryDirectory() as tmp:
        if args.limit:
            for folder in sorted(p for p in source.iterdir() if p.is_dir())[: args.limit]:
                (Path(tmp) / folder.name).symlink_to(folder.resolve())
            source = Path(tmp)
        warnings.simplefilter("ignore")
        start = time.perf_counter()
        dna, stats = extract_dna(source, encoder=args.encoder)
        seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{args.responses} encoder={args.encoder}: {dna.n_models} models, {stats.answers} answers, {seconds:.1f} s, "
          f"{dna.n_models / seconds:.2f} models/s, {stats.answers / seconds:.0f} answers/s, peak RSS {peak:.0f} MB")


if __name__ == "__main__":
    main()
