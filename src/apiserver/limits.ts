// Hardening follows kube-apiserver's secure serving (1 MiB of headers, a 32 s read-header timeout,
// 90 s idle connections, 250 HTTP/2 streams per connection) plus limits of our own for a read-only
// API: small request bodies and bounded URLs.

export interface ServeLimits {
  /** Request line + headers (HTTP/1.1), header list (HTTP/2). Go's http.DefaultMaxHeaderBytes. */
  maxHeaderBytes: number;
  /** Request bodies are read and dropped (the API is read-only); a longer one gets 413. */
  maxBodyBytes: number;
  /** Path + query; a longer URL gets 414. */
  maxUrlBytes: number;
  /** Time to receive a request's headers and body (slowloris); also the TLS handshake timeout. */
  readTimeoutMs: number;
  /** A connection with no request in flight is closed after this long. */
  idleTimeoutMs: number;
  /** SETTINGS_MAX_CONCURRENT_STREAMS (--http2-max-streams-per-connection, 0 = this default). */
  http2MaxConcurrentStreams: number;
  /**
   * HTTP/2 rapid reset (CVE-2023-44487): streams a client may cancel before their response is out,
   * as a burst and then per second, before its connection is closed with GOAWAY ENHANCE_YOUR_CALM.
   */
  http2EarlyResetBurst: number;
  http2EarlyResetsPerSecond: number;
  /** --max-requests-inflight and --max-mutating-requests-inflight (inflight.ts); 0 = no limit. */
  maxRequestsInflight: number;
  maxMutatingRequestsInflight: number;
  /** --request-timeout (inflight.ts); 0 = none. */
  requestTimeoutMs: number;
}

export const DEFAULT_LIMITS: Readonly<ServeLimits> = {
  maxHeaderBytes: 1 << 20,
  maxBodyBytes: 1 << 20,
  // Far above any selector kubectl or the HPA sends; small enough that parsing it costs nothing.
  maxUrlBytes: 32 << 10,
  readTimeoutMs: 32_000,
  idleTimeoutMs: 90_000,
  http2MaxConcurrentStreams: 250,
  // Go's server sends GOAWAY ENHANCE_YOUR_CALM once resets leave 4 × max-streams handlers queued
  // (golang.org/x/net/http2 server.go, "too_many_early_resets"). Node hands us a fraction of a
  // flood's streams, so we count those it does: a burst of 2 × the default max-streams, refilled at
  // nghttp2's default reset rate (nghttp2_option_set_stream_reset_rate_limit), which Node leaves unset.
  http2EarlyResetBurst: 500,
  http2EarlyResetsPerSecond: 33,
  maxRequestsInflight: 400,
  maxMutatingRequestsInflight: 200,
  requestTimeoutMs: 60_000,
};
