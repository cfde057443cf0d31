// Shared test helpers: parse inline manifests and pick out diagnostics.
import { clusterConfig, type ClusterConfig } from '../../src/cluster/config.js';
import type { Diagnostic } from '../../src/manifest/diagnostic.js';
import { parseManifestText } from '../../src/manifest/load.js';

/** Strip the common indentation of a template literal, so fixtures can be indented in tests. */
export function yaml(strings: TemplateStringsArray, ...values: unknown[]): string {
  const text = strings.reduce((acc, s, i) => acc + s + (i < values.length ? String(values[i]) : ''), '');
  const lines = text.replace(/^\n/, '').split('\n');
  const indent = Math.min(...lines.filter((l) => l.trim()).map((l) => l.match(/^ */)![0].length));
  return lines.map((l) => l.slice(indent)).join('\n');
}

export function check(text: string, config: ClusterConfig = clusterConfig()) {
  return parseManifestText(text, 'test.yaml', { config });
}

export function errors(text: string, config?: ClusterConfig): Diagnostic[] {
  return check(text, config).diagnostics.filter((d) => d.severity === 'error');
}

/** `field@line: message` for compact, exact assertions. */
export function brief(ds: Diagnostic[]): string[] {
  return ds.map((d) => `${d.field ?? ''}@${d.line}: ${d.message}`);
}

export function fieldsOf(ds: Diagnostic[]): string[] {
  return ds.map((d) => d.field ?? '');
}
