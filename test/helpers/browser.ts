/**
 * Renders report files in a real headless Chromium (Debian's `chromium`, driven by
 * playwright-core; nothing is downloaded). Without the browser the tests skip with one line, except
 * in CI (CI=true), where they run and fail. Each page load counts console errors, page errors and
 * every network request (all of them are aborted: a report must need none).
 *
 *   const browser = await openBrowser();
 *   const view = await browser.open('/tmp/recon.html', { colorScheme: 'dark' });
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { BrowserContext, Page } from 'playwright-core';
import { ROOT } from './cli.js';

/** The system browser (PAY_TEST_CHROMIUM overrides). */
export const CHROMIUM = process.env.PAY_TEST_CHROMIUM ?? '/usr/bin/chromium';
/** True when the browser tests should run (present, or CI where its absence is a failure). */
export const HAS_CHROMIUM = existsSync(CHROMIUM) || process.env.CI === 'true';
if (!HAS_CHROMIUM) console.log(`[skip] report rendering tests: no Chromium at ${CHROMIUM} (apt-get install chromium)`);

/** Where screenshots go (gitignored). */
export const SHOTS = join(ROOT, 'test-output', 'reports');

const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/** A loaded report page and what happened while it loaded and was used. */
export interface ReportView {
  page: Page;
  consoleErrors: string[];
  pageErrors: string[];
  /** Every request other than the report file itself (each was aborted). */
  requests: string[];
  screenshot(name: string): Promise<string>;
}

/** A browser for a test file. */
export interface TestBrowser {
  open(file: string, options?: { colorScheme?: 'light' | 'dark'; width?: number }): Promise<ReportView>;
  close(): Promise<void>;
}

/** Launches Chromium with a fresh, empty profile. */
export async function openBrowser(): Promise<TestBrowser> {
  const { chromium } = await import('playwright-core');
  const profiles: string[] = [];
  const contexts: BrowserContext[] = [];
  return {
    async open(file, options = {}) {
      const userDataDir = mkdtempSync(join(tmpdir(), 'pay-chromium-'));
      profiles.push(userDataDir);
      const context = await chromium.launchPersistentContext(userDataDir, {
        executablePath: CHROMIUM,
        headless: true,
        args: FLAGS,
        colorScheme: options.colorScheme ?? 'light',
        viewport: { width: options.width ?? 1200, height: 900 },
        offline: true,
      });
      contexts.push(context);
      const url = pathToFileURL(file).href;
      const view: ReportView = {
        page: context.pages()[0] ?? (await context.newPage()),
        consoleErrors: [],
        pageErrors: [],
        requests: [],
        async screenshot(name) {
          mkdirSync(SHOTS, { recursive: true });
          const path = join(SHOTS, name);
          await view.page.screenshot({ path, fullPage: true });
          return path;
        },
      };
      // Every request but the report itself is counted (the request event) and aborted (the route).
      await context.route('**/*', (route) => (route.request().url() === url ? route.continue() : route.abort()));
      view.page.on('request', (r) => {
        if (r.url() !== url) view.requests.push(r.url());
      });
      view.page.on('console', (m) => {
        if (m.type() === 'error' || m.type() === 'warning') view.consoleErrors.push(m.text());
      });
      view.page.on('pageerror', (e) => view.pageErrors.push(e.message));
      await view.page.goto(url, { waitUntil: 'load' });
      return view;
    },
    async close() {
      for (const c of contexts) await c.close().catch(() => {});
      for (const p of profiles) rmSync(p, { recursive: true, force: true });
    },
  };
}
