/**
 * `pipe report` end to end: a real workspace of cmd stages laid out like the
 * built-in ones, run with the real CLI, then the HTML checked for the study
 * table (best cells marked), charts, sample strips, pipeline and params;
 * and the report of a partly failed run.
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

  it('writes the study table with train/test sets split into set and preprocessing, best marked', () => {
    // Best mIoU: bright→bright; best valve IoU: dark→dark-deglared (the fixture's values).
    const deglared = rowOf(html, ['dark', 'none', 'dark', 'deglared']);
    expect(deglared).toBeDefined();
    expect(deglared).toContain(`<td class="num">${(MIOU['dark-dark-deglared']! * 100).toFixed(1)}%</td>`);
    expect(deglared).toContain('<td class="num best">95.0%</td><td class="num">28.1%</td>');
    const brightBright = rowOf(html, ['bright', 'none', 'bright', 'none'])!;
    expect(brightBright).toContain('<td class="num best">89.4%</td>');
    expect(brightBright).toContain('<td class="num">91.0%</td>');
    expect(rowOf(html, ['bright', 'none', 'dark', 'none'])).toContain('<td class="num">54.9%</td>');
    expect(html.match(/<td class="num best">/g)?.length).toBeGreaterThanOrEqual(2);
    expect(html).toContain('<th>IoU valve</th>');
  });

  it('inlines SVG charts of the training curves and IoU per class', () => {
    expect(html).toMatch(/id="chart-curves"><svg/);
    expect(html).toMatch(/id="chart-iou"><svg/);
    expect(html).toContain('learning rate');
  });

  it('shows sample strips with input, preprocessed, glare mask, truth, prediction and errors', () => {
    const deglared = html.slice(html.indexOf('<h3>evaluate-deglared@dark-dark-deglared</h3>'));
    const strip = deglared.slice(0, deglared.indexOf('</table>'));
    // Six pictures per row: the glare mask exists for deglared sets.
    const firstRow = strip.match(/<tbody><tr>.*?<\/tr>/s)![0];
    expect(firstRow.match(/<img src="data:image\/png;base64,/g)).toHaveLength(6);
    expect(firstRow).toMatch(/% wrong/);
    const plain = html.slice(html.indexOf('<h3>evaluate@bright-bright</h3>'));
    const plainRow = plain.match(/<tbody><tr>.*?<\/tr>/s)![0];
    expect(plainRow).toContain('no preprocessing');
    expect(plainRow).toContain('no glare mask');
  });

  it('lists every stage with its state, duration and params, and the data set previews', () => {
    expect(html).toContain('All 11 stage(s) are up to date.');
    expect(html).toMatch(/<tr id="stage-train@dark">.*?up to date/s);
    expect(html).toContain('<code>images</code></td><td>work/deglared/dark/images</td>');
    expect(html).toContain('contact sheet of synth');
    expect(html).toMatch(/UIQM.*2\.5/s);
    expect(html).toContain('mean glare share 4.2%');
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
    expect(html).toMatch(/evaluate@dark-dark<\/h3><p class="note">no predictions in results\/dark-dark\/pred/);
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
      expect(html).toContain('No evaluations yet');
      expect(html).toContain('No training curves found');
      expect(html).toMatch(/11 of 11 stage\(s\) are not up to date/);
      expect(html).toMatch(/<tr id="stage-synth">.*?never run/s);
    } finally {
      await fresh.dispose();
    }
  });
});
