/**
 * A sortable, filterable, paged table (rows can number 18,944: only one page is in the DOM).
 * Click a header to sort by it (again to reverse; rows without a value stay last); the header's
 * `aria-sort` says the current order. Cells are filled with textContent only — never HTML — so
 * any name in the data shows as the characters it is.
 */

export interface Column<Row> {
  label: string;
  title?: string;
  numeric: boolean;
  /** The value sorted by; null sorts last. */
  sortValue(row: Row): number | string | null;
  fill(cell: HTMLTableCellElement, row: Row): void;
}

export interface TableOptions<Row> {
  pageSize?: number;
  /** The text a filter query is matched against (case-insensitive); no filter box without it. */
  searchText?: (row: Row) => string;
  caption?: string;
}

function element<K extends keyof HTMLElementTagNameMap>(tag: K, text?: string, className?: string) {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = text;
  if (className) node.className = className;
  return node;
}

export function renderTable<Row>(
  container: HTMLElement,
  rows: readonly Row[],
  columns: ReadonlyArray<Column<Row>>,
  options: TableOptions<Row> = {},
): void {
  const pageSize = options.pageSize ?? 100;
  let sorted = rows.map((_, index) => index);
  let shown = sorted;
  let sortColumn = -1;
  let descending = false;
  let page = 0;

  const controls = element("div", undefined, "table-controls");
  const filter = element("input");
  filter.type = "search";
  filter.placeholder = "filter configs…";
  filter.setAttribute("aria-label", "filter rows");
  if (options.searchText) controls.append(filter);
  const status = element("span", undefined, "table-status");
  const previous = element("button", "‹ previous");
  const next = element("button", "next ›");
  previous.type = "button";
  next.type = "button";
  controls.append(previous, status, next);

  const table = element("table", undefined, "data");
  if (options.caption) table.append(element("caption", options.caption));
  const head = element("thead");
  const headRow = element("tr");
  const headers = columns.map((column, index) => {
    const th = element("th", undefined, column.numeric ? "num" : undefined);
    const button = element("button", column.label, "sort");
    button.type = "button";
    if (column.title) button.title = column.title;
    button.addEventListener("click", () => sortBy(index));
    th.append(button);
    th.setAttribute("aria-sort", "none");
    headRow.append(th);
    return th;
  });
  head.append(headRow);
  const body = element("tbody");
  table.append(head, body);
  container.replaceChildren(controls, table);

  function sortBy(index: number) {
    descending = sortColumn === index ? !descending : false;
    sortColumn = index;
    const column = columns[index] as Column<Row>;
    const keys = rows.map((row) => column.sortValue(row));
    sorted = rows.map((_, rowIndex) => rowIndex);
    sorted.sort((a, b) => {
      const ka = keys[a] ?? null;
      const kb = keys[b] ?? null;
      if (ka === null || kb === null) return ka === kb ? a - b : ka === null ? 1 : -1;
      const order =
        typeof ka === "number" && typeof kb === "number"
          ? ka - kb
          : String(ka).localeCompare(String(kb));
      return (descending ? -order : order) || a - b;
    });
    headers.forEach((th, thIndex) => {
      th.setAttribute(
        "aria-sort",
        thIndex === index ? (descending ? "descending" : "ascending") : "none",
      );
    });
    applyFilter();
  }

  function applyFilter() {
    const query = filter.value.trim().toLowerCase();
    const search = options.searchText;
    shown =
      query && search
        ? sorted.filter((index) =>
            search(rows[index] as Row)
              .toLowerCase()
              .includes(query),
          )
        : sorted;
    page = 0;
    draw();
  }

  function draw() {
    const pages = Math.max(1, Math.ceil(shown.length / pageSize));
    page = Math.min(page, pages - 1);
    const start = page * pageSize;
    const slice = shown.slice(start, start + pageSize);
    body.replaceChildren(
      ...slice.map((index) => {
        const tr = element("tr");
        for (const column of columns) {
          const td = element("td", undefined, column.numeric ? "num" : undefined);
          column.fill(td, rows[index] as Row);
          tr.append(td);
        }
        return tr;
      }),
    );
    status.textContent =
      shown.length === 0
        ? "no rows"
        : `rows ${start + 1}–${start + slice.length} of ${shown.length}`;
    previous.disabled = page === 0;
    next.disabled = page >= pages - 1;
    const paged = shown.length > pageSize;
    previous.hidden = !paged;
    next.hidden = !paged;
  }

  filter.addEventListener("input", applyFilter);
  previous.addEventListener("click", () => {
    page--;
    draw();
  });
  next.addEventListener("click", () => {
    page++;
    draw();
  });
  draw();
}
