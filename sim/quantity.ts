// Kubernetes resource quantities (the resource.Quantity syntax, enough for cpu and memory): the one
// parser and formatter of the simulator. Scenario files are parsed strictly; objects posted to the API
// fall back to defaults on a value this cannot read.

const QUANTITY_SUFFIX: Record<string, number> = {
  n: 1e-9,
  u: 1e-6,
  m: 1e-3,
  "": 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};

/** Parses "50m", "0.5", "2", "128Mi", "1e3", 3 into a plain number of units; throws on anything else. */
export function parseQuantity(value: unknown): number {
  if (typeof value === "number") {
    if (Number.isFinite(value) && value >= 0) return value;
    throw new Error(`invalid quantity ${value}: must be a non-negative finite number`);
  }
  if (typeof value !== "string")
    throw new Error(`invalid quantity ${JSON.stringify(value)}: want a string like "50m" or "64Mi"`);
  const m = /^\+?(\d+(?:\.\d*)?|\.\d+)(?:([eE][+-]?\d+)|(n|u|m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei))?$/.exec(
    value.trim(),
  );
  if (!m)
    throw new Error(
      `invalid quantity ${JSON.stringify(value)}: want a number with an optional suffix (m, k, M, G, Ki, Mi, Gi, …)`,
    );
  const n = Number(m[1] + (m[2] ?? "")) * QUANTITY_SUFFIX[m[3] ?? ""];
  if (!Number.isFinite(n)) throw new Error(`invalid quantity ${JSON.stringify(value)}: out of range`);
  return n;
}

/** parseQuantity for a value that may be missing or malformed: undefined instead of an error. */
export function quantityOrUndefined(q: unknown): number | undefined {
  try {
    return parseQuantity(q);
  } catch {
    return undefined;
  }
}

const KI = 1024;
const MI = KI * KI;
const GI = MI * KI;

/** Bytes as the API prints them: the largest binary suffix that divides exactly. */
export function formatBytes(bytes: number): string {
  const b = Math.round(bytes);
  if (b !== 0 && b % GI === 0) return `${b / GI}Gi`;
  if (b !== 0 && b % MI === 0) return `${b / MI}Mi`;
  if (b !== 0 && b % KI === 0) return `${b / KI}Ki`;
  return String(b);
}

/** Millicores as the API prints them: whole cores bare, anything else with the m suffix. */
export function formatCpu(milli: number): string {
  const m = Math.round(milli);
  return m % 1000 === 0 ? String(m / 1000) : `${m}m`;
}
