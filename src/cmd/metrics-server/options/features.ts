// Features flags (the generic apiserver's FeatureOptions): accepted for upstream's manifests, not
// acted on.
import { specs as flag } from "../../../go/index.ts";
import { inSection, type OptionsOf } from "./group.ts";

export const featureFlags = inSection("Features", {
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

export type FeatureOptions = OptionsOf<typeof featureFlags>;
