// Names the EndpointSlice, EndpointSliceMirroring and Endpoints controllers share with upstream.

/** discovery.LabelServiceName */
export const LABEL_SERVICE_NAME = 'kubernetes.io/service-name';
/** discovery.LabelManagedBy */
export const LABEL_MANAGED_BY = 'endpointslice.kubernetes.io/managed-by';
/** discovery.LabelSkipMirror */
export const LABEL_SKIP_MIRROR = 'endpointslice.kubernetes.io/skip-mirror';
/** v1.IsHeadlessService */
export const LABEL_HEADLESS = 'service.kubernetes.io/headless';
/** v1.LabelTopologyZone */
export const LABEL_TOPOLOGY_ZONE = 'topology.kubernetes.io/zone';

/** v1.EndpointsLastChangeTriggerTime */
export const ANNOTATION_TRIGGER_TIME = 'endpoints.kubernetes.io/last-change-trigger-time';
/** v1.EndpointsOverCapacity */
export const ANNOTATION_OVER_CAPACITY = 'endpoints.kubernetes.io/over-capacity';
/** v1.AnnotationTopologyMode */
export const ANNOTATION_TOPOLOGY_MODE = 'service.kubernetes.io/topology-mode';
/** v1.DeprecatedAnnotationTopologyAwareHints */
export const ANNOTATION_TOPOLOGY_AWARE_HINTS = 'service.kubernetes.io/topology-aware-hints';
/** v1.LastAppliedConfigAnnotation */
export const ANNOTATION_LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';
/** resourcelock.LeaderElectionRecordAnnotationKey */
export const ANNOTATION_LEADER_ELECTION = 'control-plane.alpha.kubernetes.io/leader';

export const ENDPOINTSLICE_CONTROLLER_NAME = 'endpointslice-controller.k8s.io';
export const MIRRORING_CONTROLLER_NAME = 'endpointslicemirroring-controller.k8s.io';

export type AddressType = 'IPv4' | 'IPv6';

export const TRAFFIC_DISTRIBUTION_PREFER_CLOSE = 'PreferClose';
export const TRAFFIC_DISTRIBUTION_PREFER_SAME_ZONE = 'PreferSameZone';
export const TRAFFIC_DISTRIBUTION_PREFER_SAME_NODE = 'PreferSameNode';
