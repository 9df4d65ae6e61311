import { createServer, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../servers/free-port.js";
import { closeConnections } from "./http-stream.js";
import { streamRequest } from "./stream-request.js";

/** A real HTTP server whose routes stream what each test needs (node:http, no mocks of fetch). */
const served = new WeakSet<object>();
const routes: Record<string, (response: ServerResponse) => void> = {
  "/reset-reused": (response) => {
    // A request on a connection that already served one dies before any answer, as one sent on a
    // kept-alive socket the server has just closed does; a fresh connection is answered.
    const socket = response.socket as object;
    if (served.has(socket)) return response.socket?.destroy();
    served.add(socket);
    routes["/chat"]?.(response);
  },
  "/ok": (response) => {
    sse(response);
    const chunks = ["Hel", "lo", " world"].map((text) => ({
      choices: [{ text, finish_reason: null }],
    }));
    let index = 0;
    const timer = setInterval(() => {
      const chunk = chunks[index++];
      if (chunk) return response.write(`data: ${JSON.stringify(chunk)}\n\n`);
      clearInterval(timer);
      response.write(
        `data: ${JSON.stringify({ choices: [{ text: "", finish_reason: "length" }], timings: { prompt_ms: 1.5, predicted_n: 3, note: "x" } })}\n\n`,
      );
      response.write(
        `data: ${JSON.stringify({ choices: [], usage: { prompt_tokens: 7, completion_tokens: 3 } })}\n\n`,
      );
      response.end("data: [DONE]\n\n");
    }, 5);
  },
  "/chat": (response) => {
    sse(response);
    response.write(`data: ${JSON.stringify({ choices: [{ delta: { role: "assistant" } }] })}\n\n`);
    response.write(`data: ${JSON.stringify({ choices: [{ delta: { content: "Hi" } }] })}\n\n`);
    response.write(
      `data: ${JSON.stringify({ choices: [{ delta: { reasoning_content: "hmm" } }] })}\n\n`,
    );
    response.end(
      `data: ${JSON.stringify({ choices: [{ delta: {}, finish_reason: "stop" }] })}\n\n`,
    );
  },
  "/500": (response) => {
    response.writeHead(500, { "content-type": "application/json" });
    response.end(JSON.stringify({ error: { message: "the model fell over" } }));
  },
  "/malformed": (response) => {
    sse(response);
    response.write(`data: ${JSON.stringify({ choices: [{ text: "a" }] })}\n\n`);
    response.end("data: {not json\n\n");
  },
  "/cut": (response) => {
    sse(response);
    response.write(`data: ${JSON.stringify({ choices: [{ text: "a" }] })}\n\n`);
    setTimeout(() => response.socket?.destroy(), 20);
  },
  "/ended-early": (response) => {
    sse(response);
    response.end(`data: ${JSON.stringify({ choices: [{ text: "a" }] })}\n\n`);
  },
  "/error-event": (response) => {
    sse(response);
    response.end(`data: ${JSON.stringify({ error: { message: "context too long" } })}\n\n`);
  },
  "/slow": (response) => {
    sse(response);
    response.write(`data: ${JSON.stringify({ choices: [{ text: "a" }] })}\n\n`);
  },
};

function sse(response: ServerResponse) {
  response.writeHead(200, { "content-type": "text/event-stream" });
  response.flushHeaders();
}

const server = createServer((request, response) => {
  request.resume();
  request.on("end", () => routes[request.url ?? ""]?.(response));
});
let base = "";
beforeAll(async () => {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => {
  server.closeAllConnections();
  server.close();
});

const send = (path: string, api: "completions" | "chat" = "completions", timeoutMs = 5000) =>
  streamRequest({ url: `${base}${path}`, api }, "{}", { timeoutMs });

describe("streamRequest", () => {
  it("times the first text chunk and every gap, and reads usage and timings", async () => {
    const response = await send("/ok");
    expect(response).toMatchObject({
      status: "ok",
      error: null,
      httpStatus: 200,
      textChunks: 3,
      usage: { promptTokens: 7, completionTokens: 3 },
      finishReason: "length",
      timings: { prompt_ms: 1.5, predicted_n: 3 },
    });
    expect(response.gapsMs).toHaveLength(2);
    expect(response.firstTokenAt).toBeGreaterThanOrEqual(response.sentAt);
    expect(response.endAt).toBeGreaterThanOrEqual(response.firstTokenAt ?? Number.NaN);
  });

  it("counts chat deltas with content or reasoning_content, and ends on finish_reason", async () => {
    const response = await send("/chat", "chat");
    expect(response).toMatchObject({
      status: "ok",
      textChunks: 2,
      finishReason: "stop",
      usage: null,
    });
  });

  it("turns each failure into a status with a message, never a throw", async () => {
    expect(await send("/500")).toMatchObject({
      status: "error",
      httpStatus: 500,
      error: 'HTTP 500: "{\\"error\\":{\\"message\\":\\"the model fell over\\"}}"',
    });
    expect(await send("/malformed")).toMatchObject({
      status: "error",
      textChunks: 1,
      error: 'malformed SSE event (not JSON): "{not json"',
    });
    const cut = await send("/cut");
    expect(cut.status).toBe("error");
    expect(cut.error).toMatch(/^stream cut after 1 text chunk\(s\): .*ECONNRESET/);
    expect(await send("/ended-early")).toMatchObject({
      status: "error",
      error: "stream cut: it ended without [DONE] or a finish_reason after 1 text chunk(s)",
    });
    expect(await send("/error-event")).toMatchObject({
      status: "error",
      error: 'error event from the server: "context too long"',
    });
    expect(await send("/slow", "completions", 200)).toMatchObject({
      status: "timeout",
      error: "no complete response within 0.2 s",
    });
    const port = await freePort(); // nothing listens there
    const refused = await streamRequest(
      { url: `http://127.0.0.1:${port}/v1/completions`, api: "completions" },
      "{}",
      { timeoutMs: 5000 },
    );
    expect(refused.status).toBe("error");
    expect(refused.error).toMatch(
      /^request failed after 0 text chunk\(s\): connect ECONNREFUSED 127.0.0.1:\d+$/,
    );
  });

  it("sends once more, at once, when a kept-alive connection dies before any answer", async () => {
    closeConnections(base);
    expect(await send("/reset-reused", "chat")).toMatchObject({ status: "ok", attempts: 1 });
    expect(await send("/reset-reused", "chat")).toMatchObject({
      status: "ok",
      attempts: 2,
      textChunks: 2,
    });
    // From then on a connection per request: none is sent into a closed one again (reusing
    // connections, every second request would be).
    for (let request = 0; request < 3; request++)
      expect(await send("/reset-reused", "chat")).toMatchObject({ status: "ok", attempts: 1 });
  });

  it("sends it again over a new connection: every kept-alive one may have been closed", async () => {
    closeConnections(base);
    // Two connections kept alive, each having served a request; both die when used again.
    await Promise.all([send("/reset-reused", "chat"), send("/reset-reused", "chat")]);
    expect(await send("/reset-reused", "chat")).toMatchObject({ status: "ok", attempts: 2 });
  });

  it("reports a stopped run as aborted", async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 50);
    const response = await streamRequest({ url: `${base}/slow`, api: "completions" }, "{}", {
      signal: controller.signal,
      timeoutMs: 5000,
    });
    expect(response).toMatchObject({ status: "aborted", error: "the run was stopped" });
  });
});
