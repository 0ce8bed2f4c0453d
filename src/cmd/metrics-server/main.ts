// metrics-server: the process. Parses upstream's flags (a bad flag exits 1 with pflag's message before
// anything starts), answers --help and --version, then runs the server until SIGTERM or SIGINT.
import * as log from "../../log/index.ts";
import { run } from "./config.ts";
import { type Options, parseOptions } from "./options/index.ts";

async function serve(o: Options): Promise<void> {
  const { server, close } = await run(o);
  let shuttingDown = false;
  const shutdown = async (signal: string): Promise<void> => {
    if (shuttingDown) return;
    shuttingDown = true;
    log.info("Shutting down", { signal });
    const hardStop = setTimeout(() => process.exit(0), 5000);
    hardStop.unref();
    await server.stop();
    await close();
    process.exit(0);
  };
  process.on("SIGTERM", () => void shutdown("SIGTERM"));
  process.on("SIGINT", () => void shutdown("SIGINT"));
}

function main(): void {
  let parsed: ReturnType<typeof parseOptions>;
  try {
    parsed = parseOptions(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`Error: ${(err as Error).message}\n`);
    process.exit(1);
  }
  if (parsed.kind !== "run") {
    process.stdout.write(parsed.text);
    process.exit(0);
  }
  log.setVerbosity(parsed.options.verbosity);
  for (const w of parsed.warnings) log.warning(w);
  serve(parsed.options).catch((err: unknown) => {
    process.stderr.write(`Error: ${(err as Error).message}\n`);
    process.exit(1);
  });
}

main();
