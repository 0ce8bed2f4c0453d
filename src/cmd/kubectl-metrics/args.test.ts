import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { parseCommand, UsageError } from "./args.ts";

describe("kubectl-metrics command line", () => {
  test("explain pod takes NAME with -n, or NAMESPACE/NAME; kubectl's connection flags", () => {
    assert.deepEqual(
      parseCommand(["explain", "pod", "-n", "prod", "web-1", "--context", "c", "-o", "json"]),
      {
        kind: "explain-pod",
        name: "web-1",
        output: "json",
        conn: { namespace: "prod", context: "c", requestTimeoutMs: 30_000 },
      },
    );
    assert.deepEqual(
      parseCommand(["explain", "po", "prod/web-1", "--request-timeout=1m", "--kubeconfig=/k"]),
      {
        kind: "explain-pod",
        namespace: "prod",
        name: "web-1",
        output: "text",
        conn: { kubeconfig: "/k", requestTimeoutMs: 60_000 },
      },
    );
    assert.deepEqual(parseCommand(["explain", "node", "n1", "--request-timeout", "0"]), {
      kind: "explain-node",
      name: "n1",
      output: "text",
      conn: { requestTimeoutMs: 0 },
    });
    assert.equal(parseCommand(["status", "--request-timeout", "5"]).kind, "status");
    assert.equal(parseCommand(["--help"]).kind, "help");
  });

  test("a bad flag or command is a usage error that says what is wrong", () => {
    const cases: [string[], RegExp][] = [
      [["status", "--bogus"], /bogus/],
      [[], /no command/],
      [["describe", "pod", "x"], /unknown command "describe"/],
      [["explain", "pod"], /needs what and a name/],
      [["explain", "deployment", "x"], /cannot explain "deployment"/],
      [["explain", "pod", "a/b/c"], /invalid pod/],
      [["explain", "pod", "a/b", "-n", "c"], /-n says c/],
      [["status", "-o", "yaml"], /invalid --output "yaml"/],
      [["status", "--request-timeout", "soon"], /invalid --request-timeout/],
      [["status", "extra"], /takes no arguments/],
    ];
    for (const [argv, message] of cases)
      assert.throws(
        () => parseCommand(argv),
        (err: unknown) => err instanceof UsageError && message.test(err.message),
        argv.join(" "),
      );
  });
});
