import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { DEFAULTS, run } from "../../../../test/support/options.ts";
import { FlagError } from "../../../go/index.ts";
import { OptionsError, parseOptions } from "./parse.ts";

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
