// The kubeconfigs the simulator hands out. `kubeconfig`: one cluster `sim` and one context per user
// — `admin` (current; client certificate CN kubernetes-admin, O system:masters) plus any others
// (viewer, nobody). `metrics-server.kubeconfig`: the metrics-server service account's token.

import { chmod, mkdir, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import YAML from "yaml";
import type { CertAndKey } from "./pki.ts";

/** One user and the context of the same name. Exactly one of client or token. */
export interface KubeconfigUser {
  name: string;
  client?: CertAndKey;
  token?: string;
}

export interface KubeconfigInput {
  /** https://127.R.0.1:6443 */
  server: string;
  caCertPem: string;
  /** The admin client certificate and key (user and context `admin`, the current context). */
  client: CertAndKey;
  /** More users, each with its own context, after admin. */
  extraUsers?: KubeconfigUser[];
}

const b64 = (s: string) => Buffer.from(s, "utf8").toString("base64");

function userEntry(u: KubeconfigUser): Record<string, unknown> {
  if ((u.client === undefined) === (u.token === undefined)) {
    throw new Error(`kubeconfig user ${u.name}: give exactly one of a client certificate or a token`);
  }
  return {
    name: u.name,
    user: u.client
      ? { "client-certificate-data": b64(u.client.certPem), "client-key-data": b64(u.client.keyPem) }
      : { token: u.token },
  };
}

/** A kubeconfig for cluster `sim` whose first user's context is the current one. */
export function renderKubeconfigFor(
  server: string,
  caCertPem: string,
  users: readonly KubeconfigUser[],
): string {
  if (users.length === 0) throw new Error("renderKubeconfigFor: at least one user is needed");
  const names = new Set<string>();
  for (const u of users) {
    if (names.has(u.name)) throw new Error(`renderKubeconfigFor: duplicate user ${u.name}`);
    names.add(u.name);
  }
  const doc = {
    apiVersion: "v1",
    kind: "Config",
    clusters: [{ name: "sim", cluster: { server, "certificate-authority-data": b64(caCertPem) } }],
    users: users.map(userEntry),
    contexts: users.map((u) => ({
      name: u.name,
      context: { cluster: "sim", user: u.name, namespace: "default" },
    })),
    "current-context": users[0].name,
    preferences: {},
  };
  return YAML.stringify(doc);
}

export function renderKubeconfig(input: KubeconfigInput): string {
  return renderKubeconfigFor(input.server, input.caCertPem, [
    { name: "admin", client: input.client },
    ...(input.extraUsers ?? []),
  ]);
}

/** Writes a kubeconfig (mode 0600: it holds credentials), creating the directory if needed. */
export async function writeKubeconfigText(path: string, text: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, text, { mode: 0o600 });
  // writeFile's mode applies only to a new file; an older kubeconfig keeps its mode otherwise.
  await chmod(path, 0o600);
}

export async function writeKubeconfig(path: string, input: KubeconfigInput): Promise<void> {
  await writeKubeconfigText(path, renderKubeconfig(input));
}
