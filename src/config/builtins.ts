/**
 * Adapts the built-in stage registry (src/stages/registry.ts) to the small
 * lookup the config loader needs, so config code and its tests do not depend
 * on loading real stage modules.
 */
import type { BuiltinStage } from '../stages/registry.ts';
import type { BuiltinLookup } from './instance.ts';

export function lookupFromRegistry(registry: Map<string, BuiltinStage>): BuiltinLookup {
  return {
    get: (name) => registry.get(name)?.stage,
    names: () => [...registry.keys()].sort(),
  };
}
