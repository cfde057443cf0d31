// The committed field schema is what the generator makes from the installed kubernetes-types.
import { readFileSync } from 'node:fs';
import { expect, test } from 'vitest';
import { TYPES } from '../../src/manifest/schema.generated.js';
import { generateSchema, SCHEMA_FILE } from './generate-schema.js';

test('src/manifest/schema.generated.ts is up to date (regenerate: npx tsx test/manifest/generate-schema.ts)', () => {
  expect(readFileSync(SCHEMA_FILE, 'utf8')).toBe(generateSchema());
});

test('the schema knows the commonly mistyped places', () => {
  expect(Object.keys(TYPES['core/v1.ServicePort']!).sort()).toEqual(['appProtocol', 'name', 'nodePort', 'port', 'protocol', 'targetPort']);
  expect(TYPES['core/v1.Container']!.ports).toBe('[]@core/v1.ContainerPort');
  expect(TYPES['meta/v1.ObjectMeta']!.labels).toBe('{}s');
  expect(TYPES['core/v1.ResourceRequirements']!.limits).toBe('{}q');
  expect(TYPES['core/v1.ServicePort']!.targetPort).toBe('is');
});
