import { describe, expect, it } from "vitest";
import { renderTable } from "./table.js";

describe("renderTable", () => {
  it("pads columns to their widest cell", () => {
    expect(
      renderTable(
        [{ header: "#", align: "right" }, { header: "name" }],
        [
          ["1", "a"],
          ["10", "bbbbbb"],
        ],
      ),
    ).toBe(" #  name\n--  ------\n 1  a\n10  bbbbbb");
  });

  it("renders 200,000 rows (a 150,000-config study) without overflowing the stack", () => {
    const rows = Array.from({ length: 200_000 }, (_, index) => [String(index), "config"]);
    const text = renderTable([{ header: "#" }, { header: "config" }], rows);
    expect(text.split("\n")).toHaveLength(200_002);
  });
});
