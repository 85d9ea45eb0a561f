// The vendor console in a real browser (Debian's Chromium driven by playwright-core) against a
// local edge (wrangler dev) fed by a real collector process backfilling a simulated FlexLM log:
// sign in, see the contract's usage move after a sync, top up and see the balance change,
// download the statement CSV and check its total against the API, make an enrollment token and
// a status link. Screenshots of every page, desktop and phone, go to reports/screenshots/.
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Browser, Page } from "playwright-core";
import { edgeRequest, getBalance, provisionContract, REPO_ROOT, startLocalEdge, type LocalEdge, type ProvisionedContract } from "../support/local-edge.ts";
import { runCollector } from "../support/collector-process.ts";
import { testNow, utcDate } from "../support/test-clock.ts";
import { FlexlmSimulator } from "../../scripts/flexlm-simulator.ts";
import { groupDigits } from "../../worker/console/pages/shell.ts";

const CHROMIUM = "/usr/bin/chromium";
const SHOTS = join(REPO_ROOT, "reports/screenshots");
const VIEWPORTS = { desktop: { width: 1280, height: 900 }, phone: { width: 390, height: 844 } } as const;
const HOUR = 3600_000;

const haveBrowser = existsSync(CHROMIUM);
if (!haveBrowser && process.env.CI === "true") {
  throw new Error(`console e2e: ${CHROMIUM} is missing; run scripts/setup-browser.sh (apt-get install chromium) before the tests`);
}
if (!haveBrowser) console.warn(`console e2e: SKIPPED — ${CHROMIUM} is missing (run scripts/setup-browser.sh); under CI=true this fails instead`);

const plan = {
  model: "token", currency: "USD", unit_name: "token", period: "month", rates: { "*": "1" },
  rounding: { increment_s: 1, minimum_s: 0, grace_s: 0 },
  price: { mode: "graduated", tiers: [{ up_to: "500", unit_price: "0.40" }, { up_to: null, unit_price: "0.30" }] },
  overage: { policy: "allow" },
};

interface Balance { usage: { units: string; license_seconds: number }; remaining_units: string | null; granted_units: string; status: string }

describe.skipIf(!haveBrowser)("vendor console in Chromium", () => {
  let edge: LocalEdge;
  let contract: ProvisionedContract;
  let browser: Browser;
  let page: Page;
  let root: string;
  let log: string;
  let sim: FlexlmSimulator;
  let simulatedUntil: number;

  const collector = (args: string[]) => runCollector([...args, "--state", join(root, "site"), "--json"]);
  const balance = () => getBalance<Balance>(edge, contract.vendorKey, contract.contractId);

  /** Simulates the license server from `simulatedUntil` to `until`, then backfills and syncs. */
  async function useAndSync(until: number): Promise<void> {
    for (let t = simulatedUntil; t < until; t += 20_000) sim.step(t);
    simulatedUntil = until;
    const backfill = await collector(["backfill", "--source", "flexlm-debuglog", "--file", log, "--timezone", "UTC"]);
    expect(backfill.status, backfill.stderr).toBe(0);
    const sync = await collector(["sync"]);
    expect(sync.status, sync.stderr).toBe(0);
    // The usage history comes from D1, which the ContractDO's outbox fills about a second later.
    const syncedUnits = (await balance()).usage.units;
    for (let i = 0; i < 100; i++) {
      // Usage is kept per hour: the range starts and ends on whole hours (the contract's zone is whole-hour).
      const hour = (t: number) => new Date(Math.floor(t / 3_600_000) * 3_600_000).toISOString().slice(0, 19);
      const u = await edgeRequest<{ items: Array<{ units: string }> }>(edge, "GET",
        `/v1/contracts/${contract.contractId}/usage?from=${hour(testNow() - 40 * 86_400_000)}Z&to=${hour(testNow() + 2 * 3_600_000)}Z`, contract.vendorKey);
      if (u.items.length > 0 && (await balance()).usage.units === syncedUnits) return;
      await new Promise((ok) => setTimeout(ok, 100));
    }
  }

  async function shoot(name: string): Promise<void> {
    for (const [kind, size] of Object.entries(VIEWPORTS)) {
      await page.setViewportSize(size);
      await page.waitForTimeout(150); // let uPlot settle after the resize
      await page.screenshot({ path: join(SHOTS, `console-${name}-${kind}.png`), fullPage: true });
    }
    await page.setViewportSize(VIEWPORTS.desktop);
  }

  beforeAll(async () => {
    await mkdir(SHOTS, { recursive: true });
    root = await mkdtemp(join(tmpdir(), "tally-console-e2e-"));
    log = join(root, "lmgrd.log");
    // Six hours of simulated use ending two days ago (more is simulated during the test), in a
    // contract that starts the day that use does: this period holds all of it on any date,
    // the first hours of a month included (test/support/test-clock.ts).
    const start = Math.floor((testNow() - 2 * 24 * HOUR - 6 * HOUR) / 1000) * 1000;
    edge = await startLocalEdge();
    contract = await provisionContract(edge, { plan, start: utcDate(start), timezone: "UTC" });
    await edgeRequest(edge, "POST", `/v1/contracts/${contract.contractId}/grants`, contract.vendorKey, { amount: "2", idempotency_key: "initial" });
    const init = await collector(["init", "--server", edge.url, "--enroll", contract.enrollmentToken, "--site", "plant-7"]);
    expect(init.status, init.stderr).toBe(0);
    sim = new FlexlmSimulator({ file: log, timezone: "UTC", seed: 7, checkoutRate: 0.6 });
    sim.start(start);
    simulatedUntil = start;
    await useAndSync(start + 6 * HOUR);
    const { chromium } = await import("playwright-core");
    // playwright-core starts the browser with a fresh temporary --user-data-dir of its own.
    browser = await chromium.launch({
      executablePath: CHROMIUM, headless: true,
      args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    });
    page = await (await browser.newContext({ viewport: VIEWPORTS.desktop, acceptDownloads: true })).newPage();
    page.on("pageerror", (e) => console.error("browser page error:", e.message));
    page.on("console", (m) => { if (m.type() === "error") console.error("browser console:", m.text()); });
  });

  afterAll(async () => {
    await browser?.close();
    await edge?.stop();
    if (root) await rm(root, { recursive: true, force: true });
  });

  const usageCell = () => page.locator(`tr:has(a[href="/console/contracts/${contract.contractId}"]) td.num`);

  it("signs in with the vendor API key and lists the contract with this period's units from the API", async () => {
    await page.goto(`${edge.url}/console`);
    expect(new URL(page.url()).pathname).toBe("/console/sign-in");
    await shoot("sign-in");
    await page.getByLabel("API key").fill(contract.vendorKey);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("heading", { name: "Contracts" }).waitFor();
    const cookie = (await page.context().cookies()).find((c) => c.name === "tally_console")!;
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: "Strict", path: "/console" });
    expect(cookie.value).not.toContain(contract.vendorKey);
    const b = await balance();
    expect(BigInt(b.usage.units.replace(".", ""))).toBeGreaterThan(0n);
    expect(await usageCell().textContent()).toBe(`${groupDigits(b.usage.units)} tokens`);
    await shoot("list");
  });

  it("after another sync the list shows the contract's new usage", async () => {
    const before = (await balance()).usage.units;
    await useAndSync(simulatedUntil + 6 * HOUR);
    const after = (await balance()).usage.units;
    expect(after).not.toBe(before);
    await page.reload();
    expect(await usageCell().textContent()).toBe(`${groupDigits(after)} tokens`);
  });

  it("the contract page draws the consumption chart and shows sites, grants and the statement", async () => {
    await page.click(`a[href="/console/contracts/${contract.contractId}"]`);
    await page.getByRole("heading", { name: "Consumption over time" }).waitFor();
    expect(await page.locator("section[aria-labelledby=consumption-h]").innerText()).not.toContain("not available");
    await page.locator(".chart canvas").first().waitFor();
    expect(await page.locator("#sites-h + div table tbody tr").count()).toBe(1);
    expect(await page.locator("#sites-h + div table tbody th").textContent()).toContain("plant-7");
    const statement = await edgeRequest<{ total: string }>(edge, "GET", `/v1/contracts/${contract.contractId}/statement`, contract.vendorKey);
    expect(await page.locator("#statement-total").textContent()).toBe(groupDigits(statement.total));
    await shoot("contract");
  });

  it("the statement CSV downloads, and its total row equals the API's statement total", async () => {
    const [download] = await Promise.all([page.waitForEvent("download"), page.getByRole("link", { name: "Download CSV" }).click()]);
    const csv = await readFile((await download.path())!, "utf8");
    const rows = csv.trim().split(/\r?\n/).map((r) => r.split(","));
    const amount = rows[0]!.indexOf("amount");
    const total = rows.at(-1)!;
    const statement = await edgeRequest<{ total: string }>(edge, "GET", `/v1/contracts/${contract.contractId}/statement`, contract.vendorKey);
    expect(total[0]).toBe("total");
    expect(total[amount]).toBe(statement.total);
    expect(statement.total).not.toBe("0.00"); // usage beyond the grants is billed: the check compares real figures
    expect(download.suggestedFilename()).toMatch(/^statement-ctr_[0-9a-f]+-\d{4}-\d{2}-\d{2}\.csv$/);
  });

  it("a top-up through the form adds a grant: remaining and granted units move by its amount", async () => {
    const before = await balance();
    await page.getByLabel(/^Amount/).fill("1000");
    await page.getByRole("button", { name: "Add grant" }).click();
    await page.getByText("Grant added").waitFor();
    const after = await balance();
    expect(BigInt(after.granted_units) - BigInt(before.granted_units)).toBe(1000n);
    expect(after.remaining_units).not.toBe(before.remaining_units);
    expect(await page.locator("#fig-remaining").textContent()).toBe(groupDigits(after.remaining_units!));
  });

  it("enrolling a site shows the token once, and a status link opens the customer's page in the shared look", async () => {
    await page.getByRole("button", { name: "Create enrollment token" }).click();
    expect(await page.locator("#enrollment-token").textContent()).toMatch(/^te_test_[A-Za-z0-9_-]{43}$/);
    expect(new URL(page.url()).pathname).toBe(`/console/contracts/${contract.contractId}`);
    await page.getByLabel(/^Label/).fill("customer portal");
    await page.getByRole("button", { name: "Make status link" }).click();
    const url = await page.locator("#status-link-url").textContent();
    expect(url).toMatch(new RegExp(`^${edge.url}/status/ts_test_`));
    await page.goto(url!);
    await page.getByRole("heading", { name: "Usage status" }).waitFor();
    await shoot("status-page");
  });

  it("signing out ends the session: the console asks to sign in again", async () => {
    await page.goto(`${edge.url}/console`);
    await page.getByRole("button", { name: "Sign out" }).click();
    await page.getByRole("heading", { name: "Sign in" }).waitFor();
    await page.goto(`${edge.url}/console`);
    expect(new URL(page.url()).pathname).toBe("/console/sign-in");
  });
});
