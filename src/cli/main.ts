// The kubepath command. Every subcommand returns an exit code: 0 ok, 1 expectations failed,
// 2 bad input (with file:line diagnostics). A stack trace reaching a user is a bug.
import { writeFileSync } from 'node:fs';
import { Command, CommanderError, Option } from 'commander';
import { InputError, formatDiagnostic } from '../manifest/diagnostic.js';
import { loadScenario } from '../scenario/scenario.js';
import { DURATION_HINT, parseDuration } from '../scenario/duration.js';
import { runScenario, runUntil, startSimulation } from '../scenario/runner.js';
import { renderRunJson, renderRunText } from '../report/run.js';
import { GET_KINDS, renderGet, type GetFormat } from '../report/get.js';
import type { Scenario } from '../scenario/types.js';
import { rulesCommand } from './rules.js';
import { traceDumpCommand } from './trace-dump.js';
import { renderTrace, traceScenario, TRACE_OUTPUTS } from './trace.js';

interface Io {
  out(s: string): void;
  err(s: string): void;
}

const stdio: Io = {
  out: (s) => process.stdout.write(s.endsWith('\n') ? s : `${s}\n`),
  err: (s) => process.stderr.write(s.endsWith('\n') ? s : `${s}\n`),
};

export async function main(argv: string[], io: Io = stdio): Promise<number> {
  let code = 0;
  const program = new Command('kubepath')
    .description('Where does a request in Kubernetes really go? A network traffic path simulator.')
    .version('0.1.0')
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.out(s), writeErr: (s) => io.err(s) })
    .showHelpAfterError('(run kubepath --help for usage)');

  const collect = (v: string, prev: string[]) => [...prev, v];

  program
    .command('run')
    .description('run a scenario: build the cluster, play its timeline, check its expectations')
    .argument('<scenario>', 'a Scenario file, or a manifest file or folder (runs on the default profile)')
    .option('--profile <file>', 'use this Profile instead of the scenario\'s', collect, [])
    .addOption(new Option('-o, --output <format>', 'output format').choices(['text', 'json']).default('text'))
    .option('--out <file>', 'write the report to a file instead of standard output')
    .option('--seed <n>', 'seed for every random choice (overrides the scenario)', parseSeed)
    .action((path: string, o: { profile: string[]; output: string; out?: string; seed?: number }) => {
      const scenario = load(path, o.profile, o.seed);
      const report = runScenario(scenario);
      const text = o.output === 'json' ? renderRunJson(report) : renderRunText(report);
      if (o.out) writeFileSync(o.out, `${text}\n`);
      else io.out(text);
      code = report.expectations.every((e) => e.ok) ? 0 : 1;
    });

  program
    .command('get')
    .description(`show objects as kubectl would, at a point of the scenario's timeline`)
    .argument('<kind>', `one of: nodes, pods, services, endpointslices, endpoints, ingresses, deployments, …`)
    .argument('<scenario>', 'a Scenario file, or a manifest file or folder')
    .option('--at <time>', 'virtual time to stop at (e.g. 90s, 2m); default 0s, after the manifests converge', '0s')
    .option('-n, --namespace <ns>', 'only this namespace (default: all namespaces)')
    .option('-A, --all-namespaces', 'all namespaces (the default)')
    .option('--profile <file>', 'use this Profile instead of the scenario\'s', collect, [])
    .option('--seed <n>', 'seed for every random choice (overrides the scenario)', parseSeed)
    .addOption(new Option('-o, --output <format>', 'output format').choices(['text', 'wide', 'yaml', 'json']).default('text'))
    .action(
      (kindArg: string, path: string, o: { at: string; namespace?: string; profile: string[]; seed?: number; output: GetFormat }) => {
        const kind = GET_KINDS[kindArg.toLowerCase()];
        if (!kind) {
          throw new InputError([
            { severity: 'error', message: `unknown kind "${kindArg}"`, hint: `use one of ${[...new Set(Object.keys(GET_KINDS))].filter((k) => k.endsWith('s')).join(', ')}` },
          ]);
        }
        const at = parseDurationArg(o.at);
        const sim = startSimulation(load(path, o.profile, o.seed));
        runUntil(sim, at);
        const { store, clock } = sim.cluster;
        const objects = store.list(kind, o.namespace).sort((a, b) =>
          (a.metadata.namespace ?? '').localeCompare(b.metadata.namespace ?? '') || (a.metadata.name ?? '').localeCompare(b.metadata.name ?? ''),
        );
        io.out(renderGet(kind, objects, o.output, clock.now(), !o.namespace));
      },
    );

  program
    .command('rules')
    .description(`print a node's kube-proxy rules as iptables-save (or ipvsadm -Sn, ipset save and iptables-save) would`)
    .argument('<scenario>', 'a Scenario file, or a manifest file or folder')
    .requiredOption('--node <name>', 'the node whose rules to print')
    .addOption(new Option('--mode <mode>', `kube-proxy mode (default: the profile's)`).choices(['iptables', 'ipvs']))
    .option('--at <time>', 'virtual time to stop at (e.g. 90s, 2m); default 0s, after the manifests converge', '0s')
    .option('--profile <file>', 'use this Profile instead of the scenario\'s', collect, [])
    .option('--seed <n>', 'seed for every random choice (overrides the scenario)', parseSeed)
    .action((path: string, o: { node: string; mode?: string; at: string; profile: string[]; seed?: number }) => {
      io.out(rulesCommand(path, o));
    });

  program
    .command('trace')
    .description('trace a packet: every path it can take, with exact probabilities')
    .argument('[scenario]', 'a Scenario file, or a manifest file or folder (runs on the default profile)')
    .option('--from <src>', `the source: pod/NS/NAME, node/NAME, ip/ADDR or internet (with --iptables-save: ip/ADDR)`)
    .option('--to <dst>', 'the destination: tcp://IP:PORT, udp://IP:PORT, http://HOST[:PORT], svc/NS/NAME[:PORT], pod/NS/NAME:PORT, node/NAME:PORT, ip/ADDR:PORT')
    .option('--at <time>', 'virtual time of the cluster state to trace (e.g. 90s, 2m); default 0s', '0s')
    .option('--samples <n>', 'draw N packets at random (seeded) instead of the exact distribution', parseCount)
    .option('--sport <port>', 'the source port (default 40000)', parseCount)
    .option('--profile <file>', 'use this Profile instead of the scenario\'s', collect, [])
    .option('--seed <n>', 'seed for every random choice (overrides the scenario)', parseSeed)
    .option('--iptables-save <file>', `trace through a node's iptables-save output (legacy or nft backend) instead of a scenario`)
    .option('--node-ip <ip>', `with --iptables-save: one of the node's own addresses (repeat for each)`, collect, [])
    .option('--in-interface <name>', 'with --iptables-save: the interface a packet from elsewhere arrives on', 'eth0')
    .option('--ipset-save <file>', 'with --iptables-save: ipset save output, for rules that match ipsets')
    .option('--ipvsadm-save <file>', 'with --iptables-save: `ipvsadm -Sn --nosort` output of an IPVS-mode node')
    .addOption(new Option('-o, --output <format>', 'output format').choices([...TRACE_OUTPUTS]).default('text'))
    .action(
      (
        scenario: string | undefined,
        o: {
          iptablesSave?: string;
          from?: string;
          to?: string;
          at: string;
          samples?: number;
          sport?: number;
          profile: string[];
          seed?: number;
          nodeIp: string[];
          inInterface: string;
          ipsetSave?: string;
          ipvsadmSave?: string;
          output: string;
        },
      ) => {
        if (o.iptablesSave) {
          io.out(traceDumpCommand({ ...o, output: o.output === 'json' ? 'json' : 'text', iptablesSave: o.iptablesSave }));
          return;
        }
        if (!scenario) {
          throw new InputError([{ severity: 'error', message: 'nothing to trace through', hint: `give a scenario (kubepath trace SCENARIO --from … --to …), or --iptables-save FILE` }]);
        }
        for (const [flag, v] of [['--from', o.from], ['--to', o.to]] as const) {
          if (!v) throw new InputError([{ severity: 'error', field: flag, message: `${flag} is required`, hint: flag === '--from' ? 'e.g. --from pod/default/client' : 'e.g. --to svc/default/web:80' }]);
        }
        const result = traceScenario(load(scenario, o.profile, o.seed), {
          from: o.from!,
          to: o.to!,
          atSeconds: parseDurationArg(o.at),
          ...(o.samples !== undefined ? { samples: o.samples } : {}),
          ...(o.seed !== undefined ? { seed: o.seed } : {}),
          ...(o.sport !== undefined ? { sport: o.sport } : {}),
        });
        io.out(renderTrace(result, o.output));
      },
    );

  try {
    await program.parseAsync(argv, { from: 'user' });
    return code;
  } catch (e) {
    if (e instanceof CommanderError) {
      return e.exitCode === 0 || e.code === 'commander.helpDisplayed' || e.code === 'commander.version' ? 0 : 2;
    }
    if (e instanceof InputError) {
      for (const d of e.diagnostics) io.err(formatDiagnostic(d));
      return 2;
    }
    const msg = e instanceof Error ? e.message : String(e);
    io.err(`kubepath: internal error: ${msg}`);
    io.err('This is a bug in kubepath; please report it with the command you ran. Set KUBEPATH_DEBUG=1 for details.');
    if (process.env['KUBEPATH_DEBUG'] && e instanceof Error) io.err(e.stack ?? '');
    return 3;
  }
}

function load(path: string, profiles: string[], seed: number | undefined): Scenario {
  const scenario = loadScenario(path, { profiles });
  return seed === undefined ? scenario : { ...scenario, seed };
}

function parseCount(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new InputError([{ severity: 'error', message: `"${v}" is not a positive whole number` }]);
  return n;
}

function parseSeed(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n)) throw new InputError([{ severity: 'error', field: '--seed', message: `"${v}" is not a whole number` }]);
  return n;
}

function parseDurationArg(v: string): number {
  const seconds = parseDuration(v);
  if (seconds === undefined) {
    throw new InputError([{ severity: 'error', field: '--at', message: `"${v}" is not a duration`, hint: DURATION_HINT }]);
  }
  return seconds;
}
