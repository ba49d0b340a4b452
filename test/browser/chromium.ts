/**
 * The browser the page tests drive: Debian's `chromium` package (installed by .ci/run), never a
 * downloaded build. CHROMIUM_PATH overrides the search. No browser is a failure, not a skip.
 */
import { existsSync, mkdirSync } from "node:fs";
import { resolve } from "node:path";
import { type Browser, chromium } from "playwright-core";

export function chromiumPath(): string {
  const candidates = [process.env["CHROMIUM_PATH"], "/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/lib/chromium/chromium"];
  for (const c of candidates) if (c && existsSync(c)) return c;
  throw new Error("no Chromium found: install Debian's chromium (apt-get install -y chromium, as .ci/run does) or set CHROMIUM_PATH");
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: chromiumPath(), headless: true, timeout: 30_000 });
}

/** Where tests leave screenshots for a person to look at (not committed): test-output/ or $NWB_SETTINGS_TEST_OUTPUT. */
export function testOutputDir(sub: string): string {
  const dir = resolve(process.env["NWB_SETTINGS_TEST_OUTPUT"] ?? "test-output", sub);
  mkdirSync(dir, { recursive: true });
  return dir;
}
