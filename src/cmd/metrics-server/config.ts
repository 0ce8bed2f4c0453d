// Options → a ready-to-run metrics-server (upstream cmd/metrics-server/app/options and
// pkg/server/config.go): every file read and every client made here, so that anything wrong with the
// configuration stops the start before anything listens.
import { DelegatedAuth, generateServingCA, loadServingCert, readFileOrThrow } from "../../apiserver/index.ts";
import { Credentials, KubeClient, loadRestConfig, parseLabelSelector } from "../../kube/index.ts";
import * as log from "../../log/index.ts";
import { MetricsServer, servingHosts } from "../../server/index.ts";
import type { Options } from "./options/index.ts";
import { readVersion } from "./version.ts";

/** The server and what it does not own: stop the server first, then close the rest. */
export interface Running {
  server: MetricsServer;
  close(): Promise<unknown>;
}

export async function run(o: Options): Promise<Running> {
  const restConfig = loadRestConfig(o.kubeconfig || undefined);
  const nodeSelector = parseLabelSelector(o.nodeSelector);
  const authnConfig = o.authenticationKubeconfig ? loadRestConfig(o.authenticationKubeconfig) : restConfig;
  const authzConfig = o.authorizationKubeconfig ? loadRestConfig(o.authorizationKubeconfig) : restConfig;
  const kubeletCA = o.kubeletCertificateAuthority
    ? readFileOrThrow(o.kubeletCertificateAuthority, "--kubelet-certificate-authority")
    : o.kubeletCertificateAuthorityText
      ? Buffer.from(o.kubeletCertificateAuthorityText)
      : restConfig.ca;
  const kubeletCert = o.kubeletClientCertificate
    ? readFileOrThrow(o.kubeletClientCertificate, "--kubelet-client-certificate")
    : restConfig.cert;
  const kubeletKey = o.kubeletClientKey
    ? readFileOrThrow(o.kubeletClientKey, "--kubelet-client-key")
    : restConfig.key;
  // --manage-apiservice-ca-bundle: a CA of our own signs the serving cert, and its PEM goes into the
  // APIService so kube-apiserver verifies us instead of skipping verification.
  const servingCA =
    o.manageApiserviceCaBundle && !o.tlsCertFile
      ? await generateServingCA(servingHosts(o.bindAddress), o.certDir)
      : undefined;
  const serving =
    servingCA ??
    (await loadServingCert({
      certFile: o.tlsCertFile,
      keyFile: o.tlsPrivateKeyFile,
      certDir: o.certDir,
      hosts: [o.bindAddress],
    }));
  if (o.manageApiserviceCaBundle && o.tlsCertFile) {
    log.warning(
      "--manage-apiservice-ca-bundle is ignored with --tls-cert-file: the given cert's CA is not known",
    );
  }
  const sniCertKeys = o.tlsSniCertKeys.map((e) => ({
    names: e.names,
    cert: readFileOrThrow(e.certFile, "--tls-sni-cert-key"),
    key: readFileOrThrow(e.keyFile, "--tls-sni-cert-key"),
  }));
  if (o.kubeletInsecureTls) {
    log.warning("--kubelet-insecure-tls: kubelet serving certificates are not verified");
  }

  // One credential source for both hops, as client-go shares one rest config: the API server and the
  // kubelets see the same bearer token (static, a rotating service-account file, or an exec plugin).
  const credentials = new Credentials(restConfig);
  const kube = new KubeClient(restConfig, { credentials });
  const authnClient = authnConfig === restConfig ? kube : new KubeClient(authnConfig);
  const authzClient = authzConfig === restConfig ? kube : new KubeClient(authzConfig);
  // Before anything else: a required lookup of the authentication ConfigMap that fails stops the start.
  // The options carry the authentication and authorization flags under the names auth reads.
  const auth = await DelegatedAuth.start(o, authnClient, authzClient);

  const server = new MetricsServer({
    kube,
    auth,
    scraper: {
      ca: kubeletCA,
      cert: kubeletCert,
      key: kubeletKey,
      bearerToken: () => credentials.bearerToken(),
      insecureSkipVerify: o.kubeletInsecureTls,
      completelyInsecure: o.deprecatedKubeletCompletelyInsecure,
      addressTypes: o.kubeletPreferredAddressTypes,
      port: o.kubeletPort,
      useNodeStatusPort: o.kubeletUseNodeStatusPort,
      scheme: o.deprecatedKubeletCompletelyInsecure ? "http" : "https",
      requestTimeoutMs: o.kubeletRequestTimeoutMs,
      endpoint: o.kubeletEndpoint,
    },
    nodeSelector,
    resolutionMs: o.metricResolutionMs,
    swapUsage: o.swapUsage,
    listener: {
      bindAddress: o.bindAddress,
      port: o.securePort,
      cert: serving.cert,
      key: serving.key,
      certFile: servingCA ? undefined : o.tlsCertFile || undefined,
      keyFile: servingCA ? undefined : o.tlsPrivateKeyFile || undefined,
      tlsMinVersion: o.tlsMinVersion || undefined,
      tlsCipherSuites: o.tlsCipherSuites,
      sniCertKeys,
      limits: {
        ...(o.http2MaxStreamsPerConnection > 0
          ? { http2MaxConcurrentStreams: o.http2MaxStreamsPerConnection }
          : {}),
        maxRequestsInflight: o.maxRequestsInflight,
        maxMutatingRequestsInflight: o.maxMutatingRequestsInflight,
        requestTimeoutMs: o.requestTimeoutMs,
      },
    },
    version: { gitVersion: readVersion() },
    caPem: servingCA?.caPem,
    requestHeaderCAs: () => auth.requestHeaderCACount,
  });
  await server.run();
  return {
    server,
    close: () =>
      Promise.allSettled([
        auth.stop(),
        kube.close(),
        authnClient === kube ? undefined : authnClient.close(),
        authzClient === kube ? undefined : authzClient.close(),
      ]),
  };
}
