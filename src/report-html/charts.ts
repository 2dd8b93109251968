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

export interface CurvePoint {
  step: number;
  loss?: number;
  lr?: number;
}

/** Loss and learning rate per step, one line per training stage, in two stacked panels. */
export function curveChart(curves: { stage: string; points: CurvePoint[] }[]): TopLevelSpec {
  const values = curves.flatMap((c) =>
    c.points.flatMap((p) => [
      ...(p.loss !== undefined ? [{ stage: c.stage, step: p.step, series: 'loss', value: p.loss }] : []),
      ...(p.lr !== undefined ? [{ stage: c.stage, step: p.step, series: 'learning rate', value: p.lr }] : []),
    ]),
  );
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    data: { values },
    facet: { row: { field: 'series', type: 'nominal', title: null, sort: ['loss', 'learning rate'] } },
    spec: {
      width: 480,
      height: 160,
      mark: { type: 'line', interpolate: 'linear' },
      encoding: {
        x: { field: 'step', type: 'quantitative', title: 'step' },
        y: { field: 'value', type: 'quantitative', title: null },
        color: { field: 'stage', type: 'nominal', title: 'training stage' },
      },
    },
    resolve: { scale: { y: 'independent' } },
    background: 'white',
  };
}

/** IoU per class, grouped by evaluation. */
export function iouChart(rows: { evaluation: string; cls: string; iou: number }[]): TopLevelSpec {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    data: { values: rows },
    width: { step: 14 },
    height: 180,
    mark: 'bar',
    encoding: {
      x: { field: 'evaluation', type: 'nominal', title: null, axis: { labelAngle: -30 } },
      xOffset: { field: 'cls', type: 'nominal' },
      y: { field: 'iou', type: 'quantitative', title: 'IoU', scale: { domain: [0, 1] }, axis: { format: '.0%' } },
      color: { field: 'cls', type: 'nominal', title: 'class' },
      tooltip: [{ field: 'evaluation' }, { field: 'cls' }, { field: 'iou', format: '.1%' }],
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
