"""`parcall serve`: an agent behind an OpenAI-compatible HTTP endpoint.

```python
from parcall.serve import create_app, running_server
```
Needs `pip install 'parcall[serve]'` (starlette and uvicorn).
"""

from ._app import Limits, ServerState, create_app
from ._server import running_server, serve

__all__ = ["Limits", "ServerState", "create_app", "running_server", "serve"]
