// How options are declared: each once, as the pflag flag it is read from (name, type, default, usage,
// section), in groups. A group gives its options' type (OptionsOf), and the command line fills every
// option of every group from its flag.
import type { FlagSpec } from "../../../go/index.ts";

/** Declarations by option name; each option's type is its flag's value type. */
export type FlagGroup = Readonly<Record<string, FlagSpec<unknown>>>;

export type OptionsOf<G extends FlagGroup> = {
  -readonly [K in keyof G]: G[K] extends FlagSpec<infer T> ? T : never;
};

/** Puts every flag of a group under one --help section. */
export function inSection<G extends FlagGroup>(section: string, flags: G): G {
  const out: Record<string, FlagSpec<unknown>> = {};
  for (const [key, spec] of Object.entries(flags)) out[key] = { section, ...spec };
  return out as G;
}
