"""Saved llama.cpp states: a context after a fixed prompt prefix, kept on disk for next time.

A new process that restores the state of its system prompt only reads the question. A state
is used only if everything it depends on is unchanged: the model file, the llama-cpp-python
version, the context size, the exact prefix (its hash and its tokens), and the bytes
themselves (length and SHA-256 in the header). Anything else is stale or damaged: the
reader returns None and the caller rebuilds the state; a bad file is never handed to
llama.cpp.

File layout: a magic line, one line of JSON (the key and the payload's size and hash), then
the payload (llama.cpp's state bytes). Files are written to a temporary name and renamed.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

__all__ = [
    "SavedState",
    "StateKey",
    "model_identity",
    "prompt_hash",
    "read_state",
    "state_dir",
    "state_path",
    "write_state",
]

MAGIC = b"parcall-llama-state 1\n"
MAX_HEADER = 1 << 22
_SAMPLE = 1 << 20


@dataclass(frozen=True, slots=True)
class StateKey:
    """What a saved state depends on; a state is used only when all of it is equal."""

    model: str
    """`model_identity(path)`: the file's name, size, time and a hash of its ends."""
    llama_cpp_version: str
    n_ctx: int
    prompt_sha256: str


@dataclass(frozen=True, slots=True)
class SavedState:
    key: StateKey
    tokens: tuple[int, ...]
    """The prefix's tokens, as the context holds them."""
    payload: bytes
    """llama.cpp's state bytes (`llama_state_get_data`)."""


def state_dir() -> Path:
    """Where states live: `$PARCALL_STATE_DIR`, else `states/` next to the model cache."""
    override = os.environ.get("PARCALL_STATE_DIR")
    if override:
        return Path(override).expanduser()
    from ._local import models_dir

    return models_dir().parent / "states"


def state_path(directory: Path, model_path: Path, key: StateKey) -> Path:
    """One file per model file and prefix (a new version or context size replaces it)."""
    return directory / f"{model_path.stem}-{key.prompt_sha256[:16]}.llama-state"


def prompt_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def model_identity(path: Path) -> str:
    """A cheap fingerprint of a model file: name, size, modification time, and a hash of its
    first and last MiB (hashing gigabytes on every start would cost more than it saves)."""
    stat = path.stat()
    digest = hashlib.sha256()
    with path.open("rb") as f:
        digest.update(f.read(_SAMPLE))
        f.seek(max(0, stat.st_size - _SAMPLE))
        digest.update(f.read(_SAMPLE))
    return f"{path.name}:{stat.st_size}:{stat.st_mtime_ns}:{digest.hexdigest()[:32]}"


def write_state(path: Path, state: SavedState) -> None:
    """Write `state` to `path` atomically (a reader never sees half a file)."""
    header = {
        "key": asdict(state.key),
        "tokens": list(state.tokens),
        "payload_bytes": len(state.payload),
        "payload_sha256": hashlib.sha256(state.payload).hexdigest(),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(MAGIC)
            f.write(json.dumps(header, separators=(",", ":")).encode() + b"\n")
            f.write(state.payload)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_state(path: Path, key: StateKey) -> SavedState | None:
    """The state saved at `path` if it is intact and made for `key`; None otherwise."""
    try:
        with path.open("rb") as f:
            if f.read(len(MAGIC)) != MAGIC:
                return None
            line = f.readline(MAX_HEADER)
            header = json.loads(line)
            payload = f.read(int(header["payload_bytes"]) + 1)
        saved_key = StateKey(**header["key"])
        tokens = tuple(int(t) for t in header["tokens"])
        expected_hash = str(header["payload_sha256"])
        size = int(header["payload_bytes"])
    except (OSError, ValueError, TypeError, KeyError, RecursionError):
        return None
    if saved_key != key or len(payload) != size or not tokens:
        return None
    if hashlib.sha256(payload).hexdigest() != expected_hash:
        return None
    return SavedState(saved_key, tokens, payload)
