"""The ``diff`` report in the terminal: rich tables for the variants, the statistics over
all pixels, the interior and the border, the prediction and whether it held."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from imgconv.report.numbers import headline, stat_sections, variant_rows

if TYPE_CHECKING:
    from rich.console import Console

__all__ = ["print_report"]


def _kernel_summary(report: dict[str, Any]) -> str:
    k = report.get("kernel")
    if not isinstance(k, dict):
        return ""
    parts = [str(k.get("name", "kernel"))]
    if k.get("shape"):
        parts.append("×".join(str(s) for s in k["shape"]))
    if k.get("anchor") is not None:
        parts.append(f"anchor {tuple(k['anchor'])}")
    if k.get("symmetric") is not None:
        parts.append("symmetric under 180°" if k["symmetric"] else "not symmetric under 180°")
    if k.get("rank") is not None:
        parts.append(f"rank {k['rank']}")
    if isinstance(k.get("chain"), list):
        parts.append("chain of " + ", ".join(str(c.get("name")) for c in k["chain"]))
    return ", ".join(parts)


def _print_title(report: dict[str, Any], console: Console) -> None:
    from rich.text import Text

    title = Text("imgconv diff", style="bold")
    if report.get("image"):
        title.append(f"  {report['image']}")
    if report.get("filters"):
        title.append("  · filter " + " → ".join(str(f) for f in report["filters"]))
    shape = report.get("shape")
    if shape:
        title.append(f"  · {'×'.join(str(s) for s in shape)}", style="dim")
    if report.get("dtype"):
        title.append(f" {report['dtype']}", style="dim")
    console.print(title)


def _print_variants(report: dict[str, Any], console: Console) -> None:
    from rich.table import Table
    from rich.text import Text

    rows = variant_rows(report)
    if rows:
        vt = Table(title="the two variants", title_justify="left", title_style="bold",
                   header_style="bold", show_edge=False, pad_edge=False)
        vt.add_column("", no_wrap=True)
        vt.add_column("A", min_width=18)
        vt.add_column("B", min_width=18)
        for key, a, b, differs in rows:
            style = "bold yellow" if differs else ""
            vt.add_row(key, Text(a, style=style), Text(b, style=style))
        console.print(vt)
    summary = _kernel_summary(report)
    if summary:
        console.print(Text("kernel  ", style="bold") + Text(summary))


def _print_statistics(report: dict[str, Any], console: Console) -> None:
    from rich.table import Table
    from rich.text import Text

    heads, sections = stat_sections(report)
    st = Table(title="how A and B differ", title_justify="left", title_style="bold",
               header_style="bold", show_edge=False, pad_edge=False)
    st.add_column("", no_wrap=True)
    for h in heads:
        st.add_column(h, justify="right")
    for i, (name, body) in enumerate(sections):
        if i:
            st.add_section()
        st.add_row(Text(name, style="dim italic"), *([""] * len(heads)))
        for label, cells in body:
            st.add_row(label, *cells)
    console.print(st)


def _print_verdict(report: dict[str, Any], console: Console) -> None:
    from rich.table import Table
    from rich.text import Text

    verdict = Table.grid(padding=(0, 2))
    verdict.add_column(style="bold", no_wrap=True)
    verdict.add_column()
    same = bool(report.get("identical"))
    verdict.add_row("result", Text(headline(report), style="bold green" if same else "bold"))
    prediction = report.get("prediction")
    if prediction is not None:
        verdict.add_row("prediction", Text(str(prediction), style="bold cyan"))
        if report.get("reason"):
            verdict.add_row("reason", Text(str(report["reason"])))
        held = report.get("prediction_held")
        if held is not None:
            verdict.add_row("held", Text("✓ yes, the prediction held", style="bold green")
                            if held else Text("✗ no, the prediction did not hold",
                                              style="bold red"))
    console.print(verdict)


def print_report(report: dict[str, Any], console: Console) -> None:
    """Print the report as rich tables: variants, statistics, the prediction and its fate.

    Every part is optional: a report without variants, kernel or prediction prints
    the title, the statistics table (``—`` where a number is missing) and the result.
    """
    _print_title(report, console)
    _print_variants(report, console)
    _print_statistics(report, console)
    _print_verdict(report, console)
