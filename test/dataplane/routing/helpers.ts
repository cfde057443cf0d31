// Shared helpers for the routing tests: packets, datagrams, and "must succeed" wrappers.
import { expect } from 'vitest';
import { makePacket, type PacketInit } from '../../../src/net/packet.js';
import type { ChangeResult, Datagram, Namespace, RouteSpec, RuleSpec } from '../../../src/dataplane/routing/index.js';

export function ok<T>(r: ChangeResult<T>): T {
  if (!r.ok) throw new Error(`${r.errno}: ${r.message}`);
  return r.value;
}

export function route(ns: Namespace, spec: RouteSpec): void {
  ok(ns.addRoute(spec));
}

export function rule(ns: Namespace, spec: RuleSpec): void {
  ok(ns.addRule(spec));
}

export function tcp(src: string, dst: string, extra: Partial<PacketInit> = {}): Datagram {
  return { packet: makePacket({ src, dst, proto: 'tcp', sport: 40000, dport: 80, ...extra }) };
}

export function udp(src: string, dst: string, dport: number, extra: Partial<PacketInit> = {}): Datagram {
  return { packet: makePacket({ src, dst, proto: 'udp', sport: 40000, dport, ...extra }) };
}

/** Lines of a printed dump, for order-insensitive comparisons that still check each line exactly. */
export function lines(text: string): string[] {
  return text.split('\n').filter((l) => l !== '');
}

export function expectOne<T>(items: readonly T[]): T {
  expect(items).toHaveLength(1);
  return items[0]!;
}
