import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import fc from "fast-check";
import { FlagError, formatGoDuration } from "../../../go/index.ts";
import { helpText, type Options, OptionsError, parseOptions, validateOptions } from "./parse.ts";

const DEFAULTS: Options = {
  kubeconfig: "",
  manageApiserviceCaBundle: false,
  swapUsage: false,
  metricResolutionMs: 60_000,
  deprecatedKubeletCompletelyInsecure: false,
  kubeletCertificateAuthority: "",
  kubeletCertificateAuthorityText: "",
  kubeletClientCertificate: "",
  kubeletClientKey: "",
  kubeletEndpoint: "auto",
  kubeletInsecureTls: false,
  kubeletPort: 10250,
  kubeletPreferredAddressTypes: ["Hostname", "InternalDNS", "InternalIP", "ExternalDNS", "ExternalIP"],
  kubeletRequestTimeoutMs: 10_000,
  kubeletUseNodeStatusPort: false,
  nodeSelector: "",
  bindAddress: "0.0.0.0",
  certDir: "apiserver.local.config/certificates",
  http2MaxStreamsPerConnection: 0,
  permitAddressSharing: false,
  permitPortSharing: false,
  securePort: 443,
  tlsCertFile: "",
  tlsCipherSuites: [],
  tlsMinVersion: "",
  tlsPrivateKeyFile: "",
  tlsSniCertKeys: [],
  authenticationKubeconfig: "",
  authenticationSkipLookup: false,
  authenticationTokenWebhookCacheTtlMs: 10_000,
  authenticationTolerateLookupFailure: false,
  clientCaFile: "",
  requestheaderAllowedNames: [],
  requestheaderClientCaFile: "",
  requestheaderExtraHeadersPrefix: ["x-remote-extra-"],
  requestheaderGroupHeaders: ["x-remote-group"],
  requestheaderUsernameHeaders: ["x-remote-user"],
  authorizationAlwaysAllowPaths: ["/healthz", "/readyz", "/livez"],
  authorizationKubeconfig: "",
  authorizationWebhookCacheAuthorizedTtlMs: 10_000,
  authorizationWebhookCacheUnauthorizedTtlMs: 10_000,
  contentionProfiling: false,
  debugSocketPath: "",
  profiling: true,
  logFlushFrequencyMs: 5_000,
  logJsonInfoBufferSizeBytes: 0,
  logJsonSplitStream: false,
  loggingFormat: "text",
  verbosity: 0,
  vmodule: [],
  maxRequestsInflight: 400,
  maxMutatingRequestsInflight: 200,
  requestTimeoutMs: 60_000,
  shutdownDelayDurationMs: 0,
};

function run(argv: string[]): { options: Options; warnings: string[] } {
  const result = parseOptions(argv);
  assert.equal(result.kind, "run");
  if (result.kind !== "run") throw new Error("unreachable");
  return result;
}

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

describe("parseOptions defaults", () => {
  it("returns upstream's defaults with no arguments", () => {
    assert.deepEqual(parseOptions([]), { kind: "run", options: DEFAULTS, warnings: [] });
  });

  it("does not share default lists between calls", () => {
    run([]).options.kubeletPreferredAddressTypes.push("Mutated");
    assert.deepEqual(run([]).options.kubeletPreferredAddressTypes, DEFAULTS.kubeletPreferredAddressTypes);
  });
});

describe("parseOptions with upstream manifests", () => {
  it("accepts the release manifest's args", () => {
    const { options, warnings } = run([
      "--cert-dir=/tmp",
      "--secure-port=10250",
      "--kubelet-preferred-address-types=InternalIP,ExternalIP,Hostname",
      "--kubelet-use-node-status-port",
      "--metric-resolution=15s",
    ]);
    assert.deepEqual(warnings, []);
    assert.deepEqual(options, {
      ...DEFAULTS,
      certDir: "/tmp",
      securePort: 10250,
      kubeletPreferredAddressTypes: ["InternalIP", "ExternalIP", "Hostname"],
      kubeletUseNodeStatusPort: true,
      metricResolutionMs: 15_000,
    });
  });

  it("accepts the test component's additions", () => {
    const { options } = run([
      "--metric-resolution=15s",
      "--kubelet-insecure-tls",
      "--v=4",
      "--node-selector=metrics-server-skip!=true",
    ]);
    assert.equal(options.kubeletInsecureTls, true);
    assert.equal(options.verbosity, 4);
    assert.equal(options.nodeSelector, "metrics-server-skip!=true");
  });

  it("parses every flag family into Options", () => {
    const { options } = run([
      "--kubeconfig=/kc",
      "--kubelet-port=10255",
      "--kubelet-request-timeout=5s",
      "--kubelet-certificate-authority=/ca.crt",
      "--kubelet-client-certificate=/c.crt",
      "--kubelet-client-key=/c.key",
      "-l",
      "role=worker",
      "--bind-address=127.0.0.2",
      "--http2-max-streams-per-connection=100",
      "--permit-address-sharing",
      "--permit-port-sharing",
      "--tls-cert-file=/s.crt",
      "--tls-private-key-file=/s.key",
      "--tls-min-version=VersionTLS12",
      "--tls-cipher-suites=TLS_AES_128_GCM_SHA256,TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
      "--tls-sni-cert-key=a.crt,a.key",
      "--tls-sni-cert-key= b.crt , b.key :*.b.com, b.com",
      "--authentication-kubeconfig=/authn",
      "--authentication-skip-lookup",
      "--authentication-token-webhook-cache-ttl=30s",
      "--authentication-tolerate-lookup-failure",
      "--client-ca-file=/client-ca",
      "--requestheader-allowed-names=front-proxy-client",
      "--requestheader-client-ca-file=/fp-ca",
      "--requestheader-extra-headers-prefix=X-Extra-",
      "--requestheader-group-headers=X-Group",
      "--requestheader-username-headers=X-User",
      "--authorization-always-allow-paths=/healthz,/readyz,/livez,/metrics",
      "--authorization-kubeconfig=/authz",
      "--authorization-webhook-cache-authorized-ttl=1m",
      "--authorization-webhook-cache-unauthorized-ttl=2s",
      "--contention-profiling",
      "--debug-socket-path=/dbg.sock",
      "--profiling=false",
      "--log-flush-frequency=1s",
      "--log-json-info-buffer-size=2Ki",
      "--log-json-split-stream",
      "--logging-format=json",
      "-v",
      "2",
      "--vmodule=scraper*=4,store=3,",
      "--max-requests-inflight=10",
      "--max-mutating-requests-inflight=0",
      "--request-timeout=30s",
      "--shutdown-delay-duration=3s",
    ]);
    assert.deepEqual(options, {
      ...DEFAULTS,
      kubeconfig: "/kc",
      kubeletPort: 10255,
      kubeletRequestTimeoutMs: 5_000,
      kubeletCertificateAuthority: "/ca.crt",
      kubeletClientCertificate: "/c.crt",
      kubeletClientKey: "/c.key",
      nodeSelector: "role=worker",
      bindAddress: "127.0.0.2",
      http2MaxStreamsPerConnection: 100,
      permitAddressSharing: true,
      permitPortSharing: true,
      tlsCertFile: "/s.crt",
      tlsPrivateKeyFile: "/s.key",
      tlsMinVersion: "VersionTLS12",
      tlsCipherSuites: ["TLS_AES_128_GCM_SHA256", "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"],
      tlsSniCertKeys: [
        { certFile: "a.crt", keyFile: "a.key", names: [] },
        { certFile: "b.crt", keyFile: "b.key", names: ["*.b.com", "b.com"] },
      ],
      authenticationKubeconfig: "/authn",
      authenticationSkipLookup: true,
      authenticationTokenWebhookCacheTtlMs: 30_000,
      authenticationTolerateLookupFailure: true,
      clientCaFile: "/client-ca",
      requestheaderAllowedNames: ["front-proxy-client"],
      requestheaderClientCaFile: "/fp-ca",
      requestheaderExtraHeadersPrefix: ["X-Extra-"],
      requestheaderGroupHeaders: ["X-Group"],
      requestheaderUsernameHeaders: ["X-User"],
      authorizationAlwaysAllowPaths: ["/healthz", "/readyz", "/livez", "/metrics"],
      authorizationKubeconfig: "/authz",
      authorizationWebhookCacheAuthorizedTtlMs: 60_000,
      authorizationWebhookCacheUnauthorizedTtlMs: 2_000,
      contentionProfiling: true,
      debugSocketPath: "/dbg.sock",
      profiling: false,
      logFlushFrequencyMs: 1_000,
      logJsonInfoBufferSizeBytes: 2048,
      logJsonSplitStream: true,
      loggingFormat: "json",
      verbosity: 2,
      vmodule: [
        { pattern: "scraper*", level: 4 },
        { pattern: "store", level: 3 },
      ],
      maxRequestsInflight: 10,
      maxMutatingRequestsInflight: 0,
      requestTimeoutMs: 30_000,
      shutdownDelayDurationMs: 3_000,
    });
  });

  it("accepts the kubelet CA as text and the completely-insecure mode alone", () => {
    assert.equal(
      run(["--kubelet-certificate-authority-text=PEM"]).options.kubeletCertificateAuthorityText,
      "PEM",
    );
    assert.equal(
      run(["--deprecated-kubelet-completely-insecure"]).options.deprecatedKubeletCompletelyInsecure,
      true,
    );
  });

  it("accepts secure-port 0 (upstream: do not serve HTTPS) and IPv6 bind addresses", () => {
    assert.equal(run(["--secure-port=0"]).options.securePort, 0);
    assert.equal(run(["--bind-address=::"]).options.bindAddress, "::");
  });

  it("parses log buffer quantities", () => {
    assert.equal(run(["--log-json-info-buffer-size=512"]).options.logJsonInfoBufferSizeBytes, 512);
    assert.equal(run(["--log-json-info-buffer-size=1k"]).options.logJsonInfoBufferSizeBytes, 1000);
    assert.equal(run(["--log-json-info-buffer-size=3M"]).options.logJsonInfoBufferSizeBytes, 3_000_000);
    assert.equal(run(["--log-json-info-buffer-size=1e3"]).options.logJsonInfoBufferSizeBytes, 1000);
    assert.throws(
      () => parseOptions(["--log-json-info-buffer-size=1Q"]),
      /quantities must match the regular/,
    );
    assert.throws(
      () => parseOptions(["--log-json-info-buffer-size=1iK"]),
      /unable to parse quantity's suffix/,
    );
  });
});

describe("parseOptions flag errors", () => {
  const cases: [string[], string][] = [
    [["--foo"], "unknown flag: --foo"],
    [["-x"], "unknown shorthand flag: 'x' in -x"],
    [["--kubeconfig"], "flag needs an argument: --kubeconfig"],
    [
      ["--metric-resolution=abc"],
      'invalid argument "abc" for "--metric-resolution" flag: time: invalid duration "abc"',
    ],
    [
      ["--secure-port=x"],
      'invalid argument "x" for "--secure-port" flag: strconv.ParseInt: parsing "x": invalid syntax',
    ],
    [
      ["--bind-address=nope"],
      'invalid argument "nope" for "--bind-address" flag: failed to parse IP: "nope"',
    ],
    [["-v=x"], 'invalid argument "x" for "-v, --v" flag: strconv.ParseInt: parsing "x": invalid syntax'],
    [["--vmodule=a=-1"], 'invalid argument "a=-1" for "--vmodule" flag: negative value for vmodule level'],
    [
      ["--vmodule=a=b"],
      'invalid argument "a=b" for "--vmodule" flag: syntax error: expect comma-separated list of filename=N',
    ],
    [
      ["--tls-sni-cert-key=a.crt,a.key:"],
      'invalid argument "a.crt,a.key:" for "--tls-sni-cert-key" flag: empty names list is not allowed',
    ],
    [["metrics-server"], 'unexpected argument "metrics-server"'],
  ];
  for (const [argv, message] of cases) {
    it(`fails on ${argv.join(" ")}`, () => {
      assert.throws(
        () => parseOptions(argv),
        (err: unknown) => {
          assert.ok(err instanceof FlagError);
          assert.equal(err.message, message);
          return true;
        },
      );
    });
  }
});

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

describe("robustness", () => {
  it("either parses or throws FlagError/OptionsError for any argv", () => {
    const flagNames = [
      "--metric-resolution",
      "--kubelet-port",
      "-v",
      "-l",
      "--tls-sni-cert-key",
      "--vmodule",
      "--x",
    ];
    const token = fc.oneof(
      fc.string(),
      fc.constantFrom(...flagNames),
      fc.tuple(fc.constantFrom(...flagNames), fc.string()).map(([f, v]) => `${f}=${v}`),
    );
    fc.assert(
      fc.property(fc.array(token, { maxLength: 6 }), (argv) => {
        try {
          parseOptions(argv);
        } catch (err) {
          assert.ok(err instanceof FlagError || err instanceof OptionsError, String(err));
        }
      }),
      { numRuns: 500 },
    );
  });
});

describe("secure by default", () => {
  it("turns on no insecure option without being asked", () => {
    const r = parseOptions([]);
    assert.equal(r.kind, "run");
    if (r.kind !== "run") return;
    const o = r.options;
    assert.equal(o.kubeletInsecureTls, false, "kubelet serving certs are verified");
    assert.equal(
      o.deprecatedKubeletCompletelyInsecure,
      false,
      "kubelets are reached over TLS with credentials",
    );
    assert.equal(o.authenticationSkipLookup, false, "the client CA is looked up, not skipped");
    assert.equal(o.authenticationTolerateLookupFailure, false, "a failed CA lookup stops the start");
    assert.deepEqual(
      o.authorizationAlwaysAllowPaths,
      ["/healthz", "/readyz", "/livez"],
      "only health is open",
    );
    assert.equal(o.tlsMinVersion, "", "Go's and Node's default minimum (TLS 1.2)");
    assert.deepEqual(o.tlsCipherSuites, [], "the runtime's secure default suites");
  });
});
