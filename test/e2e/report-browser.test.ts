/**
 * Opens the report of a real run in headless Chromium (Debian's package,
 * driven by playwright-core; no browser download) and checks that the
 * table, charts and images render: every <img> decoded (naturalWidth > 0),
 * SVG charts laid out, no console errors. Saves test-artifacts/report.png.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';
import { PKG_ROOT, type TestRepo } from '../helpers/repo.ts';
import { createReportWorkspace } from '../report-html/workspace.ts';

const CHROMIUM = '/usr/bin/chromium';
const hasChromium = existsSync(CHROMIUM);
if (!hasChromium) console.warn(`skipping the browser test of pipe report: ${CHROMIUM} is absent (apt-get install chromium)`);

describe('pipe report in a real browser', () => {
  let repo: TestRepo | undefined;
  afterAll(async () => repo?.dispose());

  it.skipIf(!hasChromium)(`renders table, charts and images without errors (needs ${CHROMIUM})`, async () => {
    repo = await createReportWorkspace({ failDarkTraining: true });
    await repo.pipe(['run', '--keep-going']);
    const rep = await repo.pipe(['report']);
    expect(rep.code, rep.stderr).toBe(0);

    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    });
    try {
      const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
      const problems: string[] = [];
      page.on('console', (m) => {
        if (m.type() === 'error') problems.push(`console: ${m.text()}`);
      });
      page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
      // Any request that is not the file itself or an inline data URI would mean the report is not self-contained.
      page.on('request', (r) => {
        const u = r.url();
        if (!u.startsWith('file:') && !u.startsWith('data:')) problems.push(`network request: ${u}`);
      });
      await page.goto(pathToFileURL(repo.path('report/index.html')).href, { waitUntil: 'load' });

      const info = await page.evaluate(() => {
        const imgs = [...document.images];
        const box = (sel: string) => {
          const e = document.querySelector(sel);
          const r = e?.getBoundingClientRect();
          return r ? { w: r.width, h: r.height } : null;
        };
        return {
          images: imgs.length,
          broken: imgs.filter((i) => !i.complete || i.naturalWidth === 0).map((i) => i.alt),
          resultRows: document.querySelectorAll('#table-segmentation-scores tbody tr').length,
          bestCells: document.querySelectorAll('#table-segmentation-scores td.best').length,
          curves: box('#chart-training-curves svg'),
          iou: box('#chart-segmentation-scores-iou svg'),
          curvePaths: document.querySelectorAll('#chart-training-curves svg path[aria-roledescription="line mark"]').length,
          iouBars: document.querySelectorAll('#chart-segmentation-scores-iou svg path[aria-roledescription="bar"]').length,
          neverRun: [...document.querySelectorAll('#stages td.state-never-run')].length,
        };
      });
      expect(problems).toEqual([]);
      expect(info.broken).toEqual([]);
      // 3 evaluations ran with 3 samples x 4 pictures each, the glare strip 3 x 3, plus the contact sheet.
      expect(info.images).toBeGreaterThan(10);
      expect(info.resultRows).toBe(3);
      // One evaluation per test set ran (train@dark failed): best marks compare within a test set, so none.
      expect(info.bestCells).toBe(0);
      expect(info.curves!.w).toBeGreaterThan(100);
      expect(info.curves!.h).toBeGreaterThan(100);
      expect(info.iou!.w).toBeGreaterThan(50);
      // One training stage ran (train@dark failed): one loss line and one lr line.
      expect(info.curvePaths).toBe(2);
      expect(info.iouBars).toBe(3 * 3);
      expect(info.neverRun).toBe(4);

      const dir = path.join(PKG_ROOT, 'test-artifacts');
      await mkdir(dir, { recursive: true });
      await page.screenshot({ path: path.join(dir, 'report.png'), fullPage: true });
      expect(existsSync(path.join(dir, 'report.png'))).toBe(true);
    } finally {
      await browser.close();
    }
  });
});
