#!/usr/bin/env bash
# Create bench/.venv-peers and install the pinned peer implementations into it.
# Idempotent: re-running with an up-to-date venv only checks the requirements stamp.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
VENV="${PEERS_VENV:-$HERE/../.venv-peers}"
REQ="$HERE/requirements.txt"
PY="${PYTHON:-python3}"

if [ ! -x "$VENV/bin/python" ]; then
    "$PY" -m venv "$VENV"
fi
STAMP="$VENV/.requirements.sha256"
WANT="$(sha256sum "$REQ" | cut -d' ' -f1)"
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$WANT" ] && "$VENV/bin/pip" check >/dev/null 2>&1; then
    echo "peers venv up to date: $VENV"
    exit 0
fi
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$REQ"
"$VENV/bin/pip" check
echo "$WANT" > "$STAMP"
echo "peers venv ready: $VENV"
"$VENV/bin/python" -c "from importlib.metadata import version as v; print('llmcompiler', v('llmcompiler')); print('llama-index-packs-agents-llm-compiler', v('llama-index-packs-agents-llm-compiler'))"
