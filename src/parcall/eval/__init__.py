"""Benchmarks II: answer and plan accuracy on public datasets, offline, with any model.

```python
from parcall.eval import run_eval
summary = run_eval("hotpotqa", agent="parcall", model="local:small", limit=5, out="ev")
```
"""

from ._bfcl import BfclAst, BfclExec
from ._compare import Comparison, compare_runs
from ._dataset import Dataset, Example, GoldScripted, Split, split_of
from ._evaluation import EvalConfig, ModelSpec
from ._hotpotqa import write_hotpotqa_split
from ._latency import with_latency
from ._nestful import Nestful
from ._plan_datasets import PLAN_DATASETS
from ._plan_metrics import plan_scores
from ._record import AGENTS, AgentName, run_example
from ._registry import DATASETS, dataset_names, load_dataset, register_dataset
from ._runner import arun_eval, run_eval
from ._runs import RunRecords, load_run

__all__ = [
    "AGENTS",
    "DATASETS",
    "PLAN_DATASETS",
    "AgentName",
    "BfclAst",
    "BfclExec",
    "Comparison",
    "Dataset",
    "EvalConfig",
    "Example",
    "GoldScripted",
    "ModelSpec",
    "Nestful",
    "RunRecords",
    "Split",
    "arun_eval",
    "compare_runs",
    "dataset_names",
    "load_dataset",
    "load_run",
    "plan_scores",
    "register_dataset",
    "run_eval",
    "run_example",
    "split_of",
    "with_latency",
    "write_hotpotqa_split",
]
