import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { FlagError, FlagSet } from "./pflag.ts";

function sampleSet() {
  const fs = new FlagSet();
  return {
    fs,
    kubeconfig: fs.string("kubeconfig", "", "kubeconfig path", { section: "Main" }),
    port: fs.int("port", 443, "port", { section: "Main" }),
    insecure: fs.bool("insecure", false, "skip verify", { section: "Main", shorthand: "k" }),
    all: fs.bool("all", false, "everything", { section: "Main", shorthand: "a" }),
    resolution: fs.duration("resolution", 60_000, "resolution", { section: "Main" }),
    selector: fs.string("selector", "", "label selector", { section: "Main", shorthand: "l" }),
    verbosity: fs.int("v", 0, "verbosity", { section: "Logging", shorthand: "v" }),
    types: fs.stringSlice("types", ["A", "B"], "types", { section: "Main" }),
    addr: fs.ip("addr", "0.0.0.0", "listen address", { section: "Main" }),
  };
}

describe("FlagSet.parse", () => {
  it("leaves defaults untouched without arguments", () => {
    const s = sampleSet();
    assert.deepEqual(s.fs.parse([]), []);
    assert.equal(s.kubeconfig.value, "");
    assert.equal(s.port.value, 443);
    assert.equal(s.resolution.value, 60_000);
    assert.deepEqual(s.types.value, ["A", "B"]);
    assert.equal(s.addr.value, "0.0.0.0");
    assert.equal(s.port.changed, false);
  });

  it("accepts --name=value and --name value", () => {
    const s = sampleSet();
    s.fs.parse(["--kubeconfig=/a=b", "--port", "10250", "--resolution", "15s"]);
    assert.equal(s.kubeconfig.value, "/a=b");
    assert.equal(s.port.value, 10250);
    assert.equal(s.resolution.value, 15_000);
    assert.equal(s.port.changed, true);
    assert.equal(s.insecure.changed, false);
  });

  it("takes the next argument as the value even when it looks like a flag", () => {
    const s = sampleSet();
    s.fs.parse(["--kubeconfig", "--port"]);
    assert.equal(s.kubeconfig.value, "--port");
    assert.equal(s.port.changed, false);
  });

  it("accepts an empty value after =", () => {
    const s = sampleSet();
    s.fs.parse(["--kubeconfig=", "--types="]);
    assert.equal(s.kubeconfig.value, "");
    assert.equal(s.kubeconfig.changed, true);
    assert.deepEqual(s.types.value, []);
  });

  it("accepts bools as --name, --name=true|false, -k, -k=false", () => {
    const s = sampleSet();
    s.fs.parse(["--insecure"]);
    assert.equal(s.insecure.value, true);
    s.fs.parse(["--insecure=false"]);
    assert.equal(s.insecure.value, false);
    s.fs.parse(["-k"]);
    assert.equal(s.insecure.value, true);
    s.fs.parse(["-k=false"]);
    assert.equal(s.insecure.value, false);
    s.fs.parse(["--insecure=T"]);
    assert.equal(s.insecure.value, true);
  });

  it("does not consume the next argument for a bare bool", () => {
    const s = sampleSet();
    assert.throws(() => s.fs.parse(["--insecure", "false"]), { message: 'unexpected argument "false"' });
  });

  it("accepts shorthands as -l value, -l=value and -lvalue", () => {
    for (const argv of [["-l", "a=b"], ["-l=a=b"], ["-la=b"]]) {
      const s = sampleSet();
      s.fs.parse(argv);
      assert.equal(s.selector.value, "a=b", argv.join(" "));
    }
  });

  it("accepts -v=4, -v 4 and -v4 and --v=4", () => {
    for (const argv of [["-v=4"], ["-v", "4"], ["-v4"], ["--v=4"], ["--v", "4"]]) {
      const s = sampleSet();
      s.fs.parse(argv);
      assert.equal(s.verbosity.value, 4, argv.join(" "));
    }
  });

  it("combines bool shorthands and lets the last one take a value", () => {
    const s = sampleSet();
    s.fs.parse(["-ak", "-kal", "x=y"]);
    assert.equal(s.all.value, true);
    assert.equal(s.insecure.value, true);
    assert.equal(s.selector.value, "x=y");
    const t = sampleSet();
    t.fs.parse(["-klfoo"]);
    assert.equal(t.insecure.value, true);
    assert.equal(t.selector.value, "foo");
  });

  it("lets the last occurrence win for scalars", () => {
    const s = sampleSet();
    s.fs.parse(["--port=1", "--port=2"]);
    assert.equal(s.port.value, 2);
  });

  it("replaces a list default on first use and appends afterwards", () => {
    const s = sampleSet();
    s.fs.parse(["--types=X,Y", "--types", "Z"]);
    assert.deepEqual(s.types.value, ["X", "Y", "Z"]);
  });

  it("splits lists as CSV, honouring quotes", () => {
    const s = sampleSet();
    s.fs.parse(['--types="a,b",c,', '--types=""""']);
    assert.deepEqual(s.types.value, ["a,b", "c", "", '"']);
    assert.throws(() => sampleSet().fs.parse(['--types=a"b']), {
      message:
        'invalid argument "a\\"b" for "--types" flag: parse error on line 1, column 2: bare " in non-quoted-field',
    });
    assert.throws(() => sampleSet().fs.parse(['--types="ab']), /extraneous or missing " in quoted-field/);
  });

  it("parses IP flags", () => {
    const s = sampleSet();
    s.fs.parse(["--addr= ::1 "]);
    assert.equal(s.addr.value, "::1");
    for (const bad of ["", "1.2.3", "localhost", "fe80::1%eth0", "01.2.3.4"]) {
      assert.throws(() => sampleSet().fs.parse([`--addr=${bad}`]), {
        message: `invalid argument ${JSON.stringify(bad)} for "--addr" flag: failed to parse IP: ${JSON.stringify(bad)}`,
      });
    }
  });

  it("stops at -- and treats the rest as positional", () => {
    const s = sampleSet();
    assert.deepEqual(s.fs.parse(["--port=1", "--", "--port=2", "x"], { allowPositional: true }), [
      "--port=2",
      "x",
    ]);
    assert.equal(s.port.value, 1);
    assert.throws(() => sampleSet().fs.parse(["--", "--port=2"]), {
      message: 'unexpected argument "--port=2"',
    });
  });

  it("rejects positional arguments unless allowed", () => {
    assert.throws(() => sampleSet().fs.parse(["--port=1", "run"]), {
      name: "FlagError",
      message: 'unexpected argument "run"',
    });
    assert.throws(() => sampleSet().fs.parse(["-"]), { message: 'unexpected argument "-"' });
    assert.deepEqual(sampleSet().fs.parse(["a", "--port=1", "-"], { allowPositional: true }), ["a", "-"]);
  });

  const errors: [string[], string][] = [
    [["--foo"], "unknown flag: --foo"],
    [["--foo=bar"], "unknown flag: --foo"],
    [["-x"], "unknown shorthand flag: 'x' in -x"],
    [["-kx"], "unknown shorthand flag: 'x' in -x"],
    [["-'"], "unknown shorthand flag: '\\'' in -'"],
    [["--kubeconfig"], "flag needs an argument: --kubeconfig"],
    [["-l"], "flag needs an argument: 'l' in -l"],
    [["-kl"], "flag needs an argument: 'l' in -l"],
    [["---x"], "bad flag syntax: ---x"],
    [["--=x"], "bad flag syntax: --=x"],
    [["--resolution=abc"], 'invalid argument "abc" for "--resolution" flag: time: invalid duration "abc"'],
    [
      ["--port", "x"],
      'invalid argument "x" for "--port" flag: strconv.ParseInt: parsing "x": invalid syntax',
    ],
    [["-v=x"], 'invalid argument "x" for "-v, --v" flag: strconv.ParseInt: parsing "x": invalid syntax'],
    [
      ["--insecure=maybe"],
      'invalid argument "maybe" for "-k, --insecure" flag: strconv.ParseBool: parsing "maybe": invalid syntax',
    ],
  ];
  for (const [argv, message] of errors) {
    it(`fails on ${argv.join(" ")}`, () => {
      assert.throws(
        () => sampleSet().fs.parse(argv),
        (err: unknown) => {
          assert.ok(err instanceof FlagError);
          assert.equal(err.message, message);
          return true;
        },
      );
    });
  }
});

describe("FlagSet declarations", () => {
  it("refuses duplicate names and shorthands", () => {
    const fs = new FlagSet();
    fs.bool("a", false, "");
    assert.throws(() => fs.string("a", "", ""), /flag redefined: a/);
    fs.bool("b", false, "", { shorthand: "b" });
    assert.throws(() => fs.bool("c", false, "", { shorthand: "b" }), /unable to redefine "b" shorthand/);
    assert.throws(() => fs.bool("d", false, "", { shorthand: "dd" }), /more than one ASCII character/);
    assert.throws(() => fs.bool("", false, ""), /invalid flag name/);
  });

  it("looks flags up by name", () => {
    const s = sampleSet();
    assert.equal(s.fs.lookup("port"), s.port);
    assert.equal(s.fs.lookup("nope"), undefined);
  });
});

describe("usage rendering", () => {
  it("aligns like pflag's FlagUsages and shows non-zero defaults", () => {
    const s = sampleSet();
    const text = FlagSet.usages(s.fs.flags());
    assert.equal(
      text,
      [
        "      --addr ip               listen address (default 0.0.0.0)",
        "  -a, --all                   everything",
        "  -k, --insecure              skip verify",
        "      --kubeconfig string     kubeconfig path",
        "      --port int              port (default 443)",
        "      --resolution duration   resolution (default 1m0s)",
        "  -l, --selector string       label selector",
        "      --types strings         types (default [A,B])",
        "  -v, --v int                 verbosity",
        "",
      ].join("\n"),
    );
  });

  it("quotes string defaults, shows true bools and indents multi-line usage", () => {
    const fs = new FlagSet();
    fs.string("dir", "a b", "where");
    fs.bool("on", true, "switch");
    fs.stringSlice("list", [], "first line\nsecond line");
    assert.equal(
      FlagSet.usages(fs.flags()),
      '      --dir string     where (default "a b")\n' +
        "      --list strings   first line\n" +
        "                       second line\n" +
        "      --on             switch (default true)\n",
    );
  });

  it("groups flags into titled sections, hides hidden flags", () => {
    const fs = new FlagSet();
    fs.bool("zeta", false, "z", { section: "metrics server" });
    fs.bool("alpha", false, "a", { section: "metrics server" });
    fs.int("v", 0, "verbosity", { section: "Logging", shorthand: "v" });
    fs.bool("secret", false, "s", { section: "Logging", hidden: true });
    const out = fs.sectionUsages(["Logging"]);
    assert.equal(
      out,
      "\nLogging flags:\n\n  -v, --v int   verbosity\n" +
        "\nMetrics server flags:\n\n      --alpha   a\n      --zeta    z\n",
    );
    const hidden = fs.lookup("secret")!;
    fs.parse(["--secret"]);
    assert.equal(hidden.value, true);
  });
});
