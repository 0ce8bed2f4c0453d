// How an option is declared: once, as the pflag flag it is read from (name, type, default, usage,
// section). A group of declarations gives its options' type (OptionsOf), and the command line fills
// every option of every group from its flag.
import {
  boolType,
  durationType,
  type FlagSpec,
  type FlagType,
  intType,
  ipType,
  stringSliceType,
  stringType,
} from "../../../go/index.ts";

/** Declarations by option name; each option's type is its flag's value type. */
export type FlagGroup = Readonly<Record<string, FlagSpec<unknown>>>;

export type OptionsOf<G extends FlagGroup> = {
  -readonly [K in keyof G]: G[K] extends FlagSpec<infer T> ? T : never;
};

type Extra<T> = Partial<Pick<FlagSpec<T>, "shorthand" | "section" | "hidden">>;

export function bool(name: string, def: boolean, usage: string, extra?: Extra<boolean>): FlagSpec<boolean> {
  return { ...extra, name, type: boolType, default: def, usage };
}

/** A string flag; `T` narrows the value for flags whose validation allows only some strings. */
export function string<T extends string = string>(
  name: string,
  def: T,
  usage: string,
  extra?: Extra<T>,
): FlagSpec<T> {
  return { ...extra, name, type: stringType as FlagType<string> as FlagType<T>, default: def, usage };
}

export function int(name: string, def: number, usage: string, extra?: Extra<number>): FlagSpec<number> {
  return { ...extra, name, type: intType, default: def, usage };
}

/** A Go duration flag; the default and the value are milliseconds. */
export function duration(
  name: string,
  defMs: number,
  usage: string,
  extra?: Extra<number>,
): FlagSpec<number> {
  return { ...extra, name, type: durationType, default: defMs, usage };
}

export function strings(
  name: string,
  def: readonly string[],
  usage: string,
  extra?: Extra<string[]>,
): FlagSpec<string[]> {
  return { ...extra, name, type: stringSliceType, default: [...def], usage };
}

export function ip(name: string, def: string, usage: string, extra?: Extra<string>): FlagSpec<string> {
  return { ...extra, name, type: ipType, default: def, usage };
}

/** A flag of a value type only these options use. */
export function custom<T>(
  name: string,
  type: FlagType<T>,
  def: T,
  usage: string,
  extra?: Extra<T>,
): FlagSpec<T> {
  return { ...extra, name, type, default: def, usage };
}

/** Puts every flag of a group under one --help section. */
export function inSection<G extends FlagGroup>(section: string, flags: G): G {
  const out: Record<string, FlagSpec<unknown>> = {};
  for (const [key, spec] of Object.entries(flags)) out[key] = { section, ...spec };
  return out as G;
}
