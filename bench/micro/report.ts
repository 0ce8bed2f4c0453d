// The one way a micro-benchmark prints: a title, then aligned rows of named measurements, on stdout.
// Results are never pasted into source comments: BENCHMARKS.md keeps what is worth keeping.

export type Row = Record<string, string | number>;

/** Formats a number for a table cell: integers with thousands separators, others to 3 significant decimals. */
export function cell(v: string | number): string {
  if (typeof v === "string") return v;
  if (!Number.isFinite(v)) return String(v);
  if (Number.isInteger(v)) return v.toLocaleString("en-US");
  return v.toLocaleString("en-US", { maximumFractionDigits: Math.abs(v) >= 100 ? 1 : 3 });
}

/** Prints `title` and the rows as a table whose columns are the union of the rows' keys, in order. */
export function report(title: string, rows: readonly Row[]): void {
  const columns: string[] = [];
  for (const row of rows) for (const key of Object.keys(row)) if (!columns.includes(key)) columns.push(key);
  const text = rows.map((row) => columns.map((c) => (row[c] === undefined ? "" : cell(row[c]))));
  const widths = columns.map((c, i) => Math.max(c.length, ...text.map((r) => r[i].length)));
  const line = (cells: string[]) =>
    cells.map((s, i) => (i === 0 ? s.padEnd(widths[i]) : s.padStart(widths[i]))).join("  ");
  const out = [`## ${title}`, line(columns), ...text.map(line), ""];
  process.stdout.write(out.join("\n") + "\n");
}

/** A free-form note under the current table (what was run, with which settings). */
export function note(text: string): void {
  process.stdout.write(text + "\n");
}
