// Command-line flags of the tools (`npm start`, `npm run bench`): node:util's parseArgs, with every
// mistake turned into a UsageError whose message names the flag. Non-strict parsing, checked here,
// so that a flag's value may start with "-" (`--nodes -1` is then refused by the value's check with a
// message about --nodes, not about an ambiguous option).
import { type ParseArgsOptionsConfig, parseArgs } from "node:util";

/** A bad flag or value: the tool prints the message and its usage, and exits 1. */
export class UsageError extends Error {}

/** The parsed values: string flags as strings (or lists with `multiple`), boolean flags as true. */
export type FlagValues<T extends ParseArgsOptionsConfig> = {
  [K in keyof T]?: T[K]["type"] extends "string"
    ? T[K]["multiple"] extends true
      ? string[]
      : string
    : boolean;
};

export function parseFlags<T extends ParseArgsOptionsConfig>(
  argv: readonly string[],
  options: T,
): FlagValues<T> {
  const { values, tokens } = parseArgs({
    args: [...argv],
    options,
    strict: false,
    allowPositionals: true,
    tokens: true,
  });
  for (const token of tokens) {
    if (token.kind === "positional") throw new UsageError(`unexpected argument: ${token.value}`);
    if (token.kind === "option-terminator") throw new UsageError("unexpected argument: --");
    const config = Object.hasOwn(options, token.name) ? options[token.name] : undefined;
    if (config === undefined) throw new UsageError(`unknown flag: ${token.rawName}`);
    if (config.type === "string" && token.value === undefined) {
      throw new UsageError(`flag needs an argument: ${token.rawName}`);
    }
    if (config.type === "boolean" && token.value !== undefined) {
      throw new UsageError(`flag takes no value: ${token.rawName}`);
    }
  }
  return values as FlagValues<T>;
}
