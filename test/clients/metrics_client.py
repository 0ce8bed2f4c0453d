"""Reads the metrics API the way a Python program would, with the kubernetes client library
(Debian's python3-kubernetes), and prints what it got as one JSON document on stdout.

Usage: metrics_client.py KUBECONFIG NODE NAMESPACE LABEL_SELECTOR POD

Every call's result (or, for the deliberately missing pod, the HTTP status of the ApiException)
is printed; the calling test compares it with the simulator's truth.
"""

import json
import sys

from kubernetes import client, config
from kubernetes.client.rest import ApiException

GROUP = "metrics.k8s.io"
VERSION = "v1beta1"


def main(argv):
    if len(argv) != 6:
        sys.stderr.write(__doc__)
        return 2
    kubeconfig, node, namespace, selector, pod = argv[1:]
    config.load_kube_config(config_file=kubeconfig)
    api = client.CustomObjectsApi()
    out = {
        "nodes": api.list_cluster_custom_object(GROUP, VERSION, "nodes"),
        "node": api.get_cluster_custom_object(GROUP, VERSION, "nodes", node),
        "allPods": api.list_cluster_custom_object(GROUP, VERSION, "pods"),
        "selectedPods": api.list_namespaced_custom_object(
            GROUP, VERSION, namespace, "pods", label_selector=selector
        ),
        "pod": api.get_namespaced_custom_object(GROUP, VERSION, namespace, "pods", pod),
    }
    try:
        api.get_namespaced_custom_object(GROUP, VERSION, namespace, "pods", "no-such-pod")
        out["missingPod"] = {"status": 200}
    except ApiException as e:
        out["missingPod"] = {"status": e.status, "body": json.loads(e.body)}
    json.dump(out, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
