// The layout rules of scripts/check-boundaries.ts: the real tree keeps them, and each kind of
// violation planted in a fake file set is reported, naming the file, the import and the rule.
import assert from "node:assert/strict";
import { test } from "node:test";
import { checkBoundaries, formatViolation, importSpecifiers, readTree } from "../scripts/check-boundaries.ts";
import { root } from "./support/paths.ts";

/** A fake tree: each file imports the given specifiers (type-only where the name says so). */
function tree(files: Record<string, string[]>): Map<string, string> {
  return new Map(
    Object.entries(files).map(([file, imports]) => [
      file,
      imports.map((s, i) => `import { x${i} } from ${JSON.stringify(s)};\n`).join(""),
    ]),
  );
}

function report(files: Record<string, string[]>): string[] {
  return checkBoundaries(tree(files)).map(formatViolation);
}

test("the real tree keeps the layout rules", () => {
  const files = readTree(root);
  assert.ok(files.size > 50, `found the tree's .ts files (${files.size})`);
  assert.deepEqual(checkBoundaries(files).map(formatViolation), []);
});

test("imports are read from every import form, and not from comments or strings", () => {
  const source = [
    'import type { A } from "./a.ts";',
    "import { b } from './b.ts';",
    'export { c } from "./c.ts";',
    'export * from "./d.ts";',
    'import "./e.ts";',
    'const f = await import("./f.ts");',
    '// import { g } from "./g.ts";',
    "const h = 'import { h } from \"./h.ts\"';",
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a template literal in the scanned source
    'const i = `import("./i.ts") ${h}`;',
    'import { readFileSync } from "node:fs";',
  ].join("\n");
  assert.deepEqual(importSpecifiers(source), [
    "./a.ts",
    "./b.ts",
    "./c.ts",
    "./d.ts",
    "./e.ts",
    "./f.ts",
    "node:fs",
  ]);
});

test("a clean fake tree has no violations", () => {
  assert.deepEqual(
    report({
      "src/go/index.ts": ["./duration.ts"],
      "src/go/duration.ts": [],
      "src/go/duration.test.ts": ["./duration.ts", "../../test/support/certs.ts"],
      "src/scraper/index.ts": ["./scraper.ts"],
      "src/scraper/scraper.ts": ["../go/index.ts", "./client/index.ts", "../config.ts"],
      "src/scraper/scraper.test.ts": ["./client/decode.ts"],
      "src/scraper/client/index.ts": ["./decode.ts"],
      "src/scraper/client/decode.ts": ["../types.ts", "../../go/index.ts", "../../config.ts"],
      "src/scraper/types.ts": [],
      "src/config.ts": [],
      "sim/index.ts": [],
      "sim/kubelet/index.ts": ["./kubelet.ts", "../index.ts"],
      "sim/kubelet/kubelet.ts": [],
      "test/support/certs.ts": [],
      "test/e2e.test.ts": ["../src/go/index.ts", "../sim/kubelet/index.ts", "./support/certs.ts"],
      "bench/run.ts": ["../src/scraper/index.ts", "../scripts/cluster.ts"],
      "scripts/cluster.ts": ["../src/go/index.ts"],
    }),
    [],
  );
});

test("an import cycle is reported once, with its path; type-only imports count", () => {
  const files = tree({
    "src/a/index.ts": ["./a.ts"],
    "src/a/a.ts": ["./b.ts"],
    "src/a/b.ts": ["./c.ts"],
    "src/a/c.ts": [],
    "src/self.ts": ["./self.ts"],
  });
  files.set("src/a/c.ts", 'import type { A } from "./a.ts";\n');
  assert.deepEqual(checkBoundaries(files).map(formatViolation), [
    'src/a/a.ts: import "./b.ts": import cycle: src/a/a.ts → src/a/b.ts → src/a/c.ts → src/a/a.ts',
    'src/self.ts: import "./self.ts": import cycle: src/self.ts → src/self.ts',
  ]);
});

test("reaching into another directory past its index.ts is reported", () => {
  assert.deepEqual(
    report({
      "src/api/index.ts": [],
      "src/api/handler.ts": [
        "../storage/types.ts",
        "../scraper/client/index.ts",
        "../scraper/index.ts",
        "./testdata/fakes.ts",
      ],
      "src/api/handler.test.ts": ["../storage/types.ts", "./testdata/fakes.ts"],
      "src/api/testdata/fakes.ts": [],
      "src/storage/index.ts": [],
      "src/storage/types.ts": [],
      "src/scraper/index.ts": [],
      "src/scraper/client/index.ts": [],
      "test/e2e.test.ts": ["../src/storage/types.ts", "../src/config.ts", "../src/index.ts"],
      "bench/run.ts": ["../sim/kubelet/kubelet.ts"],
      "src/config.ts": [],
      "src/index.ts": [],
      "sim/kubelet/kubelet.ts": [],
    }),
    [
      'bench/run.ts: import "../sim/kubelet/kubelet.ts": reaches into sim/kubelet/ past its face: import sim/kubelet/index.ts',
      'src/api/handler.test.ts: import "../storage/types.ts": reaches into src/storage/ past its face: import src/storage/index.ts',
      'src/api/handler.ts: import "../scraper/client/index.ts": reaches into src/scraper/client/ past its face: import src/scraper/index.ts',
      'src/api/handler.ts: import "../storage/types.ts": reaches into src/storage/ past its face: import src/storage/index.ts',
      'src/api/handler.ts: import "./testdata/fakes.ts": reaches into src/api/testdata/ past its face: import src/api/testdata/index.ts',
      'test/e2e.test.ts: import "../src/config.ts": reaches into src/ past its face: import src/index.ts',
      'test/e2e.test.ts: import "../src/storage/types.ts": reaches into src/storage/ past its face: import src/storage/index.ts',
    ],
  );
});

test("shipped code importing test code is reported; unit tests may", () => {
  assert.deepEqual(
    report({
      "src/server/auth.ts": [
        "../../test/support/certs.ts",
        "../../bench/micro/report.ts",
        "./auth-testing.ts",
        "./testing.ts",
      ],
      "src/server/auth.test.ts": ["../../test/support/certs.ts", "./auth-testing.ts", "./testing.ts"],
      "src/server/auth-testing.ts": [],
      "src/server/testing.ts": [],
      "test/support/certs.ts": [],
      "bench/micro/report.ts": [],
    }),
    [
      'src/server/auth.ts: import "../../bench/micro/report.ts": shipped code (src/, not a *.test.ts) must not import test code',
      'src/server/auth.ts: import "../../test/support/certs.ts": shipped code (src/, not a *.test.ts) must not import test code',
      'src/server/auth.ts: import "./auth-testing.ts": shipped code (src/, not a *.test.ts) must not import test code',
      'src/server/auth.ts: import "./testing.ts": shipped code (src/, not a *.test.ts) must not import test code',
    ],
  );
});

test("sim/ and src/ importing each other is reported, faces or not, tests included", () => {
  assert.deepEqual(
    report({
      "sim/kubelet.ts": ["../src/go/index.ts"],
      "sim/kubelet.test.ts": ["../src/go/duration.ts"],
      "src/go/index.ts": [],
      "src/go/duration.ts": [],
      "src/scraper/scraper.ts": ["../../sim/index.ts"],
      "sim/index.ts": [],
    }),
    [
      'sim/kubelet.test.ts: import "../src/go/duration.ts": sim/ and src/ meet only on the wire, never by import',
      'sim/kubelet.ts: import "../src/go/index.ts": sim/ and src/ meet only on the wire, never by import',
      'src/scraper/scraper.ts: import "../../sim/index.ts": sim/ and src/ meet only on the wire, never by import',
    ],
  );
});

test("a directory without an index.ts is a namespace: each child folder is its own module", () => {
  assert.deepEqual(
    report({
      "src/cmd/metrics-server/main.ts": ["./options/index.ts", "../../server/index.ts"],
      "src/cmd/metrics-server/options/index.ts": ["./parse.ts"],
      "src/cmd/metrics-server/options/parse.ts": [],
      "src/server/index.ts": [],
      "test/support/options.ts": ["../../src/cmd/metrics-server/options/index.ts"],
      "test/support/parse.ts": ["../../src/cmd/metrics-server/options/parse.ts"],
      "bench/run.ts": ["../src/cmd/metrics-server/main.ts"],
    }),
    [
      'bench/run.ts: import "../src/cmd/metrics-server/main.ts": reaches into src/cmd/metrics-server/ past its face: import src/cmd/metrics-server/index.ts',
      'test/support/parse.ts: import "../../src/cmd/metrics-server/options/parse.ts": reaches into src/cmd/metrics-server/options/ past its face: import src/cmd/metrics-server/options/index.ts',
    ],
  );
});
