// Running fast-check properties as fuzzers (the *.fuzz.test.ts files): one place for how many cases
// run and for replaying a failure.
//
// A failing property throws fast-check's report, which node:test prints: the seed and the path of
// the shrunk counterexample (`{ seed: -1819918769, path: "0:1:3", endOnFailure: true }`). Replay
// exactly that case with
//   FUZZ_SEED=-1819918769 FUZZ_PATH=0:1:3 node --test src/…/x.fuzz.test.ts
// (FUZZ_SEED alone re-runs the whole sequence of that seed). FUZZ_RUNS=10 runs ten times as many
// cases as each property asks for (a longer fuzz on a quiet machine).
import fc from "fast-check";

function envNumber(name: string): number | undefined {
  const text = process.env[name];
  if (text === undefined || text === "") return undefined;
  const n = Number(text);
  if (!Number.isFinite(n)) throw new Error(`${name}=${JSON.stringify(text)} is not a number`);
  return n;
}

function options(numRuns: number): fc.Parameters<unknown> {
  const seed = envNumber("FUZZ_SEED");
  const path = process.env.FUZZ_PATH || undefined;
  const scale = envNumber("FUZZ_RUNS") ?? 1;
  return {
    numRuns: Math.max(1, Math.round(numRuns * scale)),
    ...(seed === undefined ? {} : { seed }),
    ...(path === undefined ? {} : { path, endOnFailure: true }),
  };
}

/** Runs `property` for `numRuns` cases (times FUZZ_RUNS), or replays FUZZ_SEED / FUZZ_PATH. */
export function fuzz<Ts>(property: fc.IProperty<Ts>, numRuns: number): void {
  fc.assert(property, options(numRuns) as fc.Parameters<Ts>);
}

/** fuzz for an fc.asyncProperty. */
export function fuzzAsync<Ts>(property: fc.IAsyncProperty<Ts>, numRuns: number): Promise<void> {
  return fc.assert(property, options(numRuns) as fc.Parameters<Ts>);
}

/** fast-check's own arbitraries, re-exported so a fuzz file needs one import. */
export { fc };
