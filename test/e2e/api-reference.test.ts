// /docs in a real browser (Debian's Chromium through playwright-core) against a local edge:
// Scalar renders the edge's OpenAPI document from the edge's own assets, lists every operation
// of the document, and no request goes to any other host — checked twice: with the page's CSP
// switched off (so Scalar's own configuration is what keeps it local, not the CSP hiding it)
// and with the CSP on (so the policy does not break the page).
import { existsSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Browser, Page } from "playwright-core";
import { edgeRequest, REPO_ROOT, startLocalEdge, type LocalEdge } from "../support/local-edge.ts";

const CHROMIUM = "/usr/bin/chromium";
const METHODS = ["get", "post", "put", "patch", "delete"];
const haveBrowser = existsSync(CHROMIUM);
if (!haveBrowser && process.env.CI === "true") throw new Error(`api reference e2e: ${CHROMIUM} is missing; run scripts/setup-browser.sh`);
if (!haveBrowser) console.warn(`api reference e2e: SKIPPED — ${CHROMIUM} is missing (run scripts/setup-browser.sh); under CI=true this fails instead`);

describe.skipIf(!haveBrowser)("GET /docs in Chromium", () => {
  let edge: LocalEdge;
  let browser: Browser;
  let operations: string[];

  beforeAll(async () => {
    edge = await startLocalEdge();
    const doc = await edgeRequest<{ paths: Record<string, Record<string, unknown>> }>(edge, "GET", "/openapi.json", undefined);
    operations = Object.entries(doc.paths).flatMap(([path, item]) => METHODS.filter((m) => item[m]).map((m) => `${m.toUpperCase()} ${path}`));
    const { chromium } = await import("playwright-core");
    browser = await chromium.launch({
      executablePath: CHROMIUM, headless: true,
      args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    });
  });

  afterAll(async () => {
    await browser?.close();
    await edge?.stop();
  });

  /** Opens /docs, waits for Scalar to render the document; returns every URL the page requested and what the console reported. */
  async function openDocs(options: { bypassCSP: boolean }): Promise<{ page: Page; requests: string[]; problems: string[] }> {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, bypassCSP: options.bypassCSP });
    const page = await context.newPage();
    const requests: string[] = [];
    const problems: string[] = [];
    page.on("request", (r) => requests.push(r.url()));
    page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
    page.on("console", (m) => { if (m.type() === "error" && !/favicon/.test(m.location().url)) problems.push(`console: ${m.text()} (${m.location().url})`); });
    await page.goto(`${edge.url}/docs`);
    await page.getByRole("heading", { name: "Tally edge API", exact: true }).waitFor({ timeout: 60_000 });
    await page.getByText("Top up: add a grant of prepaid units").first().waitFor({ timeout: 60_000 });
    return { page, requests, problems };
  }

  /** Scalar renders sections as they scroll into view: scroll to the end, collecting every `METHOD /path` shown on the way. */
  async function operationsShown(page: Page): Promise<Set<string>> {
    const shown = new Set<string>();
    for (let step = 0; step < 400; step++) {
      const text = (await page.locator("body").innerText()).replace(/\s+/g, " ");
      for (const m of text.matchAll(/\b(GET|POST|PUT|PATCH|DELETE) (\/[^\s]*)/g)) shown.add(`${m[1]} ${m[2]}`);
      // A string: the test's tsconfig has no DOM types, and this runs in the page.
      const atEnd = await page.evaluate<boolean>(`(() => {
        window.scrollBy(0, window.innerHeight * 0.8);
        return window.scrollY + window.innerHeight >= document.documentElement.scrollHeight - 2;
      })()`);
      await page.waitForTimeout(50);
      if (atEnd) break;
    }
    return shown;
  }

  it("renders the document, lists every operation and webhook event, with nothing requested from another host (CSP off)", async () => {
    const { page, requests, problems } = await openDocs({ bypassCSP: true });
    const top = await page.locator("body").innerText();
    for (const event of ["balance.low", "balance.exhausted", "period.closed"]) expect(top).toContain(event);
    const shown = await operationsShown(page);
    expect(operations.filter((op) => !shown.has(op))).toEqual([]);
    expect(operations.length).toBeGreaterThan(25);
    expect(requests.filter((url) => new URL(url).origin !== edge.url)).toEqual([]);
    expect(requests.map((url) => new URL(url).pathname)).toEqual(expect.arrayContaining(["/docs", "/console/assets/scalar-api-reference.js", "/openapi.json"]));
    expect(problems).toEqual([]);
    await mkdir(join(REPO_ROOT, "reports/screenshots"), { recursive: true });
    await page.screenshot({ path: join(REPO_ROOT, "reports/screenshots/docs.png") });
    await page.context().close();
  });

  it("renders under its own CSP, which allows no other origin", async () => {
    const res = await fetch(`${edge.url}/docs`);
    const csp = res.headers.get("content-security-policy") ?? "";
    expect(csp).toMatch(/default-src 'none'/);
    for (const directive of csp.split(";").map((d) => d.trim())) expect(directive).not.toMatch(/https?:|\*|wss?:/);
    const { page, requests, problems } = await openDocs({ bypassCSP: false });
    expect(problems).toEqual([]);
    expect(requests.filter((url) => new URL(url).origin !== edge.url)).toEqual([]);
    await page.context().close();
  });
});
