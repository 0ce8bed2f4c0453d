// A small clone of spf13/pflag, the flag library behind upstream metrics-server's command line.
// Operators and manifests written for upstream must work unchanged, so the accepted syntax, the error
// messages and the --help layout follow pflag (and Go's strconv / time.ParseDuration) closely:
//
//   --name=value  --name value  --bool  --bool=false  -l value  -l=value  -lvalue  -v=4  -abc (bools)
//   `--` ends flag parsing; everything after it is positional.

import {
  boolType,
  durationType,
  type FlagType,
  intType,
  ipType,
  stringSliceType,
  stringType,
} from "./pflag-values.ts";
import { goQuote } from "./quote.ts";

/** A command-line syntax or value error; the message matches pflag's wording. */
export class FlagError extends Error {
  override name = "FlagError";
}

export interface FlagSpec<T> {
  name: string;
  /** One-letter short form (`-l`). */
  shorthand?: string;
  type: FlagType<T>;
  default: T;
  usage: string;
  /** Usage section title without " flags", e.g. "Kubelet client". */
  section?: string;
  /** Accepted but left out of usage. */
  hidden?: boolean;
}

/** What a declaration may add to name, type, default and usage. */
export type SpecExtra<T> = Partial<Pick<FlagSpec<T>, "shorthand" | "section" | "hidden">>;

/** Flag declarations of each value type, for FlagSet.add (FlagSet's bool, string, … add them at once). */
export const specs = {
  of<T>(name: string, type: FlagType<T>, def: T, usage: string, extra?: SpecExtra<T>): FlagSpec<T> {
    return { ...extra, name, type, default: def, usage };
  },
  bool: (name: string, def: boolean, usage: string, extra?: SpecExtra<boolean>): FlagSpec<boolean> =>
    specs.of(name, boolType, def, usage, extra),
  /** `T` narrows the value for a flag whose validation allows only some strings. */
  string: <T extends string = string>(
    name: string,
    def: T,
    usage: string,
    extra?: SpecExtra<T>,
  ): FlagSpec<T> => specs.of(name, stringType as FlagType<string> as FlagType<T>, def, usage, extra),
  int: (name: string, def: number, usage: string, extra?: SpecExtra<number>): FlagSpec<number> =>
    specs.of(name, intType, def, usage, extra),
  /** A Go duration flag; `defMs` and the value are milliseconds. */
  duration: (name: string, defMs: number, usage: string, extra?: SpecExtra<number>): FlagSpec<number> =>
    specs.of(name, durationType, defMs, usage, extra),
  stringSlice: (
    name: string,
    def: readonly string[],
    usage: string,
    extra?: SpecExtra<string[]>,
  ): FlagSpec<string[]> => specs.of(name, stringSliceType, [...def], usage, extra),
  ip: (name: string, def: string, usage: string, extra?: SpecExtra<string>): FlagSpec<string> =>
    specs.of(name, ipType, def, usage, extra),
};

/** A declared flag; read `value` after FlagSet.parse. */
export class Flag<T> {
  readonly name: string;
  readonly shorthand: string;
  readonly type: FlagType<T>;
  readonly default: T;
  readonly usage: string;
  readonly section: string;
  readonly hidden: boolean;
  value: T;
  /** True once the flag was given on the command line. */
  changed = false;

  constructor(spec: FlagSpec<T>) {
    this.name = spec.name;
    this.shorthand = spec.shorthand ?? "";
    this.type = spec.type;
    this.default = spec.default;
    this.usage = spec.usage;
    this.section = spec.section ?? "";
    this.hidden = spec.hidden ?? false;
    this.value = spec.default;
  }

  /** How pflag names the flag in "invalid argument" errors. */
  displayName(): string {
    return this.shorthand ? `-${this.shorthand}, --${this.name}` : `--${this.name}`;
  }

  set(raw: string): void {
    try {
      this.value = this.type.parse(raw, this.value, !this.changed);
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      throw new FlagError(
        `invalid argument ${goQuote(raw)} for ${goQuote(this.displayName())} flag: ${reason}`,
      );
    }
    this.changed = true;
  }
}

export interface ParseOptions {
  /** Accept positional arguments instead of failing with "unexpected argument". */
  allowPositional?: boolean;
}

// Go's %q for a single character, as pflag prints an unknown shorthand.
function quoteChar(c: string): string {
  if (c === "'") return "'\\''";
  if (c === "\\") return "'\\\\'";
  const q = goQuote(c);
  return "'" + q.slice(1, -1).replaceAll('\\"', '"') + "'";
}

export class FlagSet {
  private readonly byName = new Map<string, Flag<unknown>>();
  private readonly byShorthand = new Map<string, Flag<unknown>>();
  private readonly sectionOrder: string[] = [];

  /** Declares a flag; duplicate names or shorthands are programming errors. */
  add<T>(spec: FlagSpec<T>): Flag<T> {
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(spec.name))
      throw new Error(`invalid flag name ${goQuote(spec.name)}`);
    if (this.byName.has(spec.name)) throw new Error(`flag redefined: ${spec.name}`);
    if (spec.shorthand !== undefined) {
      if ([...spec.shorthand].length !== 1) {
        throw new Error(`${goQuote(spec.shorthand)} shorthand is more than one ASCII character`);
      }
      if (this.byShorthand.has(spec.shorthand)) {
        throw new Error(
          `unable to redefine ${goQuote(spec.shorthand)} shorthand in ${goQuote(spec.name)} flagset`,
        );
      }
    }
    const flag = new Flag(spec);
    this.byName.set(flag.name, flag as Flag<unknown>);
    if (flag.shorthand) this.byShorthand.set(flag.shorthand, flag as Flag<unknown>);
    if (!this.sectionOrder.includes(flag.section)) this.sectionOrder.push(flag.section);
    return flag;
  }

  bool(name: string, def: boolean, usage: string, extra?: SpecExtra<boolean>): Flag<boolean> {
    return this.add(specs.bool(name, def, usage, extra));
  }
  string(name: string, def: string, usage: string, extra?: SpecExtra<string>): Flag<string> {
    return this.add(specs.string(name, def, usage, extra));
  }
  int(name: string, def: number, usage: string, extra?: SpecExtra<number>): Flag<number> {
    return this.add(specs.int(name, def, usage, extra));
  }
  /** A Go duration flag; `defMs` and the parsed value are milliseconds. */
  duration(name: string, defMs: number, usage: string, extra?: SpecExtra<number>): Flag<number> {
    return this.add(specs.duration(name, defMs, usage, extra));
  }
  stringSlice(
    name: string,
    def: readonly string[],
    usage: string,
    extra?: SpecExtra<string[]>,
  ): Flag<string[]> {
    return this.add(specs.stringSlice(name, def, usage, extra));
  }
  ip(name: string, def: string, usage: string, extra?: SpecExtra<string>): Flag<string> {
    return this.add(specs.ip(name, def, usage, extra));
  }

  lookup(name: string): Flag<unknown> | undefined {
    return this.byName.get(name);
  }

  /** Every flag, sorted by name. */
  flags(): Flag<unknown>[] {
    return [...this.byName.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  /**
   * Parses argv (without the program name) into the declared flags and returns the positional
   * arguments. Throws FlagError on the first problem, like pflag with ContinueOnError.
   */
  parse(argv: readonly string[], opts: ParseOptions = {}): string[] {
    const positional: string[] = [];
    let i = 0;
    const next = (): string | undefined => (i < argv.length ? argv[i++] : undefined);
    while (i < argv.length) {
      const arg = argv[i++];
      if (arg.length < 2 || arg[0] !== "-") {
        positional.push(arg);
        continue;
      }
      if (arg === "--") {
        positional.push(...argv.slice(i));
        break;
      }
      if (arg[1] === "-") this.parseLong(arg, next);
      else this.parseShorts(arg, next);
    }
    if (!opts.allowPositional && positional.length > 0) {
      throw new FlagError(`unexpected argument ${goQuote(positional[0])}`);
    }
    return positional;
  }

  private parseLong(arg: string, next: () => string | undefined): void {
    const body = arg.slice(2);
    if (body === "" || body[0] === "-" || body[0] === "=") throw new FlagError(`bad flag syntax: ${arg}`);
    const eq = body.indexOf("=");
    const name = eq < 0 ? body : body.slice(0, eq);
    const flag = this.byName.get(name);
    if (!flag) throw new FlagError(`unknown flag: --${name}`);
    let value: string;
    if (eq >= 0) value = body.slice(eq + 1);
    else if (flag.type.noOptValue !== undefined) value = flag.type.noOptValue;
    else {
      const v = next();
      if (v === undefined) throw new FlagError(`flag needs an argument: ${arg}`);
      value = v;
    }
    flag.set(value);
  }

  // "-abc" is a run of shorthands; the first one that takes a value consumes the rest of the run
  // (or the next argument), exactly as pflag's parseSingleShortArg.
  private parseShorts(arg: string, next: () => string | undefined): void {
    let shorts = arg.slice(1);
    while (shorts.length > 0) {
      const c = shorts[0];
      const flag = this.byShorthand.get(c);
      if (!flag) throw new FlagError(`unknown shorthand flag: ${quoteChar(c)} in -${shorts}`);
      let value: string;
      let rest = shorts.slice(1);
      if (shorts.length > 2 && shorts[1] === "=") {
        value = shorts.slice(2);
        rest = "";
      } else if (flag.type.noOptValue !== undefined) {
        value = flag.type.noOptValue;
      } else if (shorts.length > 1) {
        value = shorts.slice(1);
        rest = "";
      } else {
        const v = next();
        if (v === undefined) throw new FlagError(`flag needs an argument: ${quoteChar(c)} in -${shorts}`);
        value = v;
      }
      flag.set(value);
      shorts = rest;
    }
  }

  /**
   * pflag's FlagUsages for a list of flags: names and value type, padded to a common column, then the
   * usage text and the default when it is not the type's zero value. Multi-line usage is indented.
   */
  static usages(flags: readonly Flag<unknown>[]): string {
    const rows: [string, string][] = [];
    for (const flag of flags) {
      if (flag.hidden) continue;
      let head = flag.shorthand ? `  -${flag.shorthand}, --${flag.name}` : `      --${flag.name}`;
      if (flag.type.varName) head += " " + flag.type.varName;
      let text = flag.usage;
      const def = flag.type.format(flag.default);
      if (!flag.type.isZero(def)) {
        text += flag.type === stringType ? ` (default ${goQuote(def)})` : ` (default ${def})`;
      }
      rows.push([head, text]);
    }
    const width = Math.max(0, ...rows.map(([head]) => head.length));
    const indent = " ".repeat(width + 3);
    return rows
      .map(([head, text]) => head.padEnd(width + 3) + text.replaceAll("\n", "\n" + indent) + "\n")
      .join("");
  }

  /**
   * Usage grouped like upstream's --help: one "<Section> flags:" block per section (in declaration
   * order), flags sorted by name within each.
   */
  sectionUsages(order?: readonly string[]): string {
    const sections = order
      ? [...order, ...this.sectionOrder.filter((s) => !order.includes(s))]
      : this.sectionOrder;
    let out = "";
    for (const section of sections) {
      const flags = this.flags().filter((f) => f.section === section && !f.hidden);
      if (flags.length === 0) continue;
      const title = section ? section[0].toUpperCase() + section.slice(1) + " flags:" : "Flags:";
      out += `\n${title}\n\n` + FlagSet.usages(flags);
    }
    return out;
  }
}
