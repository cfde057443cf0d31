// NetworkPolicy evaluation (networking.k8s.io/v1): knows Kubernetes objects, not the data plane.
export * from './types.js';
export { buildPolicyIndex, PolicyIndex, NAMESPACE_NAME_LABEL, type PolicyIndexInput, type Selection } from './policy-index.js';
export { compilePolicy, effectivePolicyTypes, policyRef, type CompiledPolicy, type CompiledRule, type CompiledPeer, type CompiledPort } from './compile.js';
