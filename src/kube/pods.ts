// A GET of one Pod, for explaining why it has no metrics (the pod cache holds metadata only).

import { ApiError, type KubeClient } from "./client.ts";

/** The Pod object as the API server answers it; undefined when it has none (404). */
export async function getPod(
  client: KubeClient,
  namespace: string,
  name: string,
  signal?: AbortSignal,
): Promise<unknown> {
  try {
    return await client.getJSON<unknown>(
      `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods/${encodeURIComponent(name)}`,
      { signal },
    );
  } catch (err) {
    if (err instanceof ApiError && err.status === 404) return undefined;
    throw err;
  }
}
