// Fuzzing the kubeconfig loader (what --kubeconfig names): any YAML or JSON document gives a RestConfig
// with an http(s) server URL, or a plain Error saying what is wrong, never another exception.
// Replaying a failure: test/support/fuzz.ts.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { stringify } from "yaml";
import { fc, fuzz } from "../../test/support/fuzz.ts";
import { loadKubeconfig } from "./kubeconfig.ts";

const dir = mkdtempSync(join(tmpdir(), "kubeconfig-fuzz-"));
after(() => rmSync(dir, { recursive: true, force: true }));
const path = join(dir, "kubeconfig");
const b64 = (s: string): string => Buffer.from(s).toString("base64");

/** Loads `text` as a kubeconfig (optionally a named context): the config, or the plain Error's message. */
function loadChecked(text: string, context?: string): void {
  writeFileSync(path, text);
  try {
    const config = loadKubeconfig(path, context);
    const url = new URL(config.server);
    assert.ok(url.protocol === "https:" || url.protocol === "http:", config.server);
    assert.equal(typeof config.insecureSkipTLSVerify, "boolean");
  } catch (err) {
    if (err instanceof assert.AssertionError) throw err;
    assert.ok(err instanceof Error && err.constructor === Error, `threw ${String(err)}`);
    assert.ok(err.message.length > 0);
  }
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

const VALID: Json = {
  apiVersion: "v1",
  kind: "Config",
  "current-context": "ctx",
  clusters: [
    {
      name: "c",
      cluster: {
        server: "https://127.0.0.1:6443",
        "certificate-authority-data": b64("CA"),
        "tls-server-name": "api",
        extensions: [{ name: "client.authentication.k8s.io/exec", extension: { a: 1 } }],
      },
    },
  ],
  contexts: [{ name: "ctx", context: { cluster: "c", user: "u" } }],
  users: [
    {
      name: "u",
      user: {
        "client-certificate-data": b64("CERT"),
        "client-key-data": b64("KEY"),
        token: "t",
        exec: {
          apiVersion: "client.authentication.k8s.io/v1",
          command: "./plugin",
          args: ["a"],
          env: [{ name: "X", value: "1" }],
          interactiveMode: "Never",
        },
      },
    },
  ],
};

function paths(doc: Json, prefix: (string | number)[] = []): (string | number)[][] {
  const out: (string | number)[][] = [prefix];
  if (Array.isArray(doc)) for (const [i, v] of doc.entries()) out.push(...paths(v, [...prefix, i]));
  else if (doc !== null && typeof doc === "object")
    for (const [k, v] of Object.entries(doc)) out.push(...paths(v, [...prefix, k]));
  return out;
}

function replaced(doc: Json, at: (string | number)[], value: Json | undefined): Json {
  if (at.length === 0) return value ?? null;
  const copy = structuredClone(doc) as Record<string | number, Json>;
  let node = copy;
  for (const key of at.slice(0, -1)) node = node[key] as Record<string | number, Json>;
  const last = at[at.length - 1];
  if (value === undefined) delete node[last];
  else node[last] = value;
  return copy as Json;
}

/** What may end up anywhere in a broken kubeconfig: wrong types, bad URLs, bad base64, odd names. */
const oddValue: fc.Arbitrary<Json | undefined> = fc.oneof(
  fc.jsonValue({ maxDepth: 2 }) as fc.Arbitrary<Json>,
  fc.constantFrom<Json | undefined>(
    undefined,
    "",
    "ctx",
    "c",
    "u",
    "127.0.0.1:6443",
    "ftp://x",
    "https://[::1",
    "http://h/",
    "not base64!",
    "missing-file.crt",
    "/",
    true,
    "client.authentication.k8s.io/v1beta1",
    "Always",
    [],
    {},
  ),
);

describe("loadKubeconfig, fuzzed", () => {
  it("a valid kubeconfig with values replaced or removed anywhere: a config or a plain Error", () => {
    fuzz(
      fc.property(
        fc.array(fc.tuple(fc.nat(), oddValue), { minLength: 1, maxLength: 3 }),
        fc.boolean(),
        fc.option(fc.constantFrom("ctx", "other", "")),
        (edits, asJson, context) => {
          let doc: Json = VALID;
          for (const [k, value] of edits) {
            const all = paths(doc);
            doc = replaced(doc, all[k % all.length], value);
          }
          loadChecked(asJson ? JSON.stringify(doc) : stringify(doc), context ?? undefined);
        },
      ),
      1_200,
    );
  });

  it("arbitrary JSON documents: the same", () => {
    fuzz(
      fc.property(fc.jsonValue({ maxDepth: 4 }), (doc) => {
        loadChecked(JSON.stringify(doc));
      }),
      600,
    );
  });

  it("arbitrary YAML-ish text (anchors, tags, flow and block syntax): the same", () => {
    const unit = fc.constantFrom(
      ":",
      ": ",
      "- ",
      " ",
      "  ",
      "\n",
      "\t",
      "[",
      "]",
      "{",
      "}",
      ",",
      "&a ",
      "*a",
      "!!binary ",
      "!!str ",
      "!!map ",
      "? ",
      "'",
      '"',
      "#",
      "|",
      ">",
      "---\n",
      "...\n",
      "%YAML 1.2\n",
      "<<: ",
      "clusters",
      "contexts",
      "users",
      "current-context",
      "name",
      "cluster",
      "context",
      "user",
      "server",
      "https://h",
      "ctx",
      "c",
      "0x1F",
      "~",
      "é",
    );
    fuzz(
      fc.property(fc.string({ unit, maxLength: 40 }), (text) => {
        loadChecked(text);
      }),
      1_000,
    );
  });
});
