// Shared by the listener's tests: an allow-all RequestAuth and metrics-server's health checks, all
// passing (or failing where a test says so).

import type { HealthEndpoints, RequestAuth } from "../../src/apiserver/index.ts";
import { type HealthSources, healthEndpoints } from "../../src/server/index.ts";

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
