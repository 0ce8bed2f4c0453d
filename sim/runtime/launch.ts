// How a container is started, as pure functions of the pod spec and the image: its command line
// (Kubernetes' command/args rule plus --bind-address, since pods share the host network here), its
// user, its environment, and the shell-free mount sequence run in a private mount namespace before
// `chroot` into the root filesystem.

import type { ImageConfig } from "./image.ts";

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function strings(v: unknown): string[] | undefined {
  return Array.isArray(v) ? v.map(String) : undefined;
}

/**
 * The process's argv: `command` replaces the image's ENTRYPOINT, `args` its CMD (a command without
 * args drops the CMD), as in "Define a Command and Arguments for a Container" (kubernetes.io), then
 * `--bind-address=<pod IP>`: pods share the host's network in the simulator, so each must listen on
 * its own address.
 */
export function containerArgv(
  image: ImageConfig,
  container: Record<string, unknown>,
  podIP: string,
): string[] {
  const command = strings(container.command);
  const args = strings(container.args);
  const argv = command ? [...command, ...(args ?? [])] : [...image.entrypoint, ...(args ?? image.cmd)];
  return [...argv, `--bind-address=${podIP}`];
}

export class ContainerConfigError extends Error {}

/**
 * The uid:gid a container runs as: runAsUser/runAsGroup of the container's securityContext, else the
 * pod's, else the image's USER. runAsNonRoot refuses uid 0 or a user name it cannot check, with the
 * kubelet's messages (a CreateContainerConfigError).
 */
export function containerUser(
  image: ImageConfig,
  podSecurity: Record<string, unknown>,
  containerSecurity: Record<string, unknown>,
  podRef: string,
  containerName: string,
): { uid: number; gid: number } {
  const pick = (key: string) => {
    const v = containerSecurity[key] ?? podSecurity[key];
    return typeof v === "number" ? v : undefined;
  };
  const [imageUser = "", imageGroup = ""] = image.user.split(":");
  let uid = pick("runAsUser");
  if (uid === undefined) {
    if (imageUser === "") uid = 0;
    else if (/^\d+$/.test(imageUser)) uid = Number(imageUser);
    else if (imageUser === "root") uid = 0;
    else {
      if ((containerSecurity.runAsNonRoot ?? podSecurity.runAsNonRoot) === true) {
        throw new ContainerConfigError(
          `container has runAsNonRoot and image has non-numeric user (${imageUser}), cannot verify user is non-root (pod: "${podRef}", container: ${containerName})`,
        );
      }
      throw new ContainerConfigError(
        `the simulator's runtime needs a numeric image user, got ${JSON.stringify(imageUser)}`,
      );
    }
  }
  if (uid === 0 && (containerSecurity.runAsNonRoot ?? podSecurity.runAsNonRoot) === true) {
    throw new ContainerConfigError(
      `container has runAsNonRoot and image will run as root (pod: "${podRef}", container: ${containerName})`,
    );
  }
  const gid = pick("runAsGroup") ?? (/^\d+$/.test(imageGroup) ? Number(imageGroup) : uid);
  return { uid, gid };
}

export interface FieldValues {
  podName: string;
  namespace: string;
  podIP: string;
  hostIP: string;
  nodeName: string;
  serviceAccountName: string;
}

/**
 * The process environment: the image's, then the container's `env` (value or a fieldRef), then the
 * in-cluster API address every pod gets (KUBERNETES_SERVICE_HOST/PORT).
 */
export function containerEnv(
  image: ImageConfig,
  container: Record<string, unknown>,
  fields: FieldValues,
  apiServer: { host: string; port: number },
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const kv of image.env) {
    const i = kv.indexOf("=");
    if (i > 0) env[kv.slice(0, i)] = kv.slice(i + 1);
  }
  const byPath: Record<string, string> = {
    "metadata.name": fields.podName,
    "metadata.namespace": fields.namespace,
    "status.podIP": fields.podIP,
    "status.hostIP": fields.hostIP,
    "spec.nodeName": fields.nodeName,
    "spec.serviceAccountName": fields.serviceAccountName,
  };
  for (const e of Array.isArray(container.env) ? container.env.filter(isRecord) : []) {
    if (typeof e.name !== "string") continue;
    if (typeof e.value === "string") env[e.name] = e.value;
    else if (isRecord(e.valueFrom) && isRecord(e.valueFrom.fieldRef)) {
      const v = byPath[String(e.valueFrom.fieldRef.fieldPath)];
      if (v !== undefined) env[e.name] = v;
    } else env[e.name] = "";
  }
  env.KUBERNETES_SERVICE_HOST = apiServer.host;
  env.KUBERNETES_SERVICE_PORT = String(apiServer.port);
  env.KUBERNETES_SERVICE_PORT_HTTPS = String(apiServer.port);
  return env;
}

export interface MountPlan {
  /** The image's root filesystem (the overlay's read-only lower layer). */
  imageRootfs: string;
  /** Per-container directories: the overlay's upper and work dirs and its mount point. */
  upper: string;
  work: string;
  rootfs: string;
  /** Host directories bound at paths inside the container. */
  binds: { source: string; target: string; readOnly: boolean }[];
  readOnlyRoot: boolean;
}

const DEVICES = ["null", "zero", "random", "urandom"];

function quote(s: string): string {
  return `'${s.replaceAll("'", `'\\''`)}'`;
}

/**
 * The sh script run by `unshare -m --propagation private`: an overlay of the image (so containers never
 * write into the shared image) bound onto itself, the host's /proc and four devices, the volumes, the
 * root remounted read-only if asked, then into the root as the user (the chroot) and run "$@".
 */
/** Host programs the script runs, by absolute path (the script's PATH is the container's). */
export interface HostTools {
  mount: string;
  mkdir: string;
  touch: string;
  unshare: string;
}

export function mountScript(
  plan: MountPlan,
  user: { uid: number; gid: number },
  workingDir: string,
  tools: HostTools,
): string {
  const { mount, mkdir, touch, unshare } = tools;
  const r = quote(plan.rootfs);
  const lines = [
    "set -e",
    `${mount} -t overlay overlay -o ${quote(`lowerdir=${plan.imageRootfs},upperdir=${plan.upper},workdir=${plan.work}`)} ${r}`,
    `${mount} --bind ${r} ${r}`,
    `${mkdir} -p ${r}/proc ${r}/dev`,
    `${mount} --bind /proc ${r}/proc`,
  ];
  for (const d of DEVICES) lines.push(`${touch} ${r}/dev/${d}`, `${mount} --bind /dev/${d} ${r}/dev/${d}`);
  for (const b of plan.binds) {
    const target = `${r}${quote(b.target)}`;
    lines.push(`${mkdir} -p ${target}`, `${mount} --bind ${quote(b.source)} ${target}`);
    if (b.readOnly) lines.push(`${mount} -o remount,bind,ro ${target}`);
  }
  if (plan.readOnlyRoot) lines.push(`${mount} -o remount,bind,ro ${r}`);
  // chroot(1) has no working directory option; util-linux unshare does root, cwd, uid and gid in one go.
  lines.push(
    `exec ${unshare} --root=${r} --wd=${quote(workingDir)} --setuid ${user.uid} --setgid ${user.gid} -- "$@"`,
  );
  return lines.join("\n");
}

/**
 * The script for a host command (--image-command, when images cannot be unpacked): no root switch, but
 * still a private mount namespace with the volumes and the service-account files bound at their paths
 * over the host's, then the user switch.
 */
export function hostScript(
  allBinds: readonly { source: string; target: string; readOnly: boolean }[],
  user: { uid: number; gid: number },
  workingDir: string,
  tools: HostTools,
  command: string,
): string {
  const { mount, mkdir, unshare } = tools;
  const lines = ["set -e"];
  // The command runs from the host's filesystem: a bind over a directory holding it (an emptyDir at
  // /tmp while the checkout is under /tmp) would hide it and whatever it runs, so that volume is left
  // out, and said in the container's log.
  const under = (path: string, dir: string) => path === dir || path.startsWith(`${dir.replace(/\/$/, "")}/`);
  const binds = allBinds.filter((b) => !under(command, b.target));
  for (const b of allBinds.filter((o) => under(command, o.target))) {
    lines.push(
      `echo ${quote(`kube-sim: ${b.target} not mounted: it would hide the command ${command}`)} >&2`,
    );
  }
  // A bind over a directory holding another bind's source (an emptyDir at /tmp while the simulator's
  // directory is under /tmp) would hide that source: such binds go last.
  const shadows = (b: { target: string }) =>
    binds.some(
      (o) =>
        o.target !== b.target &&
        (o.source === b.target || o.source.startsWith(`${b.target.replace(/\/$/, "")}/`)),
    );
  const ordered = [...binds.filter((b) => !shadows(b)), ...binds.filter(shadows)];
  for (const b of ordered) {
    const target = quote(b.target);
    lines.push(`${mkdir} -p ${target}`, `${mount} --bind ${quote(b.source)} ${target}`);
    if (b.readOnly) lines.push(`${mount} -o remount,bind,ro ${target}`);
  }
  lines.push(`exec ${unshare} --wd=${quote(workingDir)} --setuid ${user.uid} --setgid ${user.gid} -- "$@"`);
  return lines.join("\n");
}
