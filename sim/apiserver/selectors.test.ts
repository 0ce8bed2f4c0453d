import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import {
  matchesFields,
  matchesLabels,
  parseFieldSelector,
  parseLabelSelector,
  SelectorError,
} from "./selectors.ts";

const labels = { app: "web", tier: "frontend", "kubernetes.io/os": "linux", rank: "7" };

const match = (sel: string, l: Record<string, string> = labels) => matchesLabels(parseLabelSelector(sel), l);

test("label selector operators", () => {
  assert.equal(match(""), true);
  assert.equal(match("app=web"), true);
  assert.equal(match("app==web"), true);
  assert.equal(match("app=api"), false);
  assert.equal(match("app!=api"), true);
  assert.equal(match("missing!=x"), true, "!= matches objects without the label");
  assert.equal(match("app in (api, web)"), true);
  assert.equal(match("app in (api)"), false);
  assert.equal(match("app notin (api)"), true);
  assert.equal(match("missing notin (api)"), true);
  assert.equal(match("app notin (web,api)"), false);
  assert.equal(match("tier"), true);
  assert.equal(match("missing"), false);
  assert.equal(match("!missing"), true);
  assert.equal(match("!app"), false);
  assert.equal(match("kubernetes.io/os=linux,app in (web),!missing"), true);
  assert.equal(match("kubernetes.io/os=linux,app=api"), false);
  assert.equal(match("rank>5"), true);
  assert.equal(match("rank<5"), false);
  assert.equal(match("app="), false, "empty value matches only an empty label");
  assert.equal(match("app=", { app: "" }), true);
});

test("label selector syntax errors", () => {
  for (const bad of [
    "app in web",
    "a b c",
    "app=(x",
    "=web",
    "app,",
    "app in ()",
    "-bad=1",
    "rank>x",
    "app=" + "x".repeat(64),
  ]) {
    assert.throws(() => parseLabelSelector(bad), SelectorError, bad);
  }
});

test("field selectors: supported fields, escapes and errors", () => {
  const fields = { "metadata.name": "a,b", "spec.nodeName": "node-1", "status.phase": "Running" };
  assert.equal(matchesFields(parseFieldSelector("spec.nodeName=node-1", "pods"), fields), true);
  assert.equal(matchesFields(parseFieldSelector("spec.nodeName==node-2", "pods"), fields), false);
  assert.equal(
    matchesFields(parseFieldSelector("status.phase!=Failed,spec.nodeName=node-1", "pods"), fields),
    true,
  );
  assert.equal(matchesFields(parseFieldSelector("metadata.name=a\\,b", "pods"), fields), true);
  assert.equal(matchesFields(parseFieldSelector("", "nodes"), fields), true);
  assert.throws(() => parseFieldSelector("foo=bar", "pods"), { message: "field label not supported: foo" });
  assert.throws(() => parseFieldSelector("spec.nodeName=x", "nodes"), {
    message: "field label not supported: spec.nodeName",
  });
  assert.throws(() => parseFieldSelector("metadata.name", "nodes"), SelectorError);
  assert.throws(() => parseFieldSelector("metadata.name=a\\b", "nodes"), SelectorError);
});

const key = fc.stringMatching(/^[a-z][a-z0-9]{0,8}$/);
const value = fc.stringMatching(/^[a-z0-9]{1,8}$/);

test("property: an equality selector built from an object's own labels matches it, and its negation does not", () => {
  fc.assert(
    fc.property(fc.dictionary(key, value, { minKeys: 1, maxKeys: 6 }), (l) => {
      const sel = Object.entries(l)
        .map(([k, v]) => `${k}=${v}`)
        .join(",");
      assert.equal(matchesLabels(parseLabelSelector(sel), l), true);
      const [k, v] = Object.entries(l)[0];
      assert.equal(matchesLabels(parseLabelSelector(`${k}!=${v}`), l), false);
      assert.equal(matchesLabels(parseLabelSelector(`!${k}`), l), false);
      assert.equal(matchesLabels(parseLabelSelector(`${k} notin (${v})`), l), false);
    }),
  );
});

test("property: the parser never throws anything but SelectorError", () => {
  fc.assert(
    fc.property(fc.string({ maxLength: 40 }), (s) => {
      try {
        parseLabelSelector(s);
      } catch (err) {
        assert.ok(err instanceof SelectorError, `unexpected ${String(err)} for ${JSON.stringify(s)}`);
      }
      try {
        parseFieldSelector(s, "pods");
      } catch (err) {
        assert.ok(err instanceof SelectorError, `unexpected ${String(err)} for ${JSON.stringify(s)}`);
      }
    }),
  );
});
