"""Seeing runs: OpenTelemetry spans, the trace page, and a log of runs.

```python
from parcall.observe import SpanRecorder, RunLog, write_page
```
OpenTelemetry needs `pip install 'parcall[otel]'`; the page and the log need nothing extra.
"""

from ._otel import SpanRecorder, record_spans
from ._page import render_page, write_page
from ._runlog import LoggedRun, RunLog, default_log_path

__all__ = [
    "LoggedRun",
    "RunLog",
    "SpanRecorder",
    "default_log_path",
    "record_spans",
    "render_page",
    "write_page",
]
