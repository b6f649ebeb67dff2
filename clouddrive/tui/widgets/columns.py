"""Column widths for a terminal of any width: fixed columns shrink toward their minimum
before the flexible one (the path, the note) drops below its own, so 80 columns fit."""

from __future__ import annotations

__all__ = ["CELL_PAD", "Column", "fit_columns"]

#: a DataTable cell's padding (one cell each side)
CELL_PAD = 2

#: (key, title, width, narrowest): width 0 is the flexible column (what the others leave)
Column = tuple[str, str, int, int]


def fit_columns(columns: tuple[Column, ...], width: int, *, margin: int = 4) -> dict[str, int]:
    """key -> width, for a table `width` cells wide (`margin`: scrollbar and borders)."""
    room = width - margin - CELL_PAD * len(columns)
    widths = {key: w for key, _, w, _ in columns if w}
    flexible = [(key, low) for key, _, w, low in columns if not w]
    want = sum(low for _, low in flexible)
    short = sum(widths.values()) + want - room
    firm = sum(w - low for _, _, w, low in columns if w and low and w > low)
    for key, _, w, low in columns:  # optional columns (narrowest 0) go, whole, only if the
        if short > firm and w and not low:  # others at their narrowest are not enough
            widths[key] = 0
            short -= w
    if short > 0:
        slack = {key: w - low for key, _, w, low in columns if w and low and w > low}
        total = sum(slack.values())
        if total:
            for key, give in slack.items():
                widths[key] -= min(give, -(-short * give // total))
    left = room - sum(widths.values())
    for index, (key, low) in enumerate(flexible):
        share = left // (len(flexible) - index) if left > 0 else 0
        widths[key] = max(low, share)
        left -= widths[key]
    return widths
