// Credentials for the kube client tests: a self-signed certificate and a scriptable exec plugin.
import { chmodSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { ExecConfig } from "../../src/kube/index.ts";
import { testCert } from "./certs.ts";

export interface KeyPairPem {
  cert: string;
  key: string;
}

/** A self-signed certificate that is also a CA, so it can be trusted directly. */
export async function selfSigned(cn: string, names: { dns?: string[]; ip?: string[] }): Promise<KeyPairPem> {
  const c = await testCert(cn, names);
  return { cert: c.certPem, key: c.keyPem };
}

export interface FakeExecPlugin {
  exec: ExecConfig;
  /** Sets what the next runs print: an ExecCredential with this status. */
  answer(status: unknown): void;
  /** How many times the plugin has run. */
  runs(): number;
}

let pluginCount = 0;

/**
 * A /bin/sh exec credential plugin in `dir` whose answer the test controls; every run is counted in
 * a file next to it.
 */
export function fakeExecPlugin(dir: string, apiVersion = "client.authentication.k8s.io/v1"): FakeExecPlugin {
  const n = ++pluginCount;
  const answerFile = join(dir, `exec-answer-${n}`);
  const runsFile = join(dir, `exec-runs-${n}`);
  const path = join(dir, `exec-plugin-${n}.sh`);
  writeFileSync(path, `#!/bin/sh\necho run >> '${runsFile}'\ncat '${answerFile}'\n`);
  chmodSync(path, 0o755);
  return {
    exec: {
      apiVersion,
      command: path,
      args: [],
      env: [],
      provideClusterInfo: false,
      interactiveMode: "Never",
    },
    answer: (status) =>
      writeFileSync(answerFile, JSON.stringify({ apiVersion, kind: "ExecCredential", status })),
    runs: () => {
      try {
        return readFileSync(runsFile, "utf8").split("\n").filter(Boolean).length;
      } catch {
        return 0;
      }
    },
  };
}
