// fast-check arbitraries for /metrics/resource lines, valid or not, for the decoder's property tests.
import fc from "fast-check";
import { formatGoFloat } from "./resource-body.ts";

// Pieces a kubelet line is made of, plus the ways it can go wrong: odd spacing, braces and escapes in
// label values, extra labels, swapped label order, special floats, bad tokens.
const familyName = fc.constantFrom(
  "container_cpu_usage_seconds_total",
  "container_memory_working_set_bytes",
  "container_start_time_seconds",
  "container_swap_usage_bytes",
  "node_cpu_usage_seconds_total",
  "node_memory_working_set_bytes",
  "node_swap_usage_bytes",
  "pod_cpu_usage_seconds_total",
  "container_cpu_usage_seconds_total_extra",
  "node_cpu",
  "scrape_error",
  "9bad",
);
const ASCII_UNITS = ["a", "b", "-", "}", "{", '"', "\\", "\\n", "\\q", ",", " ", "=", "\r", "/"];
/** Label set texts whose values are made of `units` (some with escapes, quotes and braces). */
function labelSetOf(units: string[]): fc.Arbitrary<string> {
  const labelValue = fc.string({ unit: fc.constantFrom(...units), maxLength: 5 });
  const label = fc.tuple(
    fc.constantFrom("container", "namespace", "pod", "other", "pod_x", ":bad", "containe"),
    labelValue,
    fc.constantFrom("", " ", "\t"),
  );
  return fc.oneof(
    fc.constant(""),
    fc.constant("{}"),
    fc
      .array(label, { maxLength: 4 })
      .map((ls) => `{${ls.map(([k, v, blank]) => `${blank}${k}${blank}=${blank}"${v}"`).join(",")}}`),
    fc.constantFrom('{container="a",namespace="n",pod="p"}', '{ container = "a" , namespace="n",pod="p" }'),
    fc.constantFrom('{container="a"', '{container="a",}', "{container=a}", '{container="a"} }'),
  );
}
// Non-ASCII units: two- and four-byte UTF-8, escaped or not, and a byte order mark inside a value.
export const labelSet = labelSetOf([...ASCII_UNITS, "é", "\\é", "😀", "\\😀", "\uFEFF"]);
export const asciiLabelSet = labelSetOf(ASCII_UNITS);
const value = fc.oneof(
  fc.double().map((v) => formatGoFloat(v)),
  fc.double().map((v) => String(v)),
  fc.integer({ min: -5, max: 5 }).map(String),
  fc.constantFrom(
    "+Inf",
    "-Inf",
    "NaN",
    "nan",
    "0x1p-2",
    ".5",
    "5.",
    "-0",
    "1e",
    "1e+",
    "1.2.3",
    "",
    "}",
    "1e400",
    "123456789012345678",
  ),
);
const timestamp = fc.oneof(
  fc.constant(""),
  fc.integer({ min: 0, max: 2 ** 45 }).map((t) => ` ${t}`),
  fc.constantFrom(
    " -5",
    " +17",
    " 1.5",
    " 99999999999999999999",
    " 123456789012345",
    " 1234567890123456",
    " 12 junk",
    " 12 ",
    " 12\r",
    " 1\r2",
  ),
);
function lineOf(labels: fc.Arbitrary<string>): fc.Arbitrary<string> {
  return fc.oneof(
    {
      weight: 8,
      arbitrary: fc
        .tuple(
          fc.constantFrom("", " "),
          familyName,
          labels,
          fc.constantFrom(" ", "\t", "  ", ""),
          value,
          timestamp,
          fc.constantFrom("", "", " ", "\r"),
        )
        .map((p) => p.join("")),
    },
    { weight: 1, arbitrary: fc.constantFrom("# HELP x y", "", "  ", "\r", "\r\r", "garbage {", "  # x") },
  );
}
export const line = lineOf(labelSet);
export const asciiLine = lineOf(asciiLabelSet);
