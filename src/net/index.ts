// Addresses and blocks: the arithmetic every layer above shares.
export * from './ip.js';
export * from './cidr.js';
