/** The report page's stylesheet (inlined; after uPlot's own). Print-friendly, no web fonts. */
export const PAGE_CSS = `
:root { --ink: #1d1d1f; --muted: #666; --line: #ddd; --est: #D55E00; --flag: #b00020; --bg: #fafafa; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink); background: #fff; }
header.top { padding: 18px 28px 10px; border-bottom: 1px solid var(--line); background: var(--bg); }
header.top h1 { margin: 0 0 4px; font-size: 22px; }
header.top p { margin: 0; color: var(--muted); }
nav.toc { padding: 6px 28px; border-bottom: 1px solid var(--line); font-size: 13px; }
nav.toc a { margin-right: 14px; color: #0060a0; text-decoration: none; }
main { padding: 8px 28px 40px; max-width: 1280px; }
section.study, section.compare { margin-top: 22px; }
h2 { font-size: 19px; margin: 18px 0 8px; border-bottom: 2px solid var(--ink); padding-bottom: 4px; }
h3 { font-size: 16px; margin: 22px 0 8px; }
.badge { display: inline-block; padding: 1px 8px; border-radius: 10px; font-size: 12px; font-weight: 600; background: #e8e8e8; vertical-align: middle; }
.badge.completed { background: #d9f2e3; color: #0b5d2a; }
.badge.partial, .badge.interrupted { background: #fff1cc; color: #7a5200; }
.badge.failed { background: #fde2e4; color: var(--flag); }
.badge.running { background: #dcebfb; color: #0b4f8a; }
.badge.measured { background: #dcebfb; color: #0b4f8a; }
.badge.estimated, .est { background: #fde8dc; color: #8a3300; }
.est { display: inline-block; padding: 0 5px; border-radius: 4px; font-size: 11px; font-weight: 600; border: 1px dashed var(--est); }
.facts { display: grid; grid-template-columns: repeat(auto-fit, minmax(300px, 1fr)); gap: 10px 28px; }
.facts dl { display: grid; grid-template-columns: max-content 1fr; gap: 2px 12px; margin: 0; }
.facts dt { color: var(--muted); }
.facts dd { margin: 0; overflow-wrap: anywhere; }
.facts h4 { margin: 6px 0 4px; font-size: 13px; text-transform: uppercase; letter-spacing: .04em; color: var(--muted); }
.callout { border-left: 4px solid var(--est); background: #fff6f0; padding: 8px 12px; margin: 10px 0; }
ul.warnings { margin: 4px 0; padding-left: 20px; }
ul.warnings code { font-weight: 600; }
.table-controls { display: flex; gap: 10px; align-items: center; margin: 6px 0; }
.table-controls input { padding: 4px 8px; min-width: 240px; }
.table-status { color: var(--muted); font-size: 12px; }
table.data { border-collapse: collapse; width: 100%; font-size: 13px; }
table.data th, table.data td { border-bottom: 1px solid var(--line); padding: 5px 8px; text-align: left; vertical-align: top; }
table.data th.num, table.data td.num { text-align: right; white-space: nowrap; }
table.data th button.sort { all: unset; cursor: pointer; font-weight: 600; }
table.data th[aria-sort="ascending"] button.sort::after { content: " ▲"; }
table.data th[aria-sort="descending"] button.sort::after { content: " ▼"; }
table.data td.flag { background: #fff0f0; }
table.data td.flag .cv { color: var(--flag); font-weight: 600; }
.cv, .hash, .delta { font-size: 11px; color: var(--muted); }
.plots { display: grid; grid-template-columns: repeat(auto-fit, minmax(560px, 1fr)); gap: 18px; }
figure { margin: 0; border: 1px solid var(--line); border-radius: 6px; padding: 10px 12px; position: relative; background: #fff; }
figure .title { font-weight: 600; margin-bottom: 4px; }
figure .controls { display: flex; gap: 12px; font-size: 12px; margin-bottom: 4px; flex-wrap: wrap; }
figure .plot { position: relative; min-height: 380px; }
figure figcaption { font-size: 12px; color: var(--muted); margin-top: 4px; }
.tooltip { position: absolute; z-index: 10; pointer-events: none; background: rgba(255,255,255,.97); border: 1px solid #999; border-radius: 4px; padding: 6px 8px; font-size: 12px; max-width: 340px; box-shadow: 0 2px 6px rgba(0,0,0,.15); }
.tooltip[hidden] { display: none; }
.empty { color: var(--muted); font-style: italic; }
p.error { background: #fde2e4; color: var(--flag); padding: 10px 28px; margin: 0; }
footer { padding: 16px 28px; color: var(--muted); font-size: 12px; border-top: 1px solid var(--line); }
@media print { nav.toc, .table-controls, figure .controls { display: none; } }
`;
