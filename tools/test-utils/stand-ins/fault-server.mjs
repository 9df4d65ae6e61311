#!/usr/bin/env node
// A llama-server that misbehaves on purpose, for the fault tests: used as `llama-server.binary`,
// it takes llama-server's argv plus `--llem-fault KIND [--llem-fault-after N] [--llem-fault-once
// FILE]`, starts a real llama-server (LLEM_STANDIN_LLAMA_SERVER) on a port of its own, and serves
// the port llem gave it as a proxy of that real server — until the fault:
//
//   never-ready   /health answers 503 forever (no llama-server is started)
//   exit-at-start prints an error and exits 1 before listening
//   port-taken    another process takes the port first; this one fails to bind and exits 1
//   crash         request N+1 gets a few chunks, then this process exits (its llama-server too)
//   http-500      request N+1 is answered 500
//   malformed     request N+1 gets a few chunks, then an event that is not JSON
//   cut           request N+1 gets a few chunks, then its connection is destroyed
//
// N is --llem-fault-after (default 0; warmup requests count). With --llem-fault-once FILE the
// fault happens only when FILE does not exist yet (it is created): a retry then works.
import { spawn } from "node:child_process";
import { existsSync, writeFileSync } from "node:fs";
import { createServer, request as httpRequest } from "node:http";
import { createServer as createTcpServer } from "node:net";

const argv = process.argv.slice(2);
const take = (flag) => {
  const index = argv.indexOf(flag);
  if (index === -1) return undefined;
  const [, value] = argv.splice(index, 2);
  return value;
};
const flagValue = (flag) => argv[argv.indexOf(flag) + 1];
let fault = take("--llem-fault") ?? "none";
const after = Number(take("--llem-fault-after") ?? 0);
const once = take("--llem-fault-once");
if (once) {
  if (existsSync(once)) fault = "none";
  else writeFileSync(once, "faulted\n");
}
const host = flagValue("--host");
const port = Number(flagValue("--port"));
const log = (line) => process.stderr.write(`fault-server: ${line}\n`);
log(`fault ${fault} after ${after} request(s), listening on ${host}:${port}`);

if (fault === "exit-at-start") {
  log("error: the model could not be loaded (injected fault)");
  process.exit(1);
}

if (fault === "port-taken") {
  // Someone else binds the port first (a process of its own, which lets go after 20 s).
  const holder = spawn(
    process.execPath,
    [
      "-e",
      `require("net").createServer().listen(${port}, ${JSON.stringify(host)}, () => console.log("held")); setTimeout(() => process.exit(0), 20000)`,
    ],
    { detached: true, stdio: ["ignore", "pipe", "ignore"] },
  );
  holder.unref();
  await new Promise((resolve) => holder.stdout.once("data", resolve));
  const probe = createTcpServer();
  probe.once("error", (error) => {
    log(`error: couldn't bind HTTP server socket, hostname: ${host}, port: ${port}: ${error.code}`);
    process.exit(1);
  });
  probe.listen(port, host, () => {
    log("unexpectedly bound the taken port");
    process.exit(1);
  });
} else {
  await serve();
}

async function serve() {
  let upstreamPort = 0;
  let child;
  if (fault !== "never-ready") {
    upstreamPort = await new Promise((resolve) => {
      const probe = createTcpServer().listen(0, "127.0.0.1", () => {
        const { port: free } = probe.address();
        probe.close(() => resolve(free));
      });
    });
    const upstreamArgs = [...argv];
    upstreamArgs[upstreamArgs.indexOf("--port") + 1] = String(upstreamPort);
    upstreamArgs[upstreamArgs.indexOf("--host") + 1] = "127.0.0.1";
    child = spawn(process.env.LLEM_STANDIN_LLAMA_SERVER, upstreamArgs, {
      stdio: ["ignore", "inherit", "inherit"],
    });
    child.once("exit", (code, signal) => {
      log(`llama-server exited (${signal ?? code})`);
      process.exit(1);
    });
    process.once("exit", () => child.kill("SIGKILL"));
    process.once("SIGTERM", () => {
      child.kill("SIGTERM");
      process.exit(0);
    });
  }
  let requests = 0;
  const server = createServer((incoming, outgoing) => {
    if (fault === "never-ready" || upstreamPort === 0) {
      outgoing.writeHead(503, { "content-type": "application/json" });
      outgoing.end('{"error":{"message":"Loading model"}}');
      return;
    }
    const isRequest = incoming.method === "POST" && incoming.url?.startsWith("/v1/");
    const number = isRequest ? ++requests : 0;
    const faulty = isRequest && number === after + 1 ? fault : "none";
    if (faulty === "http-500") {
      log(`request ${number}: answering 500 (injected fault)`);
      incoming.resume();
      outgoing.writeHead(500, { "content-type": "application/json" });
      outgoing.end('{"error":{"code":500,"message":"injected fault","type":"server_error"}}');
      return;
    }
    const parts = [];
    incoming.on("data", (part) => parts.push(part));
    incoming.on("end", () => forward(Buffer.concat(parts), 1));
    // llama-server now and then resets a fresh connection from this proxy before answering (not
    // seen from llem's own client): send again, so only the injected fault fails a request.
    const forward = (body, attempt) => {
      const upstream = httpRequest(
        {
          host: "127.0.0.1",
          port: upstreamPort,
          method: incoming.method,
          path: incoming.url,
          headers: {
            ...(incoming.headers["content-type"]
              ? { "content-type": incoming.headers["content-type"] }
              : {}),
            "content-length": body.length,
            connection: "close",
          },
          agent: false,
        },
        (response) => relay(response),
      );
      upstream.on("error", (error) => {
        if (error.code === "ECONNRESET" && attempt < 5) return forward(body, attempt + 1);
        log(
          `request ${number}: upstream ${incoming.method} ${incoming.url} failed: ${error.code ?? ""} ${error.message}`,
        );
        outgoing.writeHead(502);
        outgoing.end(String(error));
      });
      upstream.end(body);
    };
    const relay = (response) => {
      outgoing.writeHead(response.statusCode ?? 502, response.headers);
      let chunks = 0;
      response.on("data", (data) => {
        chunks++;
        if (faulty !== "none" && chunks === 3) {
          if (faulty === "crash") {
            log(`request ${number}: crashing mid-stream (injected fault)`);
            process.exit(3);
          }
          if (faulty === "malformed") {
            log(`request ${number}: sending a malformed event (injected fault)`);
            outgoing.write("data: {this is not json\n\n");
            return;
          }
          if (faulty === "cut") {
            // What was written goes out first: the client has the headers and some events.
            log(`request ${number}: cutting the stream (injected fault)`);
            outgoing.write(data);
            response.pause();
            setTimeout(() => outgoing.socket?.destroy(), 100);
            return;
          }
        }
        outgoing.write(data);
      });
      response.on("end", () => outgoing.end());
    };
  });
  server.listen(port, host);
}
