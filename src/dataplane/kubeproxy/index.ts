// kube-proxy renderers: Services + EndpointSlices + a node's view → the rules kube-proxy programs.
export * from './chainnames.js';
export * from './endpoints.js';
export * from './ip.js';
export * from './iptables.js';
export * from './iptables-service.js';
export * from './iptables-types.js';
export * from './ipvs.js';
export * from './model.js';
export * from './nodeview.js';
export * from './probability.js';
export * from './serviceport.js';
export * from './topology.js';
