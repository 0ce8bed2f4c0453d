import assert from "node:assert/strict";
import { EventEmitter } from "node:events";
import { describe, it } from "node:test";
import { Counter, Registry } from "prom-client";
import { sendMetrics } from "./response.ts";

/** Just enough of an Http2ServerResponse for the chunked writer: every write is accepted at once. */
class RecordingResponse extends EventEmitter {
  status = 0;
  headers: Record<string, string | number> = {};
  body = "";
  writableEnded = false;
  destroyed = false;
  headersSent = false;
  onEnd = (): void => {};
  writeHead(status: number, headers: Record<string, string | number>): this {
    this.status = status;
    this.headers = headers;
    this.headersSent = true;
    return this;
  }
  setHeader(): void {}
  write(chunk: string | Buffer): boolean {
    this.body += chunk.toString();
    return true;
  }
  end(chunk?: string | Buffer): void {
    if (chunk) this.body += chunk.toString();
    this.writableEnded = true;
    this.onEnd();
  }
}

/** A registry with one family in it, as any component registers its own. */
function sampleRegistry(): Registry {
  const registry = new Registry();
  new Counter({ name: "sample_requests_total", help: "Requests.", registers: [registry] }).inc(3);
  return registry;
}

describe("sendMetrics", () => {
  it("lets the event loop run between appended chunks (a scrape does not stall other requests)", async () => {
    const registry = sampleRegistry();
    let immediateRan = false;
    const ranWhenRendered: boolean[] = [];
    // 5,000 nodes' worth of a family, rendered lazily in 10 chunks as the scraper's families are.
    function* chunks(): Generator<string> {
      yield "# HELP many_nodes_seconds Per node.\n# TYPE many_nodes_seconds gauge\n";
      for (let from = 0; from < 5000; from += 500) {
        ranWhenRendered.push(immediateRan);
        let text = "";
        for (let i = from; i < from + 500; i++) text += `many_nodes_seconds{node="node-${i}"} ${i}\n`;
        yield text;
      }
    }
    const res = new RecordingResponse();
    let ranBeforeEnd: boolean | undefined;
    res.onEnd = () => {
      ranBeforeEnd = immediateRan;
    };
    setImmediate(() => {
      immediateRan = true;
    });
    await sendMetrics(res as unknown as Parameters<typeof sendMetrics>[0], registry, chunks);
    assert.equal(res.status, 200);
    assert.equal(res.headers["content-type"], registry.contentType);
    assert.equal(ranWhenRendered.length, 10);
    assert.equal(ranWhenRendered.at(-1), true, "the callback ran before the last chunk was rendered");
    assert.equal(ranBeforeEnd, true);
    assert.equal(res.body.match(/^many_nodes_seconds\{/gm)?.length, 5000);
    assert.ok(res.body.startsWith(await registry.metrics()));
  });

  it("sends the registry alone with a length when nothing is appended", async () => {
    const registry = sampleRegistry();
    const res = new RecordingResponse();
    await sendMetrics(res as unknown as Parameters<typeof sendMetrics>[0], registry);
    assert.equal(res.body, await registry.metrics());
    assert.equal(res.headers["content-length"], Buffer.byteLength(res.body));
    assert.ok(res.writableEnded);
  });
});
