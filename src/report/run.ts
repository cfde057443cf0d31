// `kubepath run` report: how each Service's endpoints moved over the timeline, and the verdicts.
import chalk from 'chalk';
import type { RunReport } from '../scenario/runner.js';
import { formatCounts } from '../scenario/state.js';
import { formatColumns } from './table.js';
import { formatDiagnostic } from '../manifest/diagnostic.js';
import { formatDuration } from '../scenario/duration.js';

export function renderRunText(r: RunReport): string {
  const { scenario } = r;
  const p = scenario.profile;
  const out: string[] = [];
  out.push(
    chalk.bold(`Scenario ${scenario.name}`) +
      chalk.dim(`  (${scenario.file}; profile ${p.name}: ${p.nodes.length} nodes, ${p.cni.plugin}${p.cni.mode ? ` ${p.cni.mode}` : ''}, kube-proxy ${p.kubeProxy.mode}; seed ${scenario.seed})`),
  );
  for (const d of scenario.diagnostics.filter((d) => d.severity !== 'info')) out.push(chalk.yellow(formatDiagnostic(d)));
  const services = Object.keys(r.transitions[0]?.services ?? {});
  out.push('');
  if (services.length === 0) {
    out.push('No Services to follow.');
  } else {
    out.push(chalk.bold('Endpoints over time') + chalk.dim(' (ready/total endpoints per Service, from its EndpointSlices)'));
    const rows = r.transitions.map((t) => [
      formatDuration(t.t),
      t.action ?? chalk.dim('·'),
      ...services.map((s) => formatCounts(t.services[s]!)),
    ]);
    out.push(indent(formatColumns(['TIME', 'EVENT', ...services.map((s) => s.toUpperCase())], rows)));
  }
  const warnings = r.events.filter((e) => e.type === 'Warning');
  if (warnings.length) {
    out.push('', chalk.bold('Warnings'));
    for (const e of warnings.slice(0, 20)) out.push(`  ${formatDuration(e.t)}  ${e.object}  ${e.reason}: ${e.message}`);
    if (warnings.length > 20) out.push(chalk.dim(`  … ${warnings.length - 20} more`));
  }
  if (r.expectations.length) {
    out.push('', chalk.bold('Expectations'));
    for (const e of r.expectations) {
      const mark = e.ok ? chalk.green('✓') : chalk.red('✗');
      out.push(`  ${mark} ${formatDuration(e.expectation.at).padEnd(6)} ${e.text}`);
    }
    const failed = r.expectations.filter((e) => !e.ok).length;
    out.push(
      '',
      failed
        ? chalk.red(`${failed} of ${r.expectations.length} expectations failed.`)
        : chalk.green(`All ${r.expectations.length} expectations hold.`),
    );
  }
  return out.join('\n');
}

export function renderRunJson(r: RunReport): string {
  return JSON.stringify(
    {
      scenario: { name: r.scenario.name, file: r.scenario.file, profile: r.scenario.profile.name, seed: r.scenario.seed },
      transitions: r.transitions,
      expectations: r.expectations.map((e) => ({
        at: e.expectation.at,
        expect: e.expectation.expect,
        ok: e.ok,
        actual: e.actual,
        text: e.text,
      })),
      events: r.events,
      ok: r.expectations.every((e) => e.ok),
    },
    null,
    2,
  );
}

function indent(s: string): string {
  return s
    .split('\n')
    .map((l) => `  ${l}`)
    .join('\n');
}
