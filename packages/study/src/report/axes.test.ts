import { describe, expect, it } from "vitest";
import { declaredAxes, detectAxes } from "./axes.js";

describe("sweep axes from configs", () => {
  it("finds the settings that differ, numeric ones ascending, declared ones first", () => {
    const configs = [
      { task: { model: "b" }, llamacpp: { batch_size: 4, threads: null } },
      { task: { model: "b" }, llamacpp: { batch_size: 1, threads: null } },
      { task: { model: "a" }, llamacpp: { batch_size: 4, threads: 2 } },
    ];
    const { axes, valueIndex } = detectAxes(configs, ["llamacpp.batch_size", "task.model"]);
    expect(axes.map((axis) => [axis.key, axis.values, axis.declared])).toEqual([
      ["llamacpp.batch_size", ["1", "4"], true],
      ["task.model", ["b", "a"], true],
      ["llamacpp.threads", ["default", "2"], false],
    ]);
    expect(axes[0]?.numbers).toEqual([1, 4]);
    expect(axes[1]?.numbers).toBeNull();
    expect(valueIndex).toEqual([
      [1, 0, 0],
      [0, 0, 0],
      [1, 1, 1],
    ]);
  });

  it("a setting only some configs have is an axis for those; the others get -1", () => {
    const configs = [
      { engine: "llamacpp", llamacpp: { batch_size: 1 } },
      { engine: "vllm", vllm: { dtype: "float16" } },
      { engine: "vllm", vllm: { dtype: "bfloat16" } },
    ];
    const { axes, valueIndex } = detectAxes(configs);
    expect(axes.map((axis) => axis.key)).toEqual(["engine", "vllm.dtype"]);
    expect(valueIndex.map((row) => row[1])).toEqual([-1, 0, 1]);
  });

  it("reads the declared axes of a study file: sweep lists, keys inside groups, several engines", () => {
    expect(
      declaredAxes({
        engine: ["llamacpp", "vllm"],
        sweep: {
          "task.model": ["a", "b"],
          variants: [{}, { "workload.mode": "concurrent", "workload.concurrency": [2, 4] }],
          "llamacpp.threads": 4,
        },
      }),
    ).toEqual(["engine", "task.model", "workload.mode", "workload.concurrency"]);
    expect(declaredAxes(null)).toEqual([]);
  });
});
