import { XMLParser, XMLValidator } from "fast-xml-parser";
import { describe, expect, it } from "vitest";
import type { ConfigRow, ReportModel, StudyReport } from "./model.js";
import { buildPlot, defaultViews, pointCounts } from "./plots.js";
import { spread } from "./stats.js";
import { plotToSvg } from "./svg.js";
import { fromWire, toWire } from "./wire.js";

function config(
  index: number,
  method: "measured" | "estimated",
  tokPerS: number,
  jPerTok: number,
): ConfigRow {
  return {
    hash: `hash${index}`.padEnd(16, "0"),
    summary:
      index === 2
        ? `llamacpp / <script>alert("x")</script> & co / batch=${index}`
        : `llamacpp / m / batch=${index}`,
    cyclesCompleted: 2,
    cyclesFailed: 0,
    method,
    axisValues: [index % 2, index < 2 ? 0 : 1],
    metrics: {
      output_tokens_per_s: spread([tokPerS, tokPerS * 1.02]) ?? undefined,
      energy_per_output_token_j: spread([jPerTok, jPerTok * 0.98]) ?? undefined,
      ttft_p50_ms: spread([10 + index, 11 + index]) ?? undefined,
    },
  };
}

const study: StudyReport = {
  dir: "/studies/s",
  name: "s",
  status: "completed",
  lockHolder: null,
  startedAt: null,
  endedAt: null,
  counts: { runs: 8, completed: 8, failed: 0, pending: 0, running: 0, configs: 4, skipped: 0 },
  protocol: [],
  environment: [],
  energy: { methods: ["measured", "estimated"], sources: [], components: [], totalJ: null },
  warnings: [],
  axes: [
    { key: "llamacpp.batch_size", values: ["1", "4"], numbers: [1, 4], declared: true },
    { key: "task.model", values: ["a", "<b>"], numbers: null, declared: true },
  ],
  configs: [
    config(0, "measured", 100, 0.01),
    config(1, "measured", 200, 0.02),
    config(2, "estimated", 150, 0.005),
    config(3, "estimated", 50, 0.03),
  ],
  latency: [
    {
      config: 0,
      kind: "ttft",
      source: "percentiles",
      ms: [1, 2, 3, 4, 5],
      fraction: [0, 0.5, 0.95, 0.99, 1],
      samples: 2,
      errors: 0,
    },
  ],
  power: [
    {
      config: 0,
      cycle: 1,
      experiment: "0001_c1_x",
      windowMs: 300,
      baselineW: 2,
      method: "measured",
      devices: [{ device: "gpu0", tMs: [0, 100, 200, 300], watts: [5, 6, 7, 6] }],
      samplesInFile: 4,
      samplesShown: 4,
    },
  ],
  failures: [],
  failuresTotal: 0,
  skipped: [],
  notes: [],
};
const model: ReportModel = {
  version: 1,
  generatedAt: "2026-01-01T00:00:00.000Z",
  llemVersion: "0.0.0",
  cvThreshold: 0.05,
  studies: [study],
};

describe("plots as SVG", () => {
  it("every default plot is well-formed XML with one circle per marker and one vertex per line point", () => {
    const parser = new XMLParser({
      ignoreAttributes: false,
      isArray: (_n, _p, _l, attribute) => !attribute,
    });
    const views = defaultViews(model);
    // No ITL figures here, so no ITL front: plots without points are left out.
    expect(views.map((view) => view.type)).toEqual([
      "pareto",
      "pareto",
      "axis",
      "axis",
      "latency",
      "power",
    ]);
    for (const view of views) {
      const plot = buildPlot(model, view);
      const xml = plotToSvg(plot);
      expect(XMLValidator.validate(xml), plot.id).toBe(true);
      const svg = parser.parse(xml).svg[0];
      const circles = (svg.circle ?? []) as Array<Record<string, string>>;
      const markers = circles.filter((circle) => circle["@_class"] === "point");
      const vertices = ((svg.polyline ?? []) as Array<Record<string, string>>).reduce(
        (sum, line) => sum + (line["@_points"] ?? "").split(" ").filter(Boolean).length,
        0,
      );
      const counts = pointCounts(plot);
      expect({ markers: markers.length, vertices }, plot.id).toEqual({
        markers: counts.markers,
        vertices: counts.linePoints,
      });
      if (view.type === "pareto" && view.x === "output_tokens_per_s") {
        // Measured filled, estimated hollow; a front per method.
        expect(markers.filter((circle) => circle["@_fill"] === "#fff")).toHaveLength(2);
        expect(plot.series.map((series) => series.label)).toEqual([
          "measured energy",
          "estimated energy",
          "Pareto front (measured)",
          "Pareto front (estimated)",
        ]);
      }
    }
  });

  it("escapes text: a hostile name is shown, not parsed", () => {
    const plot = buildPlot(model, {
      type: "axis",
      study: 0,
      axis: 0,
      metric: "output_tokens_per_s",
      groupBy: 1,
    });
    const xml = plotToSvg(plot);
    expect(xml).toContain("task.model = &lt;b&gt;");
    expect(xml).not.toContain("<b>");
  });

  it("the page's compact data reads back as the model, figures rounded to 5 digits", () => {
    const back = fromWire(JSON.parse(JSON.stringify(toWire(model))));
    expect(back.studies[0]?.configs.map((row) => row.summary)).toEqual(
      study.configs.map((row) => row.summary),
    );
    const before = study.configs[1]?.metrics.output_tokens_per_s;
    const after = back.studies[0]?.configs[1]?.metrics.output_tokens_per_s;
    expect(after?.n).toBe(2);
    expect(after?.mean).toBeCloseTo(before?.mean ?? 0, 2);
    expect(after?.cv).toBeCloseTo(before?.cv ?? 0, 4);
    expect(back.studies[0]?.configs[0]?.metrics.mean_power_w).toBeUndefined();
    expect(back.studies[0]?.configs[2]?.method).toBe("estimated");
  });
});
