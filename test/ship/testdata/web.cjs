// The runtime tests' container: a tiny HTTP server that reports what it sees from inside (its user,
// whether a path is writable, a file's content) and answers probes. Listens on --bind-address and
// PORT.
const http = require("node:http");
const fs = require("node:fs");

const bind = (process.argv.find((a) => a.startsWith("--bind-address=")) ?? "--bind-address=0.0.0.0").slice(15);
const port = Number(process.env.PORT ?? 8080);

http
  .createServer((req, res) => {
    const url = new URL(req.url, "http://x");
    const reply = (code, body) => {
      res.writeHead(code, { "content-type": "application/json" });
      res.end(JSON.stringify(body));
    };
    if (url.pathname === "/healthz") return reply(200, { ok: true });
    if (url.pathname === "/info") {
      return reply(200, { uid: process.getuid(), gid: process.getgid(), argv: process.argv.slice(2), env: process.env, cwd: process.cwd() });
    }
    if (url.pathname === "/write") {
      try {
        fs.writeFileSync(url.searchParams.get("path"), "x");
        return reply(200, { written: true });
      } catch (err) {
        return reply(200, { written: false, error: err.code });
      }
    }
    if (url.pathname === "/read") {
      try {
        return reply(200, { content: fs.readFileSync(url.searchParams.get("path"), "utf8") });
      } catch (err) {
        return reply(200, { error: err.code });
      }
    }
    reply(404, { error: "not found" });
  })
  .listen(port, bind, () => console.log(`web listening on ${bind}:${port}`));
process.on("SIGTERM", () => process.exit(0));
