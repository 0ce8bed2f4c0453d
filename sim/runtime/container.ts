// One container of a pod the runtime runs: pull (from the loaded images), start in its own mount
// namespace and process group, probes, and restarts with the kubelet's CrashLoopBackOff delays.
// Its state is what containerStatuses[] reports.

import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chown, mkdir, open, readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import type { ContainerUsage } from "../types.ts";
import type { ImageStore, UnpackedImage } from "./image.ts";
import {
  ContainerConfigError,
  containerArgv,
  containerEnv,
  containerUser,
  type FieldValues,
  type HostTools,
  hostScript,
  mountScript,
} from "./launch.ts";
import { ProbeLoop } from "./probe.ts";

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

export function rfc3339(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
}

/** The kubelet's CrashLoopBackOff: the first restart at once, then 10 s doubling up to 5 minutes. */
export function restartDelayMs(restartsSoFar: number): number {
  if (restartsSoFar === 0) return 0;
  return Math.min(10_000 * 2 ** (restartsSoFar - 1), 300_000);
}

export type ContainerState =
  | { waiting: { reason: string; message?: string } }
  | { running: { startedAt: string } }
  | {
      terminated: {
        exitCode: number;
        signal?: number;
        reason: string;
        startedAt: string;
        finishedAt: string;
        containerID: string;
      };
    };

/** What a container needs from its pod. */
export interface PodContext {
  ref: string;
  uid: string;
  spec: Record<string, unknown>;
  fields: FieldValues;
  runDir: string;
  logDir: string;
  /** Volume name → host directory (emptyDirs), and the service-account directory if mounted. */
  volumes: ReadonlyMap<string, string>;
  serviceAccountDir: string | undefined;
  images: ImageStore;
  /** Image reference → host executable, run when images cannot be unpacked here (--image-command). */
  hostCommands: ReadonlyMap<string, string>;
  /** Whether umoci is installed (else only host commands run). */
  canUnpack: boolean;
  tools: HostTools;
  apiServer: () => { host: string; port: number };
  log: (line: string) => void;
  changed: () => void;
  /** Told of each container process group as it starts and ends (see Reaper). */
  groups: { add(pgid: number): void; delete(pgid: number): void };
}

const SIGNALS: Record<string, number> = { SIGKILL: 9, SIGTERM: 15, SIGINT: 2, SIGABRT: 6, SIGSEGV: 11 };

/** utime+stime (clock ticks of 1/100 s) of /proc/<pid>/stat and VmRSS of /proc/<pid>/status. */
export async function readProcUsage(
  pid: number,
): Promise<{ cpuSeconds: number; memoryBytes: number } | undefined> {
  try {
    const [stat, status] = await Promise.all([
      readFile(`/proc/${pid}/stat`, "utf8"),
      readFile(`/proc/${pid}/status`, "utf8"),
    ]);
    // Fields after the command name (which may hold spaces) start at field 3, "state".
    const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const ticks = Number(rest[11]) + Number(rest[12]);
    const rss = /^VmRSS:\s+(\d+) kB/m.exec(status);
    return { cpuSeconds: ticks / 100, memoryBytes: rss ? Number(rss[1]) * 1024 : 0 };
  } catch {
    return undefined;
  }
}

export class Container {
  readonly name: string;
  readonly spec: Record<string, unknown>;
  state: ContainerState = { waiting: { reason: "ContainerCreating" } };
  lastState: ContainerState | undefined;
  restartCount = 0;
  ready = false;
  started = false;
  containerID = "";
  imageID = "";
  startedAtMs = 0;
  /** The last /proc reading, refreshed in the background (the kubelet's reports are synchronous). */
  usage: ContainerUsage | undefined;
  private process: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  private probes: ProbeLoop[] = [];
  private restartTimer: NodeJS.Timeout | undefined;
  private usageTimer: NodeJS.Timeout | undefined;
  private stopping = false;
  private readonly pod: PodContext;

  constructor(pod: PodContext, spec: Record<string, unknown>) {
    this.pod = pod;
    this.spec = spec;
    this.name = String(spec.name);
  }

  get image(): string {
    return String(this.spec.image ?? "");
  }

  get pid(): number | undefined {
    return this.process?.pid;
  }

  private set(state: ContainerState): void {
    this.state = state;
    this.pod.changed();
  }

  async start(): Promise<void> {
    if (this.stopping) return;
    const image = this.image;
    const hostCommand = this.pod.hostCommands.get(image);
    if (hostCommand && (!this.pod.canUnpack || !this.pod.images.has(image))) {
      try {
        await this.launchHost(hostCommand);
      } catch (err) {
        const reason =
          err instanceof ContainerConfigError ? "CreateContainerConfigError" : "RunContainerError";
        this.set({ waiting: { reason, message: (err as Error).message } });
      }
      return;
    }
    if (!this.pod.images.has(image)) {
      if (this.spec.imagePullPolicy === "Never") {
        this.set({
          waiting: {
            reason: "ErrImageNeverPull",
            message: `Container image "${image}" is not present with pull policy of Never`,
          },
        });
      } else {
        // No registry is reachable from the simulator: only images loaded with --image exist.
        this.set({
          waiting: {
            reason: "ImagePullBackOff",
            message: `Back-off pulling image "${image}": ErrImagePull: failed to pull and unpack image "${image}": the simulator has no registry; load it with --image ${image}=<oci archive>`,
          },
        });
      }
      return;
    }
    let unpacked: UnpackedImage;
    try {
      unpacked = await this.pod.images.get(image);
    } catch (err) {
      this.set({ waiting: { reason: "ErrImagePull", message: (err as Error).message } });
      return;
    }
    if (this.stopping) return;
    this.imageID = unpacked.imageID;
    try {
      await this.launch(unpacked);
    } catch (err) {
      const reason = err instanceof ContainerConfigError ? "CreateContainerConfigError" : "RunContainerError";
      this.set({ waiting: { reason, message: (err as Error).message } });
    }
  }

  private async launch(image: UnpackedImage): Promise<void> {
    const podSec = isRecord(this.pod.spec.securityContext) ? this.pod.spec.securityContext : {};
    const sec = isRecord(this.spec.securityContext) ? this.spec.securityContext : {};
    const user = containerUser(image.config, podSec, sec, this.pod.ref, this.name);
    const dir = join(this.pod.runDir, "containers", this.name);
    await rm(dir, { recursive: true, force: true });
    const plan = {
      imageRootfs: image.rootfs,
      upper: join(dir, "upper"),
      work: join(dir, "work"),
      rootfs: join(dir, "rootfs"),
      binds: await this.volumeBinds(user),
      readOnlyRoot: sec.readOnlyRootFilesystem === true,
    };
    for (const d of [plan.upper, plan.work, plan.rootfs]) await mkdir(d, { recursive: true });
    const argv = containerArgv(image.config, this.spec, this.pod.fields.podIP);
    if (argv.length <= 1) throw new ContainerConfigError("no command specified");
    const env = containerEnv(image.config, this.spec, this.pod.fields, this.pod.apiServer());
    const workingDir =
      typeof this.spec.workingDir === "string" ? this.spec.workingDir : image.config.workingDir;
    await this.spawn(mountScript(plan, user, workingDir, this.pod.tools), argv, env);
  }

  /** The fallback without images: the host executable mapped to the image, in a private mount namespace. */
  private async launchHost(command: string): Promise<void> {
    this.imageID = `${this.image}@host:${command}`;
    // The host has no image user: the securityContext's, else nobody.
    const config = {
      entrypoint: [command],
      cmd: [],
      env: [`PATH=${process.env.PATH ?? "/usr/bin:/bin"}`],
      workingDir: "/",
      user: "65534",
    };
    const podSec = isRecord(this.pod.spec.securityContext) ? this.pod.spec.securityContext : {};
    const sec = isRecord(this.spec.securityContext) ? this.spec.securityContext : {};
    const user = containerUser(config, podSec, sec, this.pod.ref, this.name);
    const binds = await this.volumeBinds(user);
    const argv = containerArgv(config, this.spec, this.pod.fields.podIP);
    const env = containerEnv(config, this.spec, this.pod.fields, this.pod.apiServer());
    const workingDir = typeof this.spec.workingDir === "string" ? this.spec.workingDir : "/";
    await this.spawn(hostScript(binds, user, workingDir, this.pod.tools, argv[0]!), argv, env);
  }

  /** The volume mounts and the service-account files as binds; emptyDirs are handed to `user`. */
  private async volumeBinds(user: {
    uid: number;
    gid: number;
  }): Promise<{ source: string; target: string; readOnly: boolean }[]> {
    const binds: { source: string; target: string; readOnly: boolean }[] = [];
    for (const m of Array.isArray(this.spec.volumeMounts) ? this.spec.volumeMounts.filter(isRecord) : []) {
      const source = this.pod.volumes.get(String(m.name));
      if (!source)
        throw new ContainerConfigError(
          `cannot find volume "${String(m.name)}" to mount into container "${this.name}"`,
        );
      // emptyDirs belong to the user the container runs as (the kubelet makes them world-writable).
      await chown(source, user.uid, user.gid);
      binds.push({ source, target: String(m.mountPath), readOnly: m.readOnly === true });
    }
    if (this.pod.serviceAccountDir) {
      binds.push({
        source: this.pod.serviceAccountDir,
        target: "/var/run/secrets/kubernetes.io/serviceaccount",
        readOnly: true,
      });
    }
    return binds;
  }

  private async spawn(script: string, argv: string[], env: Record<string, string>): Promise<void> {
    await mkdir(this.pod.logDir, { recursive: true });
    const log = await open(join(this.pod.logDir, `${this.name}.log`), "a");
    let child: ChildProcess;
    try {
      child = spawn(
        this.pod.tools.unshare,
        ["-m", "--propagation", "private", "/bin/sh", "-c", script, "sh", ...argv],
        {
          env,
          detached: true,
          stdio: ["ignore", log.fd, log.fd],
        },
      );
    } finally {
      await log.close();
    }
    this.process = child;
    const pgid = child.pid;
    if (pgid !== undefined) this.pod.groups.add(pgid);
    this.containerID = `containerd://${randomBytes(32).toString("hex")}`;
    this.startedAtMs = Date.now();
    this.started = true;
    this.ready = false;
    const startedAt = rfc3339(this.startedAtMs);
    this.exited = new Promise((resolve) => {
      child.on("error", (err) => {
        this.pod.log(`${this.pod.ref} ${this.name}: cannot start: ${err.message}`);
      });
      child.on("exit", (code, signal) => {
        if (pgid !== undefined) this.pod.groups.delete(pgid);
        this.onExit(code, signal, startedAt);
        resolve();
      });
    });
    this.state = { running: { startedAt } };
    this.startProbes();
    this.pollUsage();
    this.pod.changed();
  }

  private startProbes(): void {
    const podIP = this.pod.fields.podIP;
    if (isRecord(this.spec.readinessProbe)) {
      this.probes.push(
        new ProbeLoop(this.spec.readinessProbe, this.spec, podIP, (ok, message) => {
          if (!ok) this.pod.log(`${this.pod.ref} ${this.name}: Readiness probe failed: ${message}`);
          this.ready = ok;
          this.pod.changed();
        }),
      );
    } else this.ready = true;
    if (isRecord(this.spec.livenessProbe)) {
      this.probes.push(
        new ProbeLoop(this.spec.livenessProbe, this.spec, podIP, (ok, message) => {
          if (ok) return;
          this.pod.log(`${this.pod.ref} ${this.name}: Liveness probe failed: ${message}; restarting it`);
          this.kill(this.graceMs());
        }),
      );
    }
  }

  private pollUsage(): void {
    const pid = this.process?.pid;
    if (pid === undefined) return;
    let previous: { cpuSeconds: number; atMs: number } | undefined;
    const read = async () => {
      const now = Date.now();
      const u = await readProcUsage(pid);
      if (u) {
        const cpuMilli =
          previous && now > previous.atMs
            ? ((u.cpuSeconds - previous.cpuSeconds) * 1e6) / (now - previous.atMs)
            : 0;
        this.usage = { ...u, cpuMilli: Math.max(0, cpuMilli) };
        previous = { cpuSeconds: u.cpuSeconds, atMs: now };
      }
      if (this.process?.pid === pid) this.usageTimer = setTimeout(read, 1000);
    };
    void read();
  }

  private graceMs(): number {
    const g = this.pod.spec.terminationGracePeriodSeconds;
    return (typeof g === "number" && g >= 0 ? g : 30) * 1000;
  }

  private onExit(code: number | null, signal: NodeJS.Signals | null, startedAt: string): void {
    for (const p of this.probes) p.stop();
    this.probes = [];
    clearTimeout(this.usageTimer);
    this.process = undefined;
    this.usage = undefined;
    this.ready = false;
    const exitCode = code ?? 128 + (signal ? (SIGNALS[signal] ?? 0) : 0);
    const terminated: ContainerState = {
      terminated: {
        exitCode,
        ...(signal ? { signal: SIGNALS[signal] ?? 0 } : {}),
        reason: exitCode === 0 ? "Completed" : "Error",
        startedAt,
        finishedAt: rfc3339(Date.now()),
        containerID: this.containerID,
      },
    };
    if (this.stopping) {
      this.state = terminated;
      return;
    }
    const policy = this.pod.spec.restartPolicy ?? "Always";
    if (policy === "Never" || (policy === "OnFailure" && exitCode === 0)) {
      this.set(terminated);
      return;
    }
    this.lastState = terminated;
    // A container that ran ten minutes without trouble starts its back-off afresh.
    const ranMs = Date.now() - this.startedAtMs;
    const delay = ranMs > 600_000 ? 0 : restartDelayMs(this.restartCount);
    this.restartCount++;
    if (delay > 0) {
      this.set({
        waiting: {
          reason: "CrashLoopBackOff",
          message: `back-off ${delay / 1000}s restarting failed container=${this.name} pod=${this.pod.ref}(${this.pod.uid})`,
        },
      });
    } else this.pod.changed();
    this.restartTimer = setTimeout(() => void this.start(), delay);
  }

  /** SIGTERM to the container's process group, SIGKILL after `graceMs`. */
  private kill(graceMs: number): void {
    const pid = this.process?.pid;
    if (pid === undefined) return;
    const signal = (sig: NodeJS.Signals) => {
      try {
        process.kill(-pid, sig);
      } catch {
        // Already gone.
      }
    };
    signal("SIGTERM");
    const timer = setTimeout(() => signal("SIGKILL"), graceMs);
    void this.exited.then(() => clearTimeout(timer));
  }

  /** Stops the container for good (pod deleted, simulator shutting down). */
  async stop(graceMs: number = this.graceMs()): Promise<void> {
    this.stopping = true;
    clearTimeout(this.restartTimer);
    for (const p of this.probes) p.stop();
    this.kill(graceMs);
    await this.exited;
  }

  /** containerStatuses[] entry. */
  status(): Record<string, unknown> {
    return {
      name: this.name,
      state: this.state,
      lastState: this.lastState ?? {},
      ready: this.ready,
      restartCount: this.restartCount,
      image: this.image,
      imageID: this.imageID,
      ...(this.containerID ? { containerID: this.containerID } : {}),
      started: "running" in this.state,
    };
  }
}
