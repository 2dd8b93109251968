/**
 * The report as one self-contained HTML page: inline CSS, images as data
 * URIs, charts as inline SVG, no scripts and no network. Every text from
 * files, params or names is escaped.
 */
import type { Failure } from '../failure.ts';
import { formatDuration } from '../report/format-table.ts';
import { isBest, percent } from '../metrics/study-table.ts';
import { flattenParams, formatValue } from '../metrics/diff.ts';
import { esc } from './escape.ts';
import { curveChart, fractionChart, iouChart, renderSvg } from './charts.ts';
import type { DatasetView, EvaluationView, Picture, ReportData, StageView } from './collect.ts';

const CSS = `
body{font:14px/1.45 system-ui,sans-serif;margin:0 auto;max-width:1200px;padding:1rem 2rem;color:#1d1d1f;background:#fff}
h1{font-size:1.6rem}h2{margin-top:2.2rem;border-bottom:1px solid #ddd;padding-bottom:.2rem}
table{border-collapse:collapse;margin:.5rem 0}th,td{border:1px solid #ddd;padding:.25rem .55rem;text-align:left;vertical-align:top}
th{background:#f4f4f6}td.num{text-align:right;font-variant-numeric:tabular-nums}
td.best{font-weight:700;background:#e3f5e1}td.best::after{content:" ★";color:#2a7a2a}
.state-up-to-date{color:#2a7a2a}.state-stale,.state-cannot-plan{color:#b3261e;font-weight:600}.state-never-run{color:#b3261e;font-weight:600}.state-restorable-from-cache{color:#8a6d00}
.note{color:#6b6b6b;font-style:italic}.failure{background:#fdecea;border-left:4px solid #b3261e;padding:.4rem .8rem;margin:.4rem 0}
.strip td{text-align:center}.strip img{width:128px;height:auto;max-height:200px;object-fit:contain;display:block;margin:auto;image-rendering:pixelated}
.chart svg{max-width:100%;height:auto}code{background:#f4f4f6;padding:0 .2rem}details{margin:.3rem 0}
ul.reasons{margin:0;padding-left:1.1rem}
`;

function picture(p: Picture, alt: string): string {
  if ('uri' in p) return `<img src="${esc(p.uri)}" alt="${esc(alt)}">`;
  if ('error' in p) return `<span class="note">${esc(p.error)}</span>`;
  return `<span class="note">${esc(p.none)}</span>`;
}

function studySection(d: ReportData): string {
  const t = d.study;
  if (t.rows.length === 0) {
    return `<p class="note">No evaluations yet: the table lists stages with matrix bindings <code>train</code> and <code>test</code> whose metrics hold mIoU or IoU per class.</p>`;
  }
  const head = ['train set', 'train preprocessing', 'test set', 'test preprocessing', 'mIoU', ...t.classes.map((c) => `IoU ${c}`)];
  const cell = (col: string, v: number | undefined) => `<td class="num${isBest(t, col, v) ? ' best' : ''}">${esc(percent(v))}</td>`;
  const rows = t.rows.map(
    (r) =>
      `<tr title="${esc(r.stage)}"><td>${esc(r.train.set)}</td><td>${esc(r.train.prep)}</td><td>${esc(r.test.set)}</td><td>${esc(r.test.prep)}</td>` +
      cell('mIoU', r.miou) +
      t.classes.map((c) => cell(`iou.${c}`, r.iou[c])).join('') +
      '</tr>',
  );
  return `<table id="results"><thead><tr>${head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>${rows.join('')}</tbody></table>
<p class="note">★ marks the best value of each column.</p>`;
}

async function chartsSection(d: ReportData): Promise<string> {
  const parts: string[] = [];
  if (d.curves.length) {
    parts.push(`<h3>Training curves</h3><div class="chart" id="chart-curves">${await renderSvg(curveChart(d.curves))}</div>`);
  } else parts.push('<p class="note">No training curves found (a training stage writes <code>curve.csv</code> in its model folder).</p>');
  const bars = d.study.rows.flatMap((r) =>
    Object.entries(r.iou).map(([cls, iou]) => ({ evaluation: `${r.train.set}/${r.train.prep} → ${r.test.set}/${r.test.prep}`, cls, iou })),
  );
  if (bars.length) parts.push(`<h3>IoU per class</h3><div class="chart" id="chart-iou">${await renderSvg(iouChart(bars))}</div>`);
  return parts.join('\n');
}

function samplesSection(evals: EvaluationView[]): string {
  if (evals.length === 0) return '<p class="note">No evaluations.</p>';
  const head = ['sample', 'input', 'preprocessed', 'glare mask', 'ground truth', 'prediction', 'errors'];
  return evals
    .map((e) => {
      const notes = e.notes.map((n) => `<p class="note">${esc(n)}</p>`).join('');
      if (e.samples.length === 0) return `<h3>${esc(e.stage)}</h3>${notes}`;
      const rows = e.samples.map(
        (s) =>
          `<tr><td>${esc(s.stem)}${s.errorRate !== undefined ? `<br><span class="note">${esc(percent(s.errorRate))} wrong</span>` : ''}</td>` +
          [
            [s.input, 'input'],
            [s.preprocessed, 'preprocessed'],
            [s.glare, 'glare mask'],
            [s.truth, 'ground truth'],
            [s.prediction, 'prediction'],
            [s.errors, 'errors'],
          ]
            .map(([p, alt]) => `<td>${picture(p as Picture, `${alt as string} ${s.stem}`)}</td>`)
            .join('') +
          '</tr>',
      );
      return `<h3>${esc(e.stage)}</h3>${notes}<table class="strip"><thead><tr>${head.map((h) => `<th>${h}</th>`).join('')}</tr></thead><tbody>${rows.join('')}</tbody></table>`;
    })
    .join('\n');
}

function cacheWord(st: StageView): string {
  switch (st.state) {
    case 'up to date':
      return 'outputs match the lock';
    case 'restorable from cache':
      return 'cache hit: `pipe run` restores it';
    case 'cannot plan':
      return '-';
    default:
      return 'needs a run';
  }
}

function pipelineSection(d: ReportData): string {
  const notUp = d.stages.filter((s) => s.state !== 'up to date');
  const summary = notUp.length
    ? `<div class="failure" id="not-up-to-date"><strong>${notUp.length} of ${d.stages.length} stage(s) are not up to date</strong> (failed, not run, or changed since): ${notUp.map((s) => esc(s.name)).join(', ')}.</div>`
    : `<p>All ${d.stages.length} stage(s) are up to date.</p>`;
  const rows = d.stages.map(
    (s) =>
      `<tr id="stage-${esc(s.name)}"><td><code>${esc(s.name)}</code></td><td>${esc(s.what.length > 80 ? s.what.slice(0, 79) + '…' : s.what)}</td>` +
      `<td class="state-${esc(s.state.replace(/ /g, '-'))}">${esc(s.state)}${s.reasons.length ? `<ul class="reasons">${s.reasons.map((r) => `<li>${esc(r)}</li>`).join('')}</ul>` : ''}</td>` +
      `<td class="num">${s.lastDurationMs !== undefined ? esc(formatDuration(s.lastDurationMs)) : '-'}</td><td>${esc(s.ranAt ?? 'never')}</td><td>${esc(cacheWord(s))}</td></tr>`,
  );
  const runFailures = d.runFailures.length
    ? `<h3 id="run-failures">What failed in the last run${d.lastRunAt ? ` (${esc(d.lastRunAt)})` : ''}</h3>${d.runFailures.map(failureBlock).join('')}`
    : '';
  const failures = runFailures + d.planFailures.map(failureBlock).join('');
  return `${summary}${failures}<table id="stages"><thead><tr><th>stage</th><th>what</th><th>state</th><th>last duration</th><th>last ran</th><th>cache</th></tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

function failureBlock(f: Failure): string {
  const tail = f.stderrTail?.length ? `<pre>${esc(f.stderrTail.slice(-20).join('\n'))}</pre>` : '';
  return `<div class="failure">${f.stage ? `<code>${esc(f.stage)}</code>: ` : ''}${esc(f.message)}${f.hint ? `<br><span class="note">${esc(f.hint)}</span>` : ''}${tail}</div>`;
}

function paramsSection(d: ReportData): string {
  return d.stages
    .map((s) => {
      const flat = Object.entries(flattenParams(s.params));
      const body = flat.length
        ? `<table><tbody>${flat.map(([k, v]) => `<tr><td><code>${esc(k)}</code></td><td>${esc(formatValue(v))}</td></tr>`).join('')}</tbody></table>`
        : '<p class="note">no params</p>';
      return `<details><summary><code>${esc(s.name)}</code> (${flat.length} param${flat.length === 1 ? '' : 's'})</summary>${body}</details>`;
    })
    .join('\n');
}

async function datasetsSection(views: DatasetView[]): Promise<string> {
  if (views.length === 0) return '<p class="note">No data set previews (synth <code>stats.json</code>/<code>preview.png</code>, convert <code>classes.json</code>, enhance <code>quality.json</code>, deglare <code>glare.json</code>).</p>';
  const parts: string[] = [];
  for (const v of views) {
    const title = `<h3>${esc(v.stage)} <span class="note">${esc(v.file)}</span></h3>`;
    switch (v.kind) {
      case 'synth': {
        const stats = Object.entries(v.stats).filter(([, x]) => typeof x !== 'object' || x === null);
        parts.push(
          `${title}${picture(v.preview, `contact sheet of ${v.stage}`)}` +
            (stats.length ? `<table><tbody>${stats.map(([k, x]) => `<tr><td>${esc(k)}</td><td>${esc(String(x))}</td></tr>`).join('')}</tbody></table>` : ''),
        );
        break;
      }
      case 'classes': {
        const chart = v.classes.length ? `<div class="chart">${await renderSvg(fractionChart(v.classes.map((c) => ({ name: c.name, group: v.stage, fraction: c.fraction })), 'share of pixels'))}</div>` : '';
        const table = `<table><thead><tr><th>class</th><th>share of pixels</th></tr></thead><tbody>${v.classes.map((c) => `<tr><td>${esc(c.name)}</td><td class="num">${esc(percent(c.fraction))}</td></tr>`).join('')}${v.unknownFraction !== undefined ? `<tr><td>unknown colours</td><td class="num">${esc(percent(v.unknownFraction))}</td></tr>` : ''}</tbody></table>`;
        parts.push(title + chart + table);
        break;
      }
      case 'quality':
        parts.push(
          `${title}<table><thead><tr><th></th><th>UIQM</th><th>UCIQE</th></tr></thead><tbody>` +
            `<tr><td>input</td><td class="num">${esc(formatValue(v.inputUiqm))}</td><td class="num">${esc(formatValue(v.inputUciqe))}</td></tr>` +
            `<tr><td>enhanced</td><td class="num">${esc(formatValue(v.uiqm))}</td><td class="num">${esc(formatValue(v.uciqe))}</td></tr></tbody></table>` +
            (v.images !== undefined ? `<p class="note">${esc(v.images)} images</p>` : ''),
        );
        break;
      case 'glare':
        parts.push(`${title}<p>mean glare share ${esc(percent(v.meanGlareFraction))}, largest ${esc(percent(v.maxGlareFraction))}${v.images !== undefined ? ` over ${esc(v.images)} images` : ''}.</p>`);
        break;
      default: {
        const never: never = v;
        throw new Error(`unhandled data set view ${JSON.stringify(never)}`);
      }
    }
  }
  return parts.join('\n');
}

/** The full HTML page. */
export async function renderReport(d: ReportData): Promise<string> {
  const notes = d.notes.length ? `<h2>Notes</h2>${d.notes.map((n) => `<p class="note">${esc(n)}</p>`).join('')}` : '';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(d.title)}</title><style>${CSS}</style></head>
<body>
<h1>${esc(d.title)}</h1>
<p class="note">Generated ${esc(d.generatedAt)} by <code>pipe report</code>.</p>
<h2 id="results-title">Results</h2>
${studySection(d)}
<h2>Charts</h2>
${await chartsSection(d)}
<h2>Samples</h2>
${samplesSection(d.evaluations)}
<h2>Pipeline</h2>
${pipelineSection(d)}
<h2>Params</h2>
${paramsSection(d)}
<h2>Data sets</h2>
${await datasetsSection(d.datasets)}
${notes}
</body></html>
`;
}
