/**
 * A user's own `cmd:` stage, as the README shows it: its params reach the
 * script (`${params.x}` in the command and the whole set as JSON in
 * PIPE_PARAMS), and five lines of `report:` put its curve and an image strip
 * in `pipe report`, a table in `pipe metrics`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFile } from 'node:fs/promises';
import sharp from 'sharp';
import { TestRepo } from '../helpers/repo.ts';

// The script: writes its argv and PIPE_PARAMS, a loss curve, a metrics file, and a picture per input picture.
const STEP_JS = `
const fs = require('node:fs');
const [lr, out] = process.argv.slice(2);
fs.mkdirSync(out + '/pictures', { recursive: true });
fs.writeFileSync(out + '/seen.json', JSON.stringify({ lr, params: JSON.parse(process.env.PIPE_PARAMS) }));
fs.writeFileSync(out + '/curve.csv', 'step,loss\\n' + [1, 2, 3, 4].map((s) => s + ',' + (Number(lr) * 10 / s)).join('\\n') + '\\n');
fs.writeFileSync(out + '/score.json', JSON.stringify({ score: 1 - Number(lr) }));
for (const f of fs.readdirSync('inputs')) fs.copyFileSync('inputs/' + f, out + '/pictures/' + f);
`;

const PIPELINE = `
stages:
  my-step:
    cmd: node step.js \${params.lr} out/step
    deps: [step.js, inputs]
    outs: [out/step]
    params: { lr: 0.02, aug: { flip: true } }
    report:
      - { curve: Loss of my step, file: out/step/curve.csv, x: step, y: [loss] }
      - images: My step
        columns: { input: inputs, output: out/step/pictures }
      - table: Scores
        file: out/step/score.json
        columns: [{ label: score, key: score }]
`;

describe('a cmd: stage with params and report views', () => {
  let repo: TestRepo;
  let html: string;
  beforeAll(async () => {
    repo = await TestRepo.create({ 'pipeline.yaml': PIPELINE, 'step.js': STEP_JS });
    for (const [i, name] of ['a', 'b'].entries()) {
      const png = await sharp({ create: { width: 8, height: 6, channels: 3, background: { r: 200 * i, g: 90, b: 40 } } }).png().toBuffer();
      await repo.write(`inputs/${name}.png`, png);
    }
    const run = await repo.pipe(['run']);
    expect(run.code, run.stderr).toBe(0);
    const rep = await repo.pipe(['report']);
    expect(rep.code, rep.stderr).toBe(0);
    html = await readFile(repo.path('report/index.html'), 'utf8');
  });
  afterAll(async () => repo?.dispose());

  it('gets ${params.lr} in its command and every resolved param as JSON in PIPE_PARAMS', async () => {
    const seen = JSON.parse(await repo.read('out/step/seen.json')) as { lr: string; params: unknown };
    expect(seen.lr).toBe('0.02');
    expect(seen.params).toEqual({ lr: 0.02, aug: { flip: true } });
  });

  it('shows the declared curve and image strip in the report', () => {
    expect(html).toContain('<h3>Loss of my step</h3>');
    expect(html).toMatch(/id="chart-loss-of-my-step"><svg/);
    const strip = html.slice(html.indexOf('<h3>My step: my-step</h3>'));
    const table = strip.slice(0, strip.indexOf('</table>'));
    expect(table).toContain('<th>input</th><th>output</th>');
    // Two rows (a and b), each with the input and the output picture embedded as they are.
    expect(table.match(/<tr><td>[ab]<\/td>/g)).toHaveLength(2);
    expect(table.match(/<img src="data:image\/png;base64,/g)).toHaveLength(4);
  });

  it('puts the declared table first in pipe metrics', async () => {
    const m = await repo.pipe(['metrics']);
    expect(m.code, m.stderr).toBe(0);
    expect(m.stdout).toMatch(/^Scores\nstage\s+score\nmy-step\s+0\.98\n/);
  });

  it('says which field a report view lacks, at its line in pipeline.yaml', async () => {
    await repo.write('pipeline.yaml', PIPELINE.replace(' x: step,', ''));
    const st = await repo.pipe(['status']);
    expect(st.code).not.toBe(0);
    expect(st.stderr).toContain('pipeline.yaml:9:9');
    expect(st.stderr).toContain("Stage 'my-step', report: the curve 'Loss of my step' needs x.");
  });
});
