/**
 * The report as one self-contained HTML document: the static sections (study facts, protocol,
 * environment, energy sources, warnings, failures, skipped configs) are written here as escaped
 * markup; the tables and plots are placeholders the inlined page script fills from the embedded
 * model. Data, code and styles are all inline, and a Content-Security-Policy forbids every
 * network request and every script but the two inlined here (by hash) — so the file works
 * offline, forever, and a `<script>` hidden in a config name could not run even if it were not
 * escaped (it is).
 */
import { createHash } from "node:crypto";
import type { ReportAssets } from "./assets.js";
import { escapeMarkup as e, jsonForScript } from "./escape.js";
import { num } from "./format.js";
import type { ReportModel, StudyReport } from "./model.js";
import { PAGE_CSS } from "./page-style.js";
import { buildPlot, defaultViews, type PlotView } from "./plots.js";
import { toWire } from "./wire.js";

const LIST_LIMIT = 200;

function scriptHash(code: string): string {
  return `'sha256-${createHash("sha256").update(code, "utf8").digest("base64")}'`;
}

function definitionList(rows: Array<[string, string]>): string {
  if (rows.length === 0) return '<p class="empty">not recorded (no completed run)</p>';
  return `<dl>${rows.map(([label, value]) => `<dt>${e(label)}</dt><dd>${e(value)}</dd>`).join("")}</dl>`;
}

function energySection(study: StudyReport): string {
  const { energy } = study;
  const estimated = energy.methods.includes("estimated");
  const badges = energy.methods
    .map((method) => `<span class="badge ${e(method)}">${e(method)}</span>`)
    .join(" ");
  const sources = energy.sources
    .map(
      (source) =>
        `<li><span class="badge ${e(source.method)}">${e(source.method)}</span> <code>${e(source.sampler)}</code> — ${source.runs} run(s)${source.formula ? `; model: <code>${e(source.formula)}</code>` : ""}<div class="cv">${e(source.reason)}</div></li>`,
    )
    .join("");
  const components = energy.components.length
    ? `<p>Components: ${energy.components.map((part) => `${e(part.component)} <span class="badge ${e(part.method)}">${e(part.method)}</span> (${part.runs} runs)`).join(", ")}</p>`
    : "";
  const callout = estimated
    ? `<div class="callout"><span class="est">est.</span> Energy figures of this study marked “est.” are <strong>estimated</strong> by a model, not measured by a power counter. Compare them only with other estimates; hollow markers in the plots are estimates.</div>`
    : "";
  return `<h4>Energy sources</h4><p>${badges || '<span class="empty">no energy figures</span>'}${energy.totalJ === null ? "" : ` · total ${e(num(energy.totalJ))} J over completed runs`}</p>${callout}<ul class="warnings">${sources}</ul>${components}`;
}

function warningsSection(study: StudyReport): string {
  const notes = study.notes.map((note) => `<li>${e(note)}</li>`).join("");
  const warnings = study.warnings
    .map(
      (warning) =>
        `<li><code>${e(warning.code)}</code> (${warning.runs} of ${study.counts.completed} runs): ${e(warning.message)}</li>`,
    )
    .join("");
  if (!notes && !warnings) return "<h4>Warnings</h4><p>none</p>";
  return `<h4>Warnings</h4><ul class="warnings">${notes}${warnings}</ul>`;
}

function figure(model: ReportModel, view: PlotView, id: string): string {
  const plot = buildPlot(model, view);
  return `<figure id="${e(id)}" data-view="${e(JSON.stringify(view))}" data-plot-id="${e(plot.id)}"><div class="title">${e(plot.title)}</div><div class="controls"></div><div class="plot"></div><figcaption class="caption">${e(plot.caption)}</figcaption></figure>`;
}

function plotGroup(
  model: ReportModel,
  views: Array<{ view: PlotView; id: string }>,
  heading: string,
  empty: string,
): string {
  const body = views.length
    ? `<div class="plots">${views.map(({ view, id }) => figure(model, view, id)).join("")}</div>`
    : `<p class="empty">${e(empty)}</p>`;
  return `<h3>${e(heading)}</h3>${body}`;
}

function failuresSection(study: StudyReport): string {
  const failures = study.failures.length
    ? `<table class="data"><thead><tr><th>config</th><th class="num">cycle</th><th>error</th><th>message</th></tr></thead><tbody>${study.failures
        .map(
          (failure) =>
            `<tr><td>${e(failure.summary)}<div class="hash">${e(failure.hash)}</div></td><td class="num">${failure.cycle}</td><td><code>${e(failure.type)}</code></td><td>${e(failure.message)}</td></tr>`,
        )
        .join(
          "",
        )}</tbody></table>${study.failuresTotal > study.failures.length ? `<p>… and ${study.failuresTotal - study.failures.length} more failed runs (llem status --json lists them all).</p>` : ""}`
    : "<p>No run failed.</p>";
  const skipped = study.skipped.length
    ? `<table class="data"><thead><tr><th>skipped config</th><th>reason</th></tr></thead><tbody>${study.skipped
        .slice(0, LIST_LIMIT)
        .map((item) => `<tr><td>${e(item.summary)}</td><td>${e(item.reason)}</td></tr>`)
        .join(
          "",
        )}</tbody></table>${study.skipped.length > LIST_LIMIT ? `<p>… and ${study.skipped.length - LIST_LIMIT} more (skipped_configs.json).</p>` : ""}`
    : "<p>No config was skipped.</p>";
  return `<h3>Failures and skipped configs</h3>${failures}<h4>Skipped configs (invalid combinations)</h4>${skipped}`;
}

function studySection(
  model: ReportModel,
  study: StudyReport,
  index: number,
  views: PlotView[],
): string {
  const mine = views
    .map((view, position) => ({ view, id: `plot-${position + 1}` }))
    .filter(({ view }) => view.type !== "compare" && view.study === index);
  const of = (type: PlotView["type"]) => mine.filter(({ view }) => view.type === type);
  const { counts } = study;
  const state = study.lockHolder ? `running now (${study.lockHolder})` : study.status;
  const overview: Array<[string, string]> = [
    ["directory", study.dir],
    ["status", state],
    ["started", study.startedAt ?? "–"],
    ["ended", study.endedAt ?? "–"],
    [
      "runs",
      `${counts.runs}: ${counts.completed} completed, ${counts.failed} failed, ${counts.running} running, ${counts.pending} pending`,
    ],
    ["configs", `${counts.configs} (${counts.skipped} skipped as invalid)`],
  ];
  return `<section class="study" id="study-${index + 1}">
<h2>${model.studies.length > 1 ? `${index + 1}. ` : ""}Study ${e(study.name)} <span class="badge ${e(study.lockHolder ? "running" : study.status)}">${e(study.lockHolder ? "running" : study.status)}</span></h2>
<div class="facts"><div><h4>Study</h4>${definitionList(overview)}</div><div><h4>Protocol</h4>${definitionList(study.protocol)}</div><div><h4>Environment</h4>${definitionList(study.environment)}</div></div>
<div class="facts"><div>${energySection(study)}</div><div>${warningsSection(study)}</div></div>
<h3>Configs</h3><p class="cv">Mean ± sd across cycles; CV = sd ÷ mean, flagged ⚠ above ${e(num(model.cvThreshold * 100))}%. Click a header to sort.</p>
<div class="config-table" data-study="${index}"><p class="empty">The table needs JavaScript.</p></div>
${plotGroup(model, of("pareto"), "Pareto fronts: energy against throughput and latency", "No config has both energy and performance figures yet.")}
${plotGroup(model, of("axis"), "Sweep axes", "The configs of this study differ in no setting (no axis to plot).")}
${plotGroup(model, of("latency"), "Latency distributions", "No latency figures.")}
${plotGroup(model, of("power"), "Power over time", "No timeseries.csv was written (output.save_timeseries is off, or no run completed).")}
${failuresSection(study)}
</section>`;
}

/** The whole document for `model`, with `assets` inlined. */
export function renderReportHtml(model: ReportModel, assets: ReportAssets): string {
  for (const code of [assets.uplotJs, assets.clientJs]) {
    // An inline script ends at the first "</script": code that held one would break the page.
    if (/<\/script/i.test(code)) throw new Error("an inlined script contains </script");
  }
  const views = defaultViews(model);
  const names = model.studies.map((study) => study.name).join(", ");
  const csp = `default-src 'none'; script-src ${scriptHash(assets.uplotJs)} ${scriptHash(assets.clientJs)}; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'`;
  const nav = model.studies
    .map(
      (study, index) =>
        `<a href="#study-${index + 1}">${model.studies.length > 1 ? `${index + 1}. ` : ""}${e(study.name)}</a>`,
    )
    .join("");
  const compare =
    model.studies.length > 1
      ? `<section class="compare" id="compare"><h2>Comparison across studies</h2><p class="cv">Configs with the same config hash in several studies; deltas against the first study that has the config.</p><div class="compare-table"></div>${plotGroup(
          model,
          views.flatMap((view, position) =>
            view.type === "compare" ? [{ view, id: `plot-${position + 1}` }] : [],
          ),
          "All studies on one plane",
          "No config has both energy and throughput figures.",
        )}</section>`
      : "";
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="${e(csp)}">
<meta name="generator" content="llem ${e(model.llemVersion)}">
<title>llem report: ${e(names)}</title>
<style>${assets.uplotCss}</style>
<style>${PAGE_CSS}</style>
</head>
<body>
<header class="top"><h1>llem report: ${e(names)}</h1><p>Generated ${e(model.generatedAt)} by llem ${e(model.llemVersion)} from ${model.studies.length} study dir(s). Works offline: everything is in this file.</p></header>
<nav class="toc">${model.studies.length > 1 ? '<a href="#compare">comparison</a>' : ""}${nav}</nav>
<main>
${compare}
${model.studies.map((study, index) => studySection(model, study, index, views)).join("\n")}
</main>
<footer>Plots drawn with uPlot ${e(assets.uplotVersion)} (MIT licence, © Leon Sorokin), inlined. The data behind this page (per-config figures rounded to 5 significant digits) is the JSON in the <code>llem-data</code> script element.</footer>
<script type="application/json" id="llem-data">${jsonForScript(toWire(model))}</script>
<script>${assets.uplotJs}</script>
<script>${assets.clientJs}</script>
</body>
</html>
`;
}
