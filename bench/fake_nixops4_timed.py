#!/usr/bin/env python3
"""A bench-only nixops4: prints numbered lines stamped with its own clock, then succeeds.

    fake_nixops4_timed.py apply --no-interactive <deployment>

Each line reads `bench line <n> of <count> t=<time.time()>`, printed (and flushed) the moment
it is stamped, alternately on stdout and stderr as nixops4 does. Environment:
    BENCH_FAKE_LINES     number of lines (default 60)
    BENCH_FAKE_MIN/MAX   seconds between lines, drawn uniformly (default 0.05 / 0.1)
    BENCH_FAKE_SEED      seed of that draw (default 1)
    BENCH_FAKE_START     seconds to wait before the first line (default 0), as nixops4
                         evaluates before it prints
"""

import os
import random
import sys
import time


def main(argv: list[str]) -> int:
    if len(argv) != 3 or argv[:2] != ["apply", "--no-interactive"]:
        print("usage: nixops4 apply --no-interactive <deployment>", file=sys.stderr)
        return 2
    count = int(os.environ.get("BENCH_FAKE_LINES", "60"))
    low = float(os.environ.get("BENCH_FAKE_MIN", "0.05"))
    high = float(os.environ.get("BENCH_FAKE_MAX", "0.1"))
    pause = random.Random(int(os.environ.get("BENCH_FAKE_SEED", "1")))
    time.sleep(float(os.environ.get("BENCH_FAKE_START", "0")))
    for number in range(1, count + 1):
        time.sleep(pause.uniform(low, high))
        stream = sys.stderr if number % 2 else sys.stdout
        print(f"bench line {number} of {count} t={time.time():.6f}", file=stream, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
