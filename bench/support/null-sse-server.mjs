// A null OpenAI-compatible streaming server for the client benchmark (bench/client.mjs): every
// POST /v1/completions is answered at once with CHUNKS text events, each its own write on its own
// turn of the event loop (as a real server emits tokens), then the usage event and [DONE]. No
// model, so what is measured is llem's client. Runs in a process of its own; prints its port.
//
//   node bench/support/null-sse-server.mjs [chunks=64]
import { createServer } from "node:http";
import { setImmediate as tick } from "node:timers/promises";

const chunks = Number(process.argv[2] ?? 64);
const event = (chunk) => `data: ${JSON.stringify(chunk)}\n\n`;
const text = event({
  id: "x",
  object: "text_completion",
  choices: [{ index: 0, text: "tok", finish_reason: null }],
});
const last = event({
  id: "x",
  object: "text_completion",
  choices: [{ index: 0, text: "", finish_reason: "length" }],
  usage: { prompt_tokens: 8, completion_tokens: chunks, total_tokens: 8 + chunks },
});

const server = createServer(async (request, response) => {
  for await (const _ of request) {
    // drain the body
  }
  if (request.url === "/health") return response.end('{"status":"ok"}');
  response.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
  for (let index = 0; index < chunks; index++) {
    response.write(text);
    if (process.env.NULL_SSE_TICK === "1") await tick();
  }
  response.write(last);
  response.end("data: [DONE]\n\n");
});
server.keepAliveTimeout = 60_000;
server.listen(0, "127.0.0.1", () => {
  process.stdout.write(`${server.address().port}\n`);
});
process.on("SIGTERM", () => process.exit(0));
