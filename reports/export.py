"""The summary JSON as CSV text and as an XLSX workbook, safe to open in a spreadsheet.

Both are flat views of the dict ``build_summary`` returns: they add no figure of their own and
withhold what it withholds. Text cells that a spreadsheet would run as a formula are
neutralised (OWASP's advice on CSV injection); numbers stay numbers.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from reports.narrative import text_theme_sentence
from reports.summary_types import Summary

#: A text cell starting with one of these is read as a formula by some spreadsheet.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")

#: A row the flat views read by column name: an item or theme row of the summary (the scope's
#: or a group's), or the stand-in of a withheld group's, which has no figures at all.
_Row = Mapping[str, Any]

_PLACE_COLUMNS = ("level", "group_key", "group_label", "responses")
_ITEM_COLUMNS_BEFORE_COUNTS = ("kind", "code", "label", "theme", "n", "missing")
_ITEM_COLUMNS_AFTER_COUNTS = (
    "mean",
    "sd",
    "median",
    "ci95_lower",
    "ci95_upper",
    "percent_positive",
    "percent_positive_ci95_lower",
    "percent_positive_ci95_upper",
    "net_agreement",
    "indicator",
)
_THEME_ONLY_COLUMNS = ("alpha", "alpha_ci95_lower", "alpha_ci95_upper")
_STATUS_COLUMNS = ("suppressed", "flag")
_THEME_SHEET_COLUMNS = (
    *_PLACE_COLUMNS,
    "code",
    "label",
    "n",
    "mean",
    "sd",
    "ci95_lower",
    "ci95_upper",
    *_THEME_ONLY_COLUMNS,
    *_STATUS_COLUMNS,
)
_GROUP_COLUMNS = ("key", "label", "responses", "suppressed")
_COMPARISON_COLUMNS = (
    "item",
    "test",
    "groups_compared",
    "statistic",
    "p",
    "p_adjusted",
    "effect_size",
)
_WAVE_CHANGE_COLUMNS = (
    "previous_wave",
    "current_wave",
    "item",
    "text",
    "theme",
    "previous_n",
    "previous_mean",
    "previous_percent_positive",
    "current_n",
    "current_mean",
    "current_percent_positive",
    "change_mean",
    "change_percent_positive",
    "test",
    "statistic",
    "p",
    "p_adjusted",
    "effect_size",
    "suppressed",
)
_FREE_TEXT_COLUMNS = (
    "question",
    "answered",
    "code",
    "label",
    "mentions",
    "of",
    "percent",
    "suppressed",
)
_TEXT_THEME_COLUMNS = (
    "code",
    "label",
    "respondents",
    "of",
    "of_answered",
    "percent",
    "suppressed",
    "sentence",
)


def neutralise(value: Any) -> Any:
    """Return ``value`` safe for a spreadsheet cell: text starting = + - @ tab or CR gets a
    leading single quote so it is shown, never evaluated. Other values are returned as they are.
    """
    if isinstance(value, str) and value.startswith(FORMULA_TRIGGERS):
        return "'" + value
    return value


def _split(interval: Sequence[float] | None) -> tuple[float | None, float | None]:
    return (None, None) if interval is None else (interval[0], interval[1])


def _scale_points(summary: Summary) -> int:
    """The widest scale with published counts: one count column per scale value."""
    tables: list[dict[str, int] | None] = [item["counts"] for item in summary["items"]]
    for group in summary["groups"]:
        tables.extend(item["counts"] for item in group["items"])
    return max((len(table) for table in tables if table is not None), default=0)


def _places(summary: Summary) -> Iterator[tuple[dict[str, Any], Sequence[_Row], Sequence[_Row]]]:
    """The scope, then each group: its place columns, its item rows and its theme rows."""
    scope = summary["scope"]
    yield (
        {
            "level": "scope",
            "group_key": scope["code"] if scope else None,
            "group_label": scope["name"] if scope else None,
            "responses": summary["responses"],
        },
        summary["items"],
        summary["themes"],
    )
    for group in summary["groups"]:
        place = {
            "level": "group",
            "group_key": group["key"],
            "group_label": group["label"],
            "responses": group["responses"],
        }
        if group["suppressed"]:
            # A withheld group has no rows in the JSON; here it gets one empty row per
            # item and theme so every (place, item) pair of the table exists.
            yield (
                place,
                [
                    {
                        "code": row["code"],
                        "text": row["text"],
                        "theme": row["theme"],
                        "suppressed": True,
                    }
                    for row in summary["items"]
                ],
                [
                    {"code": row["code"], "title": row["title"], "suppressed": True}
                    for row in summary["themes"]
                ],
            )
        else:
            yield place, group["items"], group["themes"]


def _item_row(place: dict[str, Any], item: _Row, points: int) -> dict[str, Any]:
    ci_low, ci_high = _split(item.get("ci95"))
    pp_low, pp_high = _split(item.get("percent_positive_ci95"))
    counts = item.get("counts") or {}
    row = {
        **place,
        "kind": "item",
        "code": item["code"],
        "label": item["text"],
        "theme": item["theme"],
        "n": item.get("n"),
        "missing": item.get("missing"),
    }
    row.update({f"count_{value}": counts.get(str(value)) for value in range(1, points + 1)})
    row.update(
        {
            "mean": item.get("mean"),
            "sd": item.get("sd"),
            "median": item.get("median"),
            "ci95_lower": ci_low,
            "ci95_upper": ci_high,
            "percent_positive": item.get("percent_positive"),
            "percent_positive_ci95_lower": pp_low,
            "percent_positive_ci95_upper": pp_high,
            "net_agreement": item.get("net_agreement"),
            "indicator": item.get("indicator"),
            "suppressed": item["suppressed"],
            "flag": item.get("flag"),
        }
    )
    return row


def _theme_row(place: dict[str, Any], theme: _Row) -> dict[str, Any]:
    ci_low, ci_high = _split(theme.get("ci95"))
    alpha_low, alpha_high = _split(theme.get("alpha_ci95"))
    return {
        **place,
        "kind": "theme",
        "code": theme["code"],
        "label": theme["title"],
        "n": theme.get("n"),
        "mean": theme.get("mean"),
        "sd": theme.get("sd"),
        "ci95_lower": ci_low,
        "ci95_upper": ci_high,
        "alpha": theme.get("alpha"),
        "alpha_ci95_lower": alpha_low,
        "alpha_ci95_upper": alpha_high,
        "suppressed": theme["suppressed"],
        "flag": theme.get("flag"),
    }


def _item_columns(points: int) -> tuple[str, ...]:
    return (
        *_PLACE_COLUMNS,
        *_ITEM_COLUMNS_BEFORE_COUNTS,
        *(f"count_{value}" for value in range(1, points + 1)),
        *_ITEM_COLUMNS_AFTER_COUNTS,
    )


def _item_rows(summary: Summary, points: int) -> list[dict[str, Any]]:
    return [
        _item_row(place, item, points) for place, items, _ in _places(summary) for item in items
    ]


def _theme_rows(summary: Summary) -> list[dict[str, Any]]:
    return [_theme_row(place, theme) for place, _, themes in _places(summary) for theme in themes]


def _csv_text(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        # As in the JSON, so a reader of both sees one spelling.
        return "true" if value else "false"
    return neutralise(value)


def summary_to_csv(summary: Summary) -> str:
    """Return the summary's items and themes as one CSV table (text, with a header row).

    One row per (scope or group) x (item or theme): ``level`` is ``scope`` or ``group``,
    ``kind`` is ``item`` or ``theme``; columns that do not apply (alpha for an item, counts for
    a theme) and withheld figures are empty. A withheld group has a row per item and theme with
    only its place, the item or theme and ``suppressed``. There is one ``count_v`` column per
    value of the widest scale with published counts. Booleans are ``true``/``false``.
    """
    points = _scale_points(summary)
    columns = (*_item_columns(points), *_THEME_ONLY_COLUMNS, *_STATUS_COLUMNS)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\r\n")
    writer.writeheader()
    for row in (*_item_rows(summary, points), *_theme_rows(summary)):
        writer.writerow({column: _csv_text(row.get(column)) for column in columns})
    return buffer.getvalue()


def _xlsx_value(value: Any) -> Any:
    if isinstance(value, str):
        # openpyxl refuses control characters Excel cannot store; they carry no meaning here.
        return neutralise(ILLEGAL_CHARACTERS_RE.sub("", value))
    return value


def _write_sheet(
    workbook: Workbook, title: str, columns: Sequence[str], rows: Sequence[Mapping[str, Any]]
) -> None:
    sheet = workbook.create_sheet(title)
    sheet.append(list(columns))
    for row in rows:
        sheet.append([_xlsx_value(row.get(column)) for column in columns])


def _wave_change_rows(summary: Summary) -> list[dict[str, Any]]:
    """The summary's comparison with the previous wave, one flat row per statement (none
    without a comparison); the waves are named by number."""
    comparison = summary.get("wave_comparison")
    if not comparison:
        return []
    waves = {
        "previous_wave": comparison["previous_wave"]["number"],
        "current_wave": summary["wave"]["number"],
    }
    return [
        {
            **waves,
            **{key: value for key, value in row.items() if key not in ("previous", "current")},
            **{f"previous_{key}": value for key, value in row["previous"].items()},
            **{f"current_{key}": value for key, value in row["current"].items()},
        }
        for row in comparison["items"]
    ]


def summary_to_xlsx(summary: Summary) -> bytes:
    """Return the summary as an XLSX workbook (bytes) with sheets Items, Themes, Groups,
    Comparisons, Wave changes (the comparison with the previous wave; only its header row for
    a first wave), Free text (per question) and Text themes (per respondent across every text
    question, with the sentence the report reads), each with a header row.

    Numbers are numeric cells (openpyxl stores 16 significant digits, Excel shows 15),
    booleans boolean cells, withheld figures empty cells.
    """
    points = _scale_points(summary)
    workbook = Workbook(write_only=True)
    item_columns = (*_item_columns(points), *_STATUS_COLUMNS)
    item_rows = _item_rows(summary, points)
    _write_sheet(workbook, "Items", item_columns, item_rows)
    _write_sheet(workbook, "Themes", _THEME_SHEET_COLUMNS, _theme_rows(summary))
    _write_sheet(workbook, "Groups", _GROUP_COLUMNS, summary["groups"])
    _write_sheet(workbook, "Comparisons", _COMPARISON_COLUMNS, summary["comparisons"])
    _write_sheet(workbook, "Wave changes", _WAVE_CHANGE_COLUMNS, _wave_change_rows(summary))
    free_text_rows: list[dict[str, object]] = []
    for question in summary["free_text"]:
        asked: dict[str, object] = {
            "question": question["question"],
            "answered": question["answered"],
        }
        # A question without a codebook still shows how many answered it.
        free_text_rows += [{**asked, **theme} for theme in question["themes"]] or [asked]
    _write_sheet(workbook, "Free text", _FREE_TEXT_COLUMNS, free_text_rows)
    slug = summary["survey"]["slug"]
    text_theme_rows = [
        {**theme, "sentence": text_theme_sentence(theme, slug) or None}
        for theme in summary.get("text_themes", [])
    ]
    _write_sheet(workbook, "Text themes", _TEXT_THEME_COLUMNS, text_theme_rows)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
