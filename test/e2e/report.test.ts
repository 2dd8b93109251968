/**
 * `pipe report` end to end: a real workspace of cmd stages laid out like the
 * built-in ones and declaring their report views, run with the real CLI, then
 * the HTML checked for the declared table (best cells marked per test set,
 * absent classes), charts, image strips, pipeline and params; and the report
 * of a partly failed run.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { jsonEvents, type TestRepo } from '../helpers/repo.ts';
import type { Failure } from '../../src/failure.ts';
import type { RunSummary } from '../../src/events.ts';
import { writeLastRun } from '../../src/report-html/last-run.ts';
import { MIOU, createReportWorkspace } from '../report-html/workspace.ts';

/** Text of the table row whose cells start with these values. */
function rowOf(html: string, cells: string[]): string | undefined {
  const rows = html.match(/<tr[^>]*>.*?<\/tr>/gs) ?? [];
  const start = cells.map((c) => `<td>${c}</td>`).join('');
  return rows.find((r) => r.replace(/<tr[^>]*>/, '').startsWith(start));
}

describe('pipe report', () => {
  let repo: TestRepo;
  let html: string;
  beforeAll(async () => {
    repo = await createReportWorkspace();
    const run = await repo.pipe(['run']);
    expect(run.code, run.stderr).toBe(0);
    const rep = await repo.pipe(['report']);
    expect(rep.code, rep.stderr).toBe(0);
    expect(rep.stdout).toContain('report/index.html');
    html = await readFile(repo.path('report/index.html'), 'utf8');
  });
  afterAll(async () => repo?.dispose());

  it('writes the declared table: rows named by sets, best marked per test set, absent classes said so', () => {
    const deglared = rowOf(html, ['dark', 'none', 'dark', 'deglared']);
    expect(deglared).toBeDefined();
    expect(deglared).toContain(`<td class="num best">${(MIOU['dark-dark-deglared']! * 100).toFixed(1)}%</td>`);
    // Valve 95.0% is best on this test set; pipe 28.1% is not (bright→dark-deglared has 38.0%).
    expect(deglared).toContain('<td class="num best">95.0%</td><td class="num">28.1%</td>');
    const brightBright = rowOf(html, ['bright', 'none', 'bright', 'none'])!;
    expect(brightBright).toContain('<td class="num best">89.4%</td>');
    // The only valve score on the bright test set (the other model's set has no valve): not "best" of anything.
    expect(brightBright).toContain('<td class="num">91.0%</td>');
    // dark→dark is best on its test set although bright→bright scores higher on another.
    expect(rowOf(html, ['dark', 'none', 'dark', 'none'])).toContain('<td class="num best">63.8%</td>');
    expect(rowOf(html, ['bright', 'none', 'dark', 'none'])).toContain('<td class="num">54.9%</td>');
    // A class absent from the test set is "absent", not 0%.
    const noValve = rowOf(html, ['dark', 'none', 'bright', 'none'])!;
    expect(noValve).toContain('<td class="num absent">absent</td>');
    expect(noValve).not.toContain('>0.0%<');
    expect(html).toContain('<th>IoU valve</th>');
    expect(html).toContain('absent&quot;: the set has none of it');
  });

  it('inlines SVG charts of the declared curves and of the charted table column', () => {
    expect(html).toMatch(/id="chart-training-curves"><svg/);
    expect(html).toMatch(/id="chart-segmentation-scores-iou"><svg/);
    expect(html).toContain('learning rate');
  });

  it('shows the declared image strips: pictures paired by name, captions from the stage', () => {
    const preds = html.slice(html.indexOf('<h3>Predictions: evaluate-deglared@dark-dark-deglared</h3>'));
    const strip = preds.slice(0, preds.indexOf('</table>'));
    expect(strip).toContain('<th>image</th><th>ground truth</th><th>prediction</th><th>errors</th>');
    const firstRow = strip.match(/<tbody><tr>.*?<\/tr>/s)![0];
    expect(firstRow.match(/<img src="data:image\/png;base64,/g)).toHaveLength(4);
    expect(firstRow).toMatch(/% wrong/);
    const glare = html.slice(html.indexOf('<h3>Glare removal: deglare</h3>'));
    const glareRow = glare.match(/<tbody><tr>.*?<\/tr>/s)![0];
    expect(glareRow.match(/<img src="data:image\/png;base64,/g)).toHaveLength(3);
  });

  it('lists every stage with its state, duration and params, and the data set previews', () => {
    expect(html).toContain('All 11 stage(s) are up to date.');
    expect(html).toMatch(/<tr id="stage-train@dark">.*?up to date/s);
    expect(html).toContain('<code>images</code></td><td>work/deglared/dark/images</td>');
    expect(html).toContain('alt="Rendered data set of synth"');
    expect(html).toMatch(/UIQM enhanced<\/td><td class="num">2\.5</);
    expect(html).toContain('<td>mean glare share</td><td class="num">4.2%</td>');
    expect(html).toMatch(/Class balance: convert.*?<svg/s);
  });

  it('is self-contained: no external URLs, scripts or links', () => {
    expect(html).not.toMatch(/<script/i);
    expect(html).not.toMatch(/(src|href)="(https?:)?\/\//i);
    expect(html).not.toMatch(/<link/i);
  });
});

describe('pipe report after a partly failed run', () => {
  let repo: TestRepo;
  afterAll(async () => repo?.dispose());

  it('still renders, showing which stages did not run and why', async () => {
    repo = await createReportWorkspace({ failDarkTraining: true });
    const run = await repo.pipe(['run', '--keep-going']);
    expect(run.code).toBe(1);
    const rep = await repo.pipe(['report']);
    expect(rep.code, rep.stderr).toBe(0);
    expect(rep.stdout).toContain('4 stage(s) not up to date');
    const html = await readFile(repo.path('report/index.html'), 'utf8');
    expect(html).toMatch(/4 of 11 stage\(s\) are not up to date/);
    for (const s of ['train@dark', 'evaluate@dark-dark', 'evaluate@dark-bright', 'evaluate-deglared@dark-dark-deglared']) {
      expect(html).toMatch(new RegExp(`<tr id="stage-${s}">.*?never run.*?</tr>`, 's'));
    }
    expect(html).toMatch(/<tr id="stage-train@bright">.*?up to date/s);
    // Evaluations that ran are in the table; the ones that did not run are not.
    expect(rowOf(html, ['bright', 'none', 'dark', 'none'])).toBeDefined();
    expect(rowOf(html, ['dark', 'none', 'dark', 'none'])).toBeUndefined();
    expect(html).toMatch(/Predictions: evaluate@dark-dark<\/h3><p class="note">no pictures in results\/dark-dark\/errors/);
    expect(existsSync(repo.path('report/index.html'))).toBe(true);
    // `pipe run` recorded its failures: the report says what failed and why.
    expect(html).toContain('What failed in the last run');
    expect(html).toContain('loss is NaN at step 3');
  });

  it('shows the failure message and stderr tail when the last run recorded them', async () => {
    // What the run command would record: the failures of its run-finished event.
    const run = await repo.pipe(['run', '--keep-going', '--json']);
    const end = jsonEvents(run.stdout).find((e) => e.type === 'run-finished')!;
    const failures = end.failures as Failure[];
    expect(failures.map((f) => f.stage)).toContain('train@dark');
    // An old failure of a stage that is up to date now must not be shown.
    failures.push({ kind: 'exit-non-zero', message: 'stale failure of synth', stage: 'synth' });
    await writeLastRun(repo.path('.pipe'), { finishedAt: '2026-01-02T03:04:05.000Z', summary: end.summary as RunSummary, failures });
    const rep = await repo.pipe(['report']);
    expect(rep.code, rep.stderr).toBe(0);
    const html = await readFile(repo.path('report/index.html'), 'utf8');
    expect(html).toContain('What failed in the last run (2026-01-02T03:04:05.000Z)');
    expect(html).toMatch(/<code>train@dark<\/code>: command exited with code 3/);
    expect(html).toContain('loss is NaN at step 3');
    expect(html).not.toContain('stale failure of synth');
  });

  it('renders before anything has run', async () => {
    const fresh = await createReportWorkspace();
    try {
      const rep = await fresh.pipe(['report']);
      expect(rep.code, rep.stderr).toBe(0);
      const html = await readFile(fresh.path('report/index.html'), 'utf8');
      expect(html).toContain('No rows yet');
      expect(html).toContain('train@bright: no models/bright/curve.csv yet');
      expect(html).toMatch(/11 of 11 stage\(s\) are not up to date/);
      expect(html).toMatch(/<tr id="stage-synth">.*?never run/s);
    } finally {
      await fresh.dispose();
    }
  });
});
