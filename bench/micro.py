"""Engine micro-benchmarks (`parcall bench micro`).

python bench/micro.py [--sizes 1000,10000,100000] [--concurrent-runs 1000] [--out DIR]

Without --out the figures go to a new parcall-bench-* folder here; --out bench/results
refreshes the published ones.
"""

import sys

from parcall.cli._app import app

if __name__ == "__main__":
    app(["bench", "micro", *sys.argv[1:]])
