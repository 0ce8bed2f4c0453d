// The admin kubeconfig the simulator hands to kubectl and to the metrics-server: one cluster `sim`,
// one user `admin` (client certificate CN kubernetes-admin, O system:masters), context `admin`.

import { chmod, mkdir, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import YAML from "yaml";
import type { CertAndKey } from "./pki.ts";

export interface KubeconfigInput {
  /** https://127.R.0.1:6443 */
  server: string;
  caCertPem: string;
  /** The admin client certificate and key. */
  client: CertAndKey;
}

const b64 = (s: string) => Buffer.from(s, "utf8").toString("base64");

export function renderKubeconfig(input: KubeconfigInput): string {
  const doc = {
    apiVersion: "v1",
    kind: "Config",
    clusters: [
      { name: "sim", cluster: { server: input.server, "certificate-authority-data": b64(input.caCertPem) } },
    ],
    users: [
      {
        name: "admin",
        user: {
          "client-certificate-data": b64(input.client.certPem),
          "client-key-data": b64(input.client.keyPem),
        },
      },
    ],
    contexts: [{ name: "admin", context: { cluster: "sim", user: "admin", namespace: "default" } }],
    "current-context": "admin",
    preferences: {},
  };
  return YAML.stringify(doc);
}

/** Writes the kubeconfig (mode 0600: it holds a private key), creating the directory if needed. */
export async function writeKubeconfig(path: string, input: KubeconfigInput): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, renderKubeconfig(input), { mode: 0o600 });
  // writeFile's mode applies only to a new file; an older kubeconfig keeps its mode otherwise.
  await chmod(path, 0o600);
}
