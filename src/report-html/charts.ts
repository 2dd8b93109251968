/**
 * SVG charts rendered on the server with Vega-Lite (compiled to Vega, drawn
 * by a headless vega View), so the report needs no script or network to
 * show them.
 */
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';

/** Renders a Vega-Lite spec to an SVG string. */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** One line per stage, one stacked panel per y column (each with its own scale), in the order given. */
export function curveChart(c: { x: string; panels: string[]; lines: { stage: string; points: { x: number; panel: string; value: number }[] }[] }): TopLevelSpec {
  const values = c.lines.flatMap((l) => l.points.map((p) => ({ stage: l.stage, x: p.x, series: p.panel, value: p.value })));
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    data: { values },
    facet: { row: { field: 'series', type: 'nominal', title: null, sort: c.panels } },
    spec: {
      width: 480,
      height: 160,
      mark: { type: 'line', interpolate: 'linear' },
      encoding: {
        x: { field: 'x', type: 'quantitative', title: c.x },
        y: { field: 'value', type: 'quantitative', title: null },
        color: { field: 'stage', type: 'nominal', title: 'stage' },
      },
    },
    resolve: { scale: { y: 'independent' } },
    background: 'white',
  };
}

/** Bars of a table column per row (a group of bars per row when the column has sub-keys, e.g. IoU per class). */
export function columnChart(rows: { row: string; name: string; value: number }[], title: string, percent: boolean): TopLevelSpec {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    data: { values: rows },
    width: { step: 14 },
    height: 180,
    mark: 'bar',
    encoding: {
      x: { field: 'row', type: 'nominal', title: null, axis: { labelAngle: -30 }, sort: null },
      xOffset: { field: 'name', type: 'nominal' },
      y: { field: 'value', type: 'quantitative', title, ...(percent ? { scale: { domain: [0, 1] }, axis: { format: '.0%' } } : {}) },
      color: { field: 'name', type: 'nominal', title: null },
      tooltip: [{ field: 'row' }, { field: 'name' }, { field: 'value', ...(percent ? { format: '.1%' } : {}) }],
    },
    background: 'white',
  };
}

/** Bars of a fraction per name (class balance, glare share). */
export function fractionChart(rows: { name: string; group: string; fraction: number }[], title: string): TopLevelSpec {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    data: { values: rows },
    width: { step: 16 },
    height: 140,
    mark: 'bar',
    encoding: {
      x: { field: 'group', type: 'nominal', title: null, axis: { labelAngle: -30 } },
      xOffset: { field: 'name', type: 'nominal' },
      y: { field: 'fraction', type: 'quantitative', title, axis: { format: '.0%' } },
      color: { field: 'name', type: 'nominal', title: null },
    },
    background: 'white',
  };
}
