// Go-style durations ("1m30s", "500ms") for the simulator's flags and fault specs.
import { UsageError } from "./usage-error.ts";

const DURATION_UNITS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

/** Parses a Go duration ("1m30s", "500ms") to milliseconds. */
export function parseDuration(text: string): number {
  const re = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)/y;
  if (text === "0") return 0;
  let total = 0;
  let pos = 0;
  while (pos < text.length) {
    re.lastIndex = pos;
    const m = re.exec(text);
    if (!m) throw new UsageError(`invalid duration ${JSON.stringify(text)}: want e.g. 60s, 500ms, 1m30s`);
    total += Number(m[1]) * DURATION_UNITS[m[2]];
    pos = re.lastIndex;
  }
  if (pos === 0)
    throw new UsageError(`invalid duration ${JSON.stringify(text)}: want e.g. 60s, 500ms, 1m30s`);
  return total;
}
