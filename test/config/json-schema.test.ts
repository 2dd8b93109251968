import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { lookupFromRegistry } from '../../src/config/builtins.ts';
import { pipelineJsonSchema, pipelineJsonSchemaText, SCHEMA_FILE } from '../../src/config/json-schema.ts';
import { STAGE_KEYS } from '../../src/config/file-schema.ts';
import { loadBuiltins, packageRoot } from '../../src/stages/registry.ts';
import { fakeBuiltins } from './fake-builtins.ts';

type J = Record<string, any>;

describe('JSON schema for editors', () => {
  it('is committed in sync with the zod definition and the built-in stages (run `npm run schema`)', async () => {
    const committed = await readFile(path.join(packageRoot(), SCHEMA_FILE), 'utf8');
    const fresh = pipelineJsonSchemaText(lookupFromRegistry(await loadBuiltins()));
    expect(committed).toBe(fresh);
  }, 60_000);

  it('describes every stage key, the stage-name pattern and uses/cmd exclusivity', () => {
    const s = pipelineJsonSchema(fakeBuiltins()) as J;
    expect(s.$schema).toContain('draft-07');
    const stages = s.properties.stages;
    expect(new RegExp(stages.propertyNames.pattern).test('train')).toBe(true);
    expect(new RegExp(stages.propertyNames.pattern).test('train@x')).toBe(false);
    const stage = stages.additionalProperties;
    expect(Object.keys(stage.properties).sort()).toEqual([...STAGE_KEYS].sort());
    expect(stage.additionalProperties).toBe(false);
    expect(stage.oneOf).toEqual([{ required: ['uses'] }, { required: ['cmd'] }]);
    expect(s.definitions.varRef.pattern).toBeTruthy();
  });

  it("adds each built-in's params under an if/then on uses:, accepting ${var} for every param", () => {
    const s = pipelineJsonSchema(fakeBuiltins()) as J;
    const stage = s.properties.stages.additionalProperties;
    expect(stage.properties.uses.anyOf[0].enum).toEqual(['convert', 'escaper', 'synth', 'train']);
    const synth = (stage.allOf as J[]).find((b) => b.if.properties.uses.const === 'synth')!;
    const params = synth.then.properties.params;
    expect(params.description).toBe('Makes synthetic images');
    expect(params.required).toEqual(['out']);
    expect(params.additionalProperties).toBe(false);
    expect(params.properties.size.default).toBe(64);
    expect(params.properties.size.anyOf).toEqual([expect.objectContaining({ type: 'integer' }), { $ref: '#/definitions/varRef' }]);
  });

  it('changes when the set of built-ins changes (so the sync test can fail)', () => {
    expect(pipelineJsonSchemaText(fakeBuiltins())).not.toBe(pipelineJsonSchemaText({ get: () => undefined, names: () => [] }));
  });
});
