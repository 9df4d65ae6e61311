/** A plain text table: columns padded to their widest cell, numbers right-aligned. */

export interface Column {
  header: string;
  align?: "left" | "right";
}

export function renderTable(columns: Column[], rows: string[][]): string {
  // A loop, not Math.max(...cells): a 150,000-config table would overflow the stack.
  const widths = columns.map((column) => column.header.length);
  for (const row of rows) {
    for (const [index, width] of widths.entries()) {
      widths[index] = Math.max(width, visibleLength(row[index] ?? ""));
    }
  }
  const line = (cells: string[]) =>
    cells
      .map((cell, index) => {
        const width = widths[index] ?? 0;
        const padding = " ".repeat(Math.max(0, width - visibleLength(cell)));
        return columns[index]?.align === "right" ? padding + cell : cell + padding;
      })
      .join("  ")
      .trimEnd();
  const header = line(columns.map((column) => column.header));
  const rule = widths.map((width) => "-".repeat(width)).join("  ");
  return [header, rule, ...rows.map(line)].join("\n");
}

/** Length as shown on a terminal, ignoring colour escape sequences. */
export function visibleLength(text: string): number {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: stripping ANSI colour codes
  return text.replace(/\u001b\[[0-9;]*m/g, "").length;
}

/** One CSV field, quoted when it needs to be (RFC 4180). */
export function csvField(value: string | number | boolean | null | undefined): string {
  if (value === null || value === undefined) return "";
  const text = String(value);
  return /[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}
