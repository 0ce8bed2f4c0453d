// The image reference the manifests and the chart use, `<registry>/metrics-server-ts:v<version>`:
// registry.example.com is the one placeholder users replace with their own registry, and the tag is
// "v" + package.json's version (docs/release.md).
import { readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");

export const PLACEHOLDER_REGISTRY = "registry.example.com";
export const IMAGE_NAME = "metrics-server-ts";

/** package.json's version, the project's one version number. */
export function packageVersion(root = ROOT): string {
  return (JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { version: string }).version;
}

export function imageRef(version = packageVersion(), registry = PLACEHOLDER_REGISTRY): string {
  return `${registry}/${IMAGE_NAME}:v${version}`;
}
