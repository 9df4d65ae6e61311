/**
 * One worker process of `llem run --workers N` (dist/study-worker.js, forked by
 * scale/multi-worker.ts): it receives its options over IPC, runs scale/worker-loop.ts and sends
 * back every event and its outcome. The parent decides about interrupts: a terminal's Ctrl-C
 * reaches the whole process group, so SIGINT is ignored here and the parent says `stop` (then
 * `kill`) instead; SIGTERM or a parent that goes away stop the worker cleanly.
 */
import { serveWorkerProcess } from "./scale/worker-process.js";

serveWorkerProcess();
