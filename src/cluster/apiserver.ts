// STUB — to be written: the API server's registry logic (defaulting, ClusterIP/NodePort allocation).
import type { Store } from './store.js';
import type { ClusterConfig } from './config.js';
import type { Rng } from './rng.js';

export function installApiServer(_store: Store, _config: ClusterConfig, _rng: Rng): void {}
