// Features flags (the generic apiserver's FeatureOptions): accepted for upstream's manifests, not
// acted on.
import * as flag from "./flag.ts";

export const featureFlags = flag.inSection("Features", {
  contentionProfiling: flag.bool(
    "contention-profiling",
    false,
    "Enable block profiling as well, when profiling is on",
  ),
  debugSocketPath: flag.string(
    "debug-socket-path",
    "",
    "Serve profiling on this unix-domain socket, without authentication or authorization",
  ),
  profiling: flag.bool("profiling", true, "Enable profiling through host:port/debug/pprof/"),
});

export type FeatureOptions = flag.OptionsOf<typeof featureFlags>;
