// Reloading --tls-cert-file/--tls-private-key-file: poll both files and hand over a new pair once it
// parses and the key matches, like the generic apiserver's dynamic serving content. fs.watch misses
// Kubernetes' atomic Secret updates (a symlink swap of the parent directory), polling does not.
import { readFile } from "node:fs/promises";
import { createSecureContext } from "node:tls";
import * as log from "../../log/index.ts";

export interface CertKeyWatch {
  /** Compares the files with the pair in use now; resolves once done (tests call it directly). */
  check(): Promise<void>;
  stop(): void;
}

export function watchCertKeyPair(opts: {
  certFile: string;
  keyFile: string;
  /** The pair in use now (so an unchanged file is not "reloaded"). */
  cert: Buffer;
  key: Buffer;
  intervalMs?: number;
  onChange(cert: Buffer, key: Buffer): void;
}): CertKeyWatch {
  let current = Buffer.concat([opts.cert, Buffer.from("\0"), opts.key]);
  let lastBad: Buffer | undefined;
  let running: Promise<void> | undefined;
  const check = async (): Promise<void> => {
    let cert: Buffer;
    let key: Buffer;
    try {
      [cert, key] = await Promise.all([readFile(opts.certFile), readFile(opts.keyFile)]);
    } catch (err) {
      // A Secret update can briefly remove a file; only a lasting problem shows in the log once.
      const marker = Buffer.from(`read:${(err as Error).message}`);
      if (!lastBad?.equals(marker)) {
        log.error(err, "Failed to read the serving certificate, keeping the current one", {
          certFile: opts.certFile,
          keyFile: opts.keyFile,
        });
        lastBad = marker;
      }
      return;
    }
    const both = Buffer.concat([cert, Buffer.from("\0"), key]);
    if (both.equals(current) || lastBad?.equals(both)) return;
    try {
      createSecureContext({ cert, key });
    } catch (err) {
      log.error(err, "Invalid serving certificate or key, keeping the current one", {
        certFile: opts.certFile,
        keyFile: opts.keyFile,
      });
      lastBad = both;
      return;
    }
    current = both;
    lastBad = undefined;
    opts.onChange(cert, key);
    log.info("Loaded a new serving certificate", { certFile: opts.certFile, keyFile: opts.keyFile });
  };
  const guarded = (): Promise<void> => {
    running ??= check().finally(() => {
      running = undefined;
    });
    return running;
  };
  const timer = setInterval(() => void guarded(), opts.intervalMs ?? 5000);
  timer.unref();
  return { check: guarded, stop: () => clearInterval(timer) };
}
