import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { run } from "../../../../test/support/options.ts";
import { FlagError } from "../../../go/index.ts";
import { helpText, parseOptions } from "./parse.ts";

describe("--help and --version", () => {
  it("returns help for -h and --help, before validation", () => {
    for (const argv of [["-h"], ["--help"], ["--kubelet-port=0", "--help"]]) {
      const result = parseOptions(argv);
      assert.equal(result.kind, "help");
      if (result.kind === "help") assert.equal(result.text, helpText());
    }
  });

  it("reports flag syntax errors before help", () => {
    assert.throws(() => parseOptions(["--help", "--bogus"]), FlagError);
  });

  it("lists every flag with its default, in upstream's sections", () => {
    const text = helpText();
    assert.ok(text.startsWith("Launch metrics-server\n\nUsage:\n  metrics-server [flags]\n"));
    const sections = [...text.matchAll(/^(.*) flags:$/gm)].map((m) => m[1]);
    assert.deepEqual(sections, [
      "Metrics server",
      "Kubelet client",
      "Apiserver secure serving",
      "Apiserver authentication",
      "Apiserver authorization",
      "Features",
      "Logging",
      "Generic server",
      "Global",
    ]);
    const expectations: [string, string | undefined][] = [
      ["      --kubeconfig string ", undefined],
      ["      --metric-resolution duration ", "(default 1m0s)"],
      ["      --manage-apiservice-ca-bundle ", undefined],
      ["      --swap-usage ", undefined],
      ["      --version ", undefined],
      ["      --deprecated-kubelet-completely-insecure ", undefined],
      ["      --kubelet-certificate-authority string ", undefined],
      ["      --kubelet-certificate-authority-text string ", undefined],
      ["      --kubelet-client-certificate string ", undefined],
      ["      --kubelet-client-key string ", undefined],
      ["      --kubelet-endpoint string ", '(default "auto")'],
      ["      --kubelet-insecure-tls ", undefined],
      ["      --kubelet-port int ", "(default 10250)"],
      [
        "      --kubelet-preferred-address-types strings ",
        "(default [Hostname,InternalDNS,InternalIP,ExternalDNS,ExternalIP])",
      ],
      ["      --kubelet-request-timeout duration ", "(default 10s)"],
      ["      --kubelet-use-node-status-port ", undefined],
      ["  -l, --node-selector string ", undefined],
      ["      --bind-address ip ", "(default 0.0.0.0)"],
      ["      --cert-dir string ", '(default "apiserver.local.config/certificates")'],
      ["      --http2-max-streams-per-connection int ", undefined],
      ["      --permit-address-sharing ", undefined],
      ["      --permit-port-sharing ", undefined],
      ["      --secure-port int ", "(default 443)"],
      ["      --tls-cert-file string ", undefined],
      ["      --tls-cipher-suites strings ", undefined],
      ["      --tls-min-version string ", undefined],
      ["      --tls-private-key-file string ", undefined],
      ["      --tls-sni-cert-key namedCertKey ", "(default [])"],
      ["      --authentication-kubeconfig string ", undefined],
      ["      --authentication-skip-lookup ", undefined],
      ["      --authentication-token-webhook-cache-ttl duration ", "(default 10s)"],
      ["      --authentication-tolerate-lookup-failure ", undefined],
      ["      --client-ca-file string ", undefined],
      ["      --requestheader-allowed-names strings ", undefined],
      ["      --requestheader-client-ca-file string ", undefined],
      ["      --requestheader-extra-headers-prefix strings ", "(default [x-remote-extra-])"],
      ["      --requestheader-group-headers strings ", "(default [x-remote-group])"],
      ["      --requestheader-username-headers strings ", "(default [x-remote-user])"],
      ["      --authorization-always-allow-paths strings ", "(default [/healthz,/readyz,/livez])"],
      ["      --authorization-kubeconfig string ", undefined],
      ["      --authorization-webhook-cache-authorized-ttl duration ", "(default 10s)"],
      ["      --authorization-webhook-cache-unauthorized-ttl duration ", "(default 10s)"],
      ["      --contention-profiling ", undefined],
      ["      --debug-socket-path string ", undefined],
      ["      --profiling ", "(default true)"],
      ["      --log-flush-frequency duration ", "(default 5s)"],
      ["      --log-json-info-buffer-size quantity ", undefined],
      ["      --log-json-split-stream ", undefined],
      ["      --logging-format string ", '(default "text")'],
      ["  -v, --v Level ", undefined],
      ["      --vmodule pattern=N,... ", undefined],
      ["      --max-mutating-requests-inflight int ", "(default 200)"],
      ["      --max-requests-inflight int ", "(default 400)"],
      ["      --request-timeout duration ", "(default 1m0s)"],
      ["      --shutdown-delay-duration duration ", undefined],
      ["  -h, --help ", undefined],
    ];
    const lines = text.split("\n");
    for (const [head, def] of expectations) {
      const line = lines.find((l) => l.startsWith(head));
      assert.ok(line, `help has no line for ${head.trim()}`);
      if (def) assert.ok(line.endsWith(def), `${head.trim()} should end with ${def}: ${line}`);
      else assert.doesNotMatch(line, /\(default /, `${head.trim()} shows a default`);
    }
    const flagLines = lines.filter((l) => /^ {2}(-\w, | {4})--/.test(l));
    assert.equal(flagLines.length, expectations.length);
  });

  it("prints the package version like upstream's git tag", () => {
    const pkg = JSON.parse(readFileSync(new URL("../../../../package.json", import.meta.url), "utf8")) as {
      version: string;
    };
    for (const argv of [["--version"], ["--version=true"], ["--kubelet-port=0", "--version"]]) {
      assert.deepEqual(parseOptions(argv), { kind: "version", text: `v${pkg.version}\n` });
    }
    assert.equal(run(["--version=false"]).options.kubeletPort, 10250);
  });
});
