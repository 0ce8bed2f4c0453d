import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { DEFAULTS, run } from "../../../../test/support/options.ts";
import { formatGoDuration } from "../../../go/index.ts";
import { type Options, OptionsError, parseOptions, validateOptions } from "./parse.ts";

function rejects(argv: string[], message: string): void {
  assert.throws(
    () => parseOptions(argv),
    (err: unknown) => {
      assert.ok(err instanceof OptionsError, `expected OptionsError, got ${String(err)}`);
      assert.equal(err.message, message);
      return true;
    },
  );
}

describe("parseOptions validation", () => {
  const cases: [string[], string][] = [
    [
      ["--kubelet-certificate-authority=/ca", "--kubelet-certificate-authority-text=PEM"],
      "cannot use both --kubelet-certificate-authority and --kubelet-certificate-authority-text",
    ],
    [
      ["--kubelet-certificate-authority-text=PEM", "--kubelet-insecure-tls"],
      "cannot use both --kubelet-certificate-authority-text and --kubelet-insecure-tls",
    ],
    [
      ["--kubelet-certificate-authority=/ca", "--kubelet-insecure-tls"],
      "cannot use both --kubelet-certificate-authority and --kubelet-insecure-tls",
    ],
    [["--kubelet-client-key=/k"], "need both --kubelet-client-key and --kubelet-client-certificate"],
    [["--kubelet-client-certificate=/c"], "need both --kubelet-client-key and --kubelet-client-certificate"],
    [
      [
        "--kubelet-client-key=/k",
        "--kubelet-client-certificate=/c",
        "--deprecated-kubelet-completely-insecure",
      ],
      "cannot use both --kubelet-client-key and --deprecated-kubelet-completely-insecure",
    ],
    [
      ["--kubelet-insecure-tls", "--deprecated-kubelet-completely-insecure"],
      "cannot use both --kubelet-insecure-tls and --deprecated-kubelet-completely-insecure",
    ],
    [
      ["--kubelet-certificate-authority-text=PEM", "--deprecated-kubelet-completely-insecure"],
      "cannot use both --kubelet-certificate-authority-text and --deprecated-kubelet-completely-insecure",
    ],
    [
      ["--kubelet-certificate-authority=/ca", "--deprecated-kubelet-completely-insecure"],
      "cannot use both --kubelet-certificate-authority and --deprecated-kubelet-completely-insecure",
    ],
    [["--kubelet-request-timeout=0s"], "kubelet-request-timeout should be positive"],
    [["--kubelet-request-timeout=-1s"], "kubelet-request-timeout should be positive"],
    [
      ["--kubelet-endpoint=metrics"],
      `invalid --kubelet-endpoint "metrics": want one of auto, resource, summary`,
    ],
    [["--kubelet-preferred-address-types="], "kubelet-preferred-address-types should not be empty"],
    [
      ["--kubelet-preferred-address-types=InternalIP,internalip"],
      'unknown node address type "internalip" in --kubelet-preferred-address-types; known types are ' +
        "Hostname, InternalDNS, InternalIP, ExternalDNS, ExternalIP",
    ],
    [["--kubelet-port=0"], "--kubelet-port 0 must be between 1 and 65535, inclusive"],
    [["--kubelet-port=65536"], "--kubelet-port 65536 must be between 1 and 65535, inclusive"],
    [
      ["--metric-resolution=10s", "--kubelet-request-timeout=10s"],
      "metric-resolution should be larger than kubelet-request-timeout, but metric-resolution value 10s " +
        "kubelet-request-timeout value 10s provided",
    ],
    [
      ["--metric-resolution=30s", "--kubelet-request-timeout=28s"],
      "metric-resolution should be larger than kubelet-request-timeout, but metric-resolution value 30s " +
        "kubelet-request-timeout value 28s provided",
    ],
    [
      ["--metric-resolution=0s"],
      "metric-resolution should be a positive time duration, but value 0s provided",
    ],
    [
      ["--metric-resolution=-15s"],
      "metric-resolution should be a positive time duration, but value -15s provided",
    ],
    [
      ["--secure-port=-1"],
      "--secure-port -1 must be between 0 and 65535, inclusive. 0 for turning off secure port",
    ],
    [
      ["--secure-port=70000"],
      "--secure-port 70000 must be between 0 and 65535, inclusive. 0 for turning off secure port",
    ],
    [["--tls-cert-file=/s.crt"], "missing filename for serving cert"],
    [["--tls-private-key-file=/s.key"], "missing filename for serving cert"],
    [["--tls-min-version=TLS12"], 'unknown tls version "TLS12"'],
    [
      ["--tls-cipher-suites=TLS_AES_128_GCM_SHA256,TLS_BOGUS"],
      "Cipher suite TLS_BOGUS not supported or doesn't exist",
    ],
    [["--max-requests-inflight=-1"], "--max-requests-inflight can not be negative value"],
    [["--max-mutating-requests-inflight=-1"], "--max-mutating-requests-inflight can not be negative value"],
    [["--request-timeout=-1s"], "--request-timeout can not be negative value"],
    [["--shutdown-delay-duration=-1s"], "--shutdown-delay-duration can not be negative value"],
    [["--logging-format=xml"], 'format: Invalid value: "xml": Unsupported log format'],
  ];
  for (const [argv, message] of cases) {
    it(`rejects ${argv.join(" ")}`, () => rejects(argv, message));
  }

  it("reports the first error in upstream's order", () => {
    rejects(
      [
        "--kubelet-insecure-tls",
        "--kubelet-certificate-authority=/ca",
        "--deprecated-kubelet-completely-insecure",
      ],
      "cannot use both --kubelet-certificate-authority and --kubelet-insecure-tls",
    );
    rejects(
      [
        "--kubelet-client-key=/k",
        "--metric-resolution=10s",
        "--kubelet-request-timeout=10s",
        "--logging-format=x",
      ],
      "need both --kubelet-client-key and --kubelet-client-certificate",
    );
    const all = validateOptions({
      ...DEFAULTS,
      kubeletInsecureTls: true,
      deprecatedKubeletCompletelyInsecure: true,
      loggingFormat: "xml" as Options["loggingFormat"],
    });
    assert.deepEqual(all, [
      "cannot use both --kubelet-insecure-tls and --deprecated-kubelet-completely-insecure",
      'format: Invalid value: "xml": Unsupported log format',
    ]);
  });

  it("finds nothing wrong with the defaults", () => {
    assert.deepEqual(validateOptions(DEFAULTS), []);
  });

  it("accepts resolution 10s with timeout 9s (upstream's boundary)", () => {
    const { options, warnings } = run(["--metric-resolution=10s", "--kubelet-request-timeout=9s"]);
    assert.equal(options.kubeletRequestTimeoutMs, 9_000);
    assert.deepEqual(warnings, []);
  });
});

describe("metric resolution below 10s (deliberate difference from upstream)", () => {
  it("accepts it with a warning and defaults the timeout to 90% of it", () => {
    const { options, warnings } = run(["--metric-resolution=5s"]);
    assert.equal(options.metricResolutionMs, 5_000);
    assert.equal(options.kubeletRequestTimeoutMs, 4_500);
    assert.equal(warnings.length, 2);
    assert.match(warnings[0], /metric-resolution 5s is below the 10s minimum/);
    assert.match(warnings[1], /kubelet-request-timeout not set; using 4\.5s \(90% of metric-resolution\)/);
  });

  it("also defaults the timeout for 10s, where upstream would reject its own default", () => {
    const { options, warnings } = run(["--metric-resolution=10s"]);
    assert.equal(options.kubeletRequestTimeoutMs, 9_000);
    assert.deepEqual(warnings, [
      "kubelet-request-timeout not set; using 9s (90% of metric-resolution) instead of 10s",
    ]);
  });

  it("keeps the 10s default timeout when 90% of the resolution is not below it", () => {
    assert.equal(run(["--metric-resolution=15s"]).options.kubeletRequestTimeoutMs, 10_000);
    // 90% of 11.2s is 10.08s, above the default: no defaulting and no warning.
    const { options, warnings } = run(["--metric-resolution=11.2s"]);
    assert.equal(options.kubeletRequestTimeoutMs, 10_000);
    assert.deepEqual(warnings, []);
  });

  it("rejects an explicit timeout above 90% of a short resolution with upstream's message", () => {
    rejects(
      ["--metric-resolution=5s", "--kubelet-request-timeout=10s"],
      "metric-resolution should be larger than kubelet-request-timeout, but metric-resolution value 5s " +
        "kubelet-request-timeout value 10s provided",
    );
    rejects(
      ["--kubelet-request-timeout=4.6s", "--metric-resolution=5s"],
      "metric-resolution should be larger than kubelet-request-timeout, but metric-resolution value 5s " +
        "kubelet-request-timeout value 4.6s provided",
    );
  });

  it("keeps an explicit timeout that fits, and warns only about the resolution", () => {
    const { options, warnings } = run(["--metric-resolution=2s", "--kubelet-request-timeout=1s"]);
    assert.equal(options.kubeletRequestTimeoutMs, 1_000);
    assert.equal(warnings.length, 1);
  });

  it("works for sub-second resolutions", () => {
    const { options } = run(["--metric-resolution=500ms"]);
    assert.equal(options.kubeletRequestTimeoutMs, 450);
  });

  it("always yields a timeout that passes validation", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 120_000 }), (ms) => {
        const { options } = run([`--metric-resolution=${formatGoDuration(ms)}`]);
        assert.equal(options.metricResolutionMs, ms);
        const expected = Math.min(ms * 0.9, 10_000);
        assert.ok(Math.abs(options.kubeletRequestTimeoutMs - expected) < 1e-6, `${ms}ms`);
      }),
    );
  });
});
