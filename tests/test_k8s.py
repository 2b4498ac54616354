"""k8s/: render every kustomize target, validate strictly against the Kubernetes API schema,
check what the schema cannot (selectors, TF_CONFIG addresses, limits, non-root, Jupyter token,
NetworkPolicy, Ingress auth), and test the notebook's kubernetes-client helpers against a fake
API server on 127.0.0.1 (kmock's KubernetesEmulator)."""

from __future__ import annotations

import asyncio
import re
import shutil
import subprocess
import threading
import time
from pathlib import Path

import pytest
import yaml

from workshop_sections.distributed_tensorflow import distributed_word2vec as dw
from workshop_sections.distributed_tensorflow import k8s_client as k8s

ROOT = Path(__file__).resolve().parents[1]
K8S = ROOT / "k8s"
PLAIN = ["overlays/local", "overlays/cloud", "overlays/cloud-gpu", "overlays/ingress", "base"]
TARGETS = PLAIN + ["tfjob"]
EXPECTED_SIZES = {
    "overlays/local": (1, 2),
    "overlays/cloud": (4, 8),
    "overlays/cloud-gpu": (4, 8),
    "overlays/ingress": (4, 8),
    "base": (2, 2),
}
SCHEMA_VERSIONS = ["1.32.0", "1.37.0"]  # kubectl's minor here, and the newest bundled schema
WORKLOADS = ("Deployment", "StatefulSet", "Job")

KUBECTL = shutil.which("kubectl")
needs_kubectl = pytest.mark.skipif(
    KUBECTL is None, reason="kubectl is not installed: it renders the kustomize overlays"
)


# --------------------------------------------------------------------------- rendering
_RENDERED: dict[str, list[dict]] = {}


def rendered(target: str) -> list[dict]:
    if target not in _RENDERED:
        proc = subprocess.run(
            [KUBECTL, "kustomize", str(K8S / target)], capture_output=True, text=True, timeout=120
        )
        assert proc.returncode == 0, f"kubectl kustomize {target} failed:\n{proc.stderr}"
        _RENDERED[target] = [d for d in yaml.safe_load_all(proc.stdout) if d]
    return _RENDERED[target]


def by_kind(docs, kind):
    return [d for d in docs if d["kind"] == kind]


def one(docs, kind, name_prefix):
    found = [d for d in docs if d["kind"] == kind and d["metadata"]["name"].startswith(name_prefix)]
    assert len(found) == 1, (
        f"expected one {kind} named {name_prefix}*, found {[d['metadata']['name'] for d in found]}"
    )
    return found[0]


def pod_templates(docs):
    """(owner description, pod template) for every workload, TFJob replica specs included."""
    out = []
    for d in docs:
        if d["kind"] in WORKLOADS:
            out.append((f"{d['kind']}/{d['metadata']['name']}", d["spec"]["template"]))
        elif d["kind"] == "TFJob":
            for rtype, spec in d["spec"]["tfReplicaSpecs"].items():
                out.append((f"TFJob/{d['metadata']['name']}/{rtype}", spec["template"]))
    return out


def matches(selector: dict, labels: dict) -> bool:
    return all(labels.get(k) == v for k, v in selector.items())


# --------------------------------------------------------------------------- schema
@needs_kubectl
@pytest.mark.parametrize("target", TARGETS)
def test_renders_and_validates_strictly(target):
    kv = pytest.importorskip(
        "kubernetes_validate", reason="pip install kubernetes-validate==1.37.0 (strict schema checks)"
    )

    docs = rendered(target)
    assert docs, f"{target} rendered nothing"
    custom = 0
    for doc in docs:
        for version in SCHEMA_VERSIONS:
            try:
                kv.validate(doc, version, strict=True)
            except kv.SchemaNotFoundError:
                kind = f"{doc['apiVersion']} {doc['kind']}"
                assert kind == "kubeflow.org/v1 TFJob", (
                    f"no schema for {kind}: only the TFJob may be a custom resource"
                )
                custom += 1
            except kv.ValidationError as e:
                name = f"{doc['kind']}/{doc['metadata']['name']}"
                pytest.fail(
                    f"{target}: {name} is not valid for Kubernetes {version}: "
                    f"{e.message} at {'.'.join(map(str, e.path))}"
                )
    assert custom == (len(SCHEMA_VERSIONS) if target == "tfjob" else 0)


def test_strict_validation_catches_a_typo():
    """The validator is really strict: a misspelt field fails."""
    kv = pytest.importorskip("kubernetes_validate", reason="pip install kubernetes-validate==1.37.0")

    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "x"},
        "spec": {"containers": [{"name": "c", "image": "i", "securityContext": {"runAsNonRot": True}}]},
    }
    with pytest.raises(kv.ValidationError):
        kv.validate(pod, SCHEMA_VERSIONS[-1], strict=True)


@needs_kubectl
def test_tfjob_structure_and_pod_templates_validate_as_pods():
    kv = pytest.importorskip("kubernetes_validate", reason="pip install kubernetes-validate==1.37.0")

    docs = rendered("tfjob")
    tfjob = one(docs, "TFJob", "tfw-word2vec")
    assert tfjob["apiVersion"] == "kubeflow.org/v1"
    assert tfjob["metadata"]["namespace"] == "tfw"
    specs = tfjob["spec"]["tfReplicaSpecs"]
    assert set(specs) == {"Chief", "PS", "Worker"}, "ParameterServerStrategy needs a chief, ps and workers"
    assert specs["Chief"]["replicas"] == 1
    assert specs["PS"]["replicas"] >= 1 and specs["Worker"]["replicas"] >= 1
    assert tfjob["spec"]["runPolicy"]["cleanPodPolicy"] in ("None", "Running", "All")
    for rtype, spec in specs.items():
        assert spec["restartPolicy"] in ("Always", "OnFailure", "Never", "ExitCode")
        tpl = spec["template"]
        labels = tpl["metadata"]["labels"]
        assert labels[k8s.JOB_LABEL] == k8s.JOB_NAME, (
            f"{rtype}: the NetworkPolicy selects job pods by this label"
        )
        assert labels[k8s.COMPONENT] == {"Chief": "chief", "PS": "ps", "Worker": "worker"}[rtype]
        containers = tpl["spec"]["containers"]
        assert containers[0]["name"] == "tensorflow", (
            "the training operator looks for the container 'tensorflow'"
        )
        ports = {p["name"]: p["containerPort"] for p in containers[0]["ports"]}
        assert ports == {"tfjob-port": 2222}, "the operator builds TF_CONFIG from the port named tfjob-port"
        assert "TF_CONFIG" not in {e["name"] for e in containers[0].get("env", [])}, (
            "the operator sets TF_CONFIG"
        )
        # the template is a pod spec: validate it strictly as a Pod
        pod = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": dict(tpl["metadata"], name=f"tfjob-{rtype.lower()}"),
            "spec": tpl["spec"],
        }
        for version in SCHEMA_VERSIONS:
            kv.validate(pod, version, strict=True)
    chief = specs["Chief"]["template"]["spec"]
    mounts = {m["mountPath"] for m in chief["containers"][0]["volumeMounts"]}
    assert "/data" in mounts, "the chief writes checkpoints to the volume"
    claims = {
        v["persistentVolumeClaim"]["claimName"] for v in chief["volumes"] if "persistentVolumeClaim" in v
    }
    assert claims == {"tfw-data"} and one(docs, "PersistentVolumeClaim", "tfw-data")


# --------------------------------------------------------------------------- own checks
@needs_kubectl
@pytest.mark.parametrize("target", TARGETS)
def test_selectors_match_pod_labels(target):
    docs = rendered(target)
    templates = pod_templates(docs)
    for d in docs:
        if d["kind"] in ("Deployment", "StatefulSet"):
            sel = d["spec"]["selector"]["matchLabels"]
            assert matches(sel, d["spec"]["template"]["metadata"]["labels"]), (
                f"{d['kind']}/{d['metadata']['name']}: selector {sel} does not match its pod labels"
            )
    for svc in by_kind(docs, "Service"):
        sel = svc["spec"].get("selector")
        if target == "tfjob" and sel is None:
            continue
        hits = [owner for owner, tpl in templates if matches(sel, tpl["metadata"].get("labels", {}))]
        assert len(hits) == 1, (
            f"Service/{svc['metadata']['name']} selector {sel} matches {hits} (want exactly one workload)"
        )
    for np_ in by_kind(docs, "NetworkPolicy"):
        sel = np_["spec"]["podSelector"]
        hits = [o for o, tpl in templates if _selects(sel, tpl["metadata"].get("labels", {}))]
        assert hits, f"NetworkPolicy/{np_['metadata']['name']} selects no pod"


def _selects(selector: dict, labels: dict) -> bool:
    ok = matches(selector.get("matchLabels", {}), labels)
    for expr in selector.get("matchExpressions", []):
        if expr["operator"] == "In":
            ok = ok and labels.get(expr["key"]) in expr["values"]
        elif expr["operator"] == "Exists":
            ok = ok and expr["key"] in labels
        else:  # NotIn, DoesNotExist are not used here
            ok = ok and False
    return ok


def _env_of(container: dict, docs: list[dict]) -> dict:
    """The environment a container sees: envFrom ConfigMaps of the render, then env values."""
    env = {}
    for src in container.get("envFrom", []):
        cm = one(docs, "ConfigMap", src["configMapRef"]["name"])
        assert cm["metadata"]["name"] == src["configMapRef"]["name"], "envFrom must name a rendered ConfigMap"
        env.update(cm["data"])
    for e in container.get("env", []):
        if "value" in e:
            env[e["name"]] = e["value"]
        elif e.get("valueFrom", {}).get("fieldRef", {}).get("fieldPath") == "metadata.name":
            env[e["name"]] = "<pod-name>"
    return env


@needs_kubectl
@pytest.mark.parametrize("target", PLAIN)
def test_tf_config_addresses_are_services_and_ports(target):
    """Every address in the TF_CONFIG a pod builds resolves to a headless Service / StatefulSet pod
    of this render, on the port the container listens on; sizes equal the replica counts."""
    docs = rendered(target)
    sts = {d["metadata"]["name"]: d for d in by_kind(docs, "StatefulSet")}
    svcs = {d["metadata"]["name"]: d for d in by_kind(docs, "Service")}
    chief_job = one(docs, "Job", "tfw-chief")
    num_ps, num_workers = EXPECTED_SIZES[target]
    assert sts["tfw-ps"]["spec"]["replicas"] == num_ps
    assert sts["tfw-worker"]["spec"]["replicas"] == num_workers

    owners = {"ps": sts["tfw-ps"], "worker": sts["tfw-worker"], "chief": chief_job}
    for role, owner in owners.items():
        container = owner["spec"]["template"]["spec"]["containers"][0]
        env = _env_of(container, docs)
        assert env["TFW_ROLE"] == role
        assert int(env["TFW_NUM_PS"]) == num_ps and int(env["TFW_NUM_WORKERS"]) == num_workers, (
            f"{target}: the ConfigMap sizes disagree with the StatefulSet replicas"
        )
        replicas = owner["spec"].get("replicas", 1) if role != "chief" else 1
        for ordinal in range(replicas):
            pod_name = f"{owner['metadata']['name']}-{ordinal}" if role != "chief" else "tfw-chief-x7k2p"
            conf = dw.tf_config_from_env(dict(env, POD_NAME=pod_name))
            assert conf["task"] == {"type": role, "index": ordinal}
            cport = {p["name"]: p["containerPort"] for p in container["ports"]}["grpc"]
            for job, addrs in conf["cluster"].items():
                for i, addr in enumerate(addrs):
                    host, port = addr.rsplit(":", 1)
                    if job == "chief":
                        svc = svcs[host]
                        target_tpl = chief_job["spec"]["template"]
                    else:
                        pod, svc_name = host.split(".")
                        svc = svcs[svc_name]
                        s = sts[svc_name]  # the StatefulSet is named like its Service
                        assert s["spec"]["serviceName"] == svc_name
                        assert pod == f"{s['metadata']['name']}-{i}" and i < s["spec"]["replicas"]
                        target_tpl = s["spec"]["template"]
                    assert svc["spec"].get("clusterIP") == "None", f"Service/{host} must be headless"
                    assert svc["spec"].get("publishNotReadyAddresses") is True
                    assert matches(svc["spec"]["selector"], target_tpl["metadata"]["labels"])
                    sport = {p["name"]: p for p in svc["spec"]["ports"]}["grpc"]
                    assert int(port) == sport["port"] == cport, (
                        f"{addr}: port differs from Service/container port"
                    )


@needs_kubectl
@pytest.mark.parametrize("target", TARGETS)
def test_every_container_has_limits_and_runs_as_non_root(target):
    docs = rendered(target)
    for owner, tpl in pod_templates(docs):
        spec = tpl["spec"]
        psc = spec.get("securityContext", {})
        assert psc.get("seccompProfile", {}).get("type") == "RuntimeDefault", (
            f"{owner}: seccomp RuntimeDefault"
        )
        for c in spec.get("initContainers", []) + spec["containers"]:
            where = f"{owner} container {c['name']}"
            res = c.get("resources", {})
            for kind in ("requests", "limits"):
                assert {"cpu", "memory"} <= set(res.get(kind, {})), f"{where}: {kind} for cpu and memory"
            csc = c.get("securityContext", {})
            non_root = csc.get("runAsNonRoot", psc.get("runAsNonRoot"))
            uid = csc.get("runAsUser", psc.get("runAsUser"))
            assert non_root is True, f"{where}: runAsNonRoot must be true"
            assert uid is not None and uid != 0, f"{where}: runAsUser must be a non-zero uid"
            assert csc.get("allowPrivilegeEscalation") is False, f"{where}: allowPrivilegeEscalation false"
            assert csc.get("capabilities", {}).get("drop") == ["ALL"], f"{where}: drop ALL capabilities"
            assert not csc.get("privileged"), f"{where}: privileged"
            assert "readinessProbe" in c, f"{where}: readiness probe"
            named = {p["name"] for p in c.get("ports", [])}
            for probe in ("readinessProbe",):
                port = (c[probe].get("tcpSocket") or c[probe].get("httpGet") or {}).get("port")
                assert port in named or isinstance(port, int), (
                    f"{where}: probe port {port!r} is not a container port"
                )


@needs_kubectl
@pytest.mark.parametrize("target", TARGETS)
def test_jupyter_needs_a_token_and_nothing_is_exposed(target):
    docs = rendered(target)
    jup = one(docs, "Deployment", "tfw-jupyter")
    c = jup["spec"]["template"]["spec"]["containers"][0]
    env = {e["name"]: e for e in c.get("env", [])}
    ref = env["JUPYTER_TOKEN"]["valueFrom"]["secretKeyRef"]
    assert ref["name"] == "tfw-jupyter-token" and ref.get("optional") is False, (
        "Jupyter's token comes from a Secret that must exist (no start without it)"
    )
    assert "value" not in env["JUPYTER_TOKEN"], "no literal token"
    cmd = " ".join(c.get("command", []) + c.get("args", []))
    assert not re.search(r"(token|password)\s*=\s*(''|\"\"|\s|$)", cmd, re.I), f"auth disabled in: {cmd}"
    assert "disable_check_xsrf" not in cmd
    assert not [s for s in by_kind(docs, "Secret")], "no Secret in the repository: the user creates it"
    for svc in by_kind(docs, "Service"):
        assert svc["spec"].get("type", "ClusterIP") == "ClusterIP", (
            f"Service/{svc['metadata']['name']} is exposed"
        )
    for ing in by_kind(docs, "Ingress"):
        ann = ing["metadata"].get("annotations", {})
        assert ann.get("nginx.ingress.kubernetes.io/auth-type") == "basic" and ann.get(
            "nginx.ingress.kubernetes.io/auth-secret"
        ), f"Ingress/{ing['metadata']['name']} without authentication"
        assert ing["spec"].get("tls"), "the Ingress serves TLS only"
    tb = one(docs, "Deployment", "tfw-tensorboard")["spec"]["template"]["spec"]
    assert all(m.get("readOnly") for m in tb["containers"][0]["volumeMounts"] if m["name"] == "data")
    assert tb["volumes"][0]["persistentVolumeClaim"]["readOnly"] is True, (
        "TensorBoard mounts the data read-only"
    )
    assert "--host" in tb["containers"][0]["args"]


@needs_kubectl
@pytest.mark.parametrize("target", TARGETS)
def test_network_policy_guards_the_grpc_port(target):
    docs = rendered(target)
    pol = one(docs, "NetworkPolicy", "tfw-grpc")
    job = {k8s.JOB_LABEL: k8s.JOB_NAME}
    assert pol["spec"]["podSelector"]["matchLabels"] == job
    assert pol["spec"]["policyTypes"] == ["Ingress"]
    rules = pol["spec"]["ingress"]
    assert len(rules) == 1
    assert rules[0]["from"] == [{"podSelector": {"matchLabels": job}}], "only the job's pods, nothing else"
    assert rules[0]["ports"] == [{"protocol": "TCP", "port": 2222}]
    # every training pod carries the label the policy selects
    for owner, tpl in pod_templates(docs):
        labels = tpl["metadata"]["labels"]
        if labels.get(k8s.COMPONENT) in ("chief", "ps", "worker"):
            assert matches(job, labels), owner


@needs_kubectl
def test_overlays_differ_where_they_should():
    local, cloud, gpu = rendered("overlays/local"), rendered("overlays/cloud"), rendered("overlays/cloud-gpu")
    assert one(cloud, "PersistentVolumeClaim", "tfw-data")["spec"]["accessModes"] == ["ReadWriteMany"]
    assert one(local, "PersistentVolumeClaim", "tfw-data")["spec"]["accessModes"] == ["ReadWriteOnce"]
    w = one(gpu, "StatefulSet", "tfw-worker")["spec"]["template"]["spec"]
    assert w["nodeSelector"] == {"nvidia.com/gpu.present": "true"}
    assert w["containers"][0]["resources"]["limits"]["nvidia.com/gpu"] == "1"
    assert "nodeSelector" not in one(cloud, "StatefulSet", "tfw-worker")["spec"]["template"]["spec"]
    images = {c["image"] for _, t in pod_templates(local) for c in t["spec"]["containers"]}
    assert images == {"tf-workshop:2.0.0"}, "one image for every pod"
    images = {c["image"] for _, t in pod_templates(cloud) for c in t["spec"]["containers"]}
    assert images == {"registry.example.com/tf-workshop:2.0.0"}
    for docs in (local, cloud):
        ns = one(docs, "Namespace", "tfw")
        assert ns["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
        assert {d["metadata"].get("namespace") for d in docs if d["kind"] != "Namespace"} == {"tfw"}


def test_dockerfile_is_pinned_and_non_root():
    text = (K8S / "Dockerfile").read_text()
    base = re.search(r"^FROM\s+(\S+)", text, re.M).group(1)
    assert re.fullmatch(r"python:3\.11\.\d+-slim(-\w+)?(@sha256:[0-9a-f]{64})?", base), (
        f"unpinned base {base}"
    )
    users = re.findall(r"^USER\s+(\S+)", text, re.M)
    assert users and users[-1].split(":")[0] not in ("root", "0"), "the image must end as a non-root user"
    assert re.search(r"pip install -r /app/requirements\.txt", text), "installs the pinned requirements"
    assert "workshop_sections" in text
    req = (ROOT / "requirements.txt").read_text().splitlines()
    pins = [line for line in req if line.strip() and not line.startswith("#")]
    assert all("==" in line for line in pins), (
        f"requirements.txt has unpinned lines: {[line for line in pins if '==' not in line]}"
    )


def test_readme_tells_how_to_create_the_token_secret():
    text = (K8S / "README.md").read_text()
    assert "kubectl -n tfw create secret generic tfw-jupyter-token" in text
    assert "port-forward" in text and "kubectl kustomize" in text
    assert not re.search(r"token[=:]\s*[0-9a-f]{16,}", text, re.I), "no real token in the README"


# --------------------------------------------------------------------------- TF_CONFIG unit tests
def test_tf_config_from_pod_and_errors():
    conf = dw.tf_config_from_pod("worker", "tfw-worker-3", num_ps=2, num_workers=4)
    assert conf["task"] == {"type": "worker", "index": 3}
    assert conf["cluster"]["ps"] == ["tfw-ps-0.tfw-ps:2222", "tfw-ps-1.tfw-ps:2222"]
    assert conf["cluster"]["chief"] == ["tfw-chief:2222"]
    with pytest.raises(dw.ClusterConfigError, match="worker:4 does not exist"):
        dw.tf_config_from_pod("worker", "tfw-worker-4", num_ps=2, num_workers=4)
    with pytest.raises(dw.ClusterConfigError, match="ordinal"):
        dw.tf_config_from_pod("ps", "tfw-ps", num_ps=2, num_workers=4)
    with pytest.raises(dw.ClusterConfigError, match="not one of"):
        dw.tf_config_from_pod("master", "x-0", 1, 1)
    with pytest.raises(dw.ClusterConfigError, match="Neither TF_CONFIG nor TFW_ROLE"):
        dw.tf_config_from_env({})
    with pytest.raises(dw.ClusterConfigError, match="not valid JSON"):
        dw.tf_config_from_env({"TF_CONFIG": "{oops"})
    with pytest.raises(dw.ClusterConfigError, match="POD_NAME"):
        dw.tf_config_from_env({"TFW_ROLE": "ps", "TFW_NUM_PS": "1", "TFW_NUM_WORKERS": "1"})
    with pytest.raises(dw.ClusterConfigError, match="exactly one chief"):
        dw.validate_tf_config(
            {
                "cluster": {"chief": ["a:1", "b:2"], "ps": ["c:3"], "worker": ["d:4"]},
                "task": {"type": "chief", "index": 0},
            }
        )
    with pytest.raises(dw.ClusterConfigError, match="at least 1 ps"):
        dw.validate_tf_config({"cluster": {"chief": ["a:1"], "worker": ["d:4"]}, "task": {"type": "chief"}})


# --------------------------------------------------------------------------- fake API server
class FakeApiServer:
    """kmock's in-memory Kubernetes emulator served on 127.0.0.1 from a background thread
    (the kubernetes client is synchronous, kmock is asyncio)."""

    def __enter__(self):
        kmock = pytest.importorskip("kmock", reason="pip install kmock==0.8 (the fake API server)")
        self._kmock = kmock
        self._ready = threading.Event()
        self._error = None
        self._thread = threading.Thread(target=lambda: asyncio.run(self._main()), daemon=True)
        self._thread.start()
        assert self._ready.wait(20), f"the fake API server did not start: {self._error}"
        return self

    async def _main(self):
        try:
            self.loop = asyncio.get_running_loop()
            self._stop = asyncio.Event()
            async with (
                self._kmock.KubernetesEmulator() as emu,
                self._kmock.Server(emu, host="127.0.0.1") as srv,
            ):
                self.emu, self.url = emu, str(srv.url)
                self._ready.set()
                await self._stop.wait()
        except BaseException as e:  # surface start-up errors in the test
            self._error = e
            self._ready.set()

    def __exit__(self, *exc):
        self.loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)

    def live(self) -> set[tuple[str, str]]:
        """(resource plural, name) of the objects that exist now."""
        out = set()
        for key in self.emu.objects:
            obj = self.emu.objects[key]
            if not obj.deleted:
                out.add((key[0].plural, key[2]))
        return out


def _pod(name, component, phase="Pending", ready=False):
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "namespace": "tfw",
            "creationTimestamp": "2026-01-01T00:00:00Z",
            "labels": {k8s.JOB_LABEL: k8s.JOB_NAME, k8s.COMPONENT: component},
        },
        "spec": {"containers": [{"name": "tensorflow", "image": "tf-workshop:2.0.0"}]},
        "status": {
            "phase": phase,
            "containerStatuses": [
                {
                    "name": "tensorflow",
                    "ready": ready,
                    "restartCount": 0,
                    "image": "tf-workshop:2.0.0",
                    "imageID": "",
                }
            ],
        },
    }


@pytest.fixture()
def fake_api():
    pytest.importorskip("kmock", reason="pip install kmock==0.8 (the fake API server)")
    with FakeApiServer() as server:
        yield server


@needs_kubectl
def test_create_watch_logs_delete_against_a_fake_api_server(fake_api):
    client = k8s.api_client(host=fake_api.url)
    # kmock 0.8 cannot parse the cluster-scoped POST /api/v1/namespaces: the namespace is
    # created by `kubectl apply` in real life; everything else goes through the client
    objects = [o for o in k8s.render("overlays/local") if o["kind"] != "Namespace"]
    lines = []
    done = k8s.create(objects, client, out=lines.append)
    assert [s for _, s in done] == ["created"] * len(objects)
    kinds = [d.split("/")[0] for d, _ in done]
    assert kinds.index("ConfigMap") < kinds.index("StatefulSet") < kinds.index("Job"), "dependencies first"
    live = fake_api.live()
    assert (
        ("statefulsets", "tfw-ps") in live
        and ("jobs", "tfw-chief") in live
        and ("services", "tfw-worker") in live
    )
    assert ("deployments", "tfw-jupyter") in live and ("networkpolicies", "tfw-grpc") in live
    # creating again is harmless
    again = k8s.create(objects[:3], client, out=None)
    assert [s for _, s in again] == ["exists"] * 3

    # pods appear, become ready, the chief finishes: watch_pods follows and stops
    k8s.create([_pod("tfw-ps-0", "ps")], client, out=None)
    core = k8s._api(client, "CoreV1Api")

    def cluster_life():
        time.sleep(0.5)
        k8s.create(
            [
                _pod("tfw-worker-0", "worker", "Running", True),
                _pod("tfw-chief-x7k2p", "chief", "Running", True),
            ],
            client,
            out=None,
        )
        time.sleep(0.5)
        core.patch_namespaced_pod("tfw-chief-x7k2p", "tfw", {"status": {"phase": "Succeeded"}})

    t = threading.Thread(target=cluster_life)
    t.start()
    events = []
    t0 = time.time()
    seen = k8s.watch_pods(client, timeout=30, out=events.append)
    t.join()
    assert time.time() - t0 < 20, "watch_pods must stop when the chief has finished"
    assert seen["tfw-chief-x7k2p"]["phase"] == "Succeeded"
    assert {"tfw-ps-0", "tfw-worker-0"} <= set(seen)
    assert any("tfw-worker-0" in e and "ready" in e for e in events)
    assert [p["name"] for p in k8s.pods(client)] == ["tfw-chief-x7k2p", "tfw-ps-0", "tfw-worker-0"]

    # the chief's log, streamed
    assert k8s.chief_pod(client) == "tfw-chief-x7k2p"
    fake_api.emu["get /api/v1/namespaces/tfw/pods/tfw-chief-x7k2p/log"] << (
        b"chief: step 100/3000 loss 4.1\n",
        b'chief: step 200/3000 loss 3.9\nRESULT {"steps": 200}\n',
    )
    out = []
    got = k8s.stream_logs(client, out=out.append)
    assert (
        got
        == out
        == ["chief: step 100/3000 loss 4.1", "chief: step 200/3000 loss 3.9", 'RESULT {"steps": 200}']
    )
    assert len(k8s.stream_logs(client, out=None, max_lines=2)) == 2

    # delete the job only: tools and the volume stay
    gone = k8s.delete(k8s.job_objects(objects), client, out=None)
    assert {s for _, s in gone} == {"deleted"}
    live = fake_api.live()
    assert ("statefulsets", "tfw-ps") not in live and ("jobs", "tfw-chief") not in live
    assert ("services", "tfw-chief") not in live
    assert ("deployments", "tfw-tensorboard") in live and ("persistentvolumeclaims", "tfw-data") in live
    again = k8s.delete(k8s.job_objects(objects), client, out=None)
    assert {s for _, s in again} == {"not found"}


@needs_kubectl
def test_tfjob_needs_the_operator(fake_api):
    client = k8s.api_client(host=fake_api.url)
    tfjob = [o for o in k8s.render("tfjob") if o["kind"] == "TFJob"]
    # with the operator (the emulator accepts any resource) the TFJob is created and deleted
    assert k8s.create(tfjob, client, out=None) == [("TFJob/tfw-word2vec", "created")]
    assert ("tfjobs", "tfw-word2vec") in fake_api.live()
    assert k8s.delete(tfjob, client, out=None) == [("TFJob/tfw-word2vec", "deleted")]
    assert ("tfjobs", "tfw-word2vec") not in fake_api.live()
    # a cluster without the training operator answers 404 for the tfjobs resource
    missing = (
        fake_api.emu["post /apis/kubeflow.org/v1/namespaces/tfw/tfjobs"]
        << 404
        << {"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "NotFound", "code": 404}
    )
    with pytest.raises(k8s.K8sError, match="training operator"):
        k8s.create(tfjob, client, out=None)
    assert len(missing) == 1


def test_helpers_explain_what_is_wrong(tmp_path, monkeypatch):
    with pytest.raises(k8s.K8sError, match="not a kustomization"):
        k8s.render(str(tmp_path))
    monkeypatch.setattr(k8s.shutil, "which", lambda name: None)
    with pytest.raises(k8s.K8sError, match="kubectl is not installed"):
        k8s.render("overlays/local")
    assert k8s.port_forward_command() == (
        "kubectl -n tfw port-forward svc/tfw-tensorboard 6006:6006   # then open http://127.0.0.1:6006/"
    )
    with pytest.raises(k8s.K8sError, match="not supported"):
        k8s.create([{"kind": "CronJob", "metadata": {"name": "x"}}], object(), out=None)
    with pytest.raises(k8s.K8sError, match="No Kubernetes cluster configured"):
        k8s.api_client(kubeconfig=str(tmp_path / "missing-kubeconfig"))


def test_connect_says_when_there_is_no_cluster(fake_api):
    from workshop_sections.distributed_tensorflow import launcher

    msgs = []
    port = launcher.free_ports(1)[0]
    assert k8s.connect(host=f"http://127.0.0.1:{port}", timeout=2, out=msgs.append) is None
    assert "No cluster answers" in msgs[-1] and "kubectl get nodes" in msgs[-1]
    fake_api.emu["get /version/"] << {
        "major": "1",
        "minor": "32",
        "gitVersion": "v1.32.4",
        "gitCommit": "x",
        "gitTreeState": "clean",
        "buildDate": "2026-01-01T00:00:00Z",
        "goVersion": "go1.23",
        "compiler": "gc",
        "platform": "linux/amd64",
    }
    client = k8s.connect(host=fake_api.url, out=msgs.append)
    assert client is not None and "Kubernetes v1.32.4" in msgs[-1]


@needs_kubectl
@pytest.mark.parametrize("target", k8s.RENDER_TARGETS)
def test_prerendered_manifests_are_current(target):
    """k8s/rendered/*.yaml (for machines without kubectl) equal what kubectl kustomize renders now.
    Refresh with: python -m workshop_sections.distributed_tensorflow.k8s_client render"""
    path = k8s.rendered_file(target)
    assert path.exists(), (
        f"{path} is missing: run python -m workshop_sections.distributed_tensorflow.k8s_client render"
    )
    assert k8s.load_manifests(path) == rendered(target), (
        f"{path} is out of date: run python -m workshop_sections.distributed_tensorflow.k8s_client render"
    )


def test_render_falls_back_to_the_prerendered_file(monkeypatch):
    monkeypatch.setattr(k8s.shutil, "which", lambda name: None)
    objects = k8s.render("overlays/local", fallback=True)
    assert {"StatefulSet", "Job", "NetworkPolicy"} <= {o["kind"] for o in objects}
    with pytest.raises(k8s.K8sError, match="kubectl is not installed"):
        k8s.render("overlays/local")
