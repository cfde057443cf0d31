// One line of plain words for a timeline action, as reports show it.
import type { TimelineAction } from './types.js';

export function describeAction(a: TimelineAction): string {
  switch (a.action) {
    case 'scale':
      return `scale ${a.target.kind.toLowerCase()}/${a.target.namespace}/${a.target.name} to ${a.replicas}`;
    case 'rollout':
      return `rollout ${a.target.kind.toLowerCase()}/${a.target.namespace}/${a.target.name}${a.image ? ` image ${a.image.image}` : a.templatePatch ? ' (template patch)' : ' (restart)'}`;
    case 'deletePod':
      return `delete pod ${a.pod.namespace}/${a.pod.name}`;
    case 'setPodReady':
      return `pod ${a.pod.namespace}/${a.pod.name} ${a.ready ? 'ready' : 'not ready'}`;
    case 'nodeNotReady':
      return `node ${a.node} NotReady`;
    case 'nodeReady':
      return `node ${a.node} Ready`;
    case 'cordon':
    case 'uncordon':
    case 'drain':
      return `${a.action} node ${a.node}`;
    case 'deleteNode':
      return `delete node ${a.node}`;
    case 'apply':
      return `apply ${a.objects.length === 1 ? `${a.objects[0]!.object.kind.toLowerCase()}/${a.objects[0]!.object.metadata.name}` : `${a.objects.length} objects`}`;
    case 'delete':
      return `delete ${a.target.kind.toLowerCase()}/${a.target.namespace ? `${a.target.namespace}/` : ''}${a.target.name}`;
  }
}
