// kubepath's netfilter interpreter: model, iptables-save parser and printers, ipsets, conntrack
// and the evaluator. It knows nothing of Kubernetes.
export * from './model.js';
export * from './parse.js';
export * from './print.js';
export * from './ipset.js';
export * from './conntrack.js';
export * from './node.js';
export * from './evaluate.js';
export * from './probability.js';
export { RECENT_LIST_TOT, RECENT_PKT_LIST_TOT, type RecentEntry, type RecentState } from './recent.js';
export { tokenizeLine, saveString, type Token } from './tokens.js';
export { compileRule, buildChainIndex, ruleKey, type ChainIndex } from './compile.js';
export { parseXtablesTrace, type KernelTraceRecord, type KernelTraceLine, type KernelPacketLine } from './xtables-trace.js';
