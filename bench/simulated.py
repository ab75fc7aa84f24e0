"""Simulated workloads through parcall, parallel tool calling and ReAct (`parcall bench simulated`).

python bench/simulated.py [--repeats N] [--workloads W1,W2,...] [--out DIR]

Without --out the figures go to a new parcall-bench-* folder here; --out bench/results
refreshes the published ones.
"""

import sys

from parcall.cli._app import app

if __name__ == "__main__":
    app(["bench", "simulated", *sys.argv[1:]])
