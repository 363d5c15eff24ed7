"""Run a benchmark and keep its last JSON object, with the command and the date, in bench/results/.

The docs' recorded figures are built from these files, so a figure in the docs is one a benchmark
printed, never one typed in.

    python -m bench.record NAME -- MODULE ARGS...
    e.g. python -m bench.record ingest-hostile -- ingest --quick --hostile
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("name", help="the file's name in bench/results/ (no .json)")
    parser.add_argument(
        "bench", nargs=argparse.REMAINDER, help="-- then the benchmark's module and arguments"
    )
    args = parser.parse_args()
    bench = [a for a in args.bench if a != "--"]
    if not bench:
        parser.error("name a benchmark after --, e.g. -- ingest --quick")
    command = [sys.executable, "-m", f"bench.{bench[0]}", *bench[1:]]
    run = subprocess.run(command, stdout=subprocess.PIPE, text=True, check=False)
    lines = [line for line in run.stdout.splitlines() if line.startswith("{")]
    if run.returncode != 0 or not lines:
        sys.exit(f"bench.{bench[0]} failed (exit {run.returncode}) or printed no JSON object")
    kept = {
        "command": "python -m bench." + " ".join(bench),
        "date": datetime.now(UTC).date().isoformat(),
        "machine": f"{os.cpu_count()} cores, {platform.machine()}, Python {platform.python_version()}",
        "result": json.loads(lines[-1]),
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{args.name}.json").write_text(json.dumps(kept, indent=2) + "\n")
    print(json.dumps(kept["result"]))


if __name__ == "__main__":
    main()
