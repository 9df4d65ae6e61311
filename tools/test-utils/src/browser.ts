/**
 * A real headless Chromium for tests: Debian's `chromium` (apt), driven by playwright-core over
 * the DevTools protocol — no browser download. `.ci/run` installs chromium when it is missing;
 * elsewhere, tests that need it skip when `findChromium()` finds none (and fail in CI).
 */
import { existsSync } from "node:fs";
import type { Browser, Page } from "playwright-core";

const CANDIDATES = ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"];

/** The Chromium binary: $LLEM_CHROMIUM, else the first of the usual system paths that exists. */
export function findChromium(): string | undefined {
  const chosen = process.env.LLEM_CHROMIUM;
  if (chosen) return existsSync(chosen) ? chosen : undefined;
  return CANDIDATES.find((path) => existsSync(path));
}

/** Launches headless Chromium with the flags that work here (see reference/serving.md). */
export async function launchChromium(): Promise<Browser> {
  const executablePath = findChromium();
  if (!executablePath) {
    throw new Error("no Chromium found: apt-get install chromium (or set LLEM_CHROMIUM)");
  }
  const { chromium } = await import("playwright-core");
  return chromium.launch({
    executablePath,
    args: ["--headless=new", "--no-sandbox", "--disable-gpu"],
    timeout: 60_000,
  });
}

/** What a page did while it was open: console errors, uncaught errors, requests that left the file. */
export interface PageWatch {
  consoleErrors: string[];
  pageErrors: string[];
  /** Requests for anything but file: and data: URLs (each was aborted). */
  networkRequests: string[];
}

/**
 * Opens `url` in a new page that records console errors and page errors, and aborts (and
 * records) every request that is not for a file: or data: URL.
 */
export async function openOffline(
  browser: Browser,
  url: string,
  viewport = { width: 1280, height: 900 },
): Promise<{ page: Page; watch: PageWatch }> {
  const page = await browser.newPage({ viewport });
  const watch: PageWatch = { consoleErrors: [], pageErrors: [], networkRequests: [] };
  page.on("console", (message) => {
    if (message.type() === "error") watch.consoleErrors.push(message.text());
  });
  page.on("pageerror", (error) => {
    watch.pageErrors.push(error.message);
  });
  await page.route("**/*", async (route) => {
    const target = route.request().url();
    if (target.startsWith("file:") || target.startsWith("data:")) return route.continue();
    watch.networkRequests.push(target);
    return route.abort();
  });
  await page.goto(url, { waitUntil: "load", timeout: 60_000 });
  return { page, watch };
}
