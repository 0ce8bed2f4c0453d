// The fields of the kinds the simulator stores, as one table: strict field validation, strategic
// merge patch (merge keys and strategies per list) and the OpenAPI v3 documents kubectl reads are
// all derived from it. It lists the fields users write in manifests (after the Kubernetes API
// reference, https://kubernetes.io/docs/reference/kubernetes-api/), not every field of every kind;
// parts nobody patches field by field (status, node affinity) are free-form ("any").

import type { Resource } from "./resources.ts";

export type FieldType =
  | "string"
  | "integer"
  | "boolean"
  /** IntOrString (targetPort, maxUnavailable). */
  | "intOrString"
  /** A resource quantity ("100m", 1). */
  | "quantity"
  /** Anything: not validated, not described. */
  | "any"
  | { map: FieldType }
  | { object: string }
  | ListType;

export interface ListType {
  list: FieldType;
  /** Strategic merge patch: the key that identifies an element (x-kubernetes-patch-merge-key). */
  mergeKey?: string;
  /** x-kubernetes-patch-strategy: "merge", "merge,retainKeys"; absent = the list is replaced whole. */
  strategy?: string;
}

const S = "string";
const I = "integer";
const B = "boolean";
const obj = (name: string): FieldType => ({ object: name });
const strings: FieldType = { list: S };
const stringMap: FieldType = { map: S };
const merged = (name: string, mergeKey: string, strategy = "merge"): ListType => ({
  list: obj(name),
  mergeKey,
  strategy,
});
const atomic = (name: string): ListType => ({ list: obj(name) });

/** Every object type: its fields and their types. */
export const TYPES: Record<string, Record<string, FieldType>> = {
  ObjectMeta: {
    name: S,
    generateName: S,
    namespace: S,
    uid: S,
    resourceVersion: S,
    generation: I,
    creationTimestamp: S,
    deletionTimestamp: S,
    deletionGracePeriodSeconds: I,
    labels: stringMap,
    annotations: stringMap,
    ownerReferences: merged("OwnerReference", "uid"),
    finalizers: { list: S, strategy: "merge" },
    managedFields: "any",
    selfLink: S,
  },
  OwnerReference: { apiVersion: S, kind: S, name: S, uid: S, controller: B, blockOwnerDeletion: B },
  LabelSelector: { matchLabels: stringMap, matchExpressions: atomic("LabelSelectorRequirement") },
  LabelSelectorRequirement: { key: S, operator: S, values: strings },
  ObjectReference: {
    apiVersion: S,
    kind: S,
    name: S,
    namespace: S,
    uid: S,
    fieldPath: S,
    resourceVersion: S,
  },
  LocalObjectReference: { name: S },

  Namespace: {
    apiVersion: S,
    kind: S,
    metadata: obj("ObjectMeta"),
    spec: obj("NamespaceSpec"),
    status: "any",
  },
  NamespaceSpec: { finalizers: strings },
  ServiceAccount: {
    apiVersion: S,
    kind: S,
    metadata: obj("ObjectMeta"),
    secrets: merged("ObjectReference", "name"),
    imagePullSecrets: atomic("LocalObjectReference"),
    automountServiceAccountToken: B,
  },
  Secret: {
    apiVersion: S,
    kind: S,
    metadata: obj("ObjectMeta"),
    data: stringMap,
    stringData: stringMap,
    type: S,
    immutable: B,
  },
  ConfigMap: {
    apiVersion: S,
    kind: S,
    metadata: obj("ObjectMeta"),
    data: stringMap,
    binaryData: stringMap,
    immutable: B,
  },

  PolicyRule: {
    verbs: strings,
    apiGroups: strings,
    resources: strings,
    resourceNames: strings,
    nonResourceURLs: strings,
  },
  AggregationRule: { clusterRoleSelectors: atomic("LabelSelector") },
  ClusterRole: {
    apiVersion: S,
    kind: S,
    metadata: obj("ObjectMeta"),
    rules: atomic("PolicyRule"),
    aggregationRule: obj("AggregationRule"),
  },
  Role: { apiVersion: S, kind: S, metadata: obj("ObjectMeta"), rules: atomic("PolicyRule") },
  RoleRef: { apiGroup: S, kind: S, name: S },
  Subject: { apiGroup: S, kind: S, name: S, namespace: S },
  ClusterRoleBinding: {
    apiVersion: S,
    kind: S,
    metadata: obj("ObjectMeta"),
    roleRef: obj("RoleRef"),
    subjects: atomic("Subject"),
  },
  RoleBinding: {
    apiVersion: S,
    kind: S,
    metadata: obj("ObjectMeta"),
    roleRef: obj("RoleRef"),
    subjects: atomic("Subject"),
  },

  Service: { apiVersion: S, kind: S, metadata: obj("ObjectMeta"), spec: obj("ServiceSpec"), status: "any" },
  ServiceSpec: {
    ports: merged("ServicePort", "port"),
    selector: stringMap,
    clusterIP: S,
    clusterIPs: strings,
    type: S,
    externalIPs: strings,
    sessionAffinity: S,
    loadBalancerIP: S,
    loadBalancerSourceRanges: strings,
    externalName: S,
    externalTrafficPolicy: S,
    healthCheckNodePort: I,
    publishNotReadyAddresses: B,
    sessionAffinityConfig: "any",
    ipFamilies: strings,
    ipFamilyPolicy: S,
    allocateLoadBalancerNodePorts: B,
    loadBalancerClass: S,
    internalTrafficPolicy: S,
    trafficDistribution: S,
  },
  ServicePort: { name: S, protocol: S, appProtocol: S, port: I, targetPort: "intOrString", nodePort: I },
  Endpoints: { apiVersion: S, kind: S, metadata: obj("ObjectMeta"), subsets: atomic("EndpointSubset") },
  EndpointSubset: {
    addresses: atomic("EndpointAddress"),
    notReadyAddresses: atomic("EndpointAddress"),
    ports: atomic("EndpointPort"),
  },
  EndpointAddress: { ip: S, hostname: S, nodeName: S, targetRef: obj("ObjectReference") },
  EndpointPort: { name: S, port: I, protocol: S, appProtocol: S },

  Deployment: {
    apiVersion: S,
    kind: S,
    metadata: obj("ObjectMeta"),
    spec: obj("DeploymentSpec"),
    status: "any",
  },
  DeploymentSpec: {
    replicas: I,
    selector: obj("LabelSelector"),
    template: obj("PodTemplateSpec"),
    strategy: obj("DeploymentStrategy"),
    minReadySeconds: I,
    revisionHistoryLimit: I,
    paused: B,
    progressDeadlineSeconds: I,
  },
  DeploymentStrategy: { type: S, rollingUpdate: obj("RollingUpdateDeployment") },
  RollingUpdateDeployment: { maxUnavailable: "intOrString", maxSurge: "intOrString" },
  PodTemplateSpec: { metadata: obj("ObjectMeta"), spec: obj("PodSpec") },
  PodSpec: {
    volumes: merged("Volume", "name", "merge,retainKeys"),
    initContainers: merged("Container", "name"),
    containers: merged("Container", "name"),
    restartPolicy: S,
    terminationGracePeriodSeconds: I,
    activeDeadlineSeconds: I,
    dnsPolicy: S,
    nodeSelector: stringMap,
    serviceAccountName: S,
    serviceAccount: S,
    automountServiceAccountToken: B,
    nodeName: S,
    hostNetwork: B,
    hostPID: B,
    hostIPC: B,
    shareProcessNamespace: B,
    securityContext: obj("PodSecurityContext"),
    imagePullSecrets: merged("LocalObjectReference", "name"),
    hostname: S,
    subdomain: S,
    affinity: obj("Affinity"),
    schedulerName: S,
    tolerations: atomic("Toleration"),
    hostAliases: { list: "any", mergeKey: "ip", strategy: "merge" },
    priorityClassName: S,
    priority: I,
    dnsConfig: "any",
    readinessGates: { list: "any" },
    runtimeClassName: S,
    enableServiceLinks: B,
    preemptionPolicy: S,
    overhead: { map: "quantity" },
    topologySpreadConstraints: { list: "any", mergeKey: "topologyKey", strategy: "merge" },
    // Rarer fields, checked only for being fields.
    ephemeralContainers: { list: "any", mergeKey: "name", strategy: "merge" },
    setHostnameAsFQDN: B,
    hostnameOverride: S,
    schedulingGroup: "any",
    os: "any",
    hostUsers: B,
    schedulingGates: { list: "any", mergeKey: "name", strategy: "merge" },
    resourceClaims: { list: "any", mergeKey: "name", strategy: "merge,retainKeys" },
    resources: obj("ResourceRequirements"),
  },
  PodSecurityContext: {
    runAsUser: I,
    runAsGroup: I,
    runAsNonRoot: B,
    fsGroup: I,
    fsGroupChangePolicy: S,
    seLinuxChangePolicy: S,
    supplementalGroupsPolicy: S,
    supplementalGroups: { list: I },
    seccompProfile: obj("SeccompProfile"),
    seLinuxOptions: "any",
    sysctls: { list: "any" },
    windowsOptions: "any",
    appArmorProfile: "any",
  },
  Affinity: { nodeAffinity: "any", podAffinity: obj("PodAffinity"), podAntiAffinity: obj("PodAffinity") },
  PodAffinity: {
    requiredDuringSchedulingIgnoredDuringExecution: atomic("PodAffinityTerm"),
    preferredDuringSchedulingIgnoredDuringExecution: atomic("WeightedPodAffinityTerm"),
  },
  PodAffinityTerm: {
    labelSelector: obj("LabelSelector"),
    namespaces: strings,
    topologyKey: S,
    namespaceSelector: obj("LabelSelector"),
    matchLabelKeys: strings,
    mismatchLabelKeys: strings,
  },
  WeightedPodAffinityTerm: { weight: I, podAffinityTerm: obj("PodAffinityTerm") },
  Toleration: { key: S, operator: S, value: S, effect: S, tolerationSeconds: I },
  Volume: {
    name: S,
    emptyDir: obj("EmptyDirVolumeSource"),
    secret: obj("SecretVolumeSource"),
    configMap: obj("ConfigMapVolumeSource"),
    hostPath: obj("HostPathVolumeSource"),
    projected: "any",
    downwardAPI: "any",
    persistentVolumeClaim: "any",
    csi: "any",
    ephemeral: "any",
    nfs: "any",
    image: "any",
    gitRepo: "any",
    iscsi: "any",
    fc: "any",
    awsElasticBlockStore: "any",
    gcePersistentDisk: "any",
    azureDisk: "any",
    azureFile: "any",
    cephfs: "any",
    rbd: "any",
    cinder: "any",
    flexVolume: "any",
    glusterfs: "any",
    portworxVolume: "any",
    quobyte: "any",
    scaleIO: "any",
    storageos: "any",
    vsphereVolume: "any",
    photonPersistentDisk: "any",
    flocker: "any",
  },
  EmptyDirVolumeSource: { medium: S, sizeLimit: "quantity" },
  SecretVolumeSource: { secretName: S, items: atomic("KeyToPath"), defaultMode: I, optional: B },
  ConfigMapVolumeSource: { name: S, items: atomic("KeyToPath"), defaultMode: I, optional: B },
  KeyToPath: { key: S, path: S, mode: I },
  HostPathVolumeSource: { path: S, type: S },
  Container: {
    name: S,
    image: S,
    command: strings,
    args: strings,
    workingDir: S,
    ports: merged("ContainerPort", "containerPort"),
    envFrom: { list: "any" },
    env: merged("EnvVar", "name"),
    resources: obj("ResourceRequirements"),
    resizePolicy: { list: "any" },
    restartPolicy: S,
    restartPolicyRules: { list: "any" },
    volumeMounts: merged("VolumeMount", "mountPath"),
    volumeDevices: { list: "any", mergeKey: "devicePath", strategy: "merge" },
    livenessProbe: obj("Probe"),
    readinessProbe: obj("Probe"),
    startupProbe: obj("Probe"),
    lifecycle: "any",
    terminationMessagePath: S,
    terminationMessagePolicy: S,
    imagePullPolicy: S,
    securityContext: obj("SecurityContext"),
    stdin: B,
    stdinOnce: B,
    tty: B,
  },
  ContainerPort: { name: S, hostPort: I, containerPort: I, protocol: S, hostIP: S },
  EnvVar: { name: S, value: S, valueFrom: obj("EnvVarSource") },
  EnvVarSource: {
    fieldRef: obj("ObjectFieldSelector"),
    resourceFieldRef: obj("ResourceFieldSelector"),
    configMapKeyRef: obj("KeySelector"),
    secretKeyRef: obj("KeySelector"),
    fileKeyRef: "any",
  },
  ObjectFieldSelector: { apiVersion: S, fieldPath: S },
  ResourceFieldSelector: { containerName: S, resource: S, divisor: "quantity" },
  KeySelector: { name: S, key: S, optional: B },
  ResourceRequirements: {
    limits: { map: "quantity" },
    requests: { map: "quantity" },
    claims: { list: "any" },
  },
  VolumeMount: {
    name: S,
    readOnly: B,
    recursiveReadOnly: S,
    mountPath: S,
    subPath: S,
    mountPropagation: S,
    subPathExpr: S,
  },
  Probe: {
    exec: obj("ExecAction"),
    httpGet: obj("HTTPGetAction"),
    tcpSocket: obj("TCPSocketAction"),
    grpc: "any",
    initialDelaySeconds: I,
    timeoutSeconds: I,
    periodSeconds: I,
    successThreshold: I,
    failureThreshold: I,
    terminationGracePeriodSeconds: I,
  },
  ExecAction: { command: strings },
  TCPSocketAction: { port: "intOrString", host: S },
  HTTPGetAction: { path: S, port: "intOrString", host: S, scheme: S, httpHeaders: { list: "any" } },
  SecurityContext: {
    capabilities: obj("Capabilities"),
    privileged: B,
    seLinuxOptions: "any",
    windowsOptions: "any",
    runAsUser: I,
    runAsGroup: I,
    runAsNonRoot: B,
    readOnlyRootFilesystem: B,
    allowPrivilegeEscalation: B,
    procMount: S,
    seccompProfile: obj("SeccompProfile"),
    appArmorProfile: "any",
  },
  Capabilities: { add: strings, drop: strings },
  SeccompProfile: { type: S, localhostProfile: S },

  PodDisruptionBudget: {
    apiVersion: S,
    kind: S,
    metadata: obj("ObjectMeta"),
    spec: obj("PodDisruptionBudgetSpec"),
    status: "any",
  },
  PodDisruptionBudgetSpec: {
    minAvailable: "intOrString",
    maxUnavailable: "intOrString",
    selector: obj("LabelSelector"),
    unhealthyPodEvictionPolicy: S,
  },
  APIService: {
    apiVersion: S,
    kind: S,
    metadata: obj("ObjectMeta"),
    spec: obj("APIServiceSpec"),
    status: "any",
  },
  APIServiceSpec: {
    service: obj("ServiceReference"),
    group: S,
    version: S,
    insecureSkipTLSVerify: B,
    caBundle: S,
    groupPriorityMinimum: I,
    versionPriority: I,
  },
  ServiceReference: { namespace: S, name: S, port: I },
};

/** The type of each stored resource's objects; undefined = not described (nodes and pods: any field). */
export const ROOT_TYPE: Partial<Record<Resource, string>> = {
  namespaces: "Namespace",
  serviceaccounts: "ServiceAccount",
  secrets: "Secret",
  configmaps: "ConfigMap",
  clusterroles: "ClusterRole",
  clusterrolebindings: "ClusterRoleBinding",
  roles: "Role",
  rolebindings: "RoleBinding",
  services: "Service",
  endpoints: "Endpoints",
  deployments: "Deployment",
  poddisruptionbudgets: "PodDisruptionBudget",
  apiservices: "APIService",
};

/** The type reached by following `key` from `t` (undefined = free-form or a primitive). */
export function fieldOf(t: FieldType | undefined, key: string): FieldType | undefined {
  if (t === undefined || t === "any" || typeof t === "string") return undefined;
  if ("map" in t) return t.map;
  if ("object" in t) {
    const fields = TYPES[t.object];
    return fields && Object.hasOwn(fields, key) ? fields[key] : undefined;
  }
  return undefined;
}
