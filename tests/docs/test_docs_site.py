"""The documentation site builds strictly, documents every public name, and renders.

The site is built once into a temporary folder with `mkdocs build --strict` (as CI does);
headless Chromium then takes screenshots of the home page and the accuracy page, which
must show Material's coloured header (the theme's CSS loaded) and the page's content.
"""

from __future__ import annotations

import importlib
import os
import pkgutil
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from conftest import CHROMIUM
from conftest import screenshot as chromium_screenshot

ROOT = Path(__file__).resolve().parents[2]
# API page -> module whose __all__ it must document.
API_PAGES = {
    "parcall": "parcall",
    "models": "parcall.models",
    "tools": "parcall.tools",
    "select": "parcall.select",
    "passes": "parcall.passes",
    "store": "parcall.store",
    "observe": "parcall.observe",
    "serve": "parcall.serve",
    "eval": "parcall.eval",
    "bench": "parcall.bench",
    "baselines": "parcall.baselines",
}
NOT_AN_API = {"parcall.cli"}  # the command: its page is docs/cli.md
PLOT_BLUE, PLOT_ORANGE = (0x4C, 0x72, 0xB0), (0xDD, 0x84, 0x52)  # parcall and ReAct points

pytestmark = pytest.mark.timeout(300)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("mkdocs", reason="needs pip install -e '.[docs]'")
    pytest.importorskip("material", reason="needs pip install -e '.[docs]'")
    pytest.importorskip("mkdocstrings_handlers.python", reason="needs pip install -e '.[docs]'")
    out = tmp_path_factory.mktemp("site")
    build = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=280,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )
    assert build.returncode == 0, build.stdout + build.stderr
    return out


def test_every_public_name_has_its_reference_entry(site: Path) -> None:
    missing = []
    for page, module_name in API_PAGES.items():
        html = (site / "api" / page / "index.html").read_text(encoding="utf-8")
        anchors = set(re.findall(r'id="([\w.]+)"', html))
        module = importlib.import_module(module_name)
        missing += [
            f"{module_name}.{name}"
            for name in module.__all__
            if f"{module_name}.{name}" not in anchors
        ]
    assert missing == []


def test_every_public_subpackage_has_an_api_page() -> None:
    import parcall

    public = {
        f"parcall.{m.name}"
        for m in pkgutil.iter_modules(parcall.__path__)
        if m.ispkg and not m.name.startswith("_")
    } - NOT_AN_API
    assert public <= set(API_PAGES.values())
    for page, module_name in API_PAGES.items():
        text = (ROOT / "docs" / "api" / f"{page}.md").read_text(encoding="utf-8")
        assert f"::: {module_name}\n" in text, page


def test_the_plots_the_results_pages_show_are_in_the_site(site: Path) -> None:
    for page in ("accuracy", "speed"):
        html = (site / "results" / page / "index.html").read_text(encoding="utf-8")
        images = re.findall(r'<img[^>]+src="([^"]+\.png)"', html)
        assert images, page
        for src in images:
            assert (site / "results" / page / src).resolve().is_file(), src


def screenshot(page: Path, out: Path, profile: Path, height: int) -> Any:
    image_module = pytest.importorskip("PIL.Image", reason="needs pillow to read the screenshot")
    chromium_screenshot(page, out, profile, height=height, timeout=60)
    return image_module.open(out).convert("RGB")


def near(pixel: tuple[int, int, int], color: tuple[int, int, int], tolerance: int = 24) -> bool:
    return all(abs(a - b) <= tolerance for a, b in zip(pixel, color))


def assert_styled_and_filled(image: Any) -> None:
    width, height = image.size
    # Material's header: a band of the primary colour (indigo) across the top.
    header = Counter(image.getpixel((x, y)) for x in range(0, width, 13) for y in range(4, 40, 4))
    (r, g, b), count = header.most_common(1)[0]
    assert count > 0.6 * sum(header.values()), header.most_common(3)
    assert b > r + 60 and b > g + 40, (r, g, b)
    # Below it, the page: text and navigation in many shades, not a blank sheet.
    body = Counter(image.getpixel((x, y)) for x in range(0, width, 3) for y in range(80, height, 3))
    assert len(body) > 40, len(body)
    assert body.most_common(1)[0][1] < 0.97 * sum(body.values())


@pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium (apt-get install chromium)")
def test_chromium_renders_the_home_page_with_the_theme(site: Path, tmp_path: Path) -> None:
    home = (site / "index.html").read_text(encoding="utf-8")
    assert 'class="md-header' in home and "assets/stylesheets/main" in home
    image = screenshot(site / "index.html", tmp_path / "home.png", tmp_path / "profile", 900)
    assert_styled_and_filled(image)


@pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium (apt-get install chromium)")
def test_chromium_renders_the_accuracy_page_with_its_plot(site: Path, tmp_path: Path) -> None:
    page = site / "results" / "accuracy" / "index.html"
    image = screenshot(page, tmp_path / "accuracy.png", tmp_path / "profile", 1400)
    assert_styled_and_filled(image)
    # The plot is drawn: its parcall and ReAct markers are on the screen.
    pixels = image.getcolors(1 << 24) or []
    for color in (PLOT_BLUE, PLOT_ORANGE):
        assert sum(n for n, p in pixels if near(p, color)) > 50, color
