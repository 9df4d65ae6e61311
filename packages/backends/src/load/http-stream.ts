import { Agent, type IncomingMessage, request } from "node:http";

/**
 * Keep-alive connections per server, one agent each: the load generator reuses connections as
 * vLLM's and AIPerf's clients do, so a request pays no TCP handshake. Measured on the project's
 * 2-core machine, Node's `http` module costs ~2.5× less CPU per streamed request than `fetch`
 * (bench/RESULTS.md, client), which is what lets one client drive hundreds of requests a second.
 */
const agents = new Map<string, Agent>();

function agentFor(origin: string): Agent {
  let agent = agents.get(origin);
  if (!agent) {
    agent = new Agent({
      keepAlive: true,
      maxSockets: Number.POSITIVE_INFINITY,
      scheduling: "lifo",
    });
    agents.set(origin, agent);
  }
  return agent;
}

/**
 * Servers that closed a kept-alive connection under a request: from then on every request to
 * them opens a connection of its own. llama-server advertises `Keep-Alive: timeout=5, max=100`
 * but closes the connection after each streamed response, so reusing one sends every other
 * request into a closed socket and then again (bench/RESULTS.md, servers); a new connection on
 * the same host costs a TCP handshake, the resend a failed attempt.
 */
const closesKeptAlive = new Set<string>();

/** Remembers that this server closes kept-alive connections (see closesKeptAlive). */
export function noteClosedKeptAlive(url: URL): void {
  // The agent stays (closeConnections ends it): requests still streaming over its sockets go on.
  closesKeptAlive.add(url.origin);
}

/** Closes the kept-alive connections to a server (its engine is done with it), and forgets it. */
export function closeConnections(url: string): void {
  const origin = new URL(url).origin;
  agents.get(origin)?.destroy();
  agents.delete(origin);
  closesKeptAlive.delete(origin);
}

export interface OpenedStream {
  response: IncomingMessage;
  /** True when the connection had served an earlier request (kept alive). */
  reusedSocket: boolean;
}

/**
 * POSTs `body` (over a kept-alive connection, or a new one when `fresh`) and resolves with the response as soon as its headers arrive (the body is read by
 * the caller). Rejects like any socket error; `reusedSocket` on the error tells a kept-alive
 * connection the server had already closed from a fresh one that failed.
 */
export function openStream(
  url: URL,
  headers: Record<string, string>,
  body: string,
  signal: AbortSignal,
  { fresh = false }: { fresh?: boolean } = {},
): Promise<OpenedStream> {
  return new Promise((resolve, reject) => {
    const outgoing = request(
      url,
      {
        method: "POST",
        // fresh: a connection of its own, closed after this request (a resend after a stale one,
        // and every request to a server that closes kept-alive connections).
        agent: fresh || closesKeptAlive.has(url.origin) ? false : agentFor(url.origin),
        headers: { ...headers, "content-length": Buffer.byteLength(body) },
        signal,
      },
      (response) => resolve({ response, reusedSocket: outgoing.reusedSocket }),
    );
    outgoing.once("error", (error) => {
      Object.assign(error, { reusedSocket: outgoing.reusedSocket });
      reject(error);
    });
    outgoing.end(body);
  });
}
