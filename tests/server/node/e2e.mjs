// End-to-end: the official `openai` npm client against tandem_server_demo (the HTTP server over
// the scripted FakeBackend). Usage: node e2e.mjs /path/to/tandem_server_demo
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

const demo = process.argv[2];
if (!demo) {
  console.error("usage: node e2e.mjs /path/to/tandem_server_demo");
  process.exit(2);
}

// Starts the demo on a free port; resolves to { url, proc } once it prints its address.
function startServer(extraArgs = []) {
  return new Promise((resolve, reject) => {
    const proc = spawn(demo, ["--port", "0", ...extraArgs], { stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    const timer = setTimeout(() => reject(new Error("server did not start: " + out)), 10000);
    proc.stdout.on("data", (d) => {
      out += d;
      const m = out.match(/listening on (http:\/\/\S+)/);
      if (m) {
        clearTimeout(timer);
        resolve({ url: m[1], proc });
      }
    });
    proc.on("exit", (code) => reject(new Error("server exited early with " + code)));
  });
}

function stopServer(proc) {
  return new Promise((resolve) => {
    proc.removeAllListeners("exit");
    proc.on("exit", (code, signal) => resolve({ code, signal }));
    proc.kill("SIGTERM");  // graceful drain, then exit 0
  });
}

const tests = [];
const test = (name, fn) => tests.push({ name, fn });

const user = (content) => [{ role: "user", content }];
let client;
let server;

test("models list and retrieve", async () => {
  const list = await client.models.list();
  const ids = list.data.map((m) => m.id);
  assert.ok(ids.includes("tandem-fake"));
  const card = await client.models.retrieve("tandem-fake");
  assert.equal(card.id, "tandem-fake");
  assert.equal(card.object, "model");
});

test("chat completion", async () => {
  const r = await client.chat.completions.create({ model: "tandem-fake", messages: user("hi there") });
  assert.equal(r.object, "chat.completion");
  assert.equal(r.choices[0].message.content, "Hello, world!");
  assert.equal(r.choices[0].finish_reason, "stop");
  assert.equal(r.usage.total_tokens, r.usage.prompt_tokens + r.usage.completion_tokens);
  assert.equal(r.usage.completion_tokens, 4);
});

test("chat completion stream with usage", async () => {
  const stream = await client.chat.completions.create({
    model: "tandem-fake", messages: user("hi"), stream: true, stream_options: { include_usage: true },
  });
  let text = "";
  let finish = null;
  let usage = null;
  for await (const chunk of stream) {
    if (chunk.usage) usage = chunk.usage;
    for (const c of chunk.choices) {
      text += c.delta.content ?? "";
      finish = c.finish_reason ?? finish;
    }
  }
  assert.equal(text, "Hello, world!");
  assert.equal(finish, "stop");
  assert.equal(usage.completion_tokens, 4);
});

test("tool call stream via the client's helper", async () => {
  const runner = client.chat.completions.stream({
    model: "tandem-fake", messages: user("weather [tool]"),
    tools: [{ type: "function", function: { name: "get_weather", parameters: { type: "object" } } }],
  });
  const final = await runner.finalChatCompletion();
  const call = final.choices[0].message.tool_calls[0];
  assert.equal(call.function.name, "get_weather");
  assert.deepEqual(JSON.parse(call.function.arguments), { city: "Paris" });
  assert.equal(final.choices[0].finish_reason, "tool_calls");
});

test("legacy completions", async () => {
  const r = await client.completions.create({ model: "tandem-fake", prompt: "say", max_tokens: 2 });
  assert.equal(r.object, "text_completion");
  assert.equal(r.choices[0].text, "Hello,");
  assert.equal(r.choices[0].finish_reason, "length");
});

test("embeddings (client asks for base64 and decodes it)", async () => {
  const r = await client.embeddings.create({ model: "tandem-fake", input: ["a b", "c"] });
  assert.equal(r.data.length, 2);
  assert.equal(r.data[0].embedding.length, 8);
  assert.ok(r.data[0].embedding.every((x) => Number.isFinite(x) && Math.abs(x) <= 1));
  const floats = await client.embeddings.create({ model: "tandem-fake", input: "a b", encoding_format: "float" });
  assert.deepEqual(floats.data[0].embedding.map((x) => Math.fround(x)), r.data[0].embedding);
});

test("errors map to the client's typed errors", async () => {
  await assert.rejects(
    client.chat.completions.create({ model: "no-such-model", messages: user("x") }),
    (e) => e instanceof OpenAI.NotFoundError && e.code === "model_not_found");
  await assert.rejects(
    client.chat.completions.create({ model: "tandem-fake", messages: user("x"), temperature: 5 }),
    (e) => e instanceof OpenAI.BadRequestError && e.param === "temperature");
});

test("a stream that fails midway raises", async () => {
  const stream = await client.chat.completions.create({ model: "tandem-fake", messages: user("[fail]"), stream: true });
  await assert.rejects(async () => {
    for await (const _ of stream) { /* consume */ }
  }, /out of cheese/);
});

test("aborting a stream does not hang the server", async () => {
  const controller = new AbortController();
  const stream = await client.chat.completions.create(
    { model: "tandem-fake", messages: user("[forever]"), stream: true }, { signal: controller.signal });
  let n = 0;
  try {
    for await (const _ of stream) {
      if (++n === 5) controller.abort();
    }
  } catch (e) {
    assert.ok(e instanceof OpenAI.APIUserAbortError, String(e));
  }
  assert.ok(n >= 5);
  // The server noticed the disconnect and cancelled the endless generation.
  let inFlight = -1;
  for (let i = 0; i < 100 && inFlight !== 0; i++) {
    const text = await (await fetch(server.url + "/metrics")).text();
    inFlight = Number(text.match(/^tandem_generations_in_flight (\d+)/m)[1]);
    if (inFlight !== 0) await new Promise((r) => setTimeout(r, 20));
  }
  assert.equal(inFlight, 0);
  const r = await client.chat.completions.create({ model: "tandem-fake", messages: user("hi") });
  assert.equal(r.choices[0].message.content, "Hello, world!");
});

test("api key is enforced when configured", async () => {
  const keyed = await startServer(["--api-key", "sk-right"]);
  try {
    const wrong = new OpenAI({ baseURL: keyed.url + "/v1", apiKey: "sk-wrong", maxRetries: 0 });
    await assert.rejects(wrong.models.list(), (e) => e instanceof OpenAI.AuthenticationError);
    const right = new OpenAI({ baseURL: keyed.url + "/v1", apiKey: "sk-right", maxRetries: 0 });
    assert.ok((await right.models.list()).data.length > 0);
  } finally {
    await stopServer(keyed.proc);
  }
});

let passed = 0;
let failed = 0;
try {
  server = await startServer();
  client = new OpenAI({ baseURL: server.url + "/v1", apiKey: "unused", maxRetries: 0, timeout: 20000 });
  for (const { name, fn } of tests) {
    try {
      await fn();
      passed++;
      console.log(`ok - ${name}`);
    } catch (e) {
      failed++;
      console.log(`not ok - ${name}\n  ${e && e.stack ? e.stack : e}`);
    }
  }
  const { code } = await stopServer(server.proc);
  if (code !== 0) {
    failed++;
    console.log(`not ok - server exit code after SIGTERM was ${code}`);
  }
} catch (e) {
  failed++;
  console.log(`not ok - setup: ${e && e.stack ? e.stack : e}`);
  if (server) server.proc.kill("SIGKILL");
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
