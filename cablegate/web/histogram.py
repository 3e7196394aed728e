"""The per-query histogram of a search: cables per month, as inline SVG.

Server-rendered so it shows with JavaScript off; every bar has a <title> (a
tooltip and text for screen readers) and the chart has a text summary.
"""

from __future__ import annotations

from markupsafe import escape

WIDTH, HEIGHT = 720, 140
MARGIN_LEFT, MARGIN_BOTTOM, MARGIN_TOP = 36, 20, 8


def _months(start: str, end: str) -> list[str]:
    """Every YYYY-MM from start to end inclusive."""
    year, month = int(start[:4]), int(start[5:7])
    last = (int(end[:4]), int(end[5:7]))
    out = []
    while (year, month) <= last and len(out) < 2000:
        out.append(f"{year:04d}-{month:02d}")
        month += 1
        if month > 12:
            year, month = year + 1, 1
    return out


def histogram_svg(counts: dict[str, int], query: str = "") -> str:
    """An SVG bar chart of ``counts`` (``YYYY-MM`` -> n), empty months included."""
    keys = sorted(k for k in counts if len(k) >= 7 and k[:4].isdigit() and k[5:7].isdigit())
    if not keys:
        return ""
    months = _months(keys[0], keys[-1])
    peak = max(counts[k] for k in keys) or 1
    plot_w = WIDTH - MARGIN_LEFT - 4
    plot_h = HEIGHT - MARGIN_BOTTOM - MARGIN_TOP
    bar_w = plot_w / len(months)
    total = sum(counts[k] for k in keys)
    label = f"Cables per month matching {query}: {total} from {keys[0]} to {keys[-1]}, peak {peak}"
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="histogram" role="img" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" preserveAspectRatio="none" aria-label="{escape(label)}">',
        f"<title>{escape(label)}</title>",
        f'<line x1="{MARGIN_LEFT}" y1="{MARGIN_TOP + plot_h}" x2="{WIDTH - 4}" '
        f'y2="{MARGIN_TOP + plot_h}" class="axis"/>',
        f'<text x="{MARGIN_LEFT - 4}" y="{MARGIN_TOP + 10}" text-anchor="end" '
        f'class="tick">{peak}</text>',
        f'<text x="{MARGIN_LEFT - 4}" y="{MARGIN_TOP + plot_h}" text-anchor="end" '
        f'class="tick">0</text>',
    ]
    for i, month in enumerate(months):
        n = counts.get(month, 0)
        if n:
            h = max(1.0, plot_h * n / peak)
            x = MARGIN_LEFT + i * bar_w
            width = max(bar_w * 0.85, 0.8)
            parts.append(
                f'<rect x="{x:.2f}" y="{MARGIN_TOP + plot_h - h:.2f}" width="{width:.2f}" '
                f'height="{h:.2f}"><title>{month}: {n}</title></rect>'
            )
    years = sorted({m[:4] for m in months})
    step = max(1, len(years) // 10)
    last_x = -100.0
    for year in years[::step]:
        i = months.index(f"{year}-01") if f"{year}-01" in months else 0
        x = MARGIN_LEFT + i * bar_w
        # Labels must not overlap each other nor be cut off at the right edge.
        if x - last_x >= 30 and x <= WIDTH - 30:
            parts.append(f'<text x="{x:.2f}" y="{HEIGHT - 5}" class="tick">{year}</text>')
            last_x = x
    parts.append("</svg>")
    return "".join(parts)
