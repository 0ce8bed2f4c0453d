// Fuzzing the Summary API decoder: whatever the text, the outcome is a NodeScrape without a
// non-finite, negative or incomplete value, or a "failed parsing summary" error; uint64 counters stay
// exact; a container listed twice with different values is never trusted. Replaying a failure:
// test/support/fuzz.ts.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { fc, fuzz } from "../../../test/support/fuzz.ts";
import { assertSaneScrape } from "../../../test/support/scrape-invariants.ts";
import type { DecodedScrape } from "./accumulators.ts";
import { decodeSummary } from "./summary.ts";

const SAMPLE = readFileSync(new URL("../testdata/summary-cpu-memory.json", import.meta.url), "utf8");
const same = (s: string): string => s;

type Outcome = { ok: DecodedScrape } | { error: string };

function decodeChecked(body: string): Outcome {
  try {
    const scrape = decodeSummary(body, "node-a", same);
    assertSaneScrape(scrape);
    return { ok: scrape };
  } catch (err) {
    if (err instanceof assert.AssertionError) throw err;
    assert.ok(err instanceof Error && err.name === "SummaryError", `threw ${String(err)}`);
    assert.match(err.message, /^failed parsing summary: /);
    return { error: err.message };
  }
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** Every path to a value in `doc`, as keys and indexes. */
function paths(doc: Json, prefix: (string | number)[] = []): (string | number)[][] {
  const out: (string | number)[][] = [prefix];
  if (Array.isArray(doc)) for (const [i, v] of doc.entries()) out.push(...paths(v, [...prefix, i]));
  else if (doc !== null && typeof doc === "object")
    for (const [k, v] of Object.entries(doc)) out.push(...paths(v, [...prefix, k]));
  return out;
}

/** `doc` with the value at `path` replaced (the root when the path is empty). */
function replaced(doc: Json, path: (string | number)[], value: Json): Json {
  if (path.length === 0) return value;
  const copy = structuredClone(doc) as Record<string | number, Json>;
  let at = copy;
  for (const key of path.slice(0, -1)) at = at[key] as Record<string | number, Json>;
  at[path[path.length - 1]] = value;
  return copy as Json;
}

const SAMPLE_DOC = JSON.parse(SAMPLE) as Json;
/** Values a broken kubelet may put anywhere: wrong types, negative, huge, fractional, odd times. */
const oddValue: fc.Arbitrary<Json> = fc.oneof(
  fc.jsonValue({ maxDepth: 2 }) as fc.Arbitrary<Json>,
  fc.constantFrom<Json>(
    -1,
    -0,
    0.5,
    1e300,
    2 ** 64,
    2 ** 53 + 1,
    "",
    "NaN",
    "2025-13-45T99:99:99Z",
    "0001-01-01T00:00:00Z",
    "9999-12-31T23:59:59.999999999+14:00",
    [],
    {},
    null,
  ),
);

describe("the Summary API decoder, fuzzed", () => {
  it("arbitrary text: a sane scrape or a summary error", () => {
    fuzz(
      fc.property(fc.string({ maxLength: 80 }), (text) => {
        decodeChecked(text);
      }),
      10_000,
    );
  });

  it("arbitrary JSON documents: the same", () => {
    fuzz(
      fc.property(fc.jsonValue({ maxDepth: 4 }), (doc) => {
        decodeChecked(JSON.stringify(doc));
      }),
      10_000,
    );
  });

  it("a kubelet's summary with values replaced anywhere, or truncated: the same", () => {
    fuzz(
      fc.property(
        fc.array(fc.tuple(fc.nat(), oddValue), { minLength: 1, maxLength: 3 }),
        fc.option(fc.nat()),
        (replacements, cut) => {
          let doc = SAMPLE_DOC;
          for (const [k, value] of replacements) {
            const all = paths(doc);
            doc = replaced(doc, all[k % all.length], value);
          }
          const text = JSON.stringify(doc);
          decodeChecked(cut === null ? text : text.slice(0, cut % (text.length + 1)));
        },
      ),
      6_000,
    );
  });

  it("a uint64 counter of any size: exact as counter + remainder, or an error past 2^64 - 1", () => {
    fuzz(
      fc.property(fc.bigInt({ min: 0n, max: 2n ** 70n }), fc.constantFrom("", " ", "\n"), (n, blank) => {
        const body =
          `{"node":{"cpu":{"time":"2025-05-22T18:19:05Z","usageCoreNanoSeconds":${blank}${n}},` +
          `"memory":{"workingSetBytes":1}},"pods":[{"podRef":{"name":"p","namespace":"n"},"containers":` +
          `[{"name":"c","cpu":{"time":"2025-05-22T18:19:05Z","usageCoreNanoSeconds":${n}},` +
          `"memory":{"workingSetBytes":1}}]}]}`;
        const result = decodeChecked(body);
        if (n > 2n ** 64n - 1n) {
          assert.ok("error" in result, `${n} accepted`);
          return;
        }
        assert.ok("ok" in result);
        const s = result.ok;
        if (n === 0n) return; // a zero counter is missing: the point is incomplete
        assert.equal(BigInt(s.nodeCpuNs) + BigInt(s.nodeCpuNsRemainder ?? 0), n);
        assert.equal(BigInt(s.cpuNs[0]) + BigInt(s.cpuNsRemainder?.[0] ?? 0), n);
      }),
      5_000,
    );
  });

  it("a container listed twice: kept when both say the same, else its pod is left out", () => {
    const doc = JSON.parse(SAMPLE) as { pods: { podRef: { name: string }; containers: Json[] }[] };
    const withContainers = doc.pods.flatMap((p, i) => (p.containers.length > 0 ? [i] : []));
    const clean = decodeSummary(SAMPLE, "node-a", same);
    fuzz(
      fc.property(
        fc.nat(),
        fc.nat(),
        fc.boolean(),
        fc.constantFrom("cpu", "memory", "startTime", "swap"),
        (p, c, asNewPodEntry, field) => {
          const d = structuredClone(doc);
          const pod = d.pods[withContainers[p % withContainers.length]];
          const original = pod.containers[c % pod.containers.length] as Record<string, Json>;
          const copy = structuredClone(original);
          const changed = field !== "swap" || copy.swap !== undefined;
          if (field === "cpu" && copy.cpu) (copy.cpu as Record<string, Json>).usageCoreNanoSeconds = 42;
          else if (field === "cpu" || field === "memory") copy.memory = { workingSetBytes: 42 };
          else if (field === "startTime") copy.startTime = "2025-05-22T00:00:00Z";
          else if (copy.swap) (copy.swap as Record<string, Json>).swapUsageBytes = 42;
          if (asNewPodEntry) d.pods.push({ ...pod, containers: [copy] });
          else pod.containers.push(copy);
          const result = decodeChecked(JSON.stringify(d));
          assert.ok("ok" in result);
          const s = result.ok;
          const served = s.pods.includes(pod.podRef.name);
          if (!changed) {
            assert.equal(s.problems, undefined);
            assert.equal(s.containerCount, clean.containerCount);
            return;
          }
          assert.equal(served, false, `${pod.podRef.name} served`);
          assert.equal(s.problems?.count, 1);
          assert.match(s.problems?.series[0] ?? "", /^container\{namespace=".*",pod=".*",container=".*"\}$/);
          // Listed twice as it was: kept as if once.
          const twice = structuredClone(doc);
          twice.pods[withContainers[p % withContainers.length]].containers.push(original);
          const again = decodeChecked(JSON.stringify(twice));
          assert.ok("ok" in again);
          assert.equal(again.ok.problems, undefined);
          assert.deepEqual(again.ok.cpuNs, clean.cpuNs);
        },
      ),
      1_000,
    );
  });
});

describe("the Summary API decoder's fuzz findings", () => {
  it("a counter past 2^64 - 1 is an error, not a RangeError from inside", () => {
    // Number() of a 400-digit counter is Infinity, and BigInt(Infinity) threw a RangeError.
    const body = `{"node":{"cpu":{"time":"2025-05-22T18:19:05Z","usageCoreNanoSeconds":${"9".repeat(400)}}}}`;
    assert.throws(() => decodeSummary(body, "n", same), {
      name: "SummaryError",
      message: "failed parsing summary: node.cpu.usageCoreNanoSeconds is out of range for a uint64",
    });
  });

  it("a working set of 2^64 or more is an error, as Go's decoder fails on it", () => {
    const body = `{"node":{"memory":{"workingSetBytes":1e300}}}`;
    assert.throws(() => decodeSummary(body, "n", same), /workingSetBytes is out of range for a uint64/);
  });
});
