// A loopback range of a run's own: 127.R (R in 2..254; the demo picks from 1..254 for people).
// Tests and benchmarks run concurrently and every simulated kubelet listens on port 10250, so two runs
// must never share R: each reservation is an exclusive lock file in the temp dir naming its owner's
// pid; locks whose owner is gone (a killed run) are taken over.
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestContext } from "node:test";
import { isAlive } from "./processes.ts";

export interface IpReservation {
  /** "127.R" */
  ipBase: string;
  release(): void;
}

export function reserveIpBase(): IpReservation {
  for (let attempt = 0; attempt < 1000; attempt++) {
    const r = 2 + Math.floor(Math.random() * 253);
    const lock = join(tmpdir(), `metrics-server-test-127.${r}.lock`);
    try {
      writeFileSync(lock, String(process.pid), { flag: "wx" });
    } catch {
      let owner = 0;
      try {
        owner = Number(readFileSync(lock, "utf8"));
      } catch {
        continue; // released meanwhile
      }
      if (owner !== process.pid && !isAlive(owner)) rmSync(lock, { force: true });
      continue;
    }
    return { ipBase: `127.${r}`, release: () => rmSync(lock, { force: true }) };
  }
  throw new Error("no free 127.R loopback range (every lock in the temp dir is held)");
}

/** A reserved 127.R for this test, released when it ends. */
export function randomIpBase(t: TestContext): string {
  const reservation = reserveIpBase();
  t.after(() => reservation.release());
  return reservation.ipBase;
}
