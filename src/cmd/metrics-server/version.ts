// The version this build reports: package.json's, as a tag ("v0.1.0"), like upstream's git version.
import { readFileSync } from "node:fs";

export function readVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL("../../../package.json", import.meta.url), "utf8")) as {
      version?: unknown;
    };
    if (typeof pkg.version === "string" && pkg.version !== "") return "v" + pkg.version;
  } catch {
    // Fall through: a broken install must still answer --version.
  }
  return "unknown";
}
