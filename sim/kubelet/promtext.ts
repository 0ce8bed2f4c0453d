// Prometheus text exposition (format 0.0.4) the way Go's client_golang writes it, so the fake
// kubelets produce byte-for-byte the shape a real kubelet does.

/**
 * Go's strconv.FormatFloat(v, 'g', -1, 64): the shortest decimal that round-trips, in exponent form
 * when the decimal exponent is < -4 or >= 6 (with at least two exponent digits: 1e-05, 1.8239488e+07).
 */
export function formatGoFloat(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (v === Number.POSITIVE_INFINITY) return "+Inf";
  if (v === Number.NEGATIVE_INFINITY) return "-Inf";
  if (v === 0) return Object.is(v, -0) ? "-0" : "0";
  // Fast path for the common case (counters and byte counts): here Go prints the plain decimal and
  // JS's String() gives the same shortest digits. A double below 1e6 never prints as 1e+06 (1e6 is
  // exact), and one at or above the double nearest 1e-4 never prints with exponent -5.
  const magnitude = Math.abs(v);
  if (magnitude >= 1e-4 && magnitude < 1e6) return String(v);
  // JS toExponential() without an argument also yields the shortest round-tripping digits.
  const [mantissa, expText] = v.toExponential().split("e");
  const exp = Number(expText);
  if (exp < -4 || exp >= 6) {
    const abs = Math.abs(exp);
    return `${mantissa}e${exp < 0 ? "-" : "+"}${abs < 10 ? "0" : ""}${abs}`;
  }
  // In this exponent range JS's String() never uses exponent notation, and its digits are the same
  // shortest round-trip digits Go chooses.
  return String(v);
}

/** Label value escaping of the text format: backslash, double quote and newline. */
export function escapeLabelValue(value: string): string {
  return value.replace(/[\\"\n]/g, (c) => (c === "\n" ? "\\n" : `\\${c}`));
}

/** HELP text escaping: backslash and newline. */
export function escapeHelp(text: string): string {
  return text.replace(/[\\\n]/g, (c) => (c === "\n" ? "\\n" : "\\\\"));
}

export interface Sample {
  /** Label pairs; written (and sorted) in name order, as client_golang does. */
  labels: ReadonlyArray<readonly [string, string]>;
  value: number;
  /** Milliseconds since the epoch, or undefined for no timestamp. */
  timestampMs?: number;
}

export interface Family {
  name: string;
  help: string;
  type: "counter" | "gauge";
  samples: Sample[];
}

// Go compares strings bytewise; for the ASCII names used here UTF-16 code-unit order is the same.
function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function compareSamples(a: Sample, b: Sample): number {
  const n = Math.min(a.labels.length, b.labels.length);
  for (let i = 0; i < n; i++) {
    const c = compareStrings(a.labels[i][1], b.labels[i][1]);
    if (c !== 0) return c;
  }
  return a.labels.length - b.labels.length;
}

/**
 * Writes families the way a Go registry gathers them: families sorted by name, samples sorted by
 * label values (labels in name order), families without samples left out entirely.
 */
export function renderFamilies(families: readonly Family[]): string {
  const out: string[] = [];
  const sorted = families.filter((f) => f.samples.length > 0).sort((a, b) => compareStrings(a.name, b.name));
  for (const f of sorted) {
    out.push(`# HELP ${f.name} ${escapeHelp(f.help)}\n# TYPE ${f.name} ${f.type}\n`);
    const samples = f.samples.map((s) => ({
      ...s,
      labels: [...s.labels].sort((x, y) => compareStrings(x[0], y[0])),
    }));
    samples.sort(compareSamples);
    for (const s of samples) {
      let line = f.name;
      if (s.labels.length > 0) {
        line += `{${s.labels.map(([k, v]) => `${k}="${escapeLabelValue(v)}"`).join(",")}}`;
      }
      line += ` ${formatGoFloat(s.value)}`;
      if (s.timestampMs !== undefined) line += ` ${Math.trunc(s.timestampMs)}`;
      out.push(`${line}\n`);
    }
  }
  return out.join("");
}
