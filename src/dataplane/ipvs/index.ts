// kubepath's IPVS interpreter: the model read from `ipvsadm -Sn`, the kernel's schedulers as exact
// branches, and the hand-off to and from the netfilter evaluator. It knows nothing of Kubernetes.
export * from './model.js';
export * from './parse.js';
export * from './print.js';
export * from './hash.js';
export * from './hashing.js';
export * from './schedulers.js';
export * from './decide.js';
export * from './evaluate.js';
