// The flags that answer instead of running: --help and --version (not options of the server).
import { specs as flag } from "../../../go/index.ts";

export const commandFlags = {
  version: flag.bool("version", false, "Print the version and exit", { section: "Metrics server" }),
  help: flag.bool("help", false, "Show this help and exit", { section: "Global", shorthand: "h" }),
};
