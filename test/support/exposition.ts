// Reading a Prometheus text exposition (what /metrics serves) in tests: its samples, and the sum of
// those of one family that carry given labels.

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

/** Every sample line, comments skipped; label values keep their escapes. */
export function samples(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const m = SAMPLE.exec(line);
    if (!m) throw new Error(`not a sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? "").matchAll(LABEL)) labels[l[1]!] = l[2]!;
    out.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return out;
}

/** The samples named `name` whose labels include every one in `want`. */
export function matching(text: string, name: string, want: Record<string, string> = {}): Sample[] {
  return samples(text).filter(
    (s) => s.name === name && Object.entries(want).every(([k, v]) => s.labels[k] === v),
  );
}

/** The sum of `matching`'s values (0 when none match). */
export function sampleSum(text: string, name: string, want: Record<string, string> = {}): number {
  return matching(text, name, want).reduce((sum, s) => sum + s.value, 0);
}

/** The family's `# TYPE` and `# HELP`, or undefined when it is not exposed. */
export function family(text: string, name: string): { type: string; help: string } | undefined {
  const type = new RegExp(`^# TYPE ${name} (\\w+)$`, "m").exec(text)?.[1];
  const help = new RegExp(`^# HELP ${name} (.*)$`, "m").exec(text)?.[1];
  return type === undefined ? undefined : { type, help: help ?? "" };
}
