// The runtime's images, loaded like `kind load`: `--image <ref>=<OCI archive>`. An image is unpacked on
// first use (tar → OCI layout → `umoci unpack`) under the simulator's directory, and its config
// (entrypoint, cmd, env, working dir, user) read from the layout's config blob.

import { execFile } from "node:child_process";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

export interface ImageConfig {
  entrypoint: string[];
  cmd: string[];
  /** "KEY=value" entries, in the image's order. */
  env: string[];
  workingDir: string;
  /** The image's USER ("65534", "65534:65534", "nobody", "" = root). */
  user: string;
}

export interface UnpackedImage {
  ref: string;
  /** The unpacked root filesystem (shared by every container of this image; never written). */
  rootfs: string;
  config: ImageConfig;
  /** `<ref>@sha256:<manifest digest>`, the containerStatuses[].imageID. */
  imageID: string;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function strings(v: unknown): string[] {
  return Array.isArray(v) ? v.map(String) : [];
}

/** The image config fields of an OCI image config blob. */
export function parseImageConfig(blob: unknown): ImageConfig {
  const c = isRecord(blob) && isRecord(blob.config) ? blob.config : {};
  return {
    entrypoint: strings(c.Entrypoint),
    cmd: strings(c.Cmd),
    env: strings(c.Env),
    workingDir: typeof c.WorkingDir === "string" && c.WorkingDir !== "" ? c.WorkingDir : "/",
    user: typeof c.User === "string" ? c.User : "",
  };
}

/** Picks the manifest of `ref` in an OCI index: the one annotated with it, or the only one. */
export function manifestFor(index: unknown, ref: string): { digest: string } | undefined {
  const manifests = isRecord(index) && Array.isArray(index.manifests) ? index.manifests.filter(isRecord) : [];
  const tag = ref.slice(ref.lastIndexOf(":") + 1);
  const named = (m: Record<string, unknown>) =>
    isRecord(m.annotations) ? m.annotations["org.opencontainers.image.ref.name"] : undefined;
  const m =
    manifests.find((x) => named(x) === ref) ??
    manifests.find((x) => named(x) === tag) ??
    (manifests.length === 1 ? manifests[0] : undefined);
  return typeof m?.digest === "string" ? { digest: m.digest } : undefined;
}

export class ImageStore {
  private readonly archives: ReadonlyMap<string, string>;
  private readonly dir: string;
  private readonly unpacked = new Map<string, Promise<UnpackedImage>>();

  /** `archives`: image reference → OCI archive path; `dir`: where images are unpacked. */
  constructor(archives: ReadonlyMap<string, string>, dir: string) {
    this.archives = archives;
    this.dir = dir;
  }

  has(ref: string): boolean {
    return this.archives.has(ref);
  }

  /** The unpacked image (unpacking it once; concurrent callers share the work). */
  get(ref: string): Promise<UnpackedImage> {
    let p = this.unpacked.get(ref);
    if (!p) {
      p = this.unpack(ref);
      this.unpacked.set(ref, p);
      // A failed unpack is retried by the next caller rather than cached.
      p.catch(() => this.unpacked.delete(ref));
    }
    return p;
  }

  private async unpack(ref: string): Promise<UnpackedImage> {
    const archive = this.archives.get(ref);
    if (!archive) throw new Error(`image ${ref} was not loaded with --image`);
    const base = join(this.dir, ref.replace(/[^A-Za-z0-9._-]/g, "_"));
    const layout = join(base, "layout");
    const bundle = join(base, "bundle");
    await rm(base, { recursive: true, force: true });
    await mkdir(layout, { recursive: true });
    await run("tar", ["-xf", archive, "-C", layout]);
    const index = JSON.parse(await readFile(join(layout, "index.json"), "utf8")) as unknown;
    const manifest = manifestFor(index, ref);
    if (!manifest) throw new Error(`${archive} holds no image named ${ref}`);
    const blob = (digest: string) => join(layout, "blobs", ...digest.split(":"));
    const manifestJson = JSON.parse(await readFile(blob(manifest.digest), "utf8")) as Record<string, unknown>;
    const configDigest = isRecord(manifestJson.config) ? String(manifestJson.config.digest) : "";
    const config = parseImageConfig(JSON.parse(await readFile(blob(configDigest), "utf8")));
    // umoci names images by tag; our copy of the index gets one simple tag for the chosen manifest.
    await writeFile(
      join(layout, "index.json"),
      JSON.stringify({
        schemaVersion: 2,
        manifests: [
          {
            mediaType: "application/vnd.oci.image.manifest.v1+json",
            digest: manifest.digest,
            size: (await readFile(blob(manifest.digest))).length,
            annotations: { "org.opencontainers.image.ref.name": "sim" },
          },
        ],
      }),
    );
    await run("umoci", ["unpack", "--image", `${layout}:sim`, bundle], { maxBuffer: 16 << 20 });
    await rm(layout, { recursive: true, force: true });
    const name = ref.includes("@") ? ref.slice(0, ref.indexOf("@")) : ref.slice(0, ref.lastIndexOf(":"));
    return { ref, rootfs: join(bundle, "rootfs"), config, imageID: `${name}@${manifest.digest}` };
  }
}
