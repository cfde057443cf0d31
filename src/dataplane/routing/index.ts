// kubepath's Linux routing interpreter: prefix tries, route tables, policy rules, interfaces,
// the forwarding step and iproute2 text forms. It knows nothing of Kubernetes.
export * from './addr.js';
export * from './trie.js';
export * from './model.js';
export * from './links.js';
export * from './table.js';
export * from './namespace.js';
export * from './fib.js';
export * from './fraction.js';
export * from './forward.js';
export * from './network.js';
export * from './print.js';
export * from './parse.js';
export * from './command.js';
export * from './ipcommand.js';
