// Shared by the listener's tests: an allow-all RequestAuth, metrics-server's health checks, all
// passing (or failing where a test says so), and a listener on loopback built from them.

import type http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { Registry } from "prom-client";
import {
  type HealthEndpoints,
  type RequestAuth,
  type ServeOptions,
  startServer,
} from "../../src/apiserver/index.ts";
import { type HealthSources, healthEndpoints } from "../../src/server/index.ts";
import { type TestCert, testCert } from "./certs.ts";

export const ALLOW_ALL: RequestAuth = {
  check: async () => ({ allowed: true, user: { name: "test", groups: [], extra: {} } }),
};

export function healthy(overrides: Partial<HealthSources> = {}): HealthEndpoints {
  return healthEndpoints({
    nodeSynced: () => true,
    podSynced: () => true,
    storageReady: () => true,
    tickLastStartMs: () => 0,
    resolutionMs: 15_000,
    shuttingDown: () => false,
    ...overrides,
  });
}

let loopbackCert: Promise<TestCert> | undefined;

/**
 * The listener on 127.0.0.1 and a free port, with a test serving certificate (made once per process),
 * every request allowed, healthy checks and an empty registry unless `overrides` says otherwise.
 */
export async function startLoopbackServer(
  overrides: Partial<ServeOptions> & Pick<ServeOptions, "api">,
): Promise<{ server: http2.Http2SecureServer; port: number; cert: TestCert }> {
  loopbackCert ??= testCert("metrics-server", { ip: ["127.0.0.1"] });
  const cert = await loopbackCert;
  const server = await startServer({
    bindAddress: "127.0.0.1",
    port: 0,
    cert: Buffer.from(cert.certPem),
    key: Buffer.from(cert.keyPem),
    auth: ALLOW_ALL,
    health: healthy(),
    registry: new Registry(),
    version: {},
    ...overrides,
  });
  return { server, port: (server.address() as AddressInfo).port, cert };
}
