// Runs the micro-benchmarks, each in its own process (so one's heap and GC do not colour another's):
//
//   node bench/micro/run.ts                     every bench/micro/*.ts once, with its small defaults
//   node bench/micro/run.ts <name> [flags...]   one benchmark (file name, .ts optional) with its own flags
//
// (`npm run bench:micro` and `npm run bench:micro -- <name> [flags...]` do the same.) A benchmark is
// any .ts file here but this runner, report.ts and tests; its defaults keep it to a few seconds, and
// flags set the scale worth recording. Every benchmark runs with --expose-gc, as memory ones need it.
import { spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { basename, join } from "node:path";
import { note } from "./report.ts";

const here = import.meta.dirname;
const NOT_BENCHMARKS = new Set(["run.ts", "report.ts", "metrics-api-fixture.ts"]);

function benchmarks(): string[] {
  return readdirSync(here)
    .filter((f) => f.endsWith(".ts") && !f.endsWith(".test.ts") && !NOT_BENCHMARKS.has(f))
    .sort();
}

/** Runs one benchmark file; returns whether it exited cleanly. */
function run(file: string, flags: readonly string[]): boolean {
  const started = performance.now();
  const { status, signal } = spawnSync(process.execPath, ["--expose-gc", join(here, file), ...flags], {
    stdio: "inherit",
  });
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  const outcome = status === 0 ? "done" : `failed (${signal ?? `exit ${status}`})`;
  note(`# ${basename(file, ".ts")}: ${outcome} in ${seconds} s\n`);
  return status === 0;
}

const [name, ...flags] = process.argv.slice(2);
const all = benchmarks();
if (name !== undefined) {
  const file = name.endsWith(".ts") ? basename(name) : `${name}.ts`;
  if (!all.includes(file)) {
    process.stderr.write(
      `no benchmark ${name}; there are: ${all.map((f) => basename(f, ".ts")).join(", ")}\n`,
    );
    process.exit(2);
  }
  process.exitCode = run(file, flags) ? 0 : 1;
} else {
  const failed = all.filter((file) => !run(file, []));
  if (failed.length > 0) {
    process.stderr.write(`failed: ${failed.join(", ")}\n`);
    process.exitCode = 1;
  }
}
