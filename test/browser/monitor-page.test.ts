/**
 * `record --monitor` in a real headless browser (Debian's chromium, driven by playwright-core):
 * a live recording from the embedded hub, the monitor page open on it. The page shows the
 * settings of every component; a change published to the hub is on the page within 1 s, without a
 * reload; values are text, never HTML; the end of the recording shows as "stopped". A screenshot
 * goes to test-output/monitor/ (not committed).
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MonitorServer } from "../../src/app/monitor/monitor-server.js";
import { RecordSession } from "../../src/app/record/record-session.js";
import { jsonObject } from "../../src/events/json.js";
import { HubPublisher } from "../../src/producer/hub/hub-publisher.js";
import { launchChromium, testOutputDir } from "./chromium.js";

const FILTER = "pipeline/BandpassFilter";
const SPIKES = "pipeline/SpikeDetector";
const DECODER = "pipeline/Decoder";
const HOSTILE = '<img src=x onerror="window.__pwned = 1">';

// Run inside the page (serialized by playwright); declared here because the tests compile without the DOM lib.
declare const window: { __pwned?: number; __sameDocument?: boolean };
declare const document: { querySelector(selector: string): { textContent: string | null } | null };

const filter = (cutoff: number, order: bigint) => jsonObject({ low_hz: 300.0, high_hz: cutoff, order, kind: "butter", enabled: true });

let dir: string;
let monitor: MonitorServer;
let session: RecordSession;
let pub: HubPublisher;
let browser: Browser;
let page: Page;

const cellText = (component: string, setting: string): Promise<string | null> =>
  page.locator(`[data-component="${component}"] tr[data-setting="${setting}"] td.value`).textContent({ timeout: 5000 });

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "monitor-page-"));
  // As `record --monitor 0` does: the page's port first, then the recording, then watch it.
  monitor = await MonitorServer.listen({ port: 0 });
  session = await RecordSession.start({
    source: "embedded",
    hubPort: 0,
    outPath: join(dir, "rig.nwb"),
    sinks: ["annotations", "table"],
    meta: { session_description: "monitor page test" },
    overwrite: false,
    flushIntervalMs: 200,
  });
  monitor.watch(session);
  pub = await HubPublisher.connect(session.hub!.url, { session: "rig-1" });
  await pub.register(FILTER, filter(3000.0, 4n));
  await pub.register(SPIKES, jsonObject({ threshold_uv: -45.0, window: jsonObject({ pre: 10n, post: 22n }), channels: [0n, 1n, 2n, 3n] }));
  await pub.register(DECODER, jsonObject({ model: "kalman", lag_ms: 50n, note: HOSTILE }));
  browser = await launchChromium();
  page = await browser.newPage({ viewport: { width: 1280, height: 860 } });
}, 90_000);

afterAll(async () => {
  await browser?.close().catch(() => {});
  await pub?.close().catch(() => {});
  await session?.stop().catch(() => {});
  await monitor?.close().catch(() => {});
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe("the monitor page in headless Chromium", () => {
  it("loads and shows the settings of every component, values as text", async () => {
    const response = await page.goto(monitor.url);
    expect(response?.status()).toBe(200);
    expect(await cellText(FILTER, "high_hz")).toBe("3000.0");
    expect(await cellText(FILTER, "order")).toBe("4");
    expect(await cellText(SPIKES, "window.post")).toBe("22");
    expect(await cellText(SPIKES, "channels")).toBe("[0, 1, 2, 3]");
    expect(await cellText(DECODER, "note")).toBe(JSON.stringify(HOSTILE));
    // a value is text on the page, never markup
    expect(await page.locator("[data-component] img").count()).toBe(0);
    expect(await page.evaluate(() => window.__pwned)).toBeUndefined();
    await expect.poll(() => page.locator("#state").textContent(), { timeout: 5000 }).toBe("recording");
    await expect.poll(() => page.locator("#conn").textContent(), { timeout: 5000 }).toBe("live");
    expect(await page.locator("#feed li").count()).toBe(3); // the three registrations
  });

  it("shows a settings change published to the recorder within 1 s, without reloading", async () => {
    await page.evaluate(() => (window.__sameDocument = true));
    for (const [i, cutoff] of [3500.0, 4000.0].entries()) {
      await pub.update(FILTER, filter(cutoff, 4n));
      await page.waitForFunction((want) => document.querySelector('[data-setting="high_hz"] td.value')?.textContent === want, `${cutoff.toFixed(1)}`, {
        timeout: 5000,
      });
      expect(i).toBeLessThan(2);
    }
    await pub.update(SPIKES, jsonObject({ threshold_uv: -52.5, window: jsonObject({ pre: 10n, post: 22n }), channels: [0n, 1n, 2n, 3n] }));

    const started = performance.now();
    await pub.update(FILTER, filter(6000.0, 6n));
    await page.waitForFunction(
      () => {
        const row = (s: string) => document.querySelector(`[data-component="pipeline/BandpassFilter"] tr[data-setting="${s}"] td.value`)?.textContent;
        return row("high_hz") === "6000.0" && row("order") === "6";
      },
      undefined,
      { timeout: 1000, polling: "raf" },
    );
    const elapsedMs = performance.now() - started;
    console.log(`monitor page: a published change was on the page after ${elapsedMs.toFixed(0)} ms`);
    expect(elapsedMs).toBeLessThan(1000);

    // the change feed names what changed, old → new, newest first
    // biome-ignore lint/performance/useDomNodeTextContent: playwright's Locator.innerText (the text as rendered, with line breaks)
    const newest = await page.locator("#feed li").first().innerText();
    expect(newest).toContain(FILTER);
    expect(newest).toContain("high_hz: 4000.0 → 6000.0");
    expect(newest).toContain("order: 4 → 6");
    expect(newest).not.toContain("low_hz"); // unchanged settings are not listed
    expect(await page.evaluate(() => window.__sameDocument)).toBe(true); // no reload
  });

  it("shows the segments with their sizes and each change's time to durable, then the stop", async () => {
    // biome-ignore lint/performance/useDomNodeTextContent: playwright's Locator.innerText (the text as rendered, with line breaks)
    await expect.poll(() => page.locator('#segments tr[data-segment="0"]').innerText(), { timeout: 5000 }).toMatch(/^rig\.nwb\s+\d+\s+\d+(\.\d)? (B|KiB|MiB)$/);
    // the flush (every 200 ms) and the journal's fdatasync have both measured the live changes
    await expect.poll(() => page.locator('#dur-file [data-k="last"]').textContent(), { timeout: 5000 }).toMatch(/^\d+ ms$|^\d+\.\d\d s$/);
    await expect.poll(() => page.locator('#dur-journal [data-k="last"]').textContent(), { timeout: 5000 }).toMatch(/^\d+ ms$|^\d+\.\d\d s$/);
    expect(await page.locator("#feed li").count()).toBe(7); // 3 registrations + 4 updates
    // the recorder's count: those 7, and the startup sentinel when the registrations were a snapshot
    await expect.poll(async () => Number(await page.locator("#events").textContent()), { timeout: 5000 }).toBeGreaterThanOrEqual(7);
    // every live change is measured (the 4 updates at least; a registration that made it into the
    // startup snapshot carries no latency)
    for (const card of ["#dur-file", "#dur-journal"]) {
      await expect
        .poll(async () => Number(/ (\d+) changes$/.exec((await page.locator(`${card} [data-k="detail"]`).textContent()) ?? "")?.[1]), { timeout: 5000 })
        .toBeGreaterThanOrEqual(4);
    }
    await page.locator("#streams").waitFor({ state: "attached" });
    expect(await page.locator("#no-streams").isVisible()).toBe(true);

    const shot = join(testOutputDir("monitor"), "monitor-page.png");
    await page.screenshot({ path: shot, fullPage: true });
    console.log(`monitor page screenshot: ${shot}`);
    // docs/img/monitor.png is this screenshot, refreshed on request
    if (process.env["NWB_SETTINGS_UPDATE_DOCS_IMG"]) await page.screenshot({ path: join("docs", "img", "monitor.png"), fullPage: true });

    await session.stop();
    await monitor.close(); // sends the last status
    await expect.poll(() => page.locator("#state").textContent(), { timeout: 5000 }).toBe("stopped");
  });
});
