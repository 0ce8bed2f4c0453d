// docs/flags.md is generated from the flag declarations; these tests fail when it is out of date and
// say how to refresh it.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { FLAGS_DOC, renderFlagsDoc, UPSTREAM_FLAGS } from "../scripts/flags-doc.ts";
import { flagReference, parseOptions } from "../src/cmd/metrics-server/options/index.ts";

test("docs/flags.md is current", () => {
  const current = readFileSync(FLAGS_DOC, "utf8");
  assert.ok(current === renderFlagsDoc(), "docs/flags.md is out of date: run `npm run docs:flags`");
});

test("docs/flags.md has a row for every flag --help lists, with its default", () => {
  const help = parseOptions(["--help"]);
  assert.equal(help.kind, "help");
  if (help.kind !== "help") return;
  const names = [...help.text.matchAll(/^ {2}(?:-\w, )? *--([a-z0-9-]+)/gm)].map((m) => m[1]);
  assert.ok(names.length > 40, `flags found in --help: ${names.length}`);
  const doc = renderFlagsDoc();
  for (const name of names) assert.match(doc, new RegExp(`^- (\`-\\w\`, )?\`--${name}\` \\(`, "m"), name);
  assert.match(doc, /^- `--metric-resolution` \(duration, default `1m0s`\): How often/m);
  assert.match(doc, /^- `--kubelet-endpoint` \(string, default `"auto"`; \*\*not in upstream\*\*\): /m);
});

test("a changed declaration changes the page", () => {
  const flags = flagReference().map((f) =>
    f.name === "kubelet-port" ? { ...f, default: "10255", usage: "changed" } : f,
  );
  assert.notEqual(renderFlagsDoc(flags), renderFlagsDoc());
  assert.match(renderFlagsDoc(flags), /^- `--kubelet-port` \(int, default `10255`\): changed$/m);
});

test("upstream flags we do not accept are listed, ours are never among them", () => {
  const doc = renderFlagsDoc();
  const ours = new Set(flagReference().map((f) => f.name));
  for (const name of UPSTREAM_FLAGS) {
    if (ours.has(name) || name.startsWith("audit-")) continue;
    assert.match(doc, new RegExp(`^- \`--${name}\`$`, "m"), name);
  }
  for (const name of ours) assert.doesNotMatch(doc, new RegExp(`^- \`--${name}\`$`, "m"), name);
});
