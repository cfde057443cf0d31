// Deployment, ReplicaSet, StatefulSet, DaemonSet and Job specs (pkg/apis/apps and batch validation).
import type { FieldErrors, Path } from './field-errors.js';
import { isPercent } from './syntax.js';
import {
  asArr,
  asInt,
  asObj,
  asStr,
  isEmptySelector,
  oneOf,
  selectorMatches,
  validateAnnotations,
  validateLabels,
  validateLabelSelector,
  validateNonnegative,
  type Obj,
} from './validate-meta.js';
import { validatePodSpec, type PodSpecOptions } from './validate-pod.js';

const SPEC: Path = ['spec'];

/** `spec.selector` + `spec.template`: the selector must exist, be non-empty and select the template's labels. */
function validateSelectorAndTemplate(spec: Obj, owner: string, errs: FieldErrors, podOpts: PodSpecOptions, selectorRequired = true): void {
  const sel = asObj(spec.selector);
  let selectorOk = false;
  if (!sel) {
    if (selectorRequired) errs.required([...SPEC, 'selector'], '', 'set spec.selector.matchLabels to the labels of spec.template.metadata.labels');
  } else {
    const before = errs.out.length;
    validateLabelSelector(sel, [...SPEC, 'selector'], errs);
    if (isEmptySelector(sel)) errs.invalid([...SPEC, 'selector'], sel, `empty selector is invalid for ${owner}`);
    // Upstream only compares a selector that parses with the template labels.
    selectorOk = errs.out.length === before;
  }
  validateTemplate(spec.template, [...SPEC, 'template'], errs, podOpts);
  const tmpl = asObj(spec.template);
  if (sel && tmpl && selectorOk) {
    const labels = asObj(asObj(tmpl.metadata)?.labels) ?? {};
    if (!selectorMatches(sel, labels))
      errs.invalid([...SPEC, 'template', 'metadata', 'labels'], labels, '`selector` does not match template `labels`', 'every label in spec.selector must also be set on the pod template');
  }
}

export function validateTemplate(template: unknown, path: Path, errs: FieldErrors, podOpts: PodSpecOptions): void {
  const t = asObj(template);
  if (!t) {
    if (template === undefined || template === null) errs.required(path);
    return;
  }
  const meta = asObj(t.metadata);
  if (meta) {
    validateLabels(meta.labels, [...path, 'metadata', 'labels'], errs);
    validateAnnotations(meta.annotations, [...path, 'metadata', 'annotations'], errs);
  }
  validatePodSpec(t.spec, [...path, 'spec'], errs, podOpts);
}

/** int ≥ 0 or "N%"; `maxUnavailable` also ≤ 100%. */
function validateIntOrPercent(v: unknown, path: Path, errs: FieldErrors, max100 = false): void {
  if (typeof v === 'number') validateNonnegative(v, path, errs);
  else if (typeof v === 'string') {
    if (!isPercent(v)) errs.invalid(path, v, "a valid percent string must be a numeric string followed by an ending '%'");
    else if (max100 && Number(v.slice(0, -1)) > 100) errs.invalid(path, v, 'must not be greater than 100%');
  }
}

const isZero = (v: unknown) => v === 0 || v === '0%';

function validateRollingUpdate(ru: Obj, path: Path, errs: FieldErrors, defaults: { surge: unknown; unavailable: unknown }): void {
  const surge = ru.maxSurge ?? defaults.surge;
  const unavailable = ru.maxUnavailable ?? defaults.unavailable;
  validateIntOrPercent(ru.maxSurge, [...path, 'maxSurge'], errs);
  validateIntOrPercent(ru.maxUnavailable, [...path, 'maxUnavailable'], errs, true);
  if (isZero(surge) && isZero(unavailable)) errs.invalid([...path, 'maxUnavailable'], unavailable, 'may not be 0 when `maxSurge` is 0');
}

const CONTROLLER_POD: PodSpecOptions = { restartPolicies: ['Always'], forbidActiveDeadline: true };

export function validateDeployment(obj: Obj, errs: FieldErrors): void {
  const spec = asObj(obj.spec);
  if (!spec) return obj.spec == null ? errs.required(SPEC) : undefined;
  for (const f of ['replicas', 'minReadySeconds', 'revisionHistoryLimit', 'progressDeadlineSeconds']) validateNonnegative(spec[f], [...SPEC, f], errs);
  validateSelectorAndTemplate(spec, 'deployment', errs, CONTROLLER_POD);
  const strategy = asObj(spec.strategy);
  if (strategy) {
    const p: Path = [...SPEC, 'strategy'];
    oneOf(strategy.type, ['Recreate', 'RollingUpdate'], [...p, 'type'], errs);
    const ru = asObj(strategy.rollingUpdate);
    if (strategy.type === 'Recreate' && ru) errs.forbidden([...p, 'rollingUpdate'], "may not be specified when strategy `type` is 'Recreate'");
    if (ru && strategy.type !== 'Recreate') validateRollingUpdate(ru, [...p, 'rollingUpdate'], errs, { surge: '25%', unavailable: '25%' });
  }
  const pds = asInt(spec.progressDeadlineSeconds);
  const mrs = asInt(spec.minReadySeconds) ?? 0;
  if (pds !== undefined && pds >= 0 && pds <= mrs) errs.invalid([...SPEC, 'progressDeadlineSeconds'], pds, 'must be greater than minReadySeconds');
}

export function validateReplicaSet(obj: Obj, errs: FieldErrors): void {
  const spec = asObj(obj.spec);
  if (!spec) return obj.spec == null ? errs.required(SPEC) : undefined;
  for (const f of ['replicas', 'minReadySeconds']) validateNonnegative(spec[f], [...SPEC, f], errs);
  // Upstream words the ReplicaSet message with "deployment" too.
  validateSelectorAndTemplate(spec, 'deployment', errs, CONTROLLER_POD);
}

export function validateStatefulSet(obj: Obj, errs: FieldErrors): void {
  const spec = asObj(obj.spec);
  if (!spec) return obj.spec == null ? errs.required(SPEC) : undefined;
  for (const f of ['replicas', 'minReadySeconds', 'revisionHistoryLimit']) validateNonnegative(spec[f], [...SPEC, f], errs);
  oneOf(spec.podManagementPolicy, ['OrderedReady', 'Parallel'], [...SPEC, 'podManagementPolicy'], errs);
  const us = asObj(spec.updateStrategy);
  if (us) {
    const p: Path = [...SPEC, 'updateStrategy'];
    oneOf(us.type, ['OnDelete', 'RollingUpdate'], [...p, 'type'], errs);
    const ru = asObj(us.rollingUpdate);
    if (ru && us.type === 'OnDelete') errs.invalid([...p, 'rollingUpdate'], ru, "only allowed for updateStrategy 'RollingUpdate'");
    if (ru) {
      validateNonnegative(ru.partition, [...p, 'rollingUpdate', 'partition'], errs);
      if (ru.maxUnavailable !== undefined && ru.maxUnavailable !== null) {
        validateIntOrPercent(ru.maxUnavailable, [...p, 'rollingUpdate', 'maxUnavailable'], errs, true);
        if (isZero(ru.maxUnavailable)) errs.invalid([...p, 'rollingUpdate', 'maxUnavailable'], ru.maxUnavailable, 'must be greater than 0');
      }
    }
  }
  const retention = asObj(spec.persistentVolumeClaimRetentionPolicy);
  if (retention)
    for (const f of ['whenDeleted', 'whenScaled']) oneOf(retention[f], ['Delete', 'Retain'], [...SPEC, 'persistentVolumeClaimRetentionPolicy', f], errs);
  validateNonnegative(asObj(spec.ordinals)?.start, [...SPEC, 'ordinals', 'start'], errs);
  asArr(spec.volumeClaimTemplates).forEach((t, i) => {
    if (!asStr(asObj(asObj(t)?.metadata)?.name)) errs.required([...SPEC, 'volumeClaimTemplates', i, 'metadata', 'name']);
  });
  validateSelectorAndTemplate(spec, 'statefulset', errs, CONTROLLER_POD);
  if (!asStr(spec.serviceName))
    errs.warning([...SPEC, 'serviceName'], 'not set: the pods get no stable DNS names', 'name the headless Service that governs this StatefulSet');
}

export function validateDaemonSet(obj: Obj, errs: FieldErrors): void {
  const spec = asObj(obj.spec);
  if (!spec) return obj.spec == null ? errs.required(SPEC) : undefined;
  for (const f of ['minReadySeconds', 'revisionHistoryLimit']) validateNonnegative(spec[f], [...SPEC, f], errs);
  validateSelectorAndTemplate(spec, 'daemonset', errs, CONTROLLER_POD);
  const us = asObj(spec.updateStrategy);
  if (us) {
    const p: Path = [...SPEC, 'updateStrategy'];
    oneOf(us.type, ['OnDelete', 'RollingUpdate'], [...p, 'type'], errs);
    const ru = asObj(us.rollingUpdate);
    if (ru && us.type !== 'OnDelete') validateRollingUpdate(ru, [...p, 'rollingUpdate'], errs, { surge: 0, unavailable: 1 });
  }
}

export function validateJob(obj: Obj, errs: FieldErrors): void {
  const spec = asObj(obj.spec);
  if (!spec) return obj.spec == null ? errs.required(SPEC) : undefined;
  for (const f of ['parallelism', 'completions', 'backoffLimit', 'ttlSecondsAfterFinished', 'activeDeadlineSeconds'])
    validateNonnegative(spec[f], [...SPEC, f], errs);
  const manual = spec.manualSelector === true;
  const sel = asObj(spec.selector);
  if (manual) validateSelectorAndTemplate(spec, 'job', errs, {}, true);
  else {
    if (sel)
      errs.invalid([...SPEC, 'selector'], sel, '`selector` not auto-generated', 'remove spec.selector (Kubernetes generates it), or set spec.manualSelector: true');
    validateTemplate(spec.template, [...SPEC, 'template'], errs, {});
  }
  const tspec = asObj(asObj(spec.template)?.spec);
  if (tspec) {
    const rp = tspec.restartPolicy;
    const p: Path = [...SPEC, 'template', 'spec', 'restartPolicy'];
    if (rp === undefined || rp === null || rp === '') errs.required(p, 'valid values: "OnFailure", "Never"');
    else if (rp === 'Always') errs.notSupported(p, rp, ['OnFailure', 'Never']);
  }
  oneOf(spec.completionMode, ['NonIndexed', 'Indexed'], [...SPEC, 'completionMode'], errs);
  if (spec.completionMode === 'Indexed' && (spec.completions === undefined || spec.completions === null))
    errs.required([...SPEC, 'completions'], 'when completion mode is Indexed');
}
