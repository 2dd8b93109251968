/**
 * `npm run schema`: regenerates schema/pipeline.schema.json from the zod
 * definition and the built-in stages. Writes to a temp file and renames.
 */
import { rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { loadBuiltins, packageRoot } from '../stages/registry.ts';
import { lookupFromRegistry } from './builtins.ts';
import { pipelineJsonSchemaText, SCHEMA_FILE } from './json-schema.ts';

const target = path.join(packageRoot(), SCHEMA_FILE);
const text = pipelineJsonSchemaText(lookupFromRegistry(await loadBuiltins()));
const tmp = `${target}.${process.pid}.tmp`;
await writeFile(tmp, text);
await rename(tmp, target);
