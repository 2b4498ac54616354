"""Run the distributed word2vec job on Kubernetes from Python (the notebook's Kubernetes cells).

    from workshop_sections.distributed_tensorflow import k8s_client as k8s
    client = k8s.api_client()                     # ~/.kube/config, or in-cluster in the Jupyter pod
    objects = k8s.render("overlays/local")        # kubectl kustomize k8s/overlays/local
    k8s.create(objects, client)                   # namespace, volume, tools, then the job
    k8s.watch_pods(client)                        # until the chief has finished
    k8s.stream_logs(client)                       # the chief's log, line by line
    print(k8s.port_forward_command())             # TensorBoard on http://127.0.0.1:6006
    k8s.delete(k8s.job_objects(objects), client)  # the job only (volume and tools stay)

Everything goes through the ``kubernetes`` Python client (REST calls to the API server), so the
same helpers are tested against a fake API server on 127.0.0.1 (tests/test_k8s.py). Only
:func:`render` calls the ``kubectl`` binary (for its built-in kustomize).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path

import kubernetes
import yaml
from kubernetes.client.exceptions import ApiException

from .. import config

NAMESPACE = "tfw"
JOB_LABEL = "app.kubernetes.io/name"
JOB_NAME = "tfw-word2vec"
JOB_SELECTOR = f"{JOB_LABEL}={JOB_NAME}"
COMPONENT = "app.kubernetes.io/component"
CONTAINER = "tensorflow"
TFJOB = ("kubeflow.org", "v1", "tfjobs")

# kind -> (API class of the kubernetes client, method suffix, namespaced?)
KINDS = {
    "Namespace": ("CoreV1Api", "namespace", False),
    "ServiceAccount": ("CoreV1Api", "namespaced_service_account", True),
    "ConfigMap": ("CoreV1Api", "namespaced_config_map", True),
    "Secret": ("CoreV1Api", "namespaced_secret", True),
    "Service": ("CoreV1Api", "namespaced_service", True),
    "PersistentVolumeClaim": ("CoreV1Api", "namespaced_persistent_volume_claim", True),
    "Pod": ("CoreV1Api", "namespaced_pod", True),
    "StatefulSet": ("AppsV1Api", "namespaced_stateful_set", True),
    "Deployment": ("AppsV1Api", "namespaced_deployment", True),
    "Job": ("BatchV1Api", "namespaced_job", True),
    "NetworkPolicy": ("NetworkingV1Api", "namespaced_network_policy", True),
    "Ingress": ("NetworkingV1Api", "namespaced_ingress", True),
    "Role": ("RbacAuthorizationV1Api", "namespaced_role", True),
    "RoleBinding": ("RbacAuthorizationV1Api", "namespaced_role_binding", True),
}
# creation order: what others refer to comes first
ORDER = [
    "Namespace",
    "ServiceAccount",
    "Role",
    "RoleBinding",
    "Secret",
    "ConfigMap",
    "PersistentVolumeClaim",
    "NetworkPolicy",
    "Service",
    "Deployment",
    "StatefulSet",
    "Job",
    "TFJob",
    "Ingress",
    "Pod",
]


class K8sError(RuntimeError):
    """Something about the cluster, the manifests or kubectl, with what to do about it."""


# --------------------------------------------------------------------------- client
def api_client(kubeconfig=None, context: str | None = None, host: str | None = None):
    """An ApiClient: ``host`` (e.g. a test server), else in-cluster (the Jupyter pod), else kubeconfig."""
    if host:
        conf = kubernetes.client.Configuration()
        conf.host = host
        return kubernetes.client.ApiClient(conf)
    if os.environ.get("KUBERNETES_SERVICE_HOST") and kubeconfig is None:
        kubernetes.config.load_incluster_config()
        return kubernetes.client.ApiClient()
    try:
        return kubernetes.config.new_client_from_config(config_file=kubeconfig, context=context)
    except (kubernetes.config.ConfigException, FileNotFoundError, TypeError) as e:
        raise K8sError(
            f"No Kubernetes cluster configured ({e}). Start one (kind create cluster, minikube start) "
            "or point KUBECONFIG at your cluster's config, then check with `kubectl get nodes`."
        ) from None


def connect(
    kubeconfig=None,
    context: str | None = None,
    host: str | None = None,
    timeout: float = 5.0,
    out: Callable = print,
):
    """An ApiClient if a cluster answers, else None with a message saying what to do.

    The notebook's Kubernetes cells call this first and do nothing without a cluster, so the
    notebook also runs from top to bottom on a laptop without one."""
    try:
        client = api_client(kubeconfig, context, host)
        info = _api(client, "VersionApi").get_code(_request_timeout=timeout)
    except K8sError as e:
        if out:
            out(f"No cluster, the Kubernetes cells will do nothing. {e}")
        return None
    except Exception as e:  # unreachable server, TLS, auth
        if out:
            out(
                f"No cluster answers ({type(e).__name__}: {str(e).splitlines()[0][:200]}); "
                "the Kubernetes cells will do nothing. Check `kubectl get nodes`."
            )
        return None
    if out:
        out(f"Connected to {client.configuration.host} (Kubernetes {info.git_version})")
    return client


def _api(client, name: str):
    """The API class ``name`` of the kubernetes client (``CoreV1Api``, ...) on ``client``."""
    return getattr(kubernetes.client, name)(client)


# --------------------------------------------------------------------------- manifests
def k8s_dir() -> Path:
    """The repository's k8s/ folder (manifests, kustomizations, pre-rendered files)."""
    return config.find_root() / "k8s"


RENDER_TARGETS = ("overlays/local", "overlays/cloud", "overlays/cloud-gpu", "overlays/ingress", "tfjob")


def rendered_file(target: str) -> Path:
    """``k8s/rendered/<name>.yaml``: the checked-in output of ``kubectl kustomize k8s/<target>``
    (for machines without kubectl, e.g. the Jupyter pod; tests check it is current)."""
    return k8s_dir() / "rendered" / (Path(target).name + ".yaml")


def render_text(target: str = "overlays/local", kubectl: str | None = None) -> str:
    """The YAML ``kubectl kustomize k8s/<target>`` prints."""
    path = Path(target)
    if not path.is_absolute():
        path = k8s_dir() / target
    if not (path / "kustomization.yaml").exists():
        raise K8sError(
            f"{path} is not a kustomization (no kustomization.yaml). Use e.g. 'overlays/local', "
            "'overlays/cloud' or 'tfjob'."
        )
    exe = kubectl or shutil.which("kubectl")
    if not exe:
        raise K8sError(
            "kubectl is not installed: it renders the kustomize overlays. Install it "
            "(https://kubernetes.io/docs/tasks/tools/) or use the pre-rendered k8s/rendered/*.yaml "
            "(render(..., fallback=True))."
        )
    proc = subprocess.run([exe, "kustomize", str(path)], capture_output=True, text=True, timeout=120)
    if proc.returncode != 0:
        raise K8sError(f"kubectl kustomize {path} failed:\n{proc.stderr.strip()}")
    return proc.stdout


def render(target: str = "overlays/local", kubectl: str | None = None, fallback: bool = False) -> list[dict]:
    """``kubectl kustomize k8s/<target>`` parsed into a list of objects. With ``fallback=True``
    and no kubectl, the pre-rendered ``k8s/rendered/<name>.yaml`` is used instead."""
    try:
        text = render_text(target, kubectl)
    except K8sError:
        if fallback and not (kubectl or shutil.which("kubectl")) and rendered_file(target).exists():
            return load_manifests(rendered_file(target))
        raise
    return [d for d in yaml.safe_load_all(text) if d]


def write_rendered(targets=RENDER_TARGETS) -> list[Path]:
    """Refresh k8s/rendered/*.yaml from the kustomizations (run after editing k8s/)."""
    out = []
    for target in targets:
        path = rendered_file(target)
        path.parent.mkdir(parents=True, exist_ok=True)
        header = (
            f"# generated by `python -m workshop_sections.distributed_tensorflow.k8s_client render`\n"
            f"# from k8s/{target} (kubectl kustomize); do not edit, edit the kustomization instead\n"
        )
        path.write_text(header + render_text(target))
        out.append(path)
    return out


def load_manifests(path) -> list[dict]:
    """The objects of a (multi-document) YAML file."""
    text = Path(path).read_text()
    return [d for d in yaml.safe_load_all(text) if d]


def _labels(obj: dict) -> dict:
    return obj.get("metadata", {}).get("labels", {}) or {}


def is_job_object(obj: dict) -> bool:
    """Part of the training job (what :func:`delete` removes), not the tools and volume around it."""
    if obj.get("kind") == "TFJob":
        return True
    if obj.get("kind") == "ConfigMap":
        return obj["metadata"]["name"].startswith(("tfw-cluster", "tfw-train"))
    return _labels(obj).get(JOB_LABEL) == JOB_NAME


def job_objects(objects: Iterable[dict]) -> list[dict]:
    """The objects of the training job among ``objects`` (:func:`is_job_object`): what to delete
    after a run; the volume, TensorBoard and Jupyter stay."""
    return [o for o in objects if is_job_object(o)]


def _order(objects: Iterable[dict]) -> list[dict]:
    rank = {k: i for i, k in enumerate(ORDER)}
    return sorted(objects, key=lambda o: rank.get(o.get("kind"), len(ORDER)))


def describe(obj: dict) -> str:
    """``Kind/name`` of a manifest object, for messages."""
    return f"{obj.get('kind')}/{obj.get('metadata', {}).get('name')}"


# --------------------------------------------------------------------------- create / delete
def _status(e) -> int | None:
    return getattr(e, "status", None)


def create(
    objects: Iterable[dict], client, namespace: str | None = None, out: Callable = print
) -> list[tuple[str, str]]:
    """Create every object (namespace first); existing ones are left as they are.

    Returns ``[(kind/name, 'created' | 'exists')]``. Other API errors raise K8sError with the
    server's message (a missing CRD for TFJob, RBAC, validation).
    """
    done = []
    for obj in _order(objects):
        kind = obj.get("kind")
        ns = obj.get("metadata", {}).get("namespace") or namespace or NAMESPACE
        try:
            if kind == "TFJob":
                group, version, plural = TFJOB
                _api(client, "CustomObjectsApi").create_namespaced_custom_object(
                    group, version, ns, plural, obj
                )
            elif kind in KINDS:
                cls, suffix, namespaced = KINDS[kind]
                method = getattr(_api(client, cls), "create_" + suffix)
                method(ns, obj) if namespaced else method(obj)
            else:
                raise K8sError(f"{describe(obj)}: kind {kind!r} is not supported by k8s_client.create.")
            state = "created"
        except ApiException as e:
            if e.status == 409:
                state = "exists"
            elif e.status == 404 and kind == "TFJob":
                raise K8sError(
                    "The cluster does not know TFJob (kubeflow.org/v1): install the Kubeflow training "
                    "operator, or use the plain variant (overlays/local)."
                ) from None
            else:
                raise K8sError(f"Creating {describe(obj)} failed ({e.status} {e.reason}): {e.body}") from None
        done.append((describe(obj), state))
        if out:
            out(f"{describe(obj):45s} {state}")
    return done


def delete(
    objects: Iterable[dict], client, namespace: str | None = None, out: Callable = print
) -> list[tuple[str, str]]:
    """Delete the objects (pods of StatefulSets and Jobs go with them); missing ones are skipped."""
    done = []
    for obj in reversed(_order(objects)):
        kind, name = obj.get("kind"), obj["metadata"]["name"]
        ns = obj.get("metadata", {}).get("namespace") or namespace or NAMESPACE
        try:
            if kind == "TFJob":
                group, version, plural = TFJOB
                _api(client, "CustomObjectsApi").delete_namespaced_custom_object(
                    group, version, ns, plural, name, propagation_policy="Background"
                )
            elif kind in KINDS:
                cls, suffix, namespaced = KINDS[kind]
                method = getattr(_api(client, cls), "delete_" + suffix)
                if namespaced:
                    method(name, ns, propagation_policy="Background")
                else:
                    method(name, propagation_policy="Background")
            else:
                raise K8sError(f"{describe(obj)}: kind {kind!r} is not supported by k8s_client.delete.")
            state = "deleted"
        except ApiException as e:
            if e.status != 404:
                raise K8sError(f"Deleting {describe(obj)} failed ({e.status} {e.reason}): {e.body}") from None
            state = "not found"
        done.append((describe(obj), state))
        if out:
            out(f"{describe(obj):45s} {state}")
    return done


# --------------------------------------------------------------------------- pods
def pod_state(pod) -> dict:
    """name, component, phase, ready, restarts of a pod (a V1Pod or a dict)."""
    if not isinstance(pod, dict):
        pod = pod.to_dict()
    meta, status = pod.get("metadata") or {}, pod.get("status") or {}
    statuses = status.get("container_statuses") or status.get("containerStatuses") or []
    return {
        "name": meta.get("name"),
        "component": (meta.get("labels") or {}).get(COMPONENT, "?"),
        "phase": status.get("phase") or "Pending",
        "ready": bool(statuses) and all(s.get("ready") for s in statuses),
        "restarts": sum(int(s.get("restart_count", s.get("restartCount", 0)) or 0) for s in statuses),
    }


def pods(client, namespace: str = NAMESPACE, selector: str = JOB_SELECTOR) -> list[dict]:
    """The job's pods now, sorted by component and name."""
    items = _api(client, "CoreV1Api").list_namespaced_pod(namespace, label_selector=selector).items
    states = [pod_state(p) for p in items]
    # a fake or old API server may ignore the selector: filter on our side too
    key, _, value = selector.partition("=")
    states = [s for s, p in zip(states, items) if not value or (p.metadata.labels or {}).get(key) == value]
    return sorted(states, key=lambda s: (s["component"], s["name"]))


def chief_done(state: dict) -> bool:
    """True when ``state`` (a :func:`pod_state`) is the chief's pod and it has finished (Succeeded
    or Failed): :func:`watch_pods` stops there."""
    return state["component"] == "chief" and state["phase"] in ("Succeeded", "Failed")


def watch_pods(
    client,
    namespace: str = NAMESPACE,
    selector: str = JOB_SELECTOR,
    timeout: float = 900,
    until: Callable[[dict], bool] = chief_done,
    out: Callable = print,
) -> dict:
    """Print pod changes as they happen until ``until(pod_state)`` is true (default: the chief
    has finished) or ``timeout`` seconds pass. Returns the last state of every pod seen."""
    core = _api(client, "CoreV1Api")
    seen: dict[str, dict] = {}
    w = kubernetes.watch.Watch()
    deadline = time.time() + timeout
    key, _, value = selector.partition("=")
    try:
        for event in w.stream(
            core.list_namespaced_pod,
            namespace,
            label_selector=selector,
            timeout_seconds=int(timeout),
            _request_timeout=timeout,
        ):
            pod = event["object"]
            if value and (pod.metadata.labels or {}).get(key) != value:
                continue
            state = pod_state(pod)
            old = seen.get(state["name"])
            seen[state["name"]] = dict(state, event=event["type"])
            if out and (
                old is None
                or (old["phase"], old["ready"], old["restarts"], old["event"])
                != (state["phase"], state["ready"], state["restarts"], event["type"])
            ):
                flag = "ready" if state["ready"] else "not ready"
                out(
                    f"{event['type']:9s} {state['name']:28s} {state['component']:7s} {state['phase']:10s} "
                    f"{flag}  restarts {state['restarts']}"
                )
            if until(state) or time.time() > deadline:
                break
    finally:
        w.stop()
    return seen


def chief_pod(client, namespace: str = NAMESPACE) -> str:
    """The name of the newest chief pod (plain Job or TFJob)."""
    items = (
        _api(client, "CoreV1Api")
        .list_namespaced_pod(namespace, label_selector=f"{JOB_SELECTOR},{COMPONENT}=chief")
        .items
    )
    items = [
        p
        for p in items
        if (p.metadata.labels or {}).get(COMPONENT) == "chief"
        and (p.metadata.labels or {}).get(JOB_LABEL) == JOB_NAME
    ]
    if not items:
        raise K8sError(f"No chief pod in namespace {namespace!r} yet: create the job, then watch_pods().")
    newest = max(
        items, key=lambda p: (p.metadata.creation_timestamp is not None, p.metadata.creation_timestamp or 0)
    )
    return newest.metadata.name


def stream_logs(
    client,
    namespace: str = NAMESPACE,
    pod: str | None = None,
    follow: bool = True,
    out: Callable = print,
    max_lines: int | None = None,
    container: str = CONTAINER,
) -> list[str]:
    """Print the chief's log line by line as it is written (``follow``); return the lines."""
    core = _api(client, "CoreV1Api")
    name = pod or chief_pod(client, namespace)
    resp = core.read_namespaced_pod_log(
        name, namespace, container=container, follow=follow, _preload_content=False
    )
    lines, buf = [], b""
    try:
        for chunk in resp.stream(4096):
            buf += chunk
            *complete, buf = buf.split(b"\n")
            for raw in complete:
                line = raw.decode("utf-8", "replace")
                lines.append(line)
                if out:
                    out(line)
                if max_lines is not None and len(lines) >= max_lines:
                    return lines
        if buf:
            lines.append(buf.decode("utf-8", "replace"))
            if out:
                out(lines[-1])
    finally:
        resp.release_conn()
    return lines


def port_forward_command(
    service: str = "tfw-tensorboard",
    port: int = 6006,
    local_port: int | None = None,
    namespace: str = NAMESPACE,
) -> str:
    """The kubectl command that opens a ClusterIP service on 127.0.0.1 (TensorBoard by default)."""
    local = local_port or port
    return f"kubectl -n {namespace} port-forward svc/{service} {local}:{port}   # then open http://127.0.0.1:{local}/"


if __name__ == "__main__":  # python -m workshop_sections.distributed_tensorflow.k8s_client render
    if sys.argv[1:] != ["render"]:
        print("usage: python -m workshop_sections.distributed_tensorflow.k8s_client render", file=sys.stderr)
        sys.exit(2)
    for p in write_rendered():
        print("wrote", p)
