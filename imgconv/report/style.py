"""The report page's style sheet, inlined into ``report.html`` (no external resources)."""

from __future__ import annotations

__all__ = ["CSS"]

CSS = """
:root { --ink:#1c2230; --muted:#5d6677; --line:#e2e5eb; --bg:#f4f5f8; --card:#fff;
  --ok:#17803d; --ok-bg:#e8f6ed; --bad:#c0262d; --bad-bg:#fdecec; --mid:#6b7280;
  --mid-bg:#eef0f3; --hl:#fff4d6; }
* { box-sizing: border-box; }
html { background: var(--bg); }
body { margin: 0; color: var(--ink); font: 15px/1.5 system-ui, -apple-system, "Segoe UI",
  Roboto, "Helvetica Neue", "DejaVu Sans", Arial, sans-serif; }
main { max-width: 1360px; margin: 0 auto; padding: 28px 32px 56px; }
header .kicker { font-size: 12px; letter-spacing: .12em; text-transform: uppercase;
  color: var(--muted); font-weight: 600; }
h1 { font-size: 28px; line-height: 1.2; margin: 4px 0 6px; font-weight: 700; }
h1 .dim { color: var(--muted); font-weight: 500; }
h2 { font-size: 18px; margin: 34px 0 12px; font-weight: 650; }
.sub { color: var(--muted); margin: 0; }
.sub b { color: var(--ink); font-weight: 600; }
code, .mono { font-family: ui-monospace, "SF Mono", Menlo, Consolas, "DejaVu Sans Mono",
  monospace; font-size: 0.92em; }
.verdict { display: flex; gap: 20px; align-items: center; margin: 22px 0 18px;
  padding: 18px 24px; border-radius: 14px; border: 1px solid var(--line);
  border-left: 8px solid var(--mid); background: var(--card); }
.verdict .icon { flex: none; width: 54px; height: 54px; border-radius: 50%;
  display: grid; place-items: center; font-size: 30px; font-weight: 700; color: #fff;
  background: var(--mid); }
.verdict .what { font-size: 22px; font-weight: 700; line-height: 1.25; }
.verdict .pred { margin-top: 4px; font-size: 15.5px; }
.verdict .pred .tag { display: inline-block; padding: 1px 9px; border-radius: 999px;
  background: var(--mid-bg); font-weight: 650; }
.verdict .pred .held.ok { color: var(--ok); font-weight: 650; }
.verdict .pred .held.bad { color: var(--bad); font-weight: 650; }
.verdict .reason { color: var(--muted); margin-top: 2px; }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(170px, 1fr));
  gap: 12px; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 12px;
  padding: 12px 16px; }
.card .label { font-size: 12px; text-transform: uppercase; letter-spacing: .07em;
  color: var(--muted); font-weight: 600; }
.card .value { font-size: 25px; font-weight: 650; font-variant-numeric: tabular-nums;
  line-height: 1.3; white-space: nowrap; }
.card .note { font-size: 12.5px; color: var(--muted); }
.gallery { display: grid; grid-template-columns: repeat(auto-fit, minmax(210px, 1fr));
  gap: 14px; align-items: start; }
figure { margin: 0; background: var(--card); border: 1px solid var(--line);
  border-radius: 12px; padding: 10px 10px 12px; }
figure img.pic { display: block; width: 100%; height: auto; max-height: 70vh;
  object-fit: contain; background: #e9ebef; border-radius: 6px; }
img.px { image-rendering: crisp-edges; image-rendering: pixelated; }
figcaption { margin-top: 8px; font-size: 13.5px; line-height: 1.4; }
figcaption .t { font-weight: 650; font-size: 14.5px; }
figcaption .m { color: var(--muted); display: block; }
.legend { margin-top: 8px; }
.legend img { display: block; width: 100%; height: 11px; border-radius: 3px;
  border: 1px solid #cfd3da; }
.legend .ticks { display: flex; justify-content: space-between; font-size: 12px;
  color: var(--muted); font-variant-numeric: tabular-nums; margin-top: 2px; }
.legend .ident { font-size: 12.5px; color: var(--muted); }
.zoom figure { padding: 8px; }
.zoom .gallery { grid-template-columns: repeat(auto-fit, minmax(150px, 1fr)); }
.cols { display: grid; grid-template-columns: minmax(0, 1.7fr) minmax(0, 1fr); gap: 18px;
  align-items: start; }
@media (max-width: 1500px) { .cols { grid-template-columns: 1fr; } }
.panel { background: var(--card); border: 1px solid var(--line); border-radius: 12px;
  padding: 6px 18px 14px; overflow-x: auto; margin-bottom: 18px; }
table.num { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
table.num th, table.num td { padding: 6px 10px; border-bottom: 1px solid var(--line);
  text-align: right; white-space: nowrap; }
table.num th:first-child, table.num td:first-child { text-align: left; }
table.num thead th { font-size: 12px; text-transform: uppercase; letter-spacing: .06em;
  color: var(--muted); font-weight: 650; }
table.num tr.sec td { text-align: left; font-size: 12.5px; font-style: italic;
  color: var(--muted); padding-top: 12px; border-bottom: none; }
table.num tr:last-child td { border-bottom: none; }
table.num tr.diff td { background: var(--hl); font-weight: 600; }
table.num.vars td, table.num.vars th { text-align: left; white-space: normal; }
.kernels { display: flex; flex-wrap: wrap; gap: 28px; align-items: flex-start;
  margin: 4px 0 6px; }
.kbox { max-width: 100%; overflow: auto; }
.kbox .cap { font-size: 13px; color: var(--muted); margin: 0 0 6px; max-width: 230px; }
.kbox .cap b { color: var(--ink); }
table.kernel { border-collapse: separate; border-spacing: 3px;
  font-variant-numeric: tabular-nums; font-size: 13px; }
table.kernel td { min-width: 42px; height: 34px; padding: 2px 6px; text-align: center;
  border-radius: 5px; }
table.kernel td.anchor { outline: 3px solid #111827; outline-offset: -1px;
  font-weight: 750; }
table.props { border-collapse: collapse; font-size: 13.5px; max-width: 420px; }
table.props th { color: var(--muted); font-weight: 500; text-align: left;
  padding: 2px 14px 2px 0; vertical-align: top; white-space: nowrap; }
table.props td { padding: 2px 0; }
details { margin-top: 26px; }
summary { cursor: pointer; color: var(--muted); font-weight: 600; }
pre { background: var(--card); border: 1px solid var(--line); border-radius: 10px;
  padding: 12px 14px; overflow: auto; font-size: 12.5px; max-height: 480px; }
footer { margin-top: 30px; color: var(--muted); font-size: 13px; line-height: 1.55; }
footer p { margin: 6px 0; }
"""
