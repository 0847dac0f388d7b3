// End-to-end: the official `openai` npm client's embeddings.create against the real engine
// (`tandem serve` on the demo model), not the scripted fake e2e.mjs uses.
// Usage: node embeddings_engine.mjs /path/to/tandem /path/to/model.gguf
// Exits 77 (ctest: skipped) when node_modules is absent: npm ci --prefix tests/server/node
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import assert from "node:assert/strict";

const here = dirname(fileURLToPath(import.meta.url));
if (!existsSync(join(here, "node_modules", "openai"))) {
  console.log("SKIP: openai npm package not installed (run: npm ci --prefix tests/server/node)");
  process.exit(77);
}
const { default: OpenAI } = await import("openai");

const [tandem, modelPath] = process.argv.slice(2);
if (!tandem || !modelPath) {
  console.error("usage: node embeddings_engine.mjs /path/to/tandem /path/to/model.gguf");
  process.exit(2);
}
const model = modelPath.split("/").pop().replace(/\.gguf$/, "");

function startServer() {
  return new Promise((resolve, reject) => {
    const proc = spawn(tandem, ["serve", modelPath, "--port", "0", "-t", "1"], { stdio: ["ignore", "inherit", "pipe"] });
    let err = "";
    const timer = setTimeout(() => reject(new Error("tandem serve did not start: " + err)), 60000);
    proc.stderr.on("data", (d) => {
      err += d;
      const m = err.match(/listening on (http:\/\/\S+)/);
      if (m) {
        clearTimeout(timer);
        resolve({ url: m[1], proc });
      }
    });
    proc.on("exit", (code) => reject(new Error("tandem serve exited early with " + code + ": " + err)));
  });
}

const norm = (v) => Math.sqrt(v.reduce((s, x) => s + x * x, 0));

let server;
let failed = 0;
try {
  server = await startServer();
  const client = new OpenAI({ baseURL: server.url + "/v1", apiKey: "unused", maxRetries: 0, timeout: 60000 });
  const texts = ["In the beginning God created the heaven and the earth.", "Jesus wept."];

  // The client asks for base64 by default and decodes it into floats itself.
  const r = await client.embeddings.create({ model, input: texts });
  assert.equal(r.object, "list");
  assert.equal(r.data.length, 2);
  assert.equal(r.model, model);
  for (const d of r.data) assert.ok(Math.abs(norm(d.embedding) - 1) < 1e-5, "unit length");
  assert.ok(r.usage.prompt_tokens > 4 && r.usage.total_tokens === r.usage.prompt_tokens);

  const floats = await client.embeddings.create({ model, input: texts[0], encoding_format: "float" });
  assert.deepEqual(floats.data[0].embedding.map((x) => Math.fround(x)), r.data[0].embedding);

  const cut = await client.embeddings.create({ model, input: texts[0], dimensions: 32 });
  assert.equal(cut.data[0].embedding.length, 32);
  assert.ok(Math.abs(norm(cut.data[0].embedding) - 1) < 1e-5);

  await assert.rejects(
    client.embeddings.create({ model, input: texts[0], dimensions: r.data[0].embedding.length + 1 }),
    (e) => e instanceof OpenAI.BadRequestError && e.param === "dimensions");
  console.log("ok - embeddings.create against tandem serve (" + r.data[0].embedding.length + " dims)");
} catch (e) {
  failed++;
  console.log(`not ok - ${e && e.stack ? e.stack : e}`);
}
if (server) server.proc.kill("SIGKILL");
process.exit(failed === 0 ? 0 : 1);
