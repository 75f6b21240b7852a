"""The shipped codebooks code the hand-written answers of tests/data/free_text_coded.yaml as an
analyst did: every theme at least 0.9 precision and 0.9 recall (a quality threshold)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from reports.free_text import TextTheme, themes_mentioned
from survey_app.definitions.loader import SHIPPED_FOLDER, load_definition

CODED = Path(__file__).resolve().parent / "data" / "free_text_coded.yaml"
THRESHOLD = 0.9


def _coded() -> dict[str, list[dict]]:
    return yaml.safe_load(CODED.read_text(encoding="utf-8"))


def _codebook(slug: str) -> list[TextTheme]:
    definition, _ = load_definition(SHIPPED_FOLDER / f"{slug}.yaml")
    return [TextTheme(t.code, t.label, rules=t.rules()) for t in definition.codebook]


def test_the_hand_coded_set_is_large_varied_and_uses_only_codebook_themes() -> None:
    coded = _coded()
    assert sum(len(rows) for rows in coded.values()) >= 300
    for slug, rows in coded.items():
        codes = {theme.code for theme in _codebook(slug)}
        texts = [row["text"] for row in rows]
        assert len(set(texts)) == len(texts), f"{slug}: an answer appears twice"
        used = {code for row in rows for code in row["codes"]}
        assert used == codes, f"{slug}: codes outside the codebook or never used"
        # Some answers mention no theme at all, and some several.
        assert any(not row["codes"] for row in rows)
        assert any(len(row["codes"]) >= 2 for row in rows)
        for code in codes:
            assert sum(code in row["codes"] for row in rows) >= 9, code


@pytest.mark.parametrize("slug", ["icb-leaders", "placement-quality"])
def test_each_theme_reaches_the_precision_and_recall_threshold(slug: str) -> None:
    rows = _coded()[slug]
    themes = _codebook(slug)
    pairs = [(themes_mentioned(row["text"], themes), set(row["codes"])) for row in rows]
    below = []
    for theme in themes:
        tp = sum(theme.code in got and theme.code in wanted for got, wanted in pairs)
        fp = sum(theme.code in got and theme.code not in wanted for got, wanted in pairs)
        fn = sum(theme.code not in got and theme.code in wanted for got, wanted in pairs)
        precision, recall = tp / (tp + fp), tp / (tp + fn)
        if precision < THRESHOLD or recall < THRESHOLD:
            below.append(f"{theme.code}: precision {precision:.2f}, recall {recall:.2f}")
    assert not below, below
