"""scripts/plot_results.py redraws every plot the results pages show, from bench/results."""

from __future__ import annotations

import runpy
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
COMMITTED = ROOT / "docs" / "img" / "results"


@pytest.fixture(scope="module")
def script() -> dict[str, object]:
    pytest.importorskip("matplotlib", reason="needs pip install 'parcall[bench]'")
    return runpy.run_path(str(ROOT / "scripts" / "plot_results.py"))


def test_the_script_redraws_every_committed_plot(
    script: dict[str, object], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    image_module = pytest.importorskip("PIL.Image", reason="needs pillow")
    main = script["main"]
    assert callable(main)
    written = main(["--out", str(tmp_path)])
    capsys.readouterr()
    assert sorted(p.name for p in written) == sorted(p.name for p in COMMITTED.glob("*.png"))
    for path in written:
        with image_module.open(path) as new, image_module.open(COMMITTED / path.name) as old:
            assert new.size == old.size, path.name
            assert len(new.convert("RGB").getcolors(1 << 24) or []) > 20, path.name  # not blank


def test_the_accuracy_plot_has_one_point_per_table_row(script: dict[str, object]) -> None:
    table_rows = script["table_rows"]
    assert callable(table_rows)
    rows = table_rows()
    # The accuracy page's table: 7 HotpotQA rows, 6 for each other dataset (4 BFCL subsets).
    assert len(rows) == 7 + 6 * 6
    assert {r.dataset for r in rows} == {
        "hotpotqa",
        "fanoutqa",
        "nestful",
        "bfcl-parallel",
        "bfcl-parallel-multiple",
        "bfcl-exec-parallel",
        "bfcl-exec-parallel-multiple",
    }
    assert all(len(r.scores) == len(r.seconds) > 0 for r in rows)


def test_the_paired_comparison_marks_differences_within_noise(
    script: dict[str, object],
) -> None:
    import numpy as np

    compare, table_rows = script["compare"], script["table_rows"]
    assert callable(compare) and callable(table_rows)
    lines = compare(table_rows(), np.random.default_rng(1))
    hotpot_react = next(line for line in lines if "HotpotQA" in line and "ReAct" in line)
    assert "| 28 |" in hotpot_react
    # parcall - ReAct on HotpotQA with the 1.5B model: +2 of 28 questions, inside the noise.
    assert "+0.071 (" in hotpot_react and "within noise" in hotpot_react.split("|")[5]
