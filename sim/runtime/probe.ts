// The kubelet's prober: httpGet (HTTP or HTTPS without certificate checks, a port number or a named
// container port, path, headers; 200-399 succeeds) and tcpSocket probes, run every periodSeconds after
// initialDelaySeconds, each bounded by timeoutSeconds, turned into a result once successThreshold
// successes or failureThreshold failures in a row are seen.

import http from "node:http";
import https from "node:https";
import net from "node:net";

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

export interface ProbeTiming {
  initialDelayMs: number;
  periodMs: number;
  timeoutMs: number;
  successThreshold: number;
  failureThreshold: number;
}

/** A probe's timing with the Kubernetes defaults (0s delay, 10s period, 1s timeout, 1 success, 3 failures). */
export function probeTiming(probe: Record<string, unknown>): ProbeTiming {
  const n = (key: string, fallback: number, min: number) => {
    const v = probe[key];
    return typeof v === "number" && Number.isFinite(v) && v >= min ? v : fallback;
  };
  return {
    initialDelayMs: n("initialDelaySeconds", 0, 0) * 1000,
    periodMs: n("periodSeconds", 10, 1) * 1000,
    timeoutMs: n("timeoutSeconds", 1, 1) * 1000,
    successThreshold: n("successThreshold", 1, 1),
    failureThreshold: n("failureThreshold", 3, 1),
  };
}

/** A port given as a number or as the name of one of the container's ports. */
export function probePort(port: unknown, container: Record<string, unknown>): number | undefined {
  if (typeof port === "number") return port;
  if (typeof port === "string" && /^\d+$/.test(port)) return Number(port);
  const ports = Array.isArray(container.ports) ? container.ports.filter(isRecord) : [];
  const p = ports.find((x) => x.name === port);
  return typeof p?.containerPort === "number" ? p.containerPort : undefined;
}

export interface ProbeResult {
  ok: boolean;
  /** Why it failed, in the kubelet's words (the Unhealthy event's message). */
  message: string;
}

/** Runs one probe against the pod at `podIP`. */
export function runProbe(
  probe: Record<string, unknown>,
  container: Record<string, unknown>,
  podIP: string,
  timeoutMs: number,
): Promise<ProbeResult> {
  if (isRecord(probe.httpGet)) return httpProbe(probe.httpGet, container, podIP, timeoutMs);
  if (isRecord(probe.tcpSocket)) return tcpProbe(probe.tcpSocket, container, podIP, timeoutMs);
  return Promise.resolve({
    ok: false,
    message: "the simulator's prober runs only httpGet and tcpSocket probes",
  });
}

function httpProbe(
  get: Record<string, unknown>,
  container: Record<string, unknown>,
  podIP: string,
  timeoutMs: number,
): Promise<ProbeResult> {
  const port = probePort(get.port, container);
  const scheme = get.scheme === "HTTPS" ? "https" : "http";
  const host = typeof get.host === "string" && get.host !== "" ? get.host : podIP;
  const path = typeof get.path === "string" && get.path !== "" ? get.path : "/";
  const url = `${scheme}://${host}:${port}${path}`;
  if (port === undefined)
    return Promise.resolve({ ok: false, message: `Probe failed: unknown port ${JSON.stringify(get.port)}` });
  const headers: Record<string, string> = { "User-Agent": "kube-probe/1.33", Accept: "*/*" };
  for (const h of Array.isArray(get.httpHeaders) ? get.httpHeaders.filter(isRecord) : []) {
    if (typeof h.name === "string") headers[h.name] = String(h.value ?? "");
  }
  return new Promise((resolve) => {
    const lib = scheme === "https" ? https : http;
    const req = lib.request(
      url,
      { method: "GET", headers, timeout: timeoutMs, rejectUnauthorized: false, agent: false },
      (res) => {
        res.resume();
        const code = res.statusCode ?? 0;
        resolve(
          code >= 200 && code < 400
            ? { ok: true, message: "" }
            : { ok: false, message: `HTTP probe failed with statuscode: ${code}` },
        );
      },
    );
    req.on("timeout", () => {
      req.destroy();
      resolve({
        ok: false,
        message: `Get "${url}": context deadline exceeded (Client.Timeout exceeded while awaiting headers)`,
      });
    });
    req.on("error", (err) => resolve({ ok: false, message: `Get "${url}": ${err.message}` }));
    req.end();
  });
}

function tcpProbe(
  socket: Record<string, unknown>,
  container: Record<string, unknown>,
  podIP: string,
  timeoutMs: number,
): Promise<ProbeResult> {
  const port = probePort(socket.port, container);
  const host = typeof socket.host === "string" && socket.host !== "" ? socket.host : podIP;
  if (port === undefined)
    return Promise.resolve({
      ok: false,
      message: `Probe failed: unknown port ${JSON.stringify(socket.port)}`,
    });
  return new Promise((resolve) => {
    const s = net.connect({ host, port, timeout: timeoutMs });
    s.on("connect", () => {
      s.destroy();
      resolve({ ok: true, message: "" });
    });
    s.on("timeout", () => {
      s.destroy();
      resolve({ ok: false, message: `dial tcp ${host}:${port}: i/o timeout` });
    });
    s.on("error", (err) => resolve({ ok: false, message: `dial tcp ${host}:${port}: ${err.message}` }));
  });
}

/**
 * One container's probe, run periodically until stopped. `onChange` gets each settled result (after
 * the thresholds), only when it differs from the last one.
 */
export class ProbeLoop {
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private successes = 0;
  private failures = 0;
  private state: boolean | undefined;
  private readonly timing: ProbeTiming;

  constructor(
    probe: Record<string, unknown>,
    container: Record<string, unknown>,
    podIP: string,
    onChange: (ok: boolean, message: string) => void,
  ) {
    this.timing = probeTiming(probe);
    const tick = async () => {
      if (this.stopped) return;
      const r = await runProbe(probe, container, podIP, this.timing.timeoutMs);
      if (this.stopped) return;
      if (r.ok) {
        this.successes++;
        this.failures = 0;
        if (this.state !== true && this.successes >= this.timing.successThreshold) {
          this.state = true;
          onChange(true, "");
        }
      } else {
        this.failures++;
        this.successes = 0;
        if (this.state !== false && this.failures >= this.timing.failureThreshold) {
          this.state = false;
          onChange(false, r.message);
        }
      }
      this.timer = setTimeout(tick, this.timing.periodMs);
    };
    this.timer = setTimeout(tick, this.timing.initialDelayMs);
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }
}
