"""Tool selection: show the planner only the few tools a request needs.

```python
from parcall import Agent
from parcall.select import BM25Selector

agent = Agent(model, tools, tool_selector=BM25Selector(), select_k=5)
```

Selectors implement `ToolSelector` (`async select(request, tools, k) -> list[Tool]`):

- `BM25Selector`: lexical, over names, descriptions and parameter docs (`parcall[select]`);
- `EmbeddingSelector`: sentence embeddings of descriptions and example requests
  (all-MiniLM-L6-v2, `parcall[embeddings]`);
- `Tool2VecSelector`: vectors learned from the requests that used each tool (`learn(result)`);
- `RankFusion([...])`: several selectors' rankings merged (reciprocal rank fusion);
- `FeedsCompletion(selector)`: also picks the tools a picked tool's result usually feeds;
- `Clauses(selector)`: a request of several steps ranked step by step, one pick each in turn.
"""

from ._base import ToolSelector, Usage, tool_text
from ._bm25 import BM25Selector
from ._clauses import Clauses, clauses
from ._embeddings import EmbeddingSelector
from ._feeds import FeedsCompletion
from ._fusion import RankFusion
from ._minilm import MiniLMEncoder
from ._tool2vec import Tool2VecSelector
from ._vectors import Encoder

__all__ = [
    "BM25Selector",
    "Clauses",
    "EmbeddingSelector",
    "Encoder",
    "FeedsCompletion",
    "MiniLMEncoder",
    "RankFusion",
    "Tool2VecSelector",
    "ToolSelector",
    "Usage",
    "clauses",
    "tool_text",
]
