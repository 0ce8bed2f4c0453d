// Shared by the listener's tests: an allow-all RequestAuth and health checks that all pass (or fail
// where a test says so).
import type { RequestAuth } from "./auth-types.ts";
import { type HealthSources, healthEndpoints } from "./health.ts";
import type { ServeOptions } from "./serve.ts";

export const ALLOW_ALL: RequestAuth = {
  check: async () => ({ allowed: true, user: { name: "test", groups: [], extra: {} } }),
};

export function healthy(overrides: Partial<HealthSources> = {}): ServeOptions["health"] {
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
