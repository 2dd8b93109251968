/**
 * The report as one self-contained HTML page: inline CSS, images as data
 * URIs, charts as inline SVG, no scripts and no network. Every text from
 * files, params or names is escaped.
 */
import type { Failure } from '../failure.ts';
import { formatDuration } from '../report/format-table.ts';
import { flattenParams, formatValue } from '../metrics/diff.ts';
import { cellText, type TableData } from '../metrics/tables.ts';
import { esc } from './escape.ts';
import { columnChart, curveChart, fractionChart, renderSvg } from './charts.ts';
import type { DatasetPanel, Picture, ReportData, StageView, StripView } from './collect.ts';

const CSS = `
body{font:14px/1.45 system-ui,sans-serif;margin:0 auto;max-width:1200px;padding:1rem 2rem;color:#1d1d1f;background:#fff}
h1{font-size:1.6rem}h2{margin-top:2.2rem;border-bottom:1px solid #ddd;padding-bottom:.2rem}
table{border-collapse:collapse;margin:.5rem 0}th,td{border:1px solid #ddd;padding:.25rem .55rem;text-align:left;vertical-align:top}
th{background:#f4f4f6}td.num{text-align:right;font-variant-numeric:tabular-nums}
td.best{font-weight:700;background:#e3f5e1}td.best::after{content:" ★";color:#2a7a2a}td.absent{color:#6b6b6b;font-style:italic}
.state-up-to-date{color:#2a7a2a}.state-stale,.state-cannot-plan{color:#b3261e;font-weight:600}.state-never-run{color:#b3261e;font-weight:600}.state-restorable-from-cache{color:#8a6d00}
.note{color:#6b6b6b;font-style:italic}.failure{background:#fdecea;border-left:4px solid #b3261e;padding:.4rem .8rem;margin:.4rem 0}
.strip td{text-align:center}.strip img{width:128px;height:auto;max-height:200px;object-fit:contain;display:block;margin:auto;image-rendering:pixelated}
.chart svg{max-width:100%;height:auto}img.sheet{max-width:100%;image-rendering:pixelated}code{background:#f4f4f6;padding:0 .2rem}details{margin:.3rem 0}
ul.reasons{margin:0;padding-left:1.1rem}
`;

function picture(p: Picture, alt: string): string {
  if ('uri' in p) return `<img src="${esc(p.uri)}" alt="${esc(alt)}">`;
  if ('error' in p) return `<span class="note">${esc(p.error)}</span>`;
  return `<span class="note">${esc(p.none)}</span>`;
}

/** An id for an element from a title: lower case, dashes. */
function slug(s: string): string {
  return s.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '') || 'x';
}

const percent = (v: number | undefined): string => (v === undefined ? '-' : `${(100 * v).toFixed(1)}%`);

function tableSection(t: TableData): string {
  if (t.rows.length === 0) return `<h3>${esc(t.title)}</h3><p class="note">No rows yet: the stages that declare this table have not written their files.</p>`;
  const head = [...t.rowKeys, ...t.columns.map((c) => c.label)];
  const rows = t.rows.map(
    (r) =>
      `<tr title="${esc(r.stage)}">${t.rowKeys.map((k) => `<td>${esc(r.keys[k] ?? '-')}</td>`).join('')}` +
      t.columns
        .map((c) => {
          const cell = r.cells[c.label];
          const cls = ['num', ...(r.best.has(c.label) ? ['best'] : []), ...(cell && 'absent' in cell ? ['absent'] : [])].join(' ');
          return `<td class="${cls}">${esc(cellText(cell, c.column))}</td>`;
        })
        .join('') +
      '</tr>',
  );
  const marked = t.columns.some((c) => c.column.best);
  const within = marked && t.rows.some((r) => r.best.size) ? '★ marks the best value of each column' : '';
  const absent = t.rows.some((r) => Object.values(r.cells).some((c) => 'absent' in c)) ? '"absent": the set has none of it, so there is no score' : '';
  const legend = [within, absent].filter(Boolean).join('; ');
  return `<h3>${esc(t.title)}</h3><table id="table-${esc(slug(t.title))}" class="declared"><thead><tr>${head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>${rows.join('')}</tbody></table>${legend ? `<p class="note">${esc(legend)}.</p>` : ''}`;
}

function tablesSection(d: ReportData): string {
  if (d.tables.length === 0) return '<p class="note">No tables declared: a stage declares one with a <code>table</code> report view (its own, or <code>report:</code> in pipeline.yaml).</p>';
  return d.tables.map(tableSection).join('\n');
}

async function chartsSection(d: ReportData): Promise<string> {
  const parts: string[] = [];
  for (const c of d.curves) {
    const notes = c.notes.map((n) => `<p class="note">${esc(n)}</p>`).join('');
    parts.push(`<h3>${esc(c.title)}</h3>${notes}` + (c.lines.length ? `<div class="chart" id="chart-${esc(slug(c.title))}">${await renderSvg(curveChart(c))}</div>` : ''));
  }
  for (const t of d.tables) {
    const charted = [...new Set(t.columns.filter((c) => c.column.chart).map((c) => c.column))];
    for (const col of charted) {
      const bars = t.rows.flatMap((r) =>
        t.columns
          .filter((c) => c.column === col)
          .flatMap((c) => {
            const cell = r.cells[c.label];
            return cell && 'value' in cell && typeof cell.value === 'number' ? [{ row: t.rowKeys.map((k) => r.keys[k] ?? '-').join(' · '), name: c.sub ?? c.label, value: cell.value }] : [];
          }),
      );
      const title = `${t.title}: ${col.label.replace(/\s*\*\s*/, ' ').trim()}`;
      if (bars.length) parts.push(`<h3>${esc(title)}</h3><div class="chart" id="chart-${esc(slug(title))}">${await renderSvg(columnChart(bars, col.label.replace('*', '').trim(), col.format === 'percent'))}</div>`);
    }
  }
  return parts.length ? parts.join('\n') : '<p class="note">No charts: a stage declares a <code>curve</code> report view (CSV columns), or a table column with <code>chart: true</code>.</p>';
}

function stripsSection(strips: StripView[]): string {
  if (strips.length === 0) return '<p class="note">No image strips declared: a stage declares one with an <code>images</code> report view.</p>';
  return strips
    .map((e) => {
      const notes = e.notes.map((n) => `<p class="note">${esc(n)}</p>`).join('');
      const title = `<h3>${esc(e.title)}: ${esc(e.stage)}</h3>`;
      if (e.rows.length === 0) return `${title}${notes}`;
      const rows = e.rows.map(
        (r) =>
          `<tr><td>${esc(r.stem)}${r.caption !== undefined ? `<br><span class="note">${esc(r.caption)}</span>` : ''}</td>` +
          r.pictures.map((p, i) => `<td>${picture(p, `${e.columns[i]!} ${r.stem}`)}</td>`).join('') +
          '</tr>',
      );
      return `${title}${notes}<table class="strip" id="strip-${esc(slug(e.stage + ' ' + e.title))}"><thead><tr><th>sample</th>${e.columns.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>${rows.join('')}</tbody></table>`;
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

async function datasetsSection(views: DatasetPanel[]): Promise<string> {
  if (views.length === 0) return '<p class="note">No data set views declared: a stage declares one with a <code>dataset</code> report view.</p>';
  const parts: string[] = [];
  for (const v of views) {
    const title = `<h3>${esc(v.title)}: ${esc(v.stage)}${v.file ? ` <span class="note">${esc(v.file)}</span>` : ''}</h3>`;
    const notes = v.notes.map((n) => `<p class="note">${esc(n)}</p>`).join('');
    const image = v.image ? picture(v.image, `${v.title} of ${v.stage}`).replace('<img ', '<img class="sheet" ') : '';
    const chart = v.bars
      ? `<div class="chart">${await renderSvg(fractionChart(v.bars.items.map((b) => ({ name: b.name, group: v.stage, fraction: b.value })), v.bars.title))}</div>`
      : '';
    const fields = v.fields.length
      ? `<table><tbody>${v.fields.map((f) => `<tr><td>${esc(f.label)}</td><td class="num">${esc(f.percent && typeof f.value === 'number' ? percent(f.value) : formatValue(f.value))}</td></tr>`).join('')}</tbody></table>`
      : '';
    parts.push(title + notes + image + chart + fields);
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
${tablesSection(d)}
<h2>Charts</h2>
${await chartsSection(d)}
<h2>Samples</h2>
${stripsSection(d.strips)}
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
