// Test agent run inside network namespaces with `ip netns exec NS node agent.mjs ...`.
//
//   node agent.mjs server NAME '[8080,8081]'   TCP and UDP servers; each answers one JSON line
//                                              {name, local, localPort, remote, remotePort}
//   node agent.mjs client '<flows json>'       runs flows, prints one JSON array of results
//
// A flow: {proto: 'tcp'|'udp', host, port, localPort?, localAddress?, timeoutMs}. A result:
// {status: 'ok', reply} | {status: 'error', code} | {status: 'timeout'}.
import dgram from 'node:dgram';
import net from 'node:net';

const [mode, arg1, arg2, arg3] = process.argv.slice(2);

function answer(name, local, localPort, remote, remotePort) {
  return JSON.stringify({ name, local, localPort, remote, remotePort }) + '\n';
}

function strip(a) {
  return a && a.startsWith('::ffff:') ? a.slice(7) : a;
}

if (mode === 'server') {
  const name = arg1;
  const ports = JSON.parse(arg2);
  let pending = ports.length * 2;
  const ready = () => {
    if (--pending === 0) process.stdout.write('ready\n');
  };
  for (const port of ports) {
    const srv = net.createServer((s) => {
      s.on('error', () => {});
      s.end(answer(name, strip(s.localAddress), s.localPort, strip(s.remoteAddress), s.remotePort));
    });
    srv.listen({ port, host: '0.0.0.0' }, ready);
    const u = dgram.createSocket('udp4');
    u.on('message', (_msg, rinfo) => {
      u.send(answer(name, '', port, rinfo.address, rinfo.port), rinfo.port, rinfo.address);
    });
    u.bind(port, '0.0.0.0', ready);
  }
  process.stdin.on('end', () => process.exit(0)); // exit when the harness goes away
  process.stdin.resume();
} else if (mode === 'client') {
  const flows = JSON.parse(arg1);
  const concurrency = Number(arg2 ?? '1');
  const results = new Array(flows.length);
  let next = 0;
  const runOne = (f) =>
    new Promise((resolve) => {
      let done = false;
      const finish = (r) => {
        if (!done) {
          done = true;
          resolve(r);
        }
      };
      if (f.proto === 'udp') {
        const s = dgram.createSocket('udp4');
        const timer = setTimeout(() => {
          s.close();
          finish({ status: 'timeout' });
        }, f.timeoutMs);
        s.on('error', (e) => {
          clearTimeout(timer);
          try {
            s.close();
          } catch {}
          finish({ status: 'error', code: e.code });
        });
        s.on('message', (m) => {
          clearTimeout(timer);
          s.close();
          finish({ status: 'ok', reply: JSON.parse(String(m)) });
        });
        s.bind({ port: f.localPort ?? 0, address: f.localAddress ?? '0.0.0.0' }, () => {
          s.connect(f.port, f.host, () => s.send('hello'));
        });
        return;
      }
      const opts = { port: f.port, host: f.host };
      if (f.localPort) opts.localPort = f.localPort;
      if (f.localAddress) opts.localAddress = f.localAddress;
      const s = net.connect(opts);
      let data = '';
      const timer = setTimeout(() => {
        s.destroy();
        finish({ status: 'timeout' });
      }, f.timeoutMs);
      s.on('data', (d) => (data += d));
      s.on('end', () => {
        clearTimeout(timer);
        try {
          finish({ status: 'ok', reply: JSON.parse(data) });
        } catch {
          finish({ status: 'error', code: 'BADREPLY' });
        }
      });
      s.on('error', (e) => {
        clearTimeout(timer);
        finish({ status: 'error', code: e.code });
      });
    });
  const worker = async () => {
    while (next < flows.length) {
      const i = next++;
      results[i] = await runOne(flows[i]);
      if (flows[i].pauseMs) await new Promise((r) => setTimeout(r, flows[i].pauseMs));
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, concurrency) }, worker));
  process.stdout.write(JSON.stringify(results) + '\n');
  process.exit(0);
} else {
  process.stderr.write(`usage: agent.mjs server NAME PORTS | client FLOWS [CONCURRENCY]\n${arg3 ?? ''}`);
  process.exit(2);
}
